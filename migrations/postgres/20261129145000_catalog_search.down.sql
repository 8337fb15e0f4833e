DROP TABLE IF EXISTS "product_search";
