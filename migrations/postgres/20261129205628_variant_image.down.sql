-- reverse: create index "variant_image_id" to table: "variants"
DROP INDEX "variant_image_id";
-- reverse: modify "variants" table
ALTER TABLE "variants" DROP CONSTRAINT "variants_product_images_image", DROP COLUMN "image_id";
