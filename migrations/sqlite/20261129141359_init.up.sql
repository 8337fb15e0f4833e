-- create "api_keys" table
CREATE TABLE `api_keys` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `name` text NOT NULL DEFAULT (''), `prefix` text NOT NULL, `hash` text NOT NULL, `last_used_at` datetime NULL, `revoked_at` datetime NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `api_keys_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "api_keys_hash_key" to table: "api_keys"
CREATE UNIQUE INDEX `api_keys_hash_key` ON `api_keys` (`hash`);
-- create index "apikey_merchant_id_created_at" to table: "api_keys"
CREATE INDEX `apikey_merchant_id_created_at` ON `api_keys` (`merchant_id`, `created_at`);
-- create "audit_events" table
CREATE TABLE `audit_events` (`id` text NOT NULL, `actor` text NOT NULL, `action` text NOT NULL, `subject_id` text NOT NULL DEFAULT (''), `request_id` text NOT NULL DEFAULT (''), `ip` text NOT NULL DEFAULT (''), `details` json NULL, `created_at` datetime NOT NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `audit_events_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "auditevent_merchant_id_created_at_id" to table: "audit_events"
CREATE INDEX `auditevent_merchant_id_created_at_id` ON `audit_events` (`merchant_id`, `created_at`, `id`);
-- create index "auditevent_merchant_id_subject_id" to table: "audit_events"
CREATE INDEX `auditevent_merchant_id_subject_id` ON `audit_events` (`merchant_id`, `subject_id`);
-- create "email_messages" table
CREATE TABLE `email_messages` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `dedup_key` text NOT NULL, `order_id` text NULL, `shipment_id` text NULL, `to_address` text NOT NULL, `subject` text NOT NULL DEFAULT (''), `html_body` text NOT NULL DEFAULT (''), `text_body` text NOT NULL DEFAULT (''), `status` text NOT NULL DEFAULT ('queued'), `attempts` integer NOT NULL DEFAULT (0), `last_error` text NOT NULL DEFAULT (''), `provider_message_id` text NOT NULL DEFAULT (''), `sent_at` datetime NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `email_messages_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "emailmessage_merchant_id_dedup_key" to table: "email_messages"
CREATE UNIQUE INDEX `emailmessage_merchant_id_dedup_key` ON `email_messages` (`merchant_id`, `dedup_key`);
-- create index "emailmessage_merchant_id_created_at" to table: "email_messages"
CREATE INDEX `emailmessage_merchant_id_created_at` ON `email_messages` (`merchant_id`, `created_at`);
-- create index "emailmessage_merchant_id_order_id" to table: "email_messages"
CREATE INDEX `emailmessage_merchant_id_order_id` ON `email_messages` (`merchant_id`, `order_id`);
-- create "idempotency_keys" table
CREATE TABLE `idempotency_keys` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `key` text NOT NULL, `scope` text NOT NULL, `request_hash` text NOT NULL, `status` text NOT NULL DEFAULT ('in_progress'), `response_status` integer NULL, `response_body` blob NULL, `expires_at` datetime NOT NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `idempotency_keys_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "idempotencykey_merchant_id_key_scope" to table: "idempotency_keys"
CREATE UNIQUE INDEX `idempotencykey_merchant_id_key_scope` ON `idempotency_keys` (`merchant_id`, `key`, `scope`);
-- create index "idempotencykey_merchant_id_expires_at" to table: "idempotency_keys"
CREATE INDEX `idempotencykey_merchant_id_expires_at` ON `idempotency_keys` (`merchant_id`, `expires_at`);
-- create "import_jobs" table
CREATE TABLE `import_jobs` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `status` text NOT NULL DEFAULT ('queued'), `filename` text NOT NULL DEFAULT (''), `file_sha256` text NOT NULL DEFAULT (''), `storage_key` text NOT NULL DEFAULT (''), `warehouse_code` text NOT NULL DEFAULT (''), `dry_run` bool NOT NULL DEFAULT (false), `rows_total` integer NOT NULL DEFAULT (0), `rows_imported` integer NOT NULL DEFAULT (0), `rows_skipped` integer NOT NULL DEFAULT (0), `rows_rejected` integer NOT NULL DEFAULT (0), `last_row` integer NOT NULL DEFAULT (0), `error` text NOT NULL DEFAULT (''), `started_at` datetime NULL, `finished_at` datetime NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `import_jobs_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "importjob_merchant_id_created_at" to table: "import_jobs"
CREATE INDEX `importjob_merchant_id_created_at` ON `import_jobs` (`merchant_id`, `created_at`);
-- create "import_row_errors" table
CREATE TABLE `import_row_errors` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `row` integer NOT NULL, `column` text NOT NULL DEFAULT (''), `message` text NOT NULL, `import_job_id` text NOT NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `import_row_errors_import_jobs_row_errors` FOREIGN KEY (`import_job_id`) REFERENCES `import_jobs` (`id`) ON DELETE NO ACTION, CONSTRAINT `import_row_errors_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "importrowerror_merchant_id_import_job_id_row" to table: "import_row_errors"
CREATE INDEX `importrowerror_merchant_id_import_job_id_row` ON `import_row_errors` (`merchant_id`, `import_job_id`, `row`);
-- create "inventory_levels" table
CREATE TABLE `inventory_levels` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `on_hand` integer NOT NULL DEFAULT (0), `reserved` integer NOT NULL DEFAULT (0), `merchant_id` text NOT NULL, `warehouse_id` text NOT NULL, `variant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `inventory_levels_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION, CONSTRAINT `inventory_levels_warehouses_warehouse` FOREIGN KEY (`warehouse_id`) REFERENCES `warehouses` (`id`) ON DELETE NO ACTION, CONSTRAINT `inventory_levels_variants_inventory_levels` FOREIGN KEY (`variant_id`) REFERENCES `variants` (`id`) ON DELETE NO ACTION, CONSTRAINT `inventory_levels_on_hand_nonnegative` CHECK (on_hand >= 0), CONSTRAINT `inventory_levels_reserved_nonnegative` CHECK (reserved >= 0), CONSTRAINT `inventory_levels_reserved_within_on_hand` CHECK (reserved <= on_hand));
-- create index "inventorylevel_merchant_id_variant_id_warehouse_id" to table: "inventory_levels"
CREATE UNIQUE INDEX `inventorylevel_merchant_id_variant_id_warehouse_id` ON `inventory_levels` (`merchant_id`, `variant_id`, `warehouse_id`);
-- create index "inventorylevel_merchant_id_warehouse_id" to table: "inventory_levels"
CREATE INDEX `inventorylevel_merchant_id_warehouse_id` ON `inventory_levels` (`merchant_id`, `warehouse_id`);
-- create "inventory_movements" table
CREATE TABLE `inventory_movements` (`id` text NOT NULL, `sku` text NOT NULL, `on_hand_delta` integer NOT NULL DEFAULT (0), `reserved_delta` integer NOT NULL DEFAULT (0), `on_hand_after` integer NOT NULL, `reserved_after` integer NOT NULL, `reason` text NOT NULL, `note` text NOT NULL DEFAULT (''), `actor` text NOT NULL, `created_at` datetime NOT NULL, `merchant_id` text NOT NULL, `variant_id` text NOT NULL, `warehouse_id` text NOT NULL, `order_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `inventory_movements_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION, CONSTRAINT `inventory_movements_variants_variant` FOREIGN KEY (`variant_id`) REFERENCES `variants` (`id`) ON DELETE NO ACTION, CONSTRAINT `inventory_movements_warehouses_warehouse` FOREIGN KEY (`warehouse_id`) REFERENCES `warehouses` (`id`) ON DELETE NO ACTION, CONSTRAINT `inventory_movements_orders_order` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE SET NULL);
-- create index "inventorymovement_merchant_id_variant_id_created_at" to table: "inventory_movements"
CREATE INDEX `inventorymovement_merchant_id_variant_id_created_at` ON `inventory_movements` (`merchant_id`, `variant_id`, `created_at`);
-- create index "inventorymovement_merchant_id_order_id" to table: "inventory_movements"
CREATE INDEX `inventorymovement_merchant_id_order_id` ON `inventory_movements` (`merchant_id`, `order_id`);
-- create "merchants" table
CREATE TABLE `merchants` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `handle` text NOT NULL, `currency` text NOT NULL DEFAULT ('USD'), `status` text NOT NULL DEFAULT ('onboarding'), `shopify_shop_domain` text NULL, `shopify_access_token` text NULL, `shopify_uninstalled_at` datetime NULL, `shipping_flat_rate` integer NOT NULL DEFAULT (0), `tax_rate_bps` integer NOT NULL DEFAULT (0), `last_order_number` integer NOT NULL DEFAULT (1000), PRIMARY KEY (`id`));
-- create index "merchants_handle_key" to table: "merchants"
CREATE UNIQUE INDEX `merchants_handle_key` ON `merchants` (`handle`);
-- create index "merchants_shopify_shop_domain_key" to table: "merchants"
CREATE UNIQUE INDEX `merchants_shopify_shop_domain_key` ON `merchants` (`shopify_shop_domain`);
-- create "orders" table
CREATE TABLE `orders` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `number` integer NOT NULL, `name` text NOT NULL DEFAULT (''), `email` text NOT NULL, `currency` text NOT NULL, `status` text NOT NULL DEFAULT ('open'), `financial_status` text NOT NULL DEFAULT ('pending'), `fulfillment_status` text NOT NULL DEFAULT ('unfulfilled'), `subtotal` integer NOT NULL DEFAULT (0), `shipping_total` integer NOT NULL DEFAULT (0), `tax_total` integer NOT NULL DEFAULT (0), `total` integer NOT NULL DEFAULT (0), `amount_refunded` integer NOT NULL DEFAULT (0), `shipping_address` json NULL, `note` text NOT NULL DEFAULT (''), `source` text NOT NULL DEFAULT ('api'), `shopify_id` integer NULL, `shopify_updated_at` datetime NULL, `reservation_expires_at` datetime NULL, `processed_at` datetime NULL, `paid_at` datetime NULL, `cancelled_at` datetime NULL, `cancel_reason` text NOT NULL DEFAULT (''), `closed_at` datetime NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `orders_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "order_merchant_id_number" to table: "orders"
CREATE UNIQUE INDEX `order_merchant_id_number` ON `orders` (`merchant_id`, `number`);
-- create index "order_merchant_id_shopify_id" to table: "orders"
CREATE UNIQUE INDEX `order_merchant_id_shopify_id` ON `orders` (`merchant_id`, `shopify_id`);
-- create index "order_merchant_id_created_at_id" to table: "orders"
CREATE INDEX `order_merchant_id_created_at_id` ON `orders` (`merchant_id`, `created_at`, `id`);
-- create index "order_merchant_id_status_id" to table: "orders"
CREATE INDEX `order_merchant_id_status_id` ON `orders` (`merchant_id`, `status`, `id`);
-- create index "order_merchant_id_financial_status_reservation_expires_at" to table: "orders"
CREATE INDEX `order_merchant_id_financial_status_reservation_expires_at` ON `orders` (`merchant_id`, `financial_status`, `reservation_expires_at`);
-- create index "order_merchant_id_fulfillment_status_id" to table: "orders"
CREATE INDEX `order_merchant_id_fulfillment_status_id` ON `orders` (`merchant_id`, `fulfillment_status`, `id`);
-- create index "order_merchant_id_email" to table: "orders"
CREATE INDEX `order_merchant_id_email` ON `orders` (`merchant_id`, `email`);
-- create "order_line_items" table
CREATE TABLE `order_line_items` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `sku` text NOT NULL, `title` text NOT NULL DEFAULT (''), `variant_title` text NOT NULL DEFAULT (''), `quantity` integer NOT NULL, `unit_price` integer NOT NULL DEFAULT (0), `total` integer NOT NULL DEFAULT (0), `shopify_line_item_id` integer NULL, `order_id` text NOT NULL, `merchant_id` text NOT NULL, `variant_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `order_line_items_orders_line_items` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE NO ACTION, CONSTRAINT `order_line_items_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION, CONSTRAINT `order_line_items_variants_variant` FOREIGN KEY (`variant_id`) REFERENCES `variants` (`id`) ON DELETE SET NULL);
-- create index "orderlineitem_merchant_id_order_id" to table: "order_line_items"
CREATE INDEX `orderlineitem_merchant_id_order_id` ON `order_line_items` (`merchant_id`, `order_id`);
-- create index "orderlineitem_merchant_id_variant_id" to table: "order_line_items"
CREATE INDEX `orderlineitem_merchant_id_variant_id` ON `order_line_items` (`merchant_id`, `variant_id`);
-- create "payments" table
CREATE TABLE `payments` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `provider` text NOT NULL, `status` text NOT NULL DEFAULT ('pending'), `amount` integer NOT NULL DEFAULT (0), `currency` text NOT NULL, `amount_refunded` integer NOT NULL DEFAULT (0), `stripe_payment_intent_id` text NULL, `stripe_client_secret` text NULL, `failure_message` text NOT NULL DEFAULT (''), `stripe_event_at` datetime NULL, `order_id` text NOT NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `payments_orders_payments` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE NO ACTION, CONSTRAINT `payments_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "payments_stripe_payment_intent_id_key" to table: "payments"
CREATE UNIQUE INDEX `payments_stripe_payment_intent_id_key` ON `payments` (`stripe_payment_intent_id`);
-- create index "payment_merchant_id_order_id" to table: "payments"
CREATE INDEX `payment_merchant_id_order_id` ON `payments` (`merchant_id`, `order_id`);
-- create "products" table
CREATE TABLE `products` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `title` text NOT NULL, `handle` text NOT NULL, `description_html` text NOT NULL DEFAULT (''), `vendor` text NOT NULL DEFAULT (''), `product_type` text NOT NULL DEFAULT (''), `tags` json NULL, `status` text NOT NULL DEFAULT ('active'), `shopify_id` integer NULL, `published_at` datetime NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `products_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "product_merchant_id_handle" to table: "products"
CREATE UNIQUE INDEX `product_merchant_id_handle` ON `products` (`merchant_id`, `handle`);
-- create index "product_merchant_id_shopify_id" to table: "products"
CREATE UNIQUE INDEX `product_merchant_id_shopify_id` ON `products` (`merchant_id`, `shopify_id`);
-- create index "product_merchant_id_status_id" to table: "products"
CREATE INDEX `product_merchant_id_status_id` ON `products` (`merchant_id`, `status`, `id`);
-- create index "product_merchant_id_vendor_id" to table: "products"
CREATE INDEX `product_merchant_id_vendor_id` ON `products` (`merchant_id`, `vendor`, `id`);
-- create index "product_merchant_id_product_type_id" to table: "products"
CREATE INDEX `product_merchant_id_product_type_id` ON `products` (`merchant_id`, `product_type`, `id`);
-- create index "product_merchant_id_updated_at_id" to table: "products"
CREATE INDEX `product_merchant_id_updated_at_id` ON `products` (`merchant_id`, `updated_at`, `id`);
-- create "product_images" table
CREATE TABLE `product_images` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `storage_key` text NOT NULL, `source_url` text NOT NULL DEFAULT (''), `content_type` text NOT NULL, `size_bytes` integer NULL, `position` integer NOT NULL DEFAULT (1), `alt` text NOT NULL DEFAULT (''), `status` text NOT NULL DEFAULT ('pending'), `product_id` text NOT NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `product_images_products_images` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE NO ACTION, CONSTRAINT `product_images_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "productimage_merchant_id_product_id_position" to table: "product_images"
CREATE INDEX `productimage_merchant_id_product_id_position` ON `product_images` (`merchant_id`, `product_id`, `position`);
-- create "product_options" table
CREATE TABLE `product_options` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `position` integer NOT NULL, `values` json NULL, `product_id` text NOT NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `product_options_products_options` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE NO ACTION, CONSTRAINT `product_options_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "productoption_merchant_id_product_id_position" to table: "product_options"
CREATE UNIQUE INDEX `productoption_merchant_id_product_id_position` ON `product_options` (`merchant_id`, `product_id`, `position`);
-- create index "productoption_merchant_id_product_id_name" to table: "product_options"
CREATE UNIQUE INDEX `productoption_merchant_id_product_id_name` ON `product_options` (`merchant_id`, `product_id`, `name`);
-- create "refunds" table
CREATE TABLE `refunds` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `amount` integer NOT NULL, `currency` text NOT NULL, `reason` text NOT NULL DEFAULT (''), `status` text NOT NULL DEFAULT ('pending'), `stripe_refund_id` text NULL, `failure_message` text NOT NULL DEFAULT (''), `order_id` text NOT NULL, `payment_id` text NOT NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `refunds_orders_refunds` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE NO ACTION, CONSTRAINT `refunds_payments_refunds` FOREIGN KEY (`payment_id`) REFERENCES `payments` (`id`) ON DELETE NO ACTION, CONSTRAINT `refunds_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "refunds_stripe_refund_id_key" to table: "refunds"
CREATE UNIQUE INDEX `refunds_stripe_refund_id_key` ON `refunds` (`stripe_refund_id`);
-- create index "refund_merchant_id_order_id" to table: "refunds"
CREATE INDEX `refund_merchant_id_order_id` ON `refunds` (`merchant_id`, `order_id`);
-- create "shipments" table
CREATE TABLE `shipments` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `status` text NOT NULL DEFAULT ('pending'), `carrier` text NOT NULL DEFAULT (''), `tracking_number` text NOT NULL DEFAULT (''), `tracking_url` text NOT NULL DEFAULT (''), `shipped_at` datetime NULL, `delivered_at` datetime NULL, `order_id` text NOT NULL, `merchant_id` text NOT NULL, `warehouse_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `shipments_orders_shipments` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE NO ACTION, CONSTRAINT `shipments_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION, CONSTRAINT `shipments_warehouses_warehouse` FOREIGN KEY (`warehouse_id`) REFERENCES `warehouses` (`id`) ON DELETE NO ACTION);
-- create index "shipment_merchant_id_order_id" to table: "shipments"
CREATE INDEX `shipment_merchant_id_order_id` ON `shipments` (`merchant_id`, `order_id`);
-- create index "shipment_merchant_id_warehouse_id_status" to table: "shipments"
CREATE INDEX `shipment_merchant_id_warehouse_id_status` ON `shipments` (`merchant_id`, `warehouse_id`, `status`);
-- create "shipment_line_items" table
CREATE TABLE `shipment_line_items` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `sku` text NOT NULL, `quantity` integer NOT NULL, `shipment_id` text NOT NULL, `merchant_id` text NOT NULL, `order_line_item_id` text NOT NULL, `variant_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `shipment_line_items_shipments_line_items` FOREIGN KEY (`shipment_id`) REFERENCES `shipments` (`id`) ON DELETE NO ACTION, CONSTRAINT `shipment_line_items_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION, CONSTRAINT `shipment_line_items_order_line_items_order_line_item` FOREIGN KEY (`order_line_item_id`) REFERENCES `order_line_items` (`id`) ON DELETE NO ACTION, CONSTRAINT `shipment_line_items_variants_variant` FOREIGN KEY (`variant_id`) REFERENCES `variants` (`id`) ON DELETE SET NULL);
-- create index "shipmentlineitem_merchant_id_shipment_id" to table: "shipment_line_items"
CREATE INDEX `shipmentlineitem_merchant_id_shipment_id` ON `shipment_line_items` (`merchant_id`, `shipment_id`);
-- create index "shipmentlineitem_merchant_id_order_line_item_id" to table: "shipment_line_items"
CREATE INDEX `shipmentlineitem_merchant_id_order_line_item_id` ON `shipment_line_items` (`merchant_id`, `order_line_item_id`);
-- create "users" table
CREATE TABLE `users` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `email` text NOT NULL, `name` text NOT NULL DEFAULT (''), `password_hash` text NOT NULL, `role` text NOT NULL DEFAULT ('staff'), `last_login_at` datetime NULL, `disabled_at` datetime NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `users_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "user_email" to table: "users"
CREATE UNIQUE INDEX `user_email` ON `users` (`email`);
-- create index "user_merchant_id_created_at" to table: "users"
CREATE INDEX `user_merchant_id_created_at` ON `users` (`merchant_id`, `created_at`);
-- create "variants" table
CREATE TABLE `variants` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `sku` text NOT NULL, `title` text NOT NULL DEFAULT (''), `option1` text NOT NULL DEFAULT (''), `option2` text NOT NULL DEFAULT (''), `option3` text NOT NULL DEFAULT (''), `price` integer NOT NULL DEFAULT (0), `compare_at_price` integer NULL, `barcode` text NOT NULL DEFAULT (''), `weight_grams` integer NOT NULL DEFAULT (0), `position` integer NOT NULL DEFAULT (1), `shopify_id` integer NULL, `shopify_inventory_item_id` integer NULL, `product_id` text NOT NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `variants_products_variants` FOREIGN KEY (`product_id`) REFERENCES `products` (`id`) ON DELETE NO ACTION, CONSTRAINT `variants_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
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
-- create "warehouses" table
CREATE TABLE `warehouses` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `code` text NOT NULL, `name` text NOT NULL, `priority` integer NOT NULL DEFAULT (100), `address` json NULL, `active` bool NOT NULL DEFAULT (true), `shopify_location_id` integer NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `warehouses_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "warehouse_merchant_id_code" to table: "warehouses"
CREATE UNIQUE INDEX `warehouse_merchant_id_code` ON `warehouses` (`merchant_id`, `code`);
-- create index "warehouse_merchant_id_priority_code" to table: "warehouses"
CREATE INDEX `warehouse_merchant_id_priority_code` ON `warehouses` (`merchant_id`, `priority`, `code`);
-- create index "warehouse_merchant_id_shopify_location_id" to table: "warehouses"
CREATE UNIQUE INDEX `warehouse_merchant_id_shopify_location_id` ON `warehouses` (`merchant_id`, `shopify_location_id`);
-- create "webhook_events" table
CREATE TABLE `webhook_events` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `source` text NOT NULL, `external_id` text NOT NULL, `topic` text NOT NULL, `payload` blob NOT NULL, `status` text NOT NULL DEFAULT ('received'), `error` text NOT NULL DEFAULT (''), `processed_at` datetime NULL, `merchant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `webhook_events_merchants_merchant` FOREIGN KEY (`merchant_id`) REFERENCES `merchants` (`id`) ON DELETE NO ACTION);
-- create index "webhookevent_merchant_id_source_external_id" to table: "webhook_events"
CREATE UNIQUE INDEX `webhookevent_merchant_id_source_external_id` ON `webhook_events` (`merchant_id`, `source`, `external_id`);
-- create index "webhookevent_merchant_id_created_at" to table: "webhook_events"
CREATE INDEX `webhookevent_merchant_id_created_at` ON `webhook_events` (`merchant_id`, `created_at`);
