package catalog_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/media"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

const maxImageBytes = 1 << 20

func TestCreateImage(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		store, err := media.NewLocal(t.TempDir(), "http://shop.test", nil, maxImageBytes)
		if err != nil {
			t.Fatal(err)
		}
		svc := catalog.NewService(e.db, kv.NewMemory(), store, maxImageBytes)
		p, err := svc.CreateProduct(e.ctx, tshirt())
		if err != nil {
			t.Fatal(err)
		}
		// Warm the cache: the image must show at once all the same.
		if _, err := svc.Product(e.ctx, mustID(p.ID)); err != nil {
			t.Fatal(err)
		}

		img, up, err := svc.CreateImage(e.ctx, mustID(p.ID), catalog.ImageInput{
			Filename: "../Front View.PNG", ContentType: "image/png", Alt: ptr("  Front  "), SizeBytes: ptr(int64(1234)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if img.Position != 1 || img.Alt != "Front" || img.Status != "pending" ||
			!strings.HasPrefix(img.URL, "http://shop.test/media/merchants/") || !strings.HasSuffix(img.URL, "-front-view.png") {
			t.Fatalf("image %+v", img)
		}
		if up.Method != "PUT" || up.Headers["Content-Type"] != "image/png" || !strings.HasPrefix(up.URL, "http://shop.test/media/upload/merchants/") {
			t.Fatalf("upload %+v", up)
		}
		row, err := e.db.Client.ProductImage.Get(e.ctx, pulid.ID(img.ID))
		if err != nil || row.SizeBytes == nil || *row.SizeBytes != 1234 || row.ContentType != "image/png" || !strings.Contains(row.StorageKey, img.ID) {
			t.Fatalf("stored image %+v, %v", row, err)
		}
		second, _, err := svc.CreateImage(e.ctx, mustID(p.ID), catalog.ImageInput{Filename: "back.jpg", ContentType: "image/jpeg"})
		if err != nil || second.Position != 2 {
			t.Fatalf("second image %+v, %v", second, err)
		}
		got, err := svc.Product(e.ctx, mustID(p.ID))
		if err != nil || len(got.Images) != 2 || got.Images[0].ID != img.ID || got.Images[1].ID != second.ID {
			t.Fatalf("product images %+v, %v", got.Images, err)
		}

		tests := []struct {
			name  string
			id    string
			in    catalog.ImageInput
			code  apperr.Code
			field string
		}{
			{"SVG", p.ID, catalog.ImageInput{Filename: "x.svg", ContentType: "image/svg+xml"}, apperr.Invalid, "content_type"},
			{"no filename", p.ID, catalog.ImageInput{ContentType: "image/png"}, apperr.Invalid, "filename"},
			{"long alt", p.ID, catalog.ImageInput{Filename: "x.png", ContentType: "image/png", Alt: ptr(strings.Repeat("a", 513))}, apperr.Invalid, "alt"},
			{"too large", p.ID, catalog.ImageInput{Filename: "x.png", ContentType: "image/png", SizeBytes: ptr(int64(maxImageBytes + 1))}, apperr.PayloadTooLarge, "size_bytes"},
			{"invalid beats too large", p.ID, catalog.ImageInput{ContentType: "image/png", SizeBytes: ptr(int64(maxImageBytes + 1))}, apperr.Invalid, "filename"},
			{"no such product", "prd_01HZZZZZZZZZZZZZZZZZZZZZZZ", catalog.ImageInput{Filename: "x.png", ContentType: "image/png"}, apperr.NotFound, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := svc.CreateImage(e.ctx, mustID(tt.id), tt.in)
				ae := apperr.From(err)
				if ae.Code != tt.code || (tt.field != "" && (len(ae.Fields) == 0 || ae.Fields[0].Field != tt.field)) {
					t.Fatalf("got %v %+v, want %s naming %q", ae.Code, ae.Fields, tt.code, tt.field)
				}
			})
		}
		if n := e.db.Client.ProductImage.Query().CountX(e.ctx); n != 2 {
			t.Fatalf("refused images were written: %d images", n)
		}

		pk := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindPublishableKey, MerchantID: mustMerchant(t, e)})
		if _, _, err := svc.CreateImage(pk, mustID(p.ID), catalog.ImageInput{Filename: "x.png", ContentType: "image/png"}); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("publishable key created an image: %v", err)
		}
		if _, _, err := e.svc.CreateImage(e.ctx, mustID(p.ID), catalog.ImageInput{Filename: "x.png", ContentType: "image/png"}); apperr.CodeOf(err) != apperr.Unavailable {
			t.Fatalf("without a media store: %v", err)
		}
	})
}

