package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/mercantile/mercantile/internal/catalog"
	"github.com/mercantile/mercantile/internal/media"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

func tshirtBody() map[string]any {
	return map[string]any{
		"title": "Classic T-Shirt", "vendor": "Acme", "tags": []string{"summer", "cotton"},
		"description_html": `<p>Soft <b>cotton</b>.</p><script>alert(1)</script>`,
		"options": []map[string]any{
			{"name": "Color", "values": []string{"Red", "Blue"}},
			{"name": "Size", "values": []string{"M", "L"}},
		},
		"variants": []map[string]any{
			{"sku": "TSHIRT-RED-M", "option_values": map[string]string{"Color": "Red", "Size": "M"}, "price": 1999,
				"compare_at_price": 2499, "barcode": "0123456789012", "weight_grams": 180},
			{"sku": "TSHIRT-BLUE-L", "option_values": map[string]string{"Color": "Blue", "Size": "L"}, "price": 2099},
		},
	}
}

// decode reads a 2xx reply into out, failing on any other status.
func (r reply) decode(t *testing.T, status int, out any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// expectField checks a problem names field in its errors.
func expectField(t *testing.T, problem map[string]any, field string) {
	t.Helper()
	errs, _ := problem["errors"].([]any)
	for _, e := range errs {
		if e.(map[string]any)["field"] == field {
			return
		}
	}
	t.Fatalf("problem %v does not name %s", problem, field)
}

type productList struct {
	Data     []catalog.Product `json:"data"`
	PageInfo struct {
		HasNextPage bool    `json:"has_next_page"`
		EndCursor   *string `json:"end_cursor"`
	} `json:"page_info"`
}

func (l productList) ids() []string {
	out := make([]string, len(l.Data))
	for i, p := range l.Data {
		out[i] = p.ID
	}
	return out
}

func testCatalog(t *testing.T, h *harness) {
	m := h.merchant("catalog", "")
	key := m.SecretKey
	var p catalog.Product
	h.do(request{method: "POST", path: "/api/v1/products", key: key, body: tshirtBody()}).decode(t, 201, &p)
	if p.Handle != "classic-t-shirt" || p.Status != "active" || len(p.Options) != 2 || len(p.Variants) != 2 || len(p.Images) != 0 {
		t.Fatalf("created %+v", p)
	}
	if strings.Contains(p.DescriptionHTML, "script") {
		t.Fatalf("description not sanitized: %q", p.DescriptionHTML)
	}
	red := p.Variants[0]
	if red.SKU != "TSHIRT-RED-M" || red.ProductID != p.ID || red.OptionValues["Size"] != "M" || red.Price != 1999 ||
		*red.CompareAtPrice != 2499 || red.WeightGrams != 180 || red.Currency != "USD" || red.Available != 0 {
		t.Fatalf("created variant %+v", red)
	}

	t.Run("read by id, handle and SKU", func(t *testing.T) {
		var got catalog.Product
		h.do(request{method: "GET", path: "/api/v1/products/" + p.ID, key: key}).decode(t, 200, &got)
		if got.ID != p.ID || len(got.Variants) != 2 {
			t.Fatalf("GET product %+v", got)
		}
		h.do(request{method: "GET", path: "/api/v1/products/by-handle/classic-t-shirt", key: key}).decode(t, 200, &got)
		if got.ID != p.ID {
			t.Fatalf("by handle %+v", got)
		}
		var v catalog.Variant
		h.do(request{method: "GET", path: "/api/v1/variants/by-sku/TSHIRT-BLUE-L", key: key}).decode(t, 200, &v)
		if v.ProductID != p.ID || v.OptionValues["Color"] != "Blue" {
			t.Fatalf("by SKU %+v", v)
		}
		h.do(request{method: "GET", path: "/api/v1/variants/" + v.ID, key: key}).decode(t, 200, &v)
		if v.SKU != "TSHIRT-BLUE-L" {
			t.Fatalf("GET variant %+v", v)
		}
		h.do(request{method: "GET", path: "/api/v1/products/by-handle/nothing", key: key}).expectProblem(t, 404, "not_found")
		h.do(request{method: "GET", path: "/api/v1/variants/by-sku/NOTHING", key: key}).expectProblem(t, 404, "not_found")
	})

	t.Run("list, filter and page", func(t *testing.T) {
		var mug catalog.Product
		h.do(request{method: "POST", path: "/api/v1/products", key: key, body: map[string]any{
			"title": "Mug", "status": "draft", "vendor": "Other", "product_type": "Kitchen",
			"variants": []map[string]any{{"sku": "MUG", "price": 900}},
		}}).decode(t, 201, &mug)
		list := func(query string) productList {
			t.Helper()
			var l productList
			h.do(request{method: "GET", path: "/api/v1/products" + query, key: key}).decode(t, 200, &l)
			return l
		}
		tests := []struct {
			query string
			want  []string
		}{
			{"", []string{p.ID, mug.ID}},
			{"?status=draft", []string{mug.ID}},
			{"?vendor=Acme", []string{p.ID}},
			{"?product_type=Kitchen", []string{mug.ID}},
			{"?tag=cotton", []string{p.ID}},
			{"?updated_after=2000-01-01T00:00:00Z", []string{p.ID, mug.ID}},
			{"?updated_after=2999-01-01T00:00:00Z", []string{}},
		}
		for _, tt := range tests {
			if got := list(tt.query).ids(); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("GET /api/v1/products%s = %v, want %v", tt.query, got, tt.want)
			}
		}
		first := list("?limit=1")
		if !first.PageInfo.HasNextPage || first.PageInfo.EndCursor == nil || len(first.Data) != 1 {
			t.Fatalf("first page %+v", first.PageInfo)
		}
		second := list("?limit=1&after=" + url.QueryEscape(*first.PageInfo.EndCursor))
		if second.PageInfo.HasNextPage || len(second.Data) != 1 || second.Data[0].ID == first.Data[0].ID {
			t.Fatalf("second page %v %+v", second.ids(), second.PageInfo)
		}
		h.do(request{method: "GET", path: "/api/v1/products?status=gone", key: key}).expectProblem(t, 422, "invalid")
		h.do(request{method: "GET", path: "/api/v1/products?updated_after=yesterday", key: key}).expectProblem(t, 422, "invalid")
	})

	t.Run("update", func(t *testing.T) {
		var got catalog.Product
		h.do(request{method: "PATCH", path: "/api/v1/products/" + p.ID, key: key, body: map[string]any{
			"title": "Renamed Tee", "tags": []string{"sale"},
			"options": []map[string]any{{"name": "Colour", "values": []string{"Red", "Blue", "Green"}}, {"name": "Size", "values": []string{"M", "L"}}},
		}}).decode(t, 200, &got)
		if got.Title != "Renamed Tee" || got.Tags[0] != "sale" || got.Options[0].Name != "Colour" || got.Vendor != "Acme" {
			t.Fatalf("PATCH product %+v", got)
		}
		h.do(request{method: "GET", path: "/api/v1/products/" + p.ID, key: key}).decode(t, 200, &got)
		if got.Title != "Renamed Tee" || got.Variants[0].OptionValues["Colour"] != "Red" {
			t.Fatalf("GET after PATCH %+v", got)
		}
		h.do(request{method: "PATCH", path: "/api/v1/products/" + p.ID, key: key, body: map[string]any{"variants": []any{}}}).
			expectProblem(t, 422, "invalid")
	})

	t.Run("variants", func(t *testing.T) {
		var v catalog.Variant
		h.do(request{method: "POST", path: "/api/v1/products/" + p.ID + "/variants", key: key, body: map[string]any{
			"sku": "TSHIRT-GREEN-M", "option_values": map[string]string{"Colour": "Green", "Size": "M"}, "price": 1999,
		}}).decode(t, 201, &v)
		if v.ProductID != p.ID || v.Title != "Green / M" || v.Position != 3 {
			t.Fatalf("created variant %+v", v)
		}
		h.do(request{method: "PATCH", path: "/api/v1/variants/" + v.ID, key: key, body: map[string]any{"price": 1499, "barcode": "42"}}).decode(t, 200, &v)
		if v.Price != 1499 || v.Barcode != "42" || v.SKU != "TSHIRT-GREEN-M" {
			t.Fatalf("PATCH variant %+v", v)
		}
		p := h.do(request{method: "PATCH", path: "/api/v1/variants/" + v.ID, key: key, body: map[string]any{"sku": "TSHIRT-RED-M"}}).
			expectProblem(t, 409, "conflict")
		if !strings.Contains(p["detail"].(string), "TSHIRT-RED-M") {
			t.Fatalf("conflict does not name the SKU: %v", p)
		}
		if r := h.do(request{method: "DELETE", path: "/api/v1/variants/" + v.ID, key: key}); r.status != 204 || len(r.body) != 0 {
			t.Fatalf("DELETE variant: %d %s", r.status, r.body)
		}
		h.do(request{method: "GET", path: "/api/v1/variants/" + v.ID, key: key}).expectProblem(t, 404, "not_found")
	})

	t.Run("delete", func(t *testing.T) {
		if r := h.do(request{method: "DELETE", path: "/api/v1/products/" + p.ID, key: key}); r.status != 204 {
			t.Fatalf("DELETE product: %d %s", r.status, r.body)
		}
		h.do(request{method: "GET", path: "/api/v1/products/" + p.ID, key: key}).expectProblem(t, 404, "not_found")
		h.do(request{method: "GET", path: "/api/v1/variants/by-sku/TSHIRT-RED-M", key: key}).expectProblem(t, 404, "not_found")
		h.do(request{method: "DELETE", path: "/api/v1/products/" + p.ID, key: key}).expectProblem(t, 404, "not_found")
	})
}

