-- modify "variants" table
ALTER TABLE "variants" ADD COLUMN "image_id" character varying NULL, ADD CONSTRAINT "variants_product_images_image" FOREIGN KEY ("image_id") REFERENCES "product_images" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
-- create index "variant_image_id" to table: "variants"
CREATE INDEX "variant_image_id" ON "variants" ("image_id");
