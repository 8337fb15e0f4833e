-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_variants" table
CREATE TABLE `new_variants` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `sku` text NOT NULL, `title` text NOT NULL DEFAULT (''), `option1` text NOT NULL DEFAULT (''), `option2` text NOT NULL DEFAULT (''), `option3` text NOT NULL DEFAULT (''), `price` integer NOT NULL DEFAULT (0), `compare_at_price` integer NULL, `barcode` text NOT NULL DEFAULT (''), `weight_grams` integer NOT NULL DEFAULT (0), `position` integer NOT NULL DEFAULT (1), `shopify_id` integer NULL, `shopify_inventory_item_id` integer NULL, `product_id` text NOT NULL, `merchant_id` text NOT NULL, `image_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `variants_products_variants` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE NO ACTION, CONSTRAINT `variants_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION, CONSTRAINT `variants_product_images_image` FOREIGN KEY (`image_id`) REFERENCES `product_images` (`id`) ON DELETE SET NULL);
-- copy rows from old table "variants" to new temporary table "new_variants"
INSERT INTO `new_variants` (`id`, `created_at`, `updated_at`, `sku`, `title`, `option1`, `option2`, `option3`, `price`, `compare_at_price`, `barcode`, `weight_grams`, `position`, `shopify_id`, `shopify_inventory_item_id`, `product_id`, `merchant_id`) SELECT `id`, `created_at`, `updated_at`, `sku`, `title`, `option1`, `option2`, `option3`, `price`, `compare_at_price`, `barcode`, `weight_grams`, `position`, `shopify_id`, `shopify_inventory_item_id`, `product_id`, `merchant_id` FROM `variants`;
-- drop "variants" table after copying rows
DROP TABLE `variants`;
-- rename temporary table "new_variants" to "variants"
ALTER TABLE `new_variants` RENAME TO `variants`;
-- create index "variant_merchant_id_sku" to table: "variants"
CREATE UNIQUE INDEX `variant_merchant_id_sku` ON `variants` (`merchant_id`, `sku`);
-- create index "variant_merchant_id_product_id_option1_option2_option3" to table: "variants"
CREATE UNIQUE INDEX `variant_merchant_id_product_id_option1_option2_option3` ON `variants` (`merchant_id`, `product_id`, `option1`, `option2`, `option3`);
-- create index "variant_merchant_id_shopify_id" to table: "variants"
CREATE UNIQUE INDEX `variant_merchant_id_shopify_id` ON `variants` (`merchant_id`, `shopify_id`);
-- create index "variant_merchant_id_shopify_inventory_item_id" to table: "variants"
CREATE INDEX `variant_merchant_id_shopify_inventory_item_id` ON `variants` (`merchant_id`, `shopify_inventory_item_id`);
-- create index "variant_merchant_id_barcode" to table: "variants"
CREATE INDEX `variant_merchant_id_barcode` ON `variants` (`merchant_id`, `barcode`);
-- create index "variant_image_id" to table: "variants"
CREATE INDEX `variant_image_id` ON `variants` (`image_id`);
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
