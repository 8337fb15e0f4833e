-- modify "inventory_levels" table
ALTER TABLE "inventory_levels" ADD COLUMN "shopify_updated_at" timestamptz NULL;
