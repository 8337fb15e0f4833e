-- Hand-written: the embedded default searches with SQLite's FTS5. The catalog service
-- keeps one row per product in the transaction of every catalog write.
CREATE VIRTUAL TABLE `product_search` USING fts5(
  `product_id` UNINDEXED,
  `merchant_id` UNINDEXED,
  `title`,
  `skus`,
  `body`,
  tokenize = 'porter unicode61'
);