func testCatalogBadInput(t *testing.T, h *harness) {
	m := h.merchant("badcatalog", "")
	var p catalog.Product
	h.do(request{method: "POST", path: "/api/v1/products", key: m.SecretKey, body: tshirtBody()}).decode(t, 201, &p)

	manyVariants := make([]map[string]any, catalog.MaxVariants+1)
	tests := []struct {
		name   string
		edit   func(body map[string]any)
		status int
		code   string
		field  string
	}{
		{"SKU taken", func(b map[string]any) { b["title"] = "Other" }, 409, "conflict", "variants[0].sku"},
		{"unknown field", func(b map[string]any) { b["colour"] = "red" }, 400, "invalid", "colour"},
		{"unknown variant field", func(b map[string]any) { variantsOf(b)[0]["cost"] = 1 }, 400, "invalid", "variants[0].cost"},
		{"price as a string", func(b map[string]any) { variantsOf(b)[0]["price"] = "19.99" }, 400, "invalid", "variants.price"},
		{"long title", func(b map[string]any) { b["title"] = strings.Repeat("x", 256) }, 422, "invalid", "title"},
		{"four options", func(b map[string]any) {
			b["options"] = []map[string]any{{"name": "A", "values": []string{"1"}}, {"name": "B", "values": []string{"1"}},
				{"name": "C", "values": []string{"1"}}, {"name": "D", "values": []string{"1"}}}
		}, 422, "invalid", "options"},
		{"duplicate combination", func(b map[string]any) {
			variantsOf(b)[1]["option_values"] = map[string]string{"Color": "Red", "Size": "M"}
		}, 422, "invalid", "variants[1].option_values"},
		{"negative price", func(b map[string]any) { variantsOf(b)[0]["price"] = -1 }, 422, "invalid", "variants[0].price"},
		{"SKU with a space", func(b map[string]any) { variantsOf(b)[0]["sku"] = "TSHIRT RED" }, 422, "invalid", "variants[0].sku"},
		{"no variants", func(b map[string]any) { delete(b, "variants") }, 422, "invalid", "variants"},
		{"too many variants", func(b map[string]any) { b["variants"] = manyVariants }, 413, "payload_too_large", "variants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tshirtBody()
			tt.edit(body)
			problem := h.do(request{method: "POST", path: "/api/v1/products", key: m.SecretKey, body: body}).expectProblem(t, tt.status, tt.code)
			expectField(t, problem, tt.field)
			if tt.code == "conflict" && !strings.Contains(problem["detail"].(string), "TSHIRT-RED-M") {
				t.Fatalf("conflict does not name the SKU: %v", problem)
			}
		})
	}
	t.Run("variant and update bodies", func(t *testing.T) {
		path := "/api/v1/products/" + p.ID
		expectField(t, h.do(request{method: "PATCH", path: path, key: m.SecretKey, body: map[string]any{"title": ""}}).
			expectProblem(t, 422, "invalid"), "title")
		expectField(t, h.do(request{method: "PATCH", path: path, key: m.SecretKey, body: map[string]any{"titel": "x"}}).
			expectProblem(t, 400, "invalid"), "titel")
		expectField(t, h.do(request{method: "POST", path: path + "/variants", key: m.SecretKey, body: map[string]any{
			"sku": "NEW", "option_values": map[string]string{"Color": "Red", "Size": "M"}, "price": 1}}).
			expectProblem(t, 422, "invalid"), "option_values")
		expectField(t, h.do(request{method: "POST", path: path + "/variants", key: m.SecretKey, body: map[string]any{
			"sku": "TSHIRT-RED-M", "option_values": map[string]string{"Color": "Blue", "Size": "M"}, "price": 1}}).
			expectProblem(t, 409, "conflict"), "sku")
		expectField(t, h.do(request{method: "PATCH", path: "/api/v1/variants/" + p.Variants[0].ID, key: m.SecretKey,
			body: map[string]any{"sku": "HAS SPACE"}}).expectProblem(t, 422, "invalid"), "sku")
	})
	t.Run("nothing was written", func(t *testing.T) {
		var l productList
		h.do(request{method: "GET", path: "/api/v1/products", key: m.SecretKey}).decode(t, 200, &l)
		if len(l.Data) != 1 || len(l.Data[0].Variants) != 2 || l.Data[0].Title != "Classic T-Shirt" {
			t.Fatalf("rejected requests wrote something: %+v", l.Data)
		}
	})
}

