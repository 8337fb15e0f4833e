package shopify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/inventorymovement"
	"github.com/mercantile/mercantile/ent/order"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/ent/webhookevent"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/shopify"
)

const (
	secret     = "hush"
	shopDomain = "shop.myshopify.com"
	token      = "shpat_test_token"
	locationID = int64(24826418)
	// itemID is above 2^53: a float64 would turn it into ...884016.
	itemID = int64(271878346596884015)
)

// push is one request the fake Admin API received.
type push struct {
	at     time.Time
	token  string
	path   string
	body   map[string]json.Number
	status int
}

// fakeAdmin stands in for Shopify's Admin API: it records every request and answers
// from a script of statuses (then 200).
type fakeAdmin struct {
	*httptest.Server
	mu     sync.Mutex
	script []int
	pushes []push
}

func newFakeAdmin(t *testing.T, script ...int) *fakeAdmin {
	t.Helper()
	a := &fakeAdmin{script: script}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		p := push{at: time.Now(), token: r.Header.Get("X-Shopify-Access-Token"), path: r.URL.Path, body: map[string]json.Number{}, status: 200}
		if err := dec.Decode(&p.body); err != nil {
			t.Errorf("push body %q: %v", raw, err)
		}
		a.mu.Lock()
		if len(a.script) > 0 {
			p.status, a.script = a.script[0], a.script[1:]
		}
		a.pushes = append(a.pushes, p)
		a.mu.Unlock()
		if p.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1.0")
		}
		w.WriteHeader(p.status)
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *fakeAdmin) got() []push {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]push(nil), a.pushes...)
}

type env struct {
	db       *database.DB
	inv      *inventory.Service
	svc      *shopify.Service
	admin    *fakeAdmin
	merchant *ent.Merchant
	house    *ent.Warehouse
	// sys acts as the system for the merchant; owner as its secret key.
	sys, owner context.Context
}

