-- reverse: modify "inventory_levels" table
ALTER TABLE "inventory_levels" DROP COLUMN "shopify_updated_at";
