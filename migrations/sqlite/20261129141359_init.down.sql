-- reverse: create index "webhookevent_merchant_id_created_at" to table: "webhook_events"
DROP INDEX `webhookevent_merchant_id_created_at`;
-- reverse: create index "webhookevent_merchant_id_source_external_id" to table: "webhook_events"
DROP INDEX `webhookevent_merchant_id_source_external_id`;
-- reverse: create "webhook_events" table
DROP TABLE `webhook_events`;
-- reverse: create index "warehouse_merchant_id_shopify_location_id" to table: "warehouses"
DROP INDEX `warehouse_merchant_id_shopify_location_id`;
-- reverse: create index "warehouse_merchant_id_priority_code" to table: "warehouses"
DROP INDEX `warehouse_merchant_id_priority_code`;
-- reverse: create index "warehouse_merchant_id_code" to table: "warehouses"
DROP INDEX `warehouse_merchant_id_code`;
-- reverse: create "warehouses" table
DROP TABLE `warehouses`;
-- reverse: create index "variant_merchant_id_barcode" to table: "variants"
DROP INDEX `variant_merchant_id_barcode`;
-- reverse: create index "variant_merchant_id_shopify_inventory_item_id" to table: "variants"
DROP INDEX `variant_merchant_id_shopify_inventory_item_id`;
-- reverse: create index "variant_merchant_id_shopify_id" to table: "variants"
DROP INDEX `variant_merchant_id_shopify_id`;
-- reverse: create index "variant_merchant_id_product_id_option1_option2_option3" to table: "variants"
DROP INDEX `variant_merchant_id_product_id_option1_option2_option3`;
-- reverse: create index "variant_merchant_id_sku" to table: "variants"
DROP INDEX `variant_merchant_id_sku`;
-- reverse: create "variants" table
DROP TABLE `variants`;
-- reverse: create index "user_merchant_id_created_at" to table: "users"
DROP INDEX `user_merchant_id_created_at`;
-- reverse: create index "user_email" to table: "users"
DROP INDEX `user_email`;
-- reverse: create "users" table
DROP TABLE `users`;
-- reverse: create index "shipmentlineitem_merchant_id_order_line_item_id" to table: "shipment_line_items"
DROP INDEX `shipmentlineitem_merchant_id_order_line_item_id`;
-- reverse: create index "shipmentlineitem_merchant_id_shipment_id" to table: "shipment_line_items"
DROP INDEX `shipmentlineitem_merchant_id_shipment_id`;
-- reverse: create "shipment_line_items" table
DROP TABLE `shipment_line_items`;
-- reverse: create index "shipment_merchant_id_warehouse_id_status" to table: "shipments"
DROP INDEX `shipment_merchant_id_warehouse_id_status`;
-- reverse: create index "shipment_merchant_id_order_id" to table: "shipments"
DROP INDEX `shipment_merchant_id_order_id`;
-- reverse: create "shipments" table
DROP TABLE `shipments`;
-- reverse: create index "refund_merchant_id_order_id" to table: "refunds"
DROP INDEX `refund_merchant_id_order_id`;
-- reverse: create index "refunds_stripe_refund_id_key" to table: "refunds"
DROP INDEX `refunds_stripe_refund_id_key`;
-- reverse: create "refunds" table
DROP TABLE `refunds`;
-- reverse: create index "productoption_merchant_id_product_id_name" to table: "product_options"
DROP INDEX `productoption_merchant_id_product_id_name`;
-- reverse: create index "productoption_merchant_id_product_id_position" to table: "product_options"
DROP INDEX `productoption_merchant_id_product_id_position`;
-- reverse: create "product_options" table
DROP TABLE `product_options`;
-- reverse: create index "productimage_merchant_id_product_id_position" to table: "product_images"
DROP INDEX `productimage_merchant_id_product_id_position`;
-- reverse: create "product_images" table
DROP TABLE `product_images`;
-- reverse: create index "product_merchant_id_updated_at_id" to table: "products"
DROP INDEX `product_merchant_id_updated_at_id`;
-- reverse: create index "product_merchant_id_product_type_id" to table: "products"
DROP INDEX `product_merchant_id_product_type_id`;
-- reverse: create index "product_merchant_id_vendor_id" to table: "products"
DROP INDEX `product_merchant_id_vendor_id`;
-- reverse: create index "product_merchant_id_status_id" to table: "products"
DROP INDEX `product_merchant_id_status_id`;
-- reverse: create index "product_merchant_id_shopify_id" to table: "products"
DROP INDEX `product_merchant_id_shopify_id`;
-- reverse: create index "product_merchant_id_handle" to table: "products"
DROP INDEX `product_merchant_id_handle`;
-- reverse: create "products" table
DROP TABLE `products`;
-- reverse: create index "payment_merchant_id_order_id" to table: "payments"
DROP INDEX `payment_merchant_id_order_id`;
-- reverse: create index "payments_stripe_payment_intent_id_key" to table: "payments"
DROP INDEX `payments_stripe_payment_intent_id_key`;
-- reverse: create "payments" table
DROP TABLE `payments`;
-- reverse: create index "orderlineitem_merchant_id_variant_id" to table: "order_line_items"
DROP INDEX `orderlineitem_merchant_id_variant_id`;
-- reverse: create index "orderlineitem_merchant_id_order_id" to table: "order_line_items"
DROP INDEX `orderlineitem_merchant_id_order_id`;
-- reverse: create "order_line_items" table
DROP TABLE `order_line_items`;
-- reverse: create index "order_merchant_id_email" to table: "orders"
DROP INDEX `order_merchant_id_email`;
-- reverse: create index "order_merchant_id_fulfillment_status_id" to table: "orders"
DROP INDEX `order_merchant_id_fulfillment_status_id`;
-- reverse: create index "order_merchant_id_financial_status_reservation_expires_at" to table: "orders"
DROP INDEX `order_merchant_id_financial_status_reservation_expires_at`;
-- reverse: create index "order_merchant_id_status_id" to table: "orders"
DROP INDEX `order_merchant_id_status_id`;
-- reverse: create index "order_merchant_id_created_at_id" to table: "orders"
DROP INDEX `order_merchant_id_created_at_id`;
-- reverse: create index "order_merchant_id_shopify_id" to table: "orders"
DROP INDEX `order_merchant_id_shopify_id`;
-- reverse: create index "order_merchant_id_number" to table: "orders"
DROP INDEX `order_merchant_id_number`;
-- reverse: create "orders" table
DROP TABLE `orders`;
-- reverse: create index "merchants_shopify_shop_domain_key" to table: "merchants"
DROP INDEX `merchants_shopify_shop_domain_key`;
-- reverse: create index "merchants_handle_key" to table: "merchants"
DROP INDEX `merchants_handle_key`;
-- reverse: create "merchants" table
DROP TABLE `merchants`;
-- reverse: create index "inventorymovement_merchant_id_order_id" to table: "inventory_movements"
DROP INDEX `inventorymovement_merchant_id_order_id`;
-- reverse: create index "inventorymovement_merchant_id_variant_id_created_at" to table: "inventory_movements"
DROP INDEX `inventorymovement_merchant_id_variant_id_created_at`;
-- reverse: create "inventory_movements" table
DROP TABLE `inventory_movements`;
-- reverse: create index "inventorylevel_merchant_id_warehouse_id" to table: "inventory_levels"
DROP INDEX `inventorylevel_merchant_id_warehouse_id`;
-- reverse: create index "inventorylevel_merchant_id_variant_id_warehouse_id" to table: "inventory_levels"
DROP INDEX `inventorylevel_merchant_id_variant_id_warehouse_id`;
-- reverse: create "inventory_levels" table
DROP TABLE `inventory_levels`;
-- reverse: create index "importrowerror_merchant_id_import_job_id_row" to table: "import_row_errors"
DROP INDEX `importrowerror_merchant_id_import_job_id_row`;
-- reverse: create "import_row_errors" table
DROP TABLE `import_row_errors`;
-- reverse: create index "importjob_merchant_id_created_at" to table: "import_jobs"
DROP INDEX `importjob_merchant_id_created_at`;
-- reverse: create "import_jobs" table
DROP TABLE `import_jobs`;
-- reverse: create index "idempotencykey_merchant_id_expires_at" to table: "idempotency_keys"
DROP INDEX `idempotencykey_merchant_id_expires_at`;
-- reverse: create index "idempotencykey_merchant_id_key_scope" to table: "idempotency_keys"
DROP INDEX `idempotencykey_merchant_id_key_scope`;
-- reverse: create "idempotency_keys" table
DROP TABLE `idempotency_keys`;
-- reverse: create index "emailmessage_merchant_id_order_id" to table: "email_messages"
DROP INDEX `emailmessage_merchant_id_order_id`;
-- reverse: create index "emailmessage_merchant_id_created_at" to table: "email_messages"
DROP INDEX `emailmessage_merchant_id_created_at`;
-- reverse: create index "emailmessage_merchant_id_dedup_key" to table: "email_messages"
DROP INDEX `emailmessage_merchant_id_dedup_key`;
-- reverse: create "email_messages" table
DROP TABLE `email_messages`;
-- reverse: create index "auditevent_merchant_id_subject_id" to table: "audit_events"
DROP INDEX `auditevent_merchant_id_subject_id`;
-- reverse: create index "auditevent_merchant_id_created_at_id" to table: "audit_events"
DROP INDEX `auditevent_merchant_id_created_at_id`;
-- reverse: create "audit_events" table
DROP TABLE `audit_events`;
-- reverse: create index "apikey_merchant_id_created_at" to table: "api_keys"
DROP INDEX `apikey_merchant_id_created_at`;
-- reverse: create index "api_keys_hash_key" to table: "api_keys"
DROP INDEX `api_keys_hash_key`;
-- reverse: create "api_keys" table
DROP TABLE `api_keys`;