func variantsOf(body map[string]any) []map[string]any { return body["variants"].([]map[string]any) }

func testCatalogAccess(t *testing.T, h *harness) {
	a := h.merchant("alpha-shop", "")
	b := h.merchant("beta-shop", "")
	var p catalog.Product
	h.do(request{method: "POST", path: "/api/v1/products", key: a.SecretKey, body: tshirtBody()}).decode(t, 201, &p)

	t.Run("publishable keys read but do not write", func(t *testing.T) {
		pk := a.PublishableKey
		for _, path := range []string{"/api/v1/products", "/api/v1/products/" + p.ID, "/api/v1/products/by-handle/" + p.Handle,
			"/api/v1/variants/by-sku/TSHIRT-RED-M", "/api/v1/variants/" + p.Variants[0].ID, "/api/v1/search?q=shirt"} {
			if r := h.do(request{method: "GET", path: path, key: pk}); r.status != 200 {
				t.Errorf("GET %s with a publishable key: %d %s", path, r.status, r.body)
			}
		}
		writes := []request{
			{method: "POST", path: "/api/v1/products", body: tshirtBody()},
			{method: "PATCH", path: "/api/v1/products/" + p.ID, body: map[string]any{"title": "x"}},
			{method: "DELETE", path: "/api/v1/products/" + p.ID},
			{method: "POST", path: "/api/v1/products/" + p.ID + "/variants", body: map[string]any{"sku": "X", "price": 1}},
			{method: "POST", path: "/api/v1/products/" + p.ID + "/images", body: map[string]any{"filename": "a.png", "content_type": "image/png"}},
			{method: "PATCH", path: "/api/v1/variants/" + p.Variants[0].ID, body: map[string]any{"price": 1}},
			{method: "DELETE", path: "/api/v1/variants/" + p.Variants[0].ID},
		}
		for _, w := range writes {
			w.key = pk
			h.do(w).expectProblem(t, 403, "forbidden")
		}
	})
	t.Run("another merchant's product is not found", func(t *testing.T) {
		reqs := []request{
			{method: "GET", path: "/api/v1/products/" + p.ID},
			{method: "GET", path: "/api/v1/products/by-handle/" + p.Handle},
			{method: "GET", path: "/api/v1/variants/by-sku/TSHIRT-RED-M"},
			{method: "GET", path: "/api/v1/variants/" + p.Variants[0].ID},
			{method: "PATCH", path: "/api/v1/products/" + p.ID, body: map[string]any{"title": "Stolen"}},
			{method: "DELETE", path: "/api/v1/products/" + p.ID},
			{method: "POST", path: "/api/v1/products/" + p.ID + "/variants", body: map[string]any{"sku": "B-1", "price": 1}},
			{method: "POST", path: "/api/v1/products/" + p.ID + "/images", body: map[string]any{"filename": "a.png", "content_type": "image/png"}},
			{method: "PATCH", path: "/api/v1/variants/" + p.Variants[0].ID, body: map[string]any{"price": 1}},
			{method: "DELETE", path: "/api/v1/variants/" + p.Variants[0].ID},
		}
		for _, r := range reqs {
			r.key = b.SecretKey
			h.do(r).expectProblem(t, 404, "not_found")
		}
		var l productList
		h.do(request{method: "GET", path: "/api/v1/products", key: b.SecretKey}).decode(t, 200, &l)
		var s productList
		h.do(request{method: "GET", path: "/api/v1/search?q=TSHIRT-RED-M", key: b.SecretKey}).decode(t, 200, &s)
		if len(l.Data) != 0 || len(s.Data) != 0 {
			t.Fatalf("B lists A's products: %v %v", l.ids(), s.ids())
		}
		// B may use A's SKUs and handles: both are unique per merchant only.
		var own catalog.Product
		h.do(request{method: "POST", path: "/api/v1/products", key: b.SecretKey, body: tshirtBody()}).decode(t, 201, &own)
		if own.Handle != p.Handle {
			t.Fatalf("B's handle %q, want %q", own.Handle, p.Handle)
		}
		var got catalog.Product
		h.do(request{method: "GET", path: "/api/v1/products/" + p.ID, key: a.SecretKey}).decode(t, 200, &got)
		if got.Title != "Classic T-Shirt" || len(got.Variants) != 2 {
			t.Fatalf("B's requests changed A's product: %+v", got)
		}
	})
}