func TestAvailability(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		p, err := e.svc.CreateProduct(e.ctx, tshirt())
		if err != nil {
			t.Fatal(err)
		}
		var levels []*ent.InventoryLevelCreate
		for i, code := range []string{"EAST", "WEST"} {
			w := e.db.Client.Warehouse.Create().SetCode(code).SetName(code).SaveX(e.ctx)
			levels = append(levels, e.db.Client.InventoryLevel.Create().
				SetVariantID(mustID(p.Variants[0].ID)).SetWarehouseID(w.ID).SetOnHand(int64(10*(i+1))).SetReserved(4))
		}
		e.db.Client.InventoryLevel.CreateBulk(levels...).ExecX(e.ctx)
		red, blue := mustID(p.Variants[0].ID), mustID(p.Variants[1].ID)
		got, err := e.svc.Availability(e.ctx, []pulid.ID{red, blue})
		if err != nil || got[red] != 22 || got[blue] != 0 || len(got) != 2 {
			t.Fatalf("Availability = %v, %v; want %s: 22 (10+20-4-4), %s: 0", got, err, red, blue)
		}
		if v, err := e.svc.Variant(e.ctx, red); err != nil || v.Available != 22 {
			t.Fatalf("Variant(%s).Available = %d, %v", red, v.Available, err)
		}
	})
}

func mustMerchant(t *testing.T, e env) pulid.ID {
	t.Helper()
	v, ok := viewer.FromContext(e.ctx)
	if !ok {
		t.Fatal("no viewer")
	}
	return v.MerchantID
}

