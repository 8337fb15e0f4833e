-- reverse: modify "products" table
ALTER TABLE "products" DROP COLUMN "shopify_updated_at";
