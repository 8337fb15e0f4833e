-- create "merchants" table
CREATE TABLE "merchants" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "handle" character varying NOT NULL, "currency" character varying NOT NULL DEFAULT 'USD', "status" character varying NOT NULL DEFAULT 'onboarding', "shopify_shop_domain" character varying NULL, "shopify_access_token" character varying NULL, "shopify_uninstalled_at" timestamptz NULL, "shipping_flat_rate" bigint NOT NULL DEFAULT 0, "tax_rate_bps" bigint NOT NULL DEFAULT 0, "last_order_number" bigint NOT NULL DEFAULT 1000, PRIMARY KEY ("id"));
-- create index "merchants_handle_key" to table: "merchants"
CREATE UNIQUE INDEX "merchants_handle_key" ON "merchants" ("handle");
-- create index "merchants_shopify_shop_domain_key" to table: "merchants"
CREATE UNIQUE INDEX "merchants_shopify_shop_domain_key" ON "merchants" ("shopify_shop_domain");
-- create "api_keys" table
CREATE TABLE "api_keys" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "kind" character varying NOT NULL, "name" character varying NOT NULL DEFAULT '', "prefix" character varying NOT NULL, "hash" character varying NOT NULL, "last_used_at" timestamptz NULL, "revoked_at" timestamptz NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "api_keys_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "api_keys_hash_key" to table: "api_keys"
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys" ("hash");
-- create index "apikey_merchant_id_created_at" to table: "api_keys"
CREATE INDEX "apikey_merchant_id_created_at" ON "api_keys" ("merchant_id", "created_at");
-- create "audit_events" table
CREATE TABLE "audit_events" ("id" character varying NOT NULL, "actor" character varying NOT NULL, "action" character varying NOT NULL, "subject_id" character varying NOT NULL DEFAULT '', "request_id" character varying NOT NULL DEFAULT '', "ip" character varying NOT NULL DEFAULT '', "details" jsonb NULL, "created_at" timestamptz NOT NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "audit_events_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "auditevent_merchant_id_created_at_id" to table: "audit_events"
CREATE INDEX "auditevent_merchant_id_created_at_id" ON "audit_events" ("merchant_id", "created_at", "id");
-- create index "auditevent_merchant_id_subject_id" to table: "audit_events"
CREATE INDEX "auditevent_merchant_id_subject_id" ON "audit_events" ("merchant_id", "subject_id");
-- create "email_messages" table
CREATE TABLE "email_messages" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "kind" character varying NOT NULL, "dedup_key" character varying NOT NULL, "order_id" character varying NULL, "shipment_id" character varying NULL, "to_address" character varying NOT NULL, "subject" character varying NOT NULL DEFAULT '', "html_body" text NOT NULL DEFAULT '', "text_body" text NOT NULL DEFAULT '', "status" character varying NOT NULL DEFAULT 'queued', "attempts" bigint NOT NULL DEFAULT 0, "last_error" character varying NOT NULL DEFAULT '', "provider_message_id" character varying NOT NULL DEFAULT '', "sent_at" timestamptz NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "email_messages_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "emailmessage_merchant_id_created_at" to table: "email_messages"
CREATE INDEX "emailmessage_merchant_id_created_at" ON "email_messages" ("merchant_id", "created_at");
-- create index "emailmessage_merchant_id_dedup_key" to table: "email_messages"
CREATE UNIQUE INDEX "emailmessage_merchant_id_dedup_key" ON "email_messages" ("merchant_id", "dedup_key");
-- create index "emailmessage_merchant_id_order_id" to table: "email_messages"
CREATE INDEX "emailmessage_merchant_id_order_id" ON "email_messages" ("merchant_id", "order_id");
-- create "idempotency_keys" table
CREATE TABLE "idempotency_keys" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "key" character varying NOT NULL, "scope" character varying NOT NULL, "request_hash" character varying NOT NULL, "status" character varying NOT NULL DEFAULT 'in_progress', "response_status" bigint NULL, "response_body" bytea NULL, "expires_at" timestamptz NOT NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "idempotency_keys_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "idempotencykey_merchant_id_expires_at" to table: "idempotency_keys"
CREATE INDEX "idempotencykey_merchant_id_expires_at" ON "idempotency_keys" ("merchant_id", "expires_at");
-- create index "idempotencykey_merchant_id_key_scope" to table: "idempotency_keys"
CREATE UNIQUE INDEX "idempotencykey_merchant_id_key_scope" ON "idempotency_keys" ("merchant_id", "key", "scope");
-- create "import_jobs" table
CREATE TABLE "import_jobs" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "kind" character varying NOT NULL, "status" character varying NOT NULL DEFAULT 'queued', "filename" character varying NOT NULL DEFAULT '', "file_sha256" character varying NOT NULL DEFAULT '', "storage_key" character varying NOT NULL DEFAULT '', "warehouse_code" character varying NOT NULL DEFAULT '', "dry_run" boolean NOT NULL DEFAULT false, "rows_total" bigint NOT NULL DEFAULT 0, "rows_imported" bigint NOT NULL DEFAULT 0, "rows_skipped" bigint NOT NULL DEFAULT 0, "rows_rejected" bigint NOT NULL DEFAULT 0, "last_row" bigint NOT NULL DEFAULT 0, "error" character varying NOT NULL DEFAULT '', "started_at" timestamptz NULL, "finished_at" timestamptz NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "import_jobs_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "importjob_merchant_id_created_at" to table: "import_jobs"
CREATE INDEX "importjob_merchant_id_created_at" ON "import_jobs" ("merchant_id", "created_at");
-- create "import_row_errors" table
CREATE TABLE "import_row_errors" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "row" bigint NOT NULL, "column" character varying NOT NULL DEFAULT '', "message" character varying NOT NULL, "import_job_id" character varying NOT NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "import_row_errors_import_jobs_row_errors" FOREIGN KEY ("import_job_id") REFERENCES "import_jobs" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "import_row_errors_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "importrowerror_merchant_id_import_job_id_row" to table: "import_row_errors"
CREATE INDEX "importrowerror_merchant_id_import_job_id_row" ON "import_row_errors" ("merchant_id", "import_job_id", "row");
-- create "products" table
CREATE TABLE "products" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "title" character varying NOT NULL, "handle" character varying NOT NULL, "description_html" text NOT NULL DEFAULT '', "vendor" character varying NOT NULL DEFAULT '', "product_type" character varying NOT NULL DEFAULT '', "tags" jsonb NULL, "status" character varying NOT NULL DEFAULT 'active', "shopify_id" bigint NULL, "published_at" timestamptz NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "products_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "product_merchant_id_handle" to table: "products"
CREATE UNIQUE INDEX "product_merchant_id_handle" ON "products" ("merchant_id", "handle");
-- create index "product_merchant_id_product_type_id" to table: "products"
CREATE INDEX "product_merchant_id_product_type_id" ON "products" ("merchant_id", "product_type", "id");
-- create index "product_merchant_id_shopify_id" to table: "products"
CREATE UNIQUE INDEX "product_merchant_id_shopify_id" ON "products" ("merchant_id", "shopify_id");
-- create index "product_merchant_id_status_id" to table: "products"
CREATE INDEX "product_merchant_id_status_id" ON "products" ("merchant_id", "status", "id");
-- create index "product_merchant_id_updated_at_id" to table: "products"
CREATE INDEX "product_merchant_id_updated_at_id" ON "products" ("merchant_id", "updated_at", "id");
-- create index "product_merchant_id_vendor_id" to table: "products"
CREATE INDEX "product_merchant_id_vendor_id" ON "products" ("merchant_id", "vendor", "id");
-- create "variants" table
CREATE TABLE "variants" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "sku" character varying NOT NULL, "title" character varying NOT NULL DEFAULT '', "option1" character varying NOT NULL DEFAULT '', "option2" character varying NOT NULL DEFAULT '', "option3" character varying NOT NULL DEFAULT '', "price" bigint NOT NULL DEFAULT 0, "compare_at_price" bigint NULL, "barcode" character varying NOT NULL DEFAULT '', "weight_grams" bigint NOT NULL DEFAULT 0, "position" bigint NOT NULL DEFAULT 1, "shopify_id" bigint NULL, "shopify_inventory_item_id" bigint NULL, "product_id" character varying NOT NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "variants_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "variants_products_variants" FOREIGN KEY ("product_id") REFERENCES "products" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "variant_merchant_id_barcode" to table: "variants"
CREATE INDEX "variant_merchant_id_barcode" ON "variants" ("merchant_id", "barcode");
-- create index "variant_merchant_id_product_id_option1_option2_option3" to table: "variants"
CREATE UNIQUE INDEX "variant_merchant_id_product_id_option1_option2_option3" ON "variants" ("merchant_id", "product_id", "option1", "option2", "option3");
-- create index "variant_merchant_id_shopify_id" to table: "variants"
CREATE UNIQUE INDEX "variant_merchant_id_shopify_id" ON "variants" ("merchant_id", "shopify_id");
-- create index "variant_merchant_id_shopify_inventory_item_id" to table: "variants"
CREATE INDEX "variant_merchant_id_shopify_inventory_item_id" ON "variants" ("merchant_id", "shopify_inventory_item_id");
-- create index "variant_merchant_id_sku" to table: "variants"
CREATE UNIQUE INDEX "variant_merchant_id_sku" ON "variants" ("merchant_id", "sku");
-- create "warehouses" table
CREATE TABLE "warehouses" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "code" character varying NOT NULL, "name" character varying NOT NULL, "priority" bigint NOT NULL DEFAULT 100, "address" jsonb NULL, "active" boolean NOT NULL DEFAULT true, "shopify_location_id" bigint NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "warehouses_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "warehouse_merchant_id_code" to table: "warehouses"
CREATE UNIQUE INDEX "warehouse_merchant_id_code" ON "warehouses" ("merchant_id", "code");
-- create index "warehouse_merchant_id_priority_code" to table: "warehouses"
CREATE INDEX "warehouse_merchant_id_priority_code" ON "warehouses" ("merchant_id", "priority", "code");
-- create index "warehouse_merchant_id_shopify_location_id" to table: "warehouses"
CREATE UNIQUE INDEX "warehouse_merchant_id_shopify_location_id" ON "warehouses" ("merchant_id", "shopify_location_id");
-- create "inventory_levels" table
CREATE TABLE "inventory_levels" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "on_hand" bigint NOT NULL DEFAULT 0, "reserved" bigint NOT NULL DEFAULT 0, "merchant_id" character varying NOT NULL, "warehouse_id" character varying NOT NULL, "variant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "inventory_levels_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "inventory_levels_variants_inventory_levels" FOREIGN KEY ("variant_id") REFERENCES "variants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "inventory_levels_warehouses_warehouse" FOREIGN KEY ("warehouse_id") REFERENCES "warehouses" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "inventory_levels_on_hand_nonnegative" CHECK (on_hand >= 0), CONSTRAINT "inventory_levels_reserved_nonnegative" CHECK (reserved >= 0), CONSTRAINT "inventory_levels_reserved_within_on_hand" CHECK (reserved <= on_hand));
-- create index "inventorylevel_merchant_id_variant_id_warehouse_id" to table: "inventory_levels"
CREATE UNIQUE INDEX "inventorylevel_merchant_id_variant_id_warehouse_id" ON "inventory_levels" ("merchant_id", "variant_id", "warehouse_id");
-- create index "inventorylevel_merchant_id_warehouse_id" to table: "inventory_levels"
CREATE INDEX "inventorylevel_merchant_id_warehouse_id" ON "inventory_levels" ("merchant_id", "warehouse_id");
-- create "orders" table
CREATE TABLE "orders" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "number" bigint NOT NULL, "name" character varying NOT NULL DEFAULT '', "email" character varying NOT NULL, "currency" character varying NOT NULL, "status" character varying NOT NULL DEFAULT 'open', "financial_status" character varying NOT NULL DEFAULT 'pending', "fulfillment_status" character varying NOT NULL DEFAULT 'unfulfilled', "subtotal" bigint NOT NULL DEFAULT 0, "shipping_total" bigint NOT NULL DEFAULT 0, "tax_total" bigint NOT NULL DEFAULT 0, "total" bigint NOT NULL DEFAULT 0, "amount_refunded" bigint NOT NULL DEFAULT 0, "shipping_address" jsonb NULL, "note" character varying NOT NULL DEFAULT '', "source" character varying NOT NULL DEFAULT 'api', "shopify_id" bigint NULL, "shopify_updated_at" timestamptz NULL, "reservation_expires_at" timestamptz NULL, "processed_at" timestamptz NULL, "paid_at" timestamptz NULL, "cancelled_at" timestamptz NULL, "cancel_reason" character varying NOT NULL DEFAULT '', "closed_at" timestamptz NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "orders_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "order_merchant_id_created_at_id" to table: "orders"
CREATE INDEX "order_merchant_id_created_at_id" ON "orders" ("merchant_id", "created_at", "id");
-- create index "order_merchant_id_email" to table: "orders"
CREATE INDEX "order_merchant_id_email" ON "orders" ("merchant_id", "email");
-- create index "order_merchant_id_financial_status_reservation_expires_at" to table: "orders"
CREATE INDEX "order_merchant_id_financial_status_reservation_expires_at" ON "orders" ("merchant_id", "financial_status", "reservation_expires_at");
-- create index "order_merchant_id_fulfillment_status_id" to table: "orders"
CREATE INDEX "order_merchant_id_fulfillment_status_id" ON "orders" ("merchant_id", "fulfillment_status", "id");
-- create index "order_merchant_id_number" to table: "orders"
CREATE UNIQUE INDEX "order_merchant_id_number" ON "orders" ("merchant_id", "number");
-- create index "order_merchant_id_shopify_id" to table: "orders"
CREATE UNIQUE INDEX "order_merchant_id_shopify_id" ON "orders" ("merchant_id", "shopify_id");
-- create index "order_merchant_id_status_id" to table: "orders"
CREATE INDEX "order_merchant_id_status_id" ON "orders" ("merchant_id", "status", "id");
-- create "inventory_movements" table
CREATE TABLE "inventory_movements" ("id" character varying NOT NULL, "sku" character varying NOT NULL, "on_hand_delta" bigint NOT NULL DEFAULT 0, "reserved_delta" bigint NOT NULL DEFAULT 0, "on_hand_after" bigint NOT NULL, "reserved_after" bigint NOT NULL, "reason" character varying NOT NULL, "note" character varying NOT NULL DEFAULT '', "actor" character varying NOT NULL, "created_at" timestamptz NOT NULL, "merchant_id" character varying NOT NULL, "variant_id" character varying NOT NULL, "warehouse_id" character varying NOT NULL, "order_id" character varying NULL, PRIMARY KEY ("id"), CONSTRAINT "inventory_movements_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "inventory_movements_orders_order" FOREIGN KEY ("order_id") REFERENCES "orders" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "inventory_movements_variants_variant" FOREIGN KEY ("variant_id") REFERENCES "variants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "inventory_movements_warehouses_warehouse" FOREIGN KEY ("warehouse_id") REFERENCES "warehouses" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "inventorymovement_merchant_id_order_id" to table: "inventory_movements"
CREATE INDEX "inventorymovement_merchant_id_order_id" ON "inventory_movements" ("merchant_id", "order_id");
-- create index "inventorymovement_merchant_id_variant_id_created_at" to table: "inventory_movements"
CREATE INDEX "inventorymovement_merchant_id_variant_id_created_at" ON "inventory_movements" ("merchant_id", "variant_id", "created_at");
-- create "order_line_items" table
CREATE TABLE "order_line_items" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "sku" character varying NOT NULL, "title" character varying NOT NULL DEFAULT '', "variant_title" character varying NOT NULL DEFAULT '', "quantity" bigint NOT NULL, "unit_price" bigint NOT NULL DEFAULT 0, "total" bigint NOT NULL DEFAULT 0, "shopify_line_item_id" bigint NULL, "order_id" character varying NOT NULL, "merchant_id" character varying NOT NULL, "variant_id" character varying NULL, PRIMARY KEY ("id"), CONSTRAINT "order_line_items_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "order_line_items_orders_line_items" FOREIGN KEY ("order_id") REFERENCES "orders" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "order_line_items_variants_variant" FOREIGN KEY ("variant_id") REFERENCES "variants" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- create index "orderlineitem_merchant_id_order_id" to table: "order_line_items"
CREATE INDEX "orderlineitem_merchant_id_order_id" ON "order_line_items" ("merchant_id", "order_id");
-- create index "orderlineitem_merchant_id_variant_id" to table: "order_line_items"
CREATE INDEX "orderlineitem_merchant_id_variant_id" ON "order_line_items" ("merchant_id", "variant_id");
-- create "payments" table
CREATE TABLE "payments" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "provider" character varying NOT NULL, "status" character varying NOT NULL DEFAULT 'pending', "amount" bigint NOT NULL DEFAULT 0, "currency" character varying NOT NULL, "amount_refunded" bigint NOT NULL DEFAULT 0, "stripe_payment_intent_id" character varying NULL, "stripe_client_secret" character varying NULL, "failure_message" character varying NOT NULL DEFAULT '', "stripe_event_at" timestamptz NULL, "order_id" character varying NOT NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "payments_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "payments_orders_payments" FOREIGN KEY ("order_id") REFERENCES "orders" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "payment_merchant_id_order_id" to table: "payments"
CREATE INDEX "payment_merchant_id_order_id" ON "payments" ("merchant_id", "order_id");
-- create index "payments_stripe_payment_intent_id_key" to table: "payments"
CREATE UNIQUE INDEX "payments_stripe_payment_intent_id_key" ON "payments" ("stripe_payment_intent_id");
-- create "product_images" table
CREATE TABLE "product_images" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "storage_key" character varying NOT NULL, "source_url" character varying NOT NULL DEFAULT '', "content_type" character varying NOT NULL, "size_bytes" bigint NULL, "position" bigint NOT NULL DEFAULT 1, "alt" character varying NOT NULL DEFAULT '', "status" character varying NOT NULL DEFAULT 'pending', "product_id" character varying NOT NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "product_images_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "product_images_products_images" FOREIGN KEY ("product_id") REFERENCES "products" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "productimage_merchant_id_product_id_position" to table: "product_images"
CREATE INDEX "productimage_merchant_id_product_id_position" ON "product_images" ("merchant_id", "product_id", "position");
-- create "product_options" table
CREATE TABLE "product_options" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "position" bigint NOT NULL, "values" jsonb NULL, "product_id" character varying NOT NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "product_options_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "product_options_products_options" FOREIGN KEY ("product_id") REFERENCES "products" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "productoption_merchant_id_product_id_name" to table: "product_options"
CREATE UNIQUE INDEX "productoption_merchant_id_product_id_name" ON "product_options" ("merchant_id", "product_id", "name");
-- create index "productoption_merchant_id_product_id_position" to table: "product_options"
CREATE UNIQUE INDEX "productoption_merchant_id_product_id_position" ON "product_options" ("merchant_id", "product_id", "position");
-- create "refunds" table
CREATE TABLE "refunds" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "amount" bigint NOT NULL, "currency" character varying NOT NULL, "reason" character varying NOT NULL DEFAULT '', "status" character varying NOT NULL DEFAULT 'pending', "stripe_refund_id" character varying NULL, "failure_message" character varying NOT NULL DEFAULT '', "order_id" character varying NOT NULL, "payment_id" character varying NOT NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "refunds_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "refunds_orders_refunds" FOREIGN KEY ("order_id") REFERENCES "orders" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "refunds_payments_refunds" FOREIGN KEY ("payment_id") REFERENCES "payments" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "refund_merchant_id_order_id" to table: "refunds"
CREATE INDEX "refund_merchant_id_order_id" ON "refunds" ("merchant_id", "order_id");
-- create index "refunds_stripe_refund_id_key" to table: "refunds"
CREATE UNIQUE INDEX "refunds_stripe_refund_id_key" ON "refunds" ("stripe_refund_id");
-- create "shipments" table
CREATE TABLE "shipments" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "status" character varying NOT NULL DEFAULT 'pending', "carrier" character varying NOT NULL DEFAULT '', "tracking_number" character varying NOT NULL DEFAULT '', "tracking_url" character varying NOT NULL DEFAULT '', "shipped_at" timestamptz NULL, "delivered_at" timestamptz NULL, "order_id" character varying NOT NULL, "merchant_id" character varying NOT NULL, "warehouse_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "shipments_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "shipments_orders_shipments" FOREIGN KEY ("order_id") REFERENCES "orders" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "shipments_warehouses_warehouse" FOREIGN KEY ("warehouse_id") REFERENCES "warehouses" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "shipment_merchant_id_order_id" to table: "shipments"
CREATE INDEX "shipment_merchant_id_order_id" ON "shipments" ("merchant_id", "order_id");
-- create index "shipment_merchant_id_warehouse_id_status" to table: "shipments"
CREATE INDEX "shipment_merchant_id_warehouse_id_status" ON "shipments" ("merchant_id", "warehouse_id", "status");
-- create "shipment_line_items" table
CREATE TABLE "shipment_line_items" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "sku" character varying NOT NULL, "quantity" bigint NOT NULL, "shipment_id" character varying NOT NULL, "merchant_id" character varying NOT NULL, "order_line_item_id" character varying NOT NULL, "variant_id" character varying NULL, PRIMARY KEY ("id"), CONSTRAINT "shipment_line_items_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "shipment_line_items_order_line_items_order_line_item" FOREIGN KEY ("order_line_item_id") REFERENCES "order_line_items" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "shipment_line_items_shipments_line_items" FOREIGN KEY ("shipment_id") REFERENCES "shipments" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "shipment_line_items_variants_variant" FOREIGN KEY ("variant_id") REFERENCES "variants" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- create index "shipmentlineitem_merchant_id_order_line_item_id" to table: "shipment_line_items"
CREATE INDEX "shipmentlineitem_merchant_id_order_line_item_id" ON "shipment_line_items" ("merchant_id", "order_line_item_id");
-- create index "shipmentlineitem_merchant_id_shipment_id" to table: "shipment_line_items"
CREATE INDEX "shipmentlineitem_merchant_id_shipment_id" ON "shipment_line_items" ("merchant_id", "shipment_id");
-- create "users" table
CREATE TABLE "users" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "email" character varying NOT NULL, "name" character varying NOT NULL DEFAULT '', "password_hash" character varying NOT NULL, "role" character varying NOT NULL DEFAULT 'staff', "last_login_at" timestamptz NULL, "disabled_at" timestamptz NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "users_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "user_email" to table: "users"
CREATE UNIQUE INDEX "user_email" ON "users" ("email");
-- create index "user_merchant_id_created_at" to table: "users"
CREATE INDEX "user_merchant_id_created_at" ON "users" ("merchant_id", "created_at");
-- create "webhook_events" table
CREATE TABLE "webhook_events" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "source" character varying NOT NULL, "external_id" character varying NOT NULL, "topic" character varying NOT NULL, "payload" bytea NOT NULL, "status" character varying NOT NULL DEFAULT 'received', "error" character varying NOT NULL DEFAULT '', "processed_at" timestamptz NULL, "merchant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "webhook_events_merchants_merchant" FOREIGN KEY ("merchant_id") REFERENCES "merchants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "webhookevent_merchant_id_created_at" to table: "webhook_events"
CREATE INDEX "webhookevent_merchant_id_created_at" ON "webhook_events" ("merchant_id", "created_at");
-- create index "webhookevent_merchant_id_source_external_id" to table: "webhook_events"
CREATE UNIQUE INDEX "webhookevent_merchant_id_source_external_id" ON "webhook_events" ("merchant_id", "source", "external_id");
