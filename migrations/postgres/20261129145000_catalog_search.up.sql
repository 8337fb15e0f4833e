-- Hand-written: ent cannot express extensions or tsvector/trigram indexes.
-- product_search is the search document of each product (title, SKUs, vendor, tags,
-- description), kept by the catalog service in the transaction of every catalog write.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE TABLE "product_search" (
  "product_id" character varying NOT NULL PRIMARY KEY REFERENCES "products" ("id") ON DELETE CASCADE,
  "merchant_id" character varying NOT NULL REFERENCES "merchants" ("id") ON DELETE CASCADE,
  "title" text NOT NULL,
  "document" tsvector NOT NULL
);
CREATE INDEX "product_search_merchant_id_document" ON "product_search" USING gin ("merchant_id", "document");
CREATE INDEX "product_search_title_trgm" ON "product_search" USING gin ("title" gin_trgm_ops);