// newEnv makes a merchant connected to shopDomain, a warehouse linked to locationID,
// the Shopify service with its stock hook, and a job queue working its jobs.
func newEnv(t *testing.T, script ...int) *env {
	t.Helper()
	db := dbtest.Postgres(t)
	m := db.Client.Merchant.Create().SetName("Shop").SetHandle("shop").SetShopifyShopDomain(shopDomain).
		SetShopifyAccessToken(token).SaveX(viewer.SystemContext(context.Background()))
	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	e := &env{db: db, inv: inventory.NewService(db, kv.NewMemory(), nil, nil), admin: newFakeAdmin(t, script...), merchant: m,
		sys:   viewer.MerchantSystemContext(context.Background(), m.ID),
		owner: viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_t", Role: viewer.RoleOwner}),
	}
	e.svc = shopify.New(db, e.inv, nil, shopify.Config{Secrets: []string{secret}, APIURL: e.admin.URL,
		PushDelay: 100 * time.Millisecond, RetryBackoff: 100 * time.Millisecond}, logger)
	e.inv.UseChangeHook(e.svc.StockHook())
	e.house = db.Client.Warehouse.Create().SetCode("MAIN").SetName("Main").SetPriority(1).SetShopifyLocationID(locationID).SaveX(e.sys)

	q, err := jobs.New(db, logger, jobs.Options{FetchPollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Register(q, e.svc.WebhookWorker()); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Register(q, e.svc.PushWorker()); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			t.Errorf("stopping the queue: %v", err)
		}
	})
	return e
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit decodes a fixture without losing its ids, lets change alter it, and encodes it.
func edit(t *testing.T, body []byte, change func(map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	change(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sign(body []byte, key string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

var webhookSeq atomic.Int64

// deliver receives a signed webhook and, when it was queued, waits until its job has
// applied it. It returns the outcome and the event as recorded.
func (e *env) deliver(t *testing.T, topic string, body []byte, webhookID string) (shopify.Outcome, *ent.WebhookEvent) {
	t.Helper()
	if webhookID == "" {
		webhookID = fmt.Sprintf("wh-%d", webhookSeq.Add(1))
	}
	out, err := e.svc.Receive(context.Background(), shopify.Delivery{Topic: topic, HMAC: sign(body, secret),
		ShopDomain: strings.ToUpper(shopDomain), WebhookID: webhookID, Body: body})
	if err != nil {
		t.Fatalf("%s: %v", topic, err)
	}
	var ev *ent.WebhookEvent
	eventually(t, topic+" applied", func() bool {
		ev = e.db.Client.WebhookEvent.Query().Where(webhookevent.ExternalID(webhookID)).OnlyX(e.sys)
		return ev.Status != webhookevent.StatusReceived
	})
	return out, ev
}

// eventually waits up to 30 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jobCount counts the jobs of kind in states (any state when none).
func (e *env) jobCount(t *testing.T, kind string, states ...string) int {
	t.Helper()
	q := `SELECT count(*) FROM river_job WHERE kind = $1`
	args := []any{kind}
	if len(states) > 0 {
		q += ` AND state::text = ANY($2)`
		args = append(args, states)
	}
	var n int
	if err := e.db.SQL.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkLedger proves every level equals the sum of its movements.
func (e *env) checkLedger(t *testing.T) {
	t.Helper()
	for _, l := range e.db.Client.InventoryLevel.Query().AllX(e.sys) {
		var onHand, reserved int64
		for _, m := range e.db.Client.InventoryMovement.Query().
			Where(inventorymovement.VariantID(l.VariantID), inventorymovement.WarehouseID(l.WarehouseID)).AllX(e.sys) {
			onHand += m.OnHandDelta
			reserved += m.ReservedDelta
		}
		if onHand != l.OnHand || reserved != l.Reserved {
			t.Fatalf("level %s is %d/%d, its ledger sums to %d/%d", l.ID, l.OnHand, l.Reserved, onHand, reserved)
		}
	}
}

func (e *env) level(t *testing.T, sku string) *ent.InventoryLevel {
	t.Helper()
	return e.db.Client.InventoryLevel.Query().Where(inventorylevel.HasVariantWith(variant.Sku(sku))).OnlyX(e.sys)
}

// createShirt applies the products/create fixture: Example T-Shirt, SKUs
// example-shirt-s and example-shirt-m.
func (e *env) createShirt(t *testing.T) *ent.Product {
	t.Helper()
	if out, ev := e.deliver(t, "products/create", fixture(t, "products_create.json"), ""); out != shopify.OutcomeQueued || ev.Status != webhookevent.StatusProcessed {
		t.Fatalf("products/create: %s, %s %s", out, ev.Status, ev.Error)
	}
	return e.db.Client.Product.Query().Where(product.ShopifyID(788032119674292922)).WithVariants().OnlyX(e.sys)
}

func TestVerify(t *testing.T) {
	t.Parallel()
	db := dbtest.Postgres(t)
	create := fixture(t, "products_create.json")
	orders := fixture(t, "orders_create.json")
	svc := shopify.New(db, nil, nil, shopify.Config{Secrets: []string{"new-secret", secret}}, nil)
	for _, tc := range []struct {
		name string
		body []byte
		sig  string
		ok   bool
	}{
		{"OK known answer for products/create", create, "/2YqY+UHLBQ5iwneVCXwj1uQS7R9RjDDOuiIJqWpnVc=", true},
		{"OK known answer for orders/create", orders, "MAMiGmHYUnfoxqeyN9+FGdGQl/GFLb9DS6Krcij5QMk=", true},
		{"OK current secret", create, sign(create, "new-secret"), true},
		{"ErrOtherSecret", create, sign(create, "other"), false},
		{"ErrBodyChanged", append(bytes.Clone(create), ' '), "/2YqY+UHLBQ5iwneVCXwj1uQS7R9RjDDOuiIJqWpnVc=", false},
		{"ErrMissing", create, "", false},
		{"ErrNotBase64", create, "%%%", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := svc.Verify(tc.body, tc.sig)
			if tc.ok != (err == nil) {
				t.Fatalf("Verify: %v", err)
			}
			if err != nil && apperr.CodeOf(err) != apperr.Unauthorized {
				t.Fatalf("code %s", apperr.CodeOf(err))
			}
		})
	}
	if err := shopify.New(db, nil, nil, shopify.Config{}, nil).Verify(create, sign(create, "")); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("no secret: %v", err)
	}
}

func TestReceive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := fixture(t, "products_create.json")

	t.Run("ErrBadHMAC records nothing", func(t *testing.T) {
		_, err := e.svc.Receive(context.Background(), shopify.Delivery{Topic: "products/create", HMAC: sign(body, "wrong"),
			ShopDomain: shopDomain, WebhookID: "bad-hmac", Body: body})
		if apperr.CodeOf(err) != apperr.Unauthorized {
			t.Fatalf("bad HMAC: %v", err)
		}
		if n := e.db.Client.WebhookEvent.Query().CountX(e.sys); n != 0 {
			t.Fatalf("%d webhook events recorded", n)
		}
		if n := e.jobCount(t, "shopify_apply_webhook"); n != 0 {
			t.Fatalf("%d jobs enqueued", n)
		}
	})
	t.Run("ErrUnknownShop", func(t *testing.T) {
		_, err := e.svc.Receive(context.Background(), shopify.Delivery{Topic: "products/create", HMAC: sign(body, secret),
			ShopDomain: "other.myshopify.com", WebhookID: "other-shop", Body: body})
		if apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("unknown shop: %v", err)
		}
	})
	t.Run("ErrNoWebhookID", func(t *testing.T) {
		_, err := e.svc.Receive(context.Background(), shopify.Delivery{Topic: "products/create", HMAC: sign(body, secret),
			ShopDomain: shopDomain, Body: body})
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("no webhook id: %v", err)
		}
	})
	t.Run("OK same webhook id twice applies once", func(t *testing.T) {
		if out, _ := e.deliver(t, "products/create", body, "same-id"); out != shopify.OutcomeQueued {
			t.Fatalf("first: %s", out)
		}
		if out, _ := e.deliver(t, "products/create", body, "same-id"); out != shopify.OutcomeDuplicate {
			t.Fatalf("second: %s", out)
		}
		if n := e.db.Client.WebhookEvent.Query().Where(webhookevent.ExternalID("same-id")).CountX(e.sys); n != 1 {
			t.Fatalf("%d events", n)
		}
		if n := e.jobCount(t, "shopify_apply_webhook"); n != 1 {
			t.Fatalf("%d jobs", n)
		}
		if n := e.db.Client.Product.Query().CountX(e.sys); n != 1 {
			t.Fatalf("%d products", n)
		}
	})
	t.Run("OK unknown topic is recorded as ignored", func(t *testing.T) {
		out, ev := e.deliver(t, "customers/create", []byte(`{"id":1}`), "")
		if out != shopify.OutcomeIgnored || ev.Status != webhookevent.StatusIgnored {
			t.Fatalf("unknown topic: %s, %s", out, ev.Status)
		}
	})
}