// TestConfirmImage: once its upload URL expires, an uploaded image is marked uploaded and
// one never uploaded is removed; the check is scheduled in the image's own transaction.
func TestConfirmImage(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		store, err := media.NewLocal(t.TempDir(), "http://shop.test", nil, maxImageBytes)
		if err != nil {
			t.Fatal(err)
		}
		svc := catalog.NewService(e.db, kv.NewMemory(), store, maxImageBytes)
		p, err := svc.CreateProduct(e.ctx, tshirt())
		if err != nil {
			t.Fatal(err)
		}
		uploaded, up, err := svc.CreateImage(e.ctx, mustID(p.ID), catalog.ImageInput{Filename: "a.png", ContentType: "image/png"})
		if err != nil {
			t.Fatal(err)
		}
		never, _, err := svc.CreateImage(e.ctx, mustID(p.ID), catalog.ImageInput{Filename: "b.png", ContentType: "image/png"})
		if err != nil {
			t.Fatal(err)
		}
		var scheduled int
		if err := e.db.SQL.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'confirm_image_upload'`).Scan(&scheduled); err != nil || scheduled != 2 {
			t.Fatalf("%d confirmation jobs scheduled, %v", scheduled, err)
		}

		srv := httptest.NewServer(store.Handler())
		defer srv.Close()
		req, _ := http.NewRequest("PUT", strings.Replace(up.URL, "http://shop.test", srv.URL, 1), strings.NewReader("png bytes"))
		for k, v := range up.Headers {
			req.Header.Set(k, v)
		}
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Fatalf("upload: %v %v", resp, err)
		}

		for _, id := range []string{uploaded.ID, never.ID} {
			if err := svc.ConfirmImage(e.ctx, mustID(id)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := svc.Product(e.ctx, mustID(p.ID))
		if err != nil || len(got.Images) != 1 || got.Images[0].ID != uploaded.ID || got.Images[0].Status != "uploaded" {
			t.Fatalf("images after confirmation %+v, %v", got.Images, err)
		}
		row := e.db.Client.ProductImage.GetX(e.ctx, pulid.ID(uploaded.ID))
		if row.SizeBytes == nil || *row.SizeBytes != int64(len("png bytes")) {
			t.Fatalf("stored size %v", row.SizeBytes)
		}
		if err := svc.ConfirmImage(e.ctx, mustID(never.ID)); err != nil {
			t.Fatalf("confirming a removed image again: %v", err)
		}
	})
}

// TestVariantImage: a variant shows one of its own product's images. An image of another
// product (or merchant) is refused naming the field, an absent image_id leaves the link,
// null clears it, and deleting the image clears it too, in the cached product as well.
func TestVariantImage(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		store, err := media.NewLocal(t.TempDir(), "http://shop.test", nil, maxImageBytes)
		if err != nil {
			t.Fatal(err)
		}
		svc := catalog.NewService(e.db, kv.NewMemory(), store, maxImageBytes)
		image := func(ctx context.Context, productID string) pulid.ID {
			t.Helper()
			img, _, err := svc.CreateImage(ctx, mustID(productID), catalog.ImageInput{Filename: "a.png", ContentType: "image/png"})
			if err != nil {
				t.Fatal(err)
			}
			return mustID(img.ID)
		}
		p, err := svc.CreateProduct(e.ctx, tshirt())
		if err != nil {
			t.Fatal(err)
		}
		mug, err := svc.CreateProduct(e.ctx, catalog.ProductInput{Title: ptr("Mug"), Variants: []catalog.VariantInput{{SKU: ptr("MUG"), Price: ptr(int64(900))}}})
		if err != nil {
			t.Fatal(err)
		}
		front, back, mugImage := image(e.ctx, p.ID), image(e.ctx, p.ID), image(e.ctx, mug.ID)
		m := e.db.Client.Merchant.Create().SetName("Other").SetHandle("other").SaveX(viewer.SystemContext(context.Background()))
		otherCtx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_o", Role: viewer.RoleOwner})
		other, err := svc.CreateProduct(otherCtx, tshirt())
		if err != nil {
			t.Fatal(err)
		}
		otherImage := image(otherCtx, other.ID)
		red := mustID(p.Variants[0].ID)

		v, err := svc.UpdateVariant(e.ctx, red, catalog.VariantInput{ImageID: catalog.SetTo(&front)})
		if err != nil || v.ImageID == nil || *v.ImageID != front.String() {
			t.Fatalf("linking red to the front image: %+v, %v", v.ImageID, err)
		}
		if v, err = svc.UpdateVariant(e.ctx, red, catalog.VariantInput{Price: ptr(int64(2500))}); err != nil || v.ImageID == nil || *v.ImageID != front.String() {
			t.Fatalf("an update without image_id unlinked the image: %+v, %v", v.ImageID, err)
		}
		blue, err := svc.CreateVariant(e.ctx, mustID(p.ID), catalog.VariantInput{SKU: ptr("TSHIRT-BLUE-M"),
			OptionValues: map[string]string{"Color": "Blue", "Size": "M"}, Price: ptr(int64(1999)), ImageID: catalog.SetTo(&back)})
		if err != nil || blue.ImageID == nil || *blue.ImageID != back.String() {
			t.Fatalf("creating a variant with an image: %+v, %v", blue, err)
		}

		unknown := mustID("img_01HZZZZZZZZZZZZZZZZZZZZZZZ")
		tests := []struct {
			name  string
			write func() error
			field string
		}{
			{"ErrImageOfAnotherProduct", func() error {
				_, err := svc.UpdateVariant(e.ctx, red, catalog.VariantInput{ImageID: catalog.SetTo(&mugImage)})
				return err
			}, "image_id"},
			{"ErrImageOfAnotherMerchant", func() error {
				_, err := svc.UpdateVariant(e.ctx, red, catalog.VariantInput{ImageID: catalog.SetTo(&otherImage)})
				return err
			}, "image_id"},
			{"ErrNoSuchImage", func() error {
				_, err := svc.UpdateVariant(e.ctx, red, catalog.VariantInput{ImageID: catalog.SetTo(&unknown)})
				return err
			}, "image_id"},
			{"ErrNewVariantWithImageOfAnotherProduct", func() error {
				_, err := svc.CreateVariant(e.ctx, mustID(p.ID), catalog.VariantInput{SKU: ptr("TSHIRT-RED-L"),
					OptionValues: map[string]string{"Color": "Red", "Size": "L"}, Price: ptr(int64(1)), ImageID: catalog.SetTo(&mugImage)})
				return err
			}, "image_id"},
			{"ErrNewProductWithImage", func() error {
				in := tshirt()
				in.Title, in.Variants[0].SKU, in.Variants[1].SKU = ptr("New"), ptr("NEW-1"), ptr("NEW-2")
				in.Variants[1].ImageID = catalog.SetTo(&front)
				_, err := svc.CreateProduct(e.ctx, in)
				return err
			}, "variants[1].image_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ae := apperr.From(tt.write())
				if ae.Code != apperr.Invalid || ae.HTTPStatus() != http.StatusUnprocessableEntity || len(ae.Fields) != 1 || ae.Fields[0].Field != tt.field {
					t.Fatalf("got %v %+v, want invalid (422) naming %q", ae.Code, ae.Fields, tt.field)
				}
			})
		}
		if v, err := svc.Variant(e.ctx, red); err != nil || v.ImageID == nil || *v.ImageID != front.String() || v.Price != 2500 {
			t.Fatalf("refused writes changed red: %+v, %v", v, err)
		}
		if n := e.db.Client.Variant.Query().CountX(e.ctx); n != 4 {
			t.Fatalf("refused writes created variants: %d", n)
		}

		if v, err = svc.UpdateVariant(e.ctx, mustID(blue.ID), catalog.VariantInput{ImageID: catalog.SetTo(nil)}); err != nil || v.ImageID != nil {
			t.Fatalf("null image_id: %+v, %v", v.ImageID, err)
		}

		// The front image is never uploaded: confirming it deletes it, and the database
		// unlinks red. The product was read (and cached) before.
		if got, err := svc.Product(e.ctx, mustID(p.ID)); err != nil || got.Variants[0].ImageID == nil {
			t.Fatalf("before the deletion: %+v, %v", got.Variants, err)
		}
		if err := svc.ConfirmImage(e.ctx, front); err != nil {
			t.Fatal(err)
		}
		if row := e.db.Client.Variant.GetX(e.ctx, red); row.ImageID != nil {
			t.Fatalf("variant row still names the deleted image %s", *row.ImageID)
		}
		got, err := svc.Product(e.ctx, mustID(p.ID))
		if err != nil || len(got.Images) != 1 || got.Images[0].ID != back.String() || got.Variants[0].ID != red.String() || got.Variants[0].ImageID != nil {
			t.Fatalf("after the deletion: variants %+v images %+v, %v", got.Variants, got.Images, err)
		}
	})
}

func TestVariantInputImageJSON(t *testing.T) {
	t.Parallel()
	img := mustID("img_1")
	tests := []struct {
		body string
		want catalog.OptionalID
	}{
		{`{}`, catalog.OptionalID{}},
		{`{"image_id": null}`, catalog.SetTo(nil)},
		{`{"image_id": "img_1"}`, catalog.SetTo(&img)},
	}
	for _, tt := range tests {
		var in catalog.VariantInput
		if err := json.Unmarshal([]byte(tt.body), &in); err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if diff := cmp.Diff(tt.want, in.ImageID); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.body, diff)
		}
	}
	var in catalog.VariantInput
	if err := json.Unmarshal([]byte(`{"image_id": 7}`), &in); err == nil {
		t.Fatal("a number decoded as an image id")
	}
}