func testCatalogSearch(t *testing.T, h *harness) {
	m := h.merchant("searching", "")
	var hoodie, tee catalog.Product
	h.do(request{method: "POST", path: "/api/v1/products", key: m.SecretKey, body: map[string]any{
		"title": "Zip Hoodie", "vendor": "Northwind", "variants": []map[string]any{{"sku": "HOOD-1", "price": 5000}},
	}}).decode(t, 201, &hoodie)
	h.do(request{method: "POST", path: "/api/v1/products", key: m.SecretKey, body: tshirtBody()}).decode(t, 201, &tee)
	search := func(query string) productList {
		t.Helper()
		var l productList
		h.do(request{method: "GET", path: "/api/v1/search?" + query, key: m.PublishableKey}).decode(t, 200, &l)
		return l
	}
	tests := []struct{ name, q, want string }{
		{"title", "hoodie", hoodie.ID},
		{"vendor", "northwind", hoodie.ID},
		{"SKU", "TSHIRT-BLUE-L", tee.ID},
		{"tag", "cotton", tee.ID},
	}
	if h.dialect == "postgres" {
		tests = append(tests, struct{ name, q, want string }{"typo", "hodie", hoodie.ID})
	}
	for _, tt := range tests {
		if got := search("q=" + url.QueryEscape(tt.q)).ids(); len(got) == 0 || got[0] != tt.want {
			t.Errorf("search by %s (%q) = %v, want %s first", tt.name, tt.q, got, tt.want)
		}
	}
	if got := search("q=nothingmatches"); len(got.Data) != 0 || got.PageInfo.EndCursor != nil || got.PageInfo.HasNextPage {
		t.Errorf("search without matches = %+v", got)
	}
	seen := map[string]bool{}
	query := "q=shirt+OR+hoodie&limit=1"
	for page := 0; ; page++ {
		l := search(query)
		for _, id := range l.ids() {
			if seen[id] {
				t.Fatalf("%s returned twice", id)
			}
			seen[id] = true
		}
		if !l.PageInfo.HasNextPage {
			break
		}
		query = "q=shirt+OR+hoodie&limit=1&after=" + url.QueryEscape(*l.PageInfo.EndCursor)
		if page > 3 {
			t.Fatal("search paging does not end")
		}
	}
	if len(seen) != 2 {
		t.Errorf("search paging found %d products, want 2", len(seen))
	}
	expectField(t, h.do(request{method: "GET", path: "/api/v1/search?q=", key: m.SecretKey}).expectProblem(t, 422, "invalid"), "q")
	expectField(t, h.do(request{method: "GET", path: "/api/v1/search?q=x&after=nonsense", key: m.SecretKey}).expectProblem(t, 422, "invalid"), "after")
	expectField(t, h.do(request{method: "GET", path: "/api/v1/search?q=x&limit=1000", key: m.SecretKey}).expectProblem(t, 422, "invalid"), "limit")
}