func TestProducts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.createShirt(t)

	t.Run("OK create keeps large ids and money exact", func(t *testing.T) {
		if p.Title != "Example T-Shirt" || p.Handle != "example-t-shirt" || p.Vendor != "Acme" || p.Status != product.StatusActive ||
			p.ShopifyUpdatedAt == nil || !p.ShopifyUpdatedAt.Equal(time.Date(2023, 9, 18, 6, 51, 36, 0, time.UTC)) {
			t.Fatalf("product: %+v", p)
		}
		if strings.Join(p.Tags, "|") != "example|mens|t-shirt" {
			t.Fatalf("tags %q", p.Tags)
		}
		want := map[string]int64{"example-shirt-s": 642667041472713922, "example-shirt-m": 757650484644203962}
		if len(p.Edges.Variants) != 2 {
			t.Fatalf("%d variants", len(p.Edges.Variants))
		}
		for _, v := range p.Edges.Variants {
			if v.ShopifyID == nil || *v.ShopifyID != want[v.Sku] || v.Price != 1999 || v.CompareAtPrice == nil || *v.CompareAtPrice != 2499 ||
				v.WeightGrams != 200 {
				t.Fatalf("variant %s: %+v", v.Sku, v)
			}
		}
	})
	t.Run("OK update with the same updated_at changes nothing", func(t *testing.T) {
		_, ev := e.deliver(t, "products/update", fixture(t, "products_update.json"), "")
		if ev.Status != webhookevent.StatusIgnored {
			t.Fatalf("status %s", ev.Status)
		}
	})
	t.Run("OK reordered updates: newer wins", func(t *testing.T) {
		newer := edit(t, fixture(t, "products_update.json"), func(m map[string]any) {
			m["title"], m["updated_at"] = "Newer Shirt", "2023-09-18T09:00:00+01:00"
		})
		older := edit(t, fixture(t, "products_update.json"), func(m map[string]any) {
			m["title"], m["updated_at"] = "Older Shirt", "2023-09-18T08:00:00+01:00"
			m["variants"].([]any)[0].(map[string]any)["price"] = "1.00"
		})
		if _, ev := e.deliver(t, "products/update", newer, ""); ev.Status != webhookevent.StatusProcessed {
			t.Fatalf("newer: %s %s", ev.Status, ev.Error)
		}
		if _, ev := e.deliver(t, "products/update", older, ""); ev.Status != webhookevent.StatusIgnored {
			t.Fatalf("older: %s", ev.Status)
		}
		got := e.db.Client.Product.GetX(e.sys, p.ID)
		if got.Title != "Newer Shirt" {
			t.Fatalf("title %q", got.Title)
		}
		if v := e.db.Client.Variant.Query().Where(variant.Sku("example-shirt-s")).OnlyX(e.sys); v.Price != 1999 {
			t.Fatalf("the older payload's price applied: %d", v.Price)
		}
	})
	t.Run("OK matched by SKU when the Shopify id is new", func(t *testing.T) {
		body := edit(t, fixture(t, "products_update.json"), func(m map[string]any) {
			m["id"], m["updated_at"] = json.Number("788032119674292999"), "2023-09-19T00:00:00Z"
		})
		if _, ev := e.deliver(t, "products/update", body, ""); ev.Status != webhookevent.StatusProcessed {
			t.Fatalf("status %s %s", ev.Status, ev.Error)
		}
		if n := e.db.Client.Product.Query().CountX(e.sys); n != 1 {
			t.Fatalf("%d products", n)
		}
		if got := e.db.Client.Product.GetX(e.sys, p.ID); *got.ShopifyID != 788032119674292999 {
			t.Fatalf("shopify id %d", *got.ShopifyID)
		}
	})
	t.Run("OK delete archives", func(t *testing.T) {
		body := []byte(`{"id":788032119674292999}`)
		if _, ev := e.deliver(t, "products/delete", body, ""); ev.Status != webhookevent.StatusProcessed {
			t.Fatalf("status %s %s", ev.Status, ev.Error)
		}
		if got := e.db.Client.Product.GetX(e.sys, p.ID); got.Status != product.StatusArchived {
			t.Fatalf("status %s", got.Status)
		}
		// The fixture names the first id, which no product has any more.
		if _, ev := e.deliver(t, "products/delete", fixture(t, "products_delete.json"), ""); ev.Status != webhookevent.StatusIgnored {
			t.Fatalf("unknown product: %s", ev.Status)
		}
	})
}

