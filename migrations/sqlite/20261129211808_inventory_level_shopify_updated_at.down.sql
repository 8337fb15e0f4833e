-- reverse: add column "shopify_updated_at" to table: "inventory_levels"
ALTER TABLE `inventory_levels` DROP COLUMN `shopify_updated_at`;
