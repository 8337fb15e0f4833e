-- create index "product_merchant_id_id" to table: "products"
CREATE INDEX `product_merchant_id_id` ON `products` (`merchant_id`, `id`);
