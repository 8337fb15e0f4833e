-- reverse: create index "product_merchant_id_id" to table: "products"
DROP INDEX `product_merchant_id_id`;