// shopifyOrder is the orders/create fixture made about our SKU, with the given id,
// updated_at and statuses.
func shopifyOrder(t *testing.T, id, updatedAt string, quantity int, fulfillment any, cancelled bool) []byte {
	return edit(t, fixture(t, "orders_create.json"), func(m map[string]any) {
		m["id"], m["updated_at"], m["fulfillment_status"] = json.Number(id), updatedAt, fulfillment
		if !cancelled {
			m["cancelled_at"], m["cancel_reason"] = nil, nil
		}
		lines := m["line_items"].([]any)
		line := lines[0].(map[string]any)
		line["sku"], line["quantity"], line["current_quantity"] = "example-shirt-s", quantity, quantity
		m["line_items"] = []any{line, lines[1]}
	})
}

// editedOrder is shopifyOrder after an order edit in Shopify left current of the SKU's
// line (quantity keeps what was first ordered) and added a line of example-shirt-m.
func editedOrder(t *testing.T, id, updatedAt string, ordered, current, added int, fulfillment any) []byte {
	return edit(t, shopifyOrder(t, id, updatedAt, ordered, fulfillment, false), func(m map[string]any) {
		lines := m["line_items"].([]any)
		lines[0].(map[string]any)["current_quantity"] = current
		if added > 0 {
			extra := map[string]any{}
			for k, v := range lines[0].(map[string]any) {
				extra[k] = v
			}
			extra["id"], extra["sku"], extra["quantity"], extra["current_quantity"] = json.Number("777000000000000001"), "example-shirt-m", added, added
			lines = append(lines, extra)
		}
		m["line_items"] = lines
	})
}

func TestOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createShirt(t)
	if _, err := e.inv.Set(e.owner, "example-shirt-s", "MAIN", 10, "count"); err != nil {
		t.Fatal(err)
	}
	// Linked only now, so any push job below would come from the orders.
	e.db.Client.Variant.Update().Where(variant.Sku("example-shirt-s")).SetShopifyInventoryItemID(itemID).ExecX(e.sys)

	t.Run("OK fixture: cancelled order of unknown SKUs is recorded without stock", func(t *testing.T) {
		if _, ev := e.deliver(t, "orders/create", fixture(t, "orders_create.json"), ""); ev.Status != webhookevent.StatusProcessed {
			t.Fatalf("status %s %s", ev.Status, ev.Error)
		}
		o := e.db.Client.Order.Query().Where(order.ShopifyID(820982911946154508)).WithLineItems().OnlyX(e.sys)
		if o.Source != order.SourceShopify || o.Name != "#9999" || o.Status != order.StatusCancelled || o.FinancialStatus != order.FinancialStatusVoided ||
			o.Total != 35997 || o.Subtotal != 35997 || o.ShippingTotal != 1000 || o.Email != "jon@example.com" || len(o.Edges.LineItems) != 3 {
			t.Fatalf("order: %+v, %d lines", o, len(o.Edges.LineItems))
		}
		for _, li := range o.Edges.LineItems {
			if li.VariantID != nil || li.ShopifyLineItemID == nil {
				t.Fatalf("line %+v", li)
			}
		}
		// orders/paid carries the same sample: not newer, nothing changes.
		if _, ev := e.deliver(t, "orders/paid", fixture(t, "orders_paid.json"), ""); ev.Status != webhookevent.StatusIgnored {
			t.Fatalf("orders/paid: %s", ev.Status)
		}
		if n := e.db.Client.Order.Query().CountX(e.sys); n != 1 {
			t.Fatalf("%d orders", n)
		}
	})
	t.Run("OK open reserves, fulfilled commits", func(t *testing.T) {
		e.deliver(t, "orders/create", shopifyOrder(t, "900000000000000001", "2024-01-01T10:00:00Z", 2, nil, false), "")
		if l := e.level(t, "example-shirt-s"); l.OnHand != 10 || l.Reserved != 2 {
			t.Fatalf("after open: %d/%d", l.OnHand, l.Reserved)
		}
		// A replay of the same order changes nothing.
		e.deliver(t, "orders/updated", shopifyOrder(t, "900000000000000001", "2024-01-01T10:00:00Z", 2, nil, false), "")
		e.deliver(t, "orders/updated", shopifyOrder(t, "900000000000000001", "2024-01-01T12:00:00Z", 2, "fulfilled", false), "")
		if l := e.level(t, "example-shirt-s"); l.OnHand != 8 || l.Reserved != 0 {
			t.Fatalf("after fulfilled: %d/%d", l.OnHand, l.Reserved)
		}
		// An older payload arriving late does not undo the fulfilment.
		e.deliver(t, "orders/updated", shopifyOrder(t, "900000000000000001", "2024-01-01T11:00:00Z", 2, nil, true), "")
		o := e.db.Client.Order.Query().Where(order.ShopifyID(900000000000000001)).OnlyX(e.sys)
		if o.FulfillmentStatus != order.FulfillmentStatusFulfilled || o.Status != order.StatusOpen {
			t.Fatalf("order %s/%s", o.Status, o.FulfillmentStatus)
		}
		if l := e.level(t, "example-shirt-s"); l.OnHand != 8 || l.Reserved != 0 {
			t.Fatalf("after a stale cancel: %d/%d", l.OnHand, l.Reserved)
		}
	})
	t.Run("OK open reserves, cancelled releases", func(t *testing.T) {
		e.deliver(t, "orders/create", shopifyOrder(t, "900000000000000002", "2024-01-02T10:00:00Z", 3, nil, false), "")
		if l := e.level(t, "example-shirt-s"); l.Reserved != 3 {
			t.Fatalf("after open: %d/%d", l.OnHand, l.Reserved)
		}
		body := shopifyOrder(t, "900000000000000002", "2024-01-02T11:00:00Z", 3, nil, true)
		if _, ev := e.deliver(t, "orders/cancelled", body, ""); ev.Status != webhookevent.StatusProcessed {
			t.Fatalf("status %s %s", ev.Status, ev.Error)
		}
		if l := e.level(t, "example-shirt-s"); l.OnHand != 8 || l.Reserved != 0 {
			t.Fatalf("after cancelled: %d/%d", l.OnHand, l.Reserved)
		}
		e.checkLedger(t)
	})
	t.Run("OK an order edited in Shopify moves its reservations", func(t *testing.T) {
		if _, err := e.inv.Set(e.owner, "example-shirt-m", "MAIN", 10, "count"); err != nil {
			t.Fatal(err)
		}
		id := "900000000000000003"
		lines := func() map[string]int {
			o := e.db.Client.Order.Query().Where(order.ShopifyID(900000000000000003)).WithLineItems().
				WithShipments(func(q *ent.ShipmentQuery) { q.WithLineItems() }).OnlyX(e.sys)
			got := map[string]int{}
			for _, li := range o.Edges.LineItems {
				got[li.Sku] += li.Quantity
			}
			for _, shp := range o.Edges.Shipments {
				for _, sl := range shp.Edges.LineItems {
					got["shipped as "+sl.Sku] += sl.Quantity
				}
			}
			return got
		}
		before := e.level(t, "example-shirt-s").Reserved
		e.deliver(t, "orders/create", shopifyOrder(t, id, "2024-01-03T10:00:00Z", 2, nil, false), "")
		// The edit takes the shirt from 2 to 1 and adds 3 of size M.
		if _, ev := e.deliver(t, "orders/updated", editedOrder(t, id, "2024-01-03T11:00:00Z", 2, 1, 3, nil), ""); ev.Status != webhookevent.StatusProcessed {
			t.Fatalf("status %s %s", ev.Status, ev.Error)
		}
		if s, m := e.level(t, "example-shirt-s").Reserved, e.level(t, "example-shirt-m").Reserved; s != before+1 || m != 3 {
			t.Fatalf("reserved after the edit: S %d (want %d), M %d (want 3)", s, before+1, m)
		}
		if got := lines(); got["example-shirt-s"] != 1 || got["example-shirt-m"] != 3 || got["shipped as example-shirt-s"] != 1 || got["shipped as example-shirt-m"] != 3 {
			t.Fatalf("lines after the edit: %v", got)
		}
		// Removing the shirt (current quantity 0) releases it.
		e.deliver(t, "orders/updated", editedOrder(t, id, "2024-01-03T12:00:00Z", 2, 0, 3, nil), "")
		if s := e.level(t, "example-shirt-s").Reserved; s != before {
			t.Fatalf("reserved after removing the line: %d, want %d", s, before)
		}
		// Fulfilled, then edited again: what shipped stays recorded as it was.
		e.deliver(t, "orders/updated", editedOrder(t, id, "2024-01-03T13:00:00Z", 2, 0, 3, "fulfilled"), "")
		e.deliver(t, "orders/updated", editedOrder(t, id, "2024-01-03T14:00:00Z", 2, 2, 3, "fulfilled"), "")
		if got := lines(); got["example-shirt-s"] != 0 || got["example-shirt-m"] != 3 {
			t.Fatalf("lines after an edit of a fulfilled order: %v", got)
		}
		if m := e.level(t, "example-shirt-m"); m.OnHand != 7 || m.Reserved != 0 {
			t.Fatalf("size M after fulfilment: %d/%d", m.OnHand, m.Reserved)
		}
		e.checkLedger(t)
	})
	t.Run("OK stock moved by Shopify orders is not pushed back", func(t *testing.T) {
		if n := e.jobCount(t, "shopify_push_stock"); n != 0 {
			t.Fatalf("%d pushes enqueued", n)
		}
	})
}

