-- add column "shopify_updated_at" to table: "products"
ALTER TABLE `products` ADD COLUMN `shopify_updated_at` datetime NULL;
