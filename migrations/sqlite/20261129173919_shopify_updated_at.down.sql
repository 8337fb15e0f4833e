-- reverse: add column "shopify_updated_at" to table: "products"
ALTER TABLE `products` DROP COLUMN `shopify_updated_at`;