func TestInventoryLevels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createShirt(t)
	e.db.Client.Variant.Update().Where(variant.Sku("example-shirt-s")).SetShopifyInventoryItemID(itemID).ExecX(e.sys)
	body := fixture(t, "inventory_levels_update.json")

	t.Run("OK untracked item (available null) is ignored", func(t *testing.T) {
		if _, ev := e.deliver(t, "inventory_levels/update", body, ""); ev.Status != webhookevent.StatusIgnored {
			t.Fatalf("status %s", ev.Status)
		}
	})
	t.Run("OK sets available by item and location, ids exact", func(t *testing.T) {
		// The fixture's id went through a float; the true one survives in its graphql id.
		rounded := edit(t, body, func(m map[string]any) { m["available"] = json.Number("7") })
		if _, ev := e.deliver(t, "inventory_levels/update", rounded, ""); ev.Status != webhookevent.StatusIgnored {
			t.Fatalf("a rounded id matched: %s", ev.Status)
		}
		exact := edit(t, body, func(m map[string]any) {
			m["available"], m["inventory_item_id"] = json.Number("7"), json.Number("271878346596884015")
		})
		if _, ev := e.deliver(t, "inventory_levels/update", exact, ""); ev.Status != webhookevent.StatusProcessed {
			t.Fatalf("status %s %s", ev.Status, ev.Error)
		}
		l := e.level(t, "example-shirt-s")
		if l.OnHand-l.Reserved != 7 {
			t.Fatalf("available %d", l.OnHand-l.Reserved)
		}
		mv := e.db.Client.InventoryMovement.Query().OnlyX(e.sys)
		if mv.Reason != inventorymovement.ReasonShopifySync || mv.OnHandDelta != 7 {
			t.Fatalf("movement %+v", mv)
		}
		// The echo of the same figure is a no-op.
		if _, ev := e.deliver(t, "inventory_levels/update", exact, ""); ev.Status != webhookevent.StatusIgnored {
			t.Fatalf("echo: %s", ev.Status)
		}
		if n := e.db.Client.InventoryMovement.Query().CountX(e.sys); n != 1 {
			t.Fatalf("%d movements", n)
		}
	})
	t.Run("OK the newer updated_at wins over a delivery arriving late", func(t *testing.T) {
		at := func(available, updatedAt string) []byte {
			return edit(t, body, func(m map[string]any) {
				m["available"], m["inventory_item_id"], m["updated_at"] = json.Number(available), json.Number("271878346596884015"), updatedAt
			})
		}
		if _, ev := e.deliver(t, "inventory_levels/update", at("12", "2022-01-01T10:00:00Z"), ""); ev.Status != webhookevent.StatusProcessed {
			t.Fatalf("status %s %s", ev.Status, ev.Error)
		}
		// Sent before the one above, delivered after it.
		if _, ev := e.deliver(t, "inventory_levels/update", at("3", "2022-01-01T09:00:00Z"), ""); ev.Status != webhookevent.StatusIgnored {
			t.Fatalf("a stale level: %s", ev.Status)
		}
		if l := e.level(t, "example-shirt-s"); l.OnHand-l.Reserved != 12 {
			t.Fatalf("available %d after a stale delivery, want 12", l.OnHand-l.Reserved)
		}
		if _, ev := e.deliver(t, "inventory_levels/update", at("4", "2022-01-01T11:00:00Z"), ""); ev.Status != webhookevent.StatusProcessed {
			t.Fatalf("a newer level: %s %s", ev.Status, ev.Error)
		}
		if l := e.level(t, "example-shirt-s"); l.OnHand-l.Reserved != 4 {
			t.Fatalf("available %d after a newer delivery, want 4", l.OnHand-l.Reserved)
		}
	})
	t.Run("OK a change from Shopify is not pushed back", func(t *testing.T) {
		if n := e.jobCount(t, "shopify_push_stock"); n != 0 {
			t.Fatalf("%d pushes enqueued", n)
		}
	})
}