// pngBytes stands for an image: the stores check types and sizes, not contents.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("pixels"), 1000)...)

type imageUpload struct {
	Image  catalog.Image `json:"image"`
	Upload struct {
		Method    string            `json:"method"`
		URL       string            `json:"url"`
		Headers   map[string]string `json:"headers"`
		ExpiresAt string            `json:"expires_at"`
	} `json:"upload"`
}

// send makes the request the upload describes, as any plain HTTP client would.
func (u imageUpload) send(t *testing.T, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(u.Upload.Method, u.Upload.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range u.Upload.Headers {
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func testProductImages(t *testing.T, h *harness) {
	m := h.merchant("pictures", "")
	var p catalog.Product
	h.do(request{method: "POST", path: "/api/v1/products", key: m.SecretKey, body: tshirtBody()}).decode(t, 201, &p)
	images := "/api/v1/products/" + p.ID + "/images"

	var up imageUpload
	r := h.do(request{method: "POST", path: images, key: m.SecretKey, body: map[string]any{
		"filename": "Front View.PNG", "content_type": "image/png", "alt": "The front", "size_bytes": len(pngBytes),
	}})
	r.decode(t, 201, &up)
	if up.Image.Position != 1 || up.Image.Alt != "The front" || up.Image.Status != "pending" || up.Upload.Method != "PUT" ||
		up.Upload.Headers["Content-Type"] != "image/png" || up.Upload.ExpiresAt == "" {
		t.Fatalf("image upload %s", r.body)
	}
	if !strings.HasSuffix(up.Image.URL, "-front-view.png") {
		t.Fatalf("image URL %q does not keep the file's name", up.Image.URL)
	}

	if resp := up.send(t, pngBytes); resp.StatusCode != 200 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	resp, err := http.Get(up.Image.URL)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(served, pngBytes) || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s: %d %q, %d bytes", up.Image.URL, resp.StatusCode, resp.Header.Get("Content-Type"), len(served))
	}

	var got catalog.Product
	h.do(request{method: "GET", path: "/api/v1/products/" + p.ID, key: m.PublishableKey}).decode(t, 200, &got)
	if len(got.Images) != 1 || got.Images[0].ID != up.Image.ID || got.Images[0].URL != up.Image.URL {
		t.Fatalf("product images %+v, want the new image", got.Images)
	}
	var second imageUpload
	h.do(request{method: "POST", path: images, key: m.SecretKey, body: map[string]any{"filename": "back.jpg", "content_type": "image/jpeg"}}).
		decode(t, 201, &second)
	if second.Image.Position != 2 {
		t.Fatalf("second image at position %d", second.Image.Position)
	}

	t.Run("refused", func(t *testing.T) {
		tests := []struct {
			name   string
			body   any
			status int
			code   string
			field  string
		}{
			{"not an image type", map[string]any{"filename": "x.svg", "content_type": "image/svg+xml"}, 422, "invalid", "content_type"},
			{"no filename", map[string]any{"filename": " ", "content_type": "image/png"}, 422, "invalid", "filename"},
			{"negative size", map[string]any{"filename": "x.png", "content_type": "image/png", "size_bytes": -1}, 422, "invalid", "size_bytes"},
			{"over the limit", map[string]any{"filename": "x.png", "content_type": "image/png", "size_bytes": testMaxImageBytes + 1}, 413, "payload_too_large", "size_bytes"},
			{"unknown field", map[string]any{"filename": "x.png", "content_type": "image/png", "url": "http://x"}, 400, "invalid", "url"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				expectField(t, h.do(request{method: "POST", path: images, key: m.SecretKey, body: tt.body}).expectProblem(t, tt.status, tt.code), tt.field)
			})
		}
		h.do(request{method: "POST", path: "/api/v1/products/prd_01HZZZZZZZZZZZZZZZZZZZZZZZ/images", key: m.SecretKey,
			body: map[string]any{"filename": "x.png", "content_type": "image/png"}}).expectProblem(t, 404, "not_found")
		h.do(request{method: "GET", path: "/api/v1/products/" + p.ID, key: m.SecretKey}).decode(t, 200, &got)
		if len(got.Images) != 2 {
			t.Fatalf("refused requests wrote images: %+v", got.Images)
		}
	})
	t.Run("the upload URL allows only what was signed", func(t *testing.T) {
		if h.deps.Media == nil {
			t.Skip("gofakes3 does not check signatures")
		}
		if resp := up.send(t, pngBytes[:100]); resp.StatusCode < 400 {
			t.Fatalf("upload of another length: %d", resp.StatusCode)
		}
	})
}

// testVariantImages: a variant's image_id names one of its own product's images; any
// other is refused with 422 naming the field, and null unlinks it.
func testVariantImages(t *testing.T, h *harness) {
	m := h.merchant("variant-images", "")
	key := m.SecretKey
	var p, mug catalog.Product
	h.do(request{method: "POST", path: "/api/v1/products", key: key, body: tshirtBody()}).decode(t, 201, &p)
	h.do(request{method: "POST", path: "/api/v1/products", key: key, body: map[string]any{
		"title": "Mug", "variants": []map[string]any{{"sku": "MUG", "price": 900}},
	}}).decode(t, 201, &mug)
	image := func(productID string) string {
		t.Helper()
		var up imageUpload
		h.do(request{method: "POST", path: "/api/v1/products/" + productID + "/images", key: key,
			body: map[string]any{"filename": "a.png", "content_type": "image/png"}}).decode(t, 201, &up)
		return up.Image.ID
	}
	front, mugImage := image(p.ID), image(mug.ID)
	red := "/api/v1/variants/" + p.Variants[0].ID

	var v catalog.Variant
	h.do(request{method: "PATCH", path: red, key: key, body: map[string]any{"image_id": front}}).decode(t, 200, &v)
	if v.ImageID == nil || *v.ImageID != front {
		t.Fatalf("PATCH image_id: %+v", v)
	}
	var got catalog.Product
	h.do(request{method: "GET", path: "/api/v1/products/" + p.ID, key: m.PublishableKey}).decode(t, 200, &got)
	if got.Variants[0].ImageID == nil || *got.Variants[0].ImageID != front || got.Variants[1].ImageID != nil {
		t.Fatalf("product variants %+v", got.Variants)
	}

	t.Run("refused", func(t *testing.T) {
		tests := []struct {
			name, method, path string
			body               map[string]any
			status             int
			field              string
		}{
			{"image of another product", "PATCH", red, map[string]any{"image_id": mugImage}, 422, "image_id"},
			{"no such image", "PATCH", red, map[string]any{"image_id": "img_01HZZZZZZZZZZZZZZZZZZZZZZZ"}, 422, "image_id"},
			{"not a string", "PATCH", red, map[string]any{"image_id": 7}, 400, "image_id"},
			{"new variant with another product's image", "POST", "/api/v1/products/" + p.ID + "/variants", map[string]any{
				"sku": "TSHIRT-RED-L", "option_values": map[string]string{"Color": "Red", "Size": "L"}, "price": 1, "image_id": mugImage,
			}, 422, "image_id"},
			{"new product", "POST", "/api/v1/products", map[string]any{
				"title": "Cap", "variants": []map[string]any{{"sku": "CAP", "price": 1, "image_id": front}},
			}, 422, "variants[0].image_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				expectField(t, h.do(request{method: tt.method, path: tt.path, key: key, body: tt.body}).expectProblem(t, tt.status, "invalid"), tt.field)
			})
		}
		h.do(request{method: "GET", path: red, key: key}).decode(t, 200, &v)
		if v.ImageID == nil || *v.ImageID != front {
			t.Fatalf("refused requests changed the variant's image: %+v", v.ImageID)
		}
	})

	h.do(request{method: "PATCH", path: red, key: key, body: map[string]any{"price": 2500}}).decode(t, 200, &v)
	if v.ImageID == nil || *v.ImageID != front {
		t.Fatalf("a PATCH without image_id unlinked it: %+v", v.ImageID)
	}
	r := h.do(request{method: "PATCH", path: red, key: key, body: map[string]any{"image_id": nil}})
	r.decode(t, 200, &v)
	if v.ImageID != nil || !bytes.Contains(r.body, []byte(`"image_id":null`)) {
		t.Fatalf("PATCH image_id null: %s", r.body)
	}
}

// TestProductImagesOnS3 runs the image flow against an S3 API (gofakes3), where clients
// upload to the bucket instead of to this server. It sets the AWS environment, so it
// cannot run in parallel.
func TestProductImagesOnS3(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	for name, value := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(name, value)
	}
	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	s3 := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(s3.Close)
	store, err := media.NewS3(context.Background(), media.S3Config{Bucket: "media", Endpoint: s3.URL, UsePathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, dbtest.SQLite(t), httptest.NewUnstartedServer(nil), store, nil)
	for _, rt := range h.api.routes() {
		if strings.HasPrefix(rt.path, "/media/") {
			t.Fatalf("%s %s is served although images live in S3", rt.method, rt.path)
		}
	}
	testProductImages(t, h)
}
