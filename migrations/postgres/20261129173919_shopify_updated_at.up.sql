-- modify "products" table
ALTER TABLE "products" ADD COLUMN "shopify_updated_at" timestamptz NULL;