// linkShirt creates the shirt and links example-shirt-s to itemID.
func (e *env) linkShirt(t *testing.T) {
	t.Helper()
	e.createShirt(t)
	e.db.Client.Variant.Update().Where(variant.Sku("example-shirt-s")).SetShopifyInventoryItemID(itemID).ExecX(e.sys)
}

func TestPush(t *testing.T) {
	t.Parallel()
	t.Run("OK one push with the new figure", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.linkShirt(t)
		if _, err := e.inv.Set(e.owner, "example-shirt-s", "MAIN", 5, "count"); err != nil {
			t.Fatal(err)
		}
		// Unlinked SKUs are not pushed.
		if _, err := e.inv.Set(e.owner, "example-shirt-m", "MAIN", 4, "count"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the push job to complete", func() bool { return e.jobCount(t, "shopify_push_stock", "completed") == 1 })
		got := e.admin.got()
		if len(got) != 1 {
			t.Fatalf("%d pushes", len(got))
		}
		p := got[0]
		if p.path != "/admin/api/2024-10/inventory_levels/set.json" || p.token != token || p.body["location_id"] != "24826418" ||
			p.body["inventory_item_id"] != "271878346596884015" || p.body["available"] != "5" {
			t.Fatalf("push %+v", p)
		}
		if n := e.jobCount(t, "shopify_push_stock"); n != 1 {
			t.Fatalf("%d push jobs", n)
		}
	})
	t.Run("OK 429 then success: one accepted push after Retry-After", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, http.StatusTooManyRequests, http.StatusInternalServerError)
		e.linkShirt(t)
		if _, err := e.inv.Set(e.owner, "example-shirt-s", "MAIN", 3, "count"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the push job to complete", func() bool { return e.jobCount(t, "shopify_push_stock", "completed") == 1 })
		got := e.admin.got()
		if len(got) != 3 || got[0].status != 429 || got[1].status != 500 || got[2].status != 200 {
			t.Fatalf("pushes %+v", got)
		}
		if wait := got[1].at.Sub(got[0].at); wait < time.Second {
			t.Fatalf("retried %s after a 429 asking for 1 s", wait)
		}
		if got[2].body["available"] != "3" {
			t.Fatalf("accepted push %+v", got[2])
		}
	})
	t.Run("ErrRefused: a 422 is not retried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, http.StatusUnprocessableEntity)
		e.linkShirt(t)
		if _, err := e.inv.Set(e.owner, "example-shirt-s", "MAIN", 3, "count"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the push job to be cancelled", func() bool { return e.jobCount(t, "shopify_push_stock", "cancelled") == 1 })
		if got := e.admin.got(); len(got) != 1 {
			t.Fatalf("%d pushes", len(got))
		}
	})
}

func TestUninstalled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.linkShirt(t)
	if _, ev := e.deliver(t, "app/uninstalled", fixture(t, "app_uninstalled.json"), ""); ev.Status != webhookevent.StatusProcessed {
		t.Fatalf("status %s %s", ev.Status, ev.Error)
	}
	m := e.db.Client.Merchant.GetX(e.sys, e.merchant.ID)
	if m.ShopifyUninstalledAt == nil || m.ShopifyAccessToken != nil {
		t.Fatalf("merchant after uninstall: %v, token set %v", m.ShopifyUninstalledAt, m.ShopifyAccessToken != nil)
	}

	t.Run("OK no push", func(t *testing.T) {
		if _, err := e.inv.Set(e.owner, "example-shirt-s", "MAIN", 5, "count"); err != nil {
			t.Fatal(err)
		}
		if n := e.jobCount(t, "shopify_push_stock"); n != 0 {
			t.Fatalf("%d pushes enqueued", n)
		}
	})
	t.Run("OK later webhooks are ignored", func(t *testing.T) {
		body := edit(t, fixture(t, "products_update.json"), func(m map[string]any) {
			m["title"], m["updated_at"] = "After uninstall", "2024-01-01T00:00:00Z"
		})
		out, ev := e.deliver(t, "products/update", body, "")
		if out != shopify.OutcomeIgnored || ev.Status != webhookevent.StatusIgnored {
			t.Fatalf("%s, %s", out, ev.Status)
		}
		if p := e.db.Client.Product.Query().OnlyX(e.sys); p.Title != "Example T-Shirt" {
			t.Fatalf("title %q", p.Title)
		}
	})
}
