package email_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/emailmessage"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/email"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/orders"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/postal"
	"github.com/mercantile/mercantile/internal/pulid"
)

// env is a merchant ("Corner Shop", 5.00 flat shipping) selling SKU A (15.00) from
// warehouses W1 and W2, two of A in each.
type env struct {
	db     *database.DB
	orders *orders.Service
	ctx    context.Context // a secret key
	shop   context.Context // a publishable key
	sys    context.Context
}

func newEnv(t *testing.T, db *database.DB) env {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	m := db.Client.Merchant.Create().SetName("Corner Shop").SetHandle("corner").SetShippingFlatRate(500).SaveX(sys)
	ctx := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: m.ID, ActorID: "key_s", Role: viewer.RoleOwner})
	shop := viewer.NewContext(context.Background(), viewer.Viewer{Kind: viewer.KindPublishableKey, MerchantID: m.ID, ActorID: "key_p"})
	inv := inventory.NewService(db, kv.NewMemory(), nil, nil)
	p := db.Client.Product.Create().SetTitle("Tee").SetHandle("tee").SaveX(ctx)
	db.Client.Variant.Create().SetProductID(p.ID).SetSku("A").SetOption1("Blue").SetTitle("Blue").SetPrice(1500).ExecX(ctx)
	db.Client.Warehouse.Create().SetCode("W1").SetName("One").SetPriority(1).ExecX(ctx)
	db.Client.Warehouse.Create().SetCode("W2").SetName("Two").SetPriority(2).ExecX(ctx)
	for _, code := range []string{"W1", "W2"} {
		if _, err := inv.Set(ctx, "A", code, 2, "test stock"); err != nil {
			t.Fatal(err)
		}
	}
	return env{db: db, orders: orders.NewService(db, inv, 30*time.Minute), ctx: ctx, shop: shop, sys: sys}
}

func (e env) place(t *testing.T, quantity int64) *ent.Order {
	t.Helper()
	o, err := e.orders.Place(e.shop, orders.PlaceInput{
		Email:           "Buyer@Example.com",
		ShippingAddress: &postal.Address{Name: "Ada Lovelace", Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "us"},
		LineItems:       []orders.LineInput{{SKU: "A", Quantity: quantity}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e env) paid(t *testing.T, quantity int64) *ent.Order {
	t.Helper()
	o, err := e.orders.MarkPaid(e.ctx, e.place(t, quantity).ID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e env) ship(t *testing.T, shipmentID pulid.ID, carrier, tracking string) *ent.Order {
	t.Helper()
	o, err := e.orders.Ship(e.ctx, shipmentID, orders.ShipInput{Carrier: carrier, TrackingNumber: tracking})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// outbox returns every email, oldest first.
func (e env) outbox(t *testing.T) []*ent.EmailMessage {
	t.Helper()
	return e.db.Client.EmailMessage.Query().Order(ent.Asc(emailmessage.FieldID)).AllX(e.sys)
}

func (e env) only(t *testing.T, kind emailmessage.Kind) *ent.EmailMessage {
	t.Helper()
	rows := e.db.Client.EmailMessage.Query().Where(emailmessage.KindEQ(kind)).AllX(e.sys)
	if len(rows) != 1 {
		t.Fatalf("%d %s emails, want 1", len(rows), kind)
	}
	return rows[0]
}

func (e env) reload(t *testing.T, id pulid.ID) *ent.EmailMessage {
	t.Helper()
	return e.db.Client.EmailMessage.GetX(e.sys, id)
}

// sendJob is a send job as River keeps it (river_job).
type sendJob struct {
	id          int64
	state       string
	attempt     int
	maxAttempts int
	args        email.SendArgs
}

// sendJobs returns the send jobs in the queue, read from River's table.
func (e env) sendJobs(t *testing.T) []sendJob {
	t.Helper()
	// riversqlite keeps args as SQLite's binary JSONB.
	args := "args::text"
	if e.db.Dialect == dialect.SQLite {
		args = "json(args)"
	}
	rows, err := e.db.SQL.Query("SELECT id, state, attempt, max_attempts, " + args + " FROM river_job WHERE kind = 'send_email' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []sendJob
	for rows.Next() {
		var j sendJob
		var raw []byte
		if err := rows.Scan(&j.id, &j.state, &j.attempt, &j.maxAttempts, &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &j.args); err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// jobOf returns the send job of an email, as River would hand it to the worker on its
// attempt-th run.
func (e env) jobOf(t *testing.T, m *ent.EmailMessage, attempt int) *river.Job[email.SendArgs] {
	t.Helper()
	for _, j := range e.sendJobs(t) {
		if j.args.MessageID == m.ID {
			return &river.Job[email.SendArgs]{
				JobRow: &rivertype.JobRow{ID: j.id, Kind: email.SendArgs{}.Kind(), Attempt: attempt, MaxAttempts: j.maxAttempts},
				Args:   j.args,
			}
		}
	}
	t.Fatalf("email %s has no send job", m.ID)
	return nil
}

func dialects(t *testing.T, test func(t *testing.T, e env)) {
	for name, open := range map[string]func(testing.TB) *database.DB{"postgres": dbtest.Postgres, "sqlite": dbtest.SQLite} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newEnv(t, open(t)))
		})
	}
}

func contains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("%s does not contain %q:\n%s", what, want, body)
		}
	}
}

// TestTransitionsQueueTheirEmails: each transition writes its email, rendered, with its
// send job, in its own transaction.
func TestTransitionsQueueTheirEmails(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		o := e.place(t, 3)

		t.Run("placing confirms", func(t *testing.T) {
			m := e.only(t, emailmessage.KindOrderConfirmation)
			if m.ToAddress != "buyer@example.com" || *m.OrderID != o.ID || m.ShipmentID != nil || m.Status != emailmessage.StatusQueued || m.Attempts != 0 {
				t.Fatalf("confirmation %+v", m)
			}
			if m.Subject != "Corner Shop: Order #1001 confirmed" {
				t.Fatalf("subject %q", m.Subject)
			}
			contains(t, "text", m.TextBody, "Thank you for your order", "3 x Tee (Blue), SKU A: 45.00 USD (15.00 USD each)",
				"Subtotal: 45.00 USD", "Shipping: 5.00 USD", "Total:    50.00 USD", "Ada Lovelace", "1 Main St", "12345 Springfield", "US")
			contains(t, "html", m.HTMLBody, "<td>Tee (Blue)</td>", "<strong>50.00 USD</strong>", "Ada Lovelace<br>1 Main St")
		})

		if _, err := e.orders.MarkPaid(e.ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		first, second := o.Edges.Shipments[0], o.Edges.Shipments[1]
		e.ship(t, first.ID, "UPS", "1Z999AA1")
		e.ship(t, second.ID, "Acme Freight", "")

		t.Run("each shipment announces itself with its carrier and tracking", func(t *testing.T) {
			rows := e.db.Client.EmailMessage.Query().Where(emailmessage.KindEQ(emailmessage.KindShipmentSent)).AllX(e.sys)
			byShipment := map[pulid.ID]*ent.EmailMessage{}
			for _, m := range rows {
				byShipment[*m.ShipmentID] = m
			}
			ups, acme := byShipment[first.ID], byShipment[second.ID]
			if len(rows) != 2 || ups == nil || acme == nil {
				t.Fatalf("shipment emails %+v", rows)
			}
			if ups.ToAddress != "buyer@example.com" || ups.Subject != "Corner Shop: Order #1001 has shipped" || *ups.OrderID != o.ID {
				t.Fatalf("shipment email %+v", ups)
			}
			contains(t, "text", ups.TextBody, "on their way with UPS", "Tracking number: 1Z999AA1",
				"Track it at https://www.ups.com/track?tracknum=1Z999AA1",
				fmt.Sprintf("%d x Tee (Blue), SKU A", first.Edges.LineItems[0].Quantity))
			contains(t, "html", ups.HTMLBody, `<a href="https://www.ups.com/track?tracknum=1Z999AA1">1Z999AA1</a>`)
			contains(t, "text", acme.TextBody, "on their way with Acme Freight", fmt.Sprintf("%d x Tee (Blue), SKU A", second.Edges.LineItems[0].Quantity))
			if strings.Contains(acme.TextBody, "Track") {
				t.Errorf("an unknown carrier without a number got a tracking line:\n%s", acme.TextBody)
			}
		})

		if _, err := e.orders.RecordRefund(e.ctx, o.ID, ptr(int64(100)), "scratched"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.orders.RecordRefund(e.ctx, o.ID, nil, ""); err != nil {
			t.Fatal(err)
		}
		t.Run("each refund is announced", func(t *testing.T) {
			bySubject := map[string]*ent.EmailMessage{}
			for _, m := range e.db.Client.EmailMessage.Query().Where(emailmessage.KindEQ(emailmessage.KindRefundIssued)).AllX(e.sys) {
				bySubject[m.Subject] = m
			}
			partial, rest := bySubject["Corner Shop: Refund of 1.00 USD for order #1001"], bySubject["Corner Shop: Refund of 49.00 USD for order #1001"]
			if len(bySubject) != 2 || partial == nil || rest == nil {
				t.Fatalf("refund emails %v", slices.Collect(maps.Keys(bySubject)))
			}
			contains(t, "first refund", partial.TextBody, "We have refunded 1.00 USD for order #1001. Reason: scratched.",
				"Refunded on this order so far: 1.00 USD")
			contains(t, "second refund", rest.TextBody, "We have refunded 49.00 USD for order #1001.", "Refunded on this order so far: 50.00 USD")
		})

		// One A is left in stock after shipping three.
		c := e.place(t, 1)
		if _, err := e.orders.Cancel(e.ctx, c.ID, "changed my mind"); err != nil {
			t.Fatal(err)
		}
		x := e.place(t, 1)
		e.db.Client.Order.UpdateOneID(x.ID).SetReservationExpiresAt(time.Now().Add(-time.Minute)).ExecX(e.sys)
		if n, err := e.orders.ExpireReservations(context.Background(), 10); err != nil || n != 1 {
			t.Fatalf("expired %d: %v", n, err)
		}
		t.Run("cancelling and expiry say why", func(t *testing.T) {
			byOrder := map[pulid.ID]*ent.EmailMessage{}
			for _, m := range e.db.Client.EmailMessage.Query().Where(emailmessage.KindEQ(emailmessage.KindOrderCancelled)).AllX(e.sys) {
				byOrder[*m.OrderID] = m
			}
			cancelled, expired := byOrder[c.ID], byOrder[x.ID]
			if len(byOrder) != 2 || cancelled == nil || expired == nil {
				t.Fatalf("cancel emails %+v", byOrder)
			}
			if cancelled.Subject != "Corner Shop: Order #1002 was cancelled" || cancelled.ToAddress != "buyer@example.com" {
				t.Fatalf("cancel email %+v", cancelled)
			}
			contains(t, "cancelled", cancelled.TextBody, "Order #1002 has been cancelled. Reason: changed my mind.", "1 x Tee (Blue), SKU A")
			contains(t, "expired", expired.TextBody, "Order #1003 has been cancelled. Reason: reservation expired.")
		})

		t.Run("every email has its send job", func(t *testing.T) {
			all := e.outbox(t)
			if len(all) != 9 {
				t.Fatalf("%d emails, want 3 confirmations, 2 shipments, 2 refunds, 2 cancellations", len(all))
			}
			var jobIDs, rowIDs []string
			for _, j := range e.sendJobs(t) {
				a := j.args
				jobIDs = append(jobIDs, a.MessageID.String())
				if a.MerchantID != all[0].MerchantID || !json.Valid(a.Data) {
					t.Errorf("job args %+v", a)
				}
			}
			for _, m := range all {
				rowIDs = append(rowIDs, m.ID.String())
			}
			slices.Sort(jobIDs)
			if !slices.Equal(jobIDs, rowIDs) {
				t.Fatalf("jobs for %v, emails %v", jobIDs, rowIDs)
			}
		})
	})
}

// TestQueueAtMostOnce: replaying a transition's email changes nothing; a rolled-back
// transaction leaves neither email nor job; Queue refuses to run outside a transaction.
func TestQueueAtMostOnce(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		o := e.paid(t, 3)
		e.ship(t, o.Edges.Shipments[0].ID, "UPS", "1Z1")
		e.ship(t, o.Edges.Shipments[1].ID, "UPS", "1Z2")
		counts := func() (int, int) {
			return len(e.outbox(t)), len(e.sendJobs(t))
		}
		if rows, jobCount := counts(); rows != 3 || jobCount != 3 {
			t.Fatalf("%d emails, %d jobs after placing and two shipments", rows, jobCount)
		}
		queue := func(ctx context.Context, ev email.Event, fail bool) error {
			return database.InTx(ctx, e.db.Client, func(ctx context.Context, tx *ent.Client) error {
				if err := email.Queue(ctx, tx, ev); err != nil {
					return err
				}
				if fail {
					return errors.New("the transition failed after queueing")
				}
				return nil
			})
		}
		o, _ = e.orders.Order(e.ctx, o.ID)

		t.Run("replays are skipped", func(t *testing.T) {
			replays := []email.Event{
				{Kind: emailmessage.KindOrderConfirmation, Order: o},
				{Kind: emailmessage.KindShipmentSent, Order: o, Shipment: o.Edges.Shipments[0]},
				{Kind: emailmessage.KindShipmentSent, Order: o, Shipment: o.Edges.Shipments[1]},
			}
			for _, ev := range replays {
				if err := queue(e.ctx, ev, false); err != nil {
					t.Fatalf("replaying %s: %v", ev.Kind, err)
				}
			}
			if rows, jobCount := counts(); rows != 3 || jobCount != 3 {
				t.Fatalf("%d emails, %d jobs after replays, want 3 and 3", rows, jobCount)
			}
		})
		t.Run("a rolled-back transaction sends nothing", func(t *testing.T) {
			ev := email.Event{Kind: emailmessage.KindPaymentFailed, Order: o}
			if err := queue(e.ctx, ev, true); err == nil {
				t.Fatal("the failing transaction committed")
			}
			if rows, jobCount := counts(); rows != 3 || jobCount != 3 {
				t.Fatalf("%d emails, %d jobs after a rollback, want 3 and 3", rows, jobCount)
			}
			// The same event committed is written: the rollback, not a dedup, dropped it.
			if err := queue(e.ctx, ev, false); err != nil {
				t.Fatal(err)
			}
			if rows, jobCount := counts(); rows != 4 || jobCount != 4 {
				t.Fatalf("%d emails, %d jobs after the commit, want 4 and 4", rows, jobCount)
			}
		})
		t.Run("a refused transition sends nothing", func(t *testing.T) {
			if _, err := e.orders.Cancel(e.ctx, o.ID, "too late"); err == nil {
				t.Fatal("cancelled a shipped order")
			}
			if n := e.db.Client.EmailMessage.Query().Where(emailmessage.KindEQ(emailmessage.KindOrderCancelled)).CountX(e.sys); n != 0 {
				t.Fatalf("%d cancellation emails", n)
			}
		})
		t.Run("outside a transaction", func(t *testing.T) {
			err := email.Queue(e.ctx, e.db.Client, email.Event{Kind: emailmessage.KindOrderCancelled, Order: o})
			if err == nil {
				t.Fatal("Queue wrote outside a transaction")
			}
			if rows, _ := counts(); rows != 4 {
				t.Fatalf("%d emails", rows)
			}
		})
		t.Run("events missing their object", func(t *testing.T) {
			for _, ev := range []email.Event{
				{Kind: emailmessage.KindShipmentSent, Order: o},
				{Kind: emailmessage.KindRefundIssued, Order: o},
				{Kind: emailmessage.KindOrderConfirmation},
				{Kind: "welcome", Order: o},
			} {
				if err := queue(e.ctx, ev, false); err == nil {
					t.Errorf("queued %+v", ev)
				}
			}
		})
	})
}

// fakeSendGrid is SendGrid's v3 mail/send as far as tests need: it checks each request
// and answers with the statuses scripted, then 202.
type fakeSendGrid struct {
	t      *testing.T
	key    string
	from   string
	server *httptest.Server

	mu       sync.Mutex
	script   []int
	requests []sgRequest
}

type sgRequest struct {
	at     time.Time
	status int
	body   map[string]any
}

const (
	testKey  = "SG.test-key"
	testFrom = "orders@corner.example"
)

func newFakeSendGrid(t *testing.T, script ...int) *fakeSendGrid {
	f := &fakeSendGrid{t: t, key: testKey, from: testFrom, script: script}
	f.server = httptest.NewServer(f)
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeSendGrid) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	decodeErr := json.NewDecoder(r.Body).Decode(&body)
	problems := f.check(r, body, decodeErr)
	f.mu.Lock()
	status := http.StatusAccepted
	if len(problems) > 0 {
		status = http.StatusBadRequest
	} else if len(f.script) > 0 {
		status, f.script = f.script[0], f.script[1:]
	}
	f.requests = append(f.requests, sgRequest{at: time.Now(), status: status, body: body})
	n := len(f.requests)
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	switch {
	case len(problems) > 0:
		f.t.Errorf("SendGrid got a bad request: %s", strings.Join(problems, "; "))
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"errors":[{"message":%q,"field":null,"help":null}]}`, strings.Join(problems, "; "))
	case status == http.StatusAccepted:
		w.Header().Set("X-Message-Id", fmt.Sprintf("sg-msg-%d", n))
		w.WriteHeader(status)
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(status)
		fmt.Fprint(w, `{"errors":[{"field":null,"message":"too many requests"}]}`)
	case status == http.StatusBadRequest:
		w.WriteHeader(status)
		fmt.Fprint(w, `{"errors":[{"message":"The from address does not match a verified Sender Identity.","field":"from","help":"https://sendgrid.com/docs/for-developers/sending-email/sender-identity/"}]}`)
	default:
		w.WriteHeader(status)
		fmt.Fprint(w, `{"errors":[{"message":"internal error","field":null,"help":null}]}`)
	}
}

// check returns what is wrong with a mail/send request: the v3 shape, the key, the
// sender, either our content (text/plain then text/html) or a dynamic template, and the
// outbox id in custom_args.
func (f *fakeSendGrid) check(r *http.Request, body map[string]any, decodeErr error) []string {
	var out []string
	if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" {
		out = append(out, "request "+r.Method+" "+r.URL.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.key {
		out = append(out, "Authorization "+got)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		out = append(out, "Content-Type "+ct)
	}
	if decodeErr != nil {
		return append(out, "body: "+decodeErr.Error())
	}
	ps, _ := body["personalizations"].([]any)
	if len(ps) != 1 {
		return append(out, fmt.Sprintf("%d personalizations", len(ps)))
	}
	p, _ := ps[0].(map[string]any)
	to, _ := p["to"].([]any)
	if len(to) != 1 {
		out = append(out, fmt.Sprintf("to %v", p["to"]))
	} else if addr, _ := to[0].(map[string]any)["email"].(string); addr == "" {
		out = append(out, fmt.Sprintf("to %v", p["to"]))
	}
	if from, _ := body["from"].(map[string]any); from["email"] != f.from {
		out = append(out, fmt.Sprintf("from %v", body["from"]))
	}
	if args, _ := body["custom_args"].(map[string]any); !strings.HasPrefix(fmt.Sprint(args["email_id"]), "eml_") {
		out = append(out, fmt.Sprintf("custom_args %v", body["custom_args"]))
	}
	if tid, ok := body["template_id"].(string); ok {
		data, _ := p["dynamic_template_data"].(map[string]any)
		if !strings.HasPrefix(tid, "d-") || len(data) == 0 || body["content"] != nil {
			out = append(out, "a dynamic template send needs d- template_id, dynamic_template_data and no content")
		}
		return out
	}
	content, _ := body["content"].([]any)
	if subject, _ := body["subject"].(string); subject == "" || len(content) != 2 ||
		content[0].(map[string]any)["type"] != "text/plain" || content[1].(map[string]any)["type"] != "text/html" ||
		content[0].(map[string]any)["value"] == "" || content[1].(map[string]any)["value"] == "" {
		out = append(out, fmt.Sprintf("subject %v, content %v", body["subject"], body["content"]))
	}
	return out
}

func (f *fakeSendGrid) got() []sgRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeSendGrid) config() email.Config {
	return email.Config{SendGridAPIKey: f.key, SendGridAPIURL: f.server.URL, From: f.from, FromName: "Corner Shop", RetryBackoff: 10 * time.Millisecond}
}

// testLogger writes to t and, when buf is given, to it.
func testLogger(t *testing.T, buf *syncBuffer) *slog.Logger {
	var w interface{ Write([]byte) (int, error) } = testWriter{t}
	if buf != nil {
		w = buf
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startQueue works send jobs with svc's worker on a real River queue until the test ends.
func startQueue(t *testing.T, db *database.DB, svc *email.Service) {
	t.Helper()
	q, err := jobs.New(db, testLogger(t, nil), jobs.Options{FetchPollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Register(q, svc.Worker()); err != nil {
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

// TestSendRetriesUntilAccepted: SendGrid fails three times (500, 429 with Retry-After,
// 500), then accepts; River retries the job and exactly one email goes out.
func TestSendRetriesUntilAccepted(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		sg := newFakeSendGrid(t, http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusInternalServerError)
		startQueue(t, e.db, email.NewService(e.db.Client, sg.config(), testLogger(t, nil)))
		e.place(t, 1)
		m := e.only(t, emailmessage.KindOrderConfirmation)

		eventually(t, "the email to be sent", func() bool { return e.reload(t, m.ID).Status == emailmessage.StatusSent })
		got := e.reload(t, m.ID)
		if got.Attempts != 4 || got.ProviderMessageID != "sg-msg-4" || got.SentAt == nil || got.LastError != "" {
			t.Fatalf("sent email %+v", got)
		}
		reqs := sg.got()
		var statuses []int
		for _, r := range reqs {
			statuses = append(statuses, r.status)
			if id := r.body["custom_args"].(map[string]any)["email_id"]; id != m.ID.String() {
				t.Errorf("custom_args.email_id %v, want %s", id, m.ID)
			}
		}
		if !slices.Equal(statuses, []int{500, 429, 500, 202}) {
			t.Fatalf("SendGrid answered %v", statuses)
		}
		if wait := reqs[2].at.Sub(reqs[1].at); wait < 900*time.Millisecond {
			t.Errorf("retried %v after a 429 with Retry-After: 1", wait)
		}
		first := reqs[3].body
		if first["subject"] != m.Subject || first["from"].(map[string]any)["name"] != "Corner Shop" ||
			first["personalizations"].([]any)[0].(map[string]any)["to"].([]any)[0].(map[string]any)["email"] != "buyer@example.com" {
			t.Errorf("request %v", first)
		}
		// Nothing more is sent: the job completes (River records that just after Work
		// returns, so wait for it) after its fourth attempt.
		eventually(t, "the send job to complete", func() bool {
			js := e.sendJobs(t)
			return len(js) == 1 && js[0].state == string(rivertype.JobStateCompleted)
		})
		if js := e.sendJobs(t); js[0].attempt != 4 || js[0].maxAttempts != email.MaxAttempts {
			t.Fatalf("send jobs %+v", js)
		}
		if n := len(sg.got()); n != 4 {
			t.Fatalf("%d requests, want 4", n)
		}
	})
}

// TestSendRejected: a 400 fails the email with SendGrid's reason and is not retried.
func TestSendRejected(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		sg := newFakeSendGrid(t, http.StatusBadRequest)
		startQueue(t, e.db, email.NewService(e.db.Client, sg.config(), testLogger(t, nil)))
		e.place(t, 1)
		m := e.only(t, emailmessage.KindOrderConfirmation)

		eventually(t, "the email to fail", func() bool { return e.reload(t, m.ID).Status == emailmessage.StatusFailed })
		got := e.reload(t, m.ID)
		if got.Attempts != 1 || got.SentAt != nil || got.ProviderMessageID != "" ||
			!strings.Contains(got.LastError, "400") || !strings.Contains(got.LastError, "from: The from address does not match a verified Sender Identity.") {
			t.Fatalf("failed email %+v", got)
		}
		eventually(t, "the job to complete", func() bool {
			js := e.sendJobs(t)
			return len(js) == 1 && js[0].state == string(rivertype.JobStateCompleted) && js[0].attempt == 1
		})
		time.Sleep(300 * time.Millisecond)
		if n := len(sg.got()); n != 1 {
			t.Fatalf("%d requests, want 1: a rejected email is not retried", n)
		}
	})
}

// TestSendLogsWithoutKey: with no SendGrid key the email is written to the log and
// marked logged.
func TestSendLogsWithoutKey(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, e env) {
		var logs syncBuffer
		startQueue(t, e.db, email.NewService(e.db.Client, email.Config{From: testFrom}, testLogger(t, &logs)))
		o := e.place(t, 1)
		m := e.only(t, emailmessage.KindOrderConfirmation)
		eventually(t, "the email to be logged", func() bool { return e.reload(t, m.ID).Status == emailmessage.StatusLogged })
		got := e.reload(t, m.ID)
		if got.Attempts != 1 || got.SentAt == nil {
			t.Fatalf("logged email %+v", got)
		}
		contains(t, "log", logs.String(), "email_id="+m.ID.String(), "to=buyer@example.com", `subject="Corner Shop: Order #1001 confirmed"`, "Thank you for your order")
		if o.Email != got.ToAddress {
			t.Fatalf("to %s, order %s", got.ToAddress, o.Email)
		}
	})
}

// TestWorkAsRiverWould calls the worker directly, as River does, for what a real queue
// makes slow to reach: giving up, a rerun of a settled email, dynamic templates and the
// retry schedule.
func TestWorkAsRiverWould(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dbtest.Postgres(t))
	ctx := context.Background()

	t.Run("gives up after the last attempt", func(t *testing.T) {
		sg := newFakeSendGrid(t, 500, 503)
		w := email.NewService(e.db.Client, sg.config(), testLogger(t, nil)).Worker()
		o := e.place(t, 1)
		m := e.db.Client.EmailMessage.Query().Where(emailmessage.OrderID(o.ID)).OnlyX(e.sys)
		if err := w.Work(ctx, e.jobOf(t, m, 1)); err == nil {
			t.Fatal("a 500 did not ask River to retry")
		}
		if got := e.reload(t, m.ID); got.Status != emailmessage.StatusQueued || got.Attempts != 1 || !strings.Contains(got.LastError, "500") {
			t.Fatalf("after a 500: %+v", got)
		}
		if err := w.Work(ctx, e.jobOf(t, m, email.MaxAttempts)); err == nil {
			t.Fatal("the last attempt's 503 returned no error")
		}
		got := e.reload(t, m.ID)
		if got.Status != emailmessage.StatusFailed || got.Attempts != 2 || !strings.HasPrefix(got.LastError, "gave up after 2 attempts: SendGrid answered 503") {
			t.Fatalf("after the last attempt: %+v", got)
		}
	})

	t.Run("a settled email is never sent again", func(t *testing.T) {
		sg := newFakeSendGrid(t)
		w := email.NewService(e.db.Client, sg.config(), testLogger(t, nil)).Worker()
		o := e.place(t, 1)
		m := e.db.Client.EmailMessage.Query().Where(emailmessage.OrderID(o.ID)).OnlyX(e.sys)
		for attempt := 1; attempt <= 3; attempt++ {
			if err := w.Work(ctx, e.jobOf(t, m, attempt)); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.reload(t, m.ID); got.Status != emailmessage.StatusSent || got.Attempts != 1 || len(sg.got()) != 1 {
			t.Fatalf("after three runs: %+v, %d requests", got, len(sg.got()))
		}
		// Logged and failed emails are settled too.
		for _, status := range []emailmessage.Status{emailmessage.StatusLogged, emailmessage.StatusFailed} {
			e.db.Client.EmailMessage.UpdateOneID(m.ID).SetStatus(status).ExecX(e.sys)
			if err := w.Work(ctx, e.jobOf(t, m, 1)); err != nil {
				t.Fatal(err)
			}
		}
		if len(sg.got()) != 1 {
			t.Fatalf("%d requests, want 1", len(sg.got()))
		}
	})

	t.Run("dynamic template", func(t *testing.T) {
		sg := newFakeSendGrid(t)
		cfg := sg.config()
		cfg.Templates = map[string]string{"shipment_sent": "d-0123456789abcdef"}
		w := email.NewService(e.db.Client, cfg, testLogger(t, nil)).Worker()
		o := e.paid(t, 1)
		e.ship(t, o.Edges.Shipments[0].ID, "usps", "9400 1000")
		m := e.db.Client.EmailMessage.Query().Where(emailmessage.OrderID(o.ID), emailmessage.KindEQ(emailmessage.KindShipmentSent)).OnlyX(e.sys)
		if err := w.Work(ctx, e.jobOf(t, m, 1)); err != nil {
			t.Fatal(err)
		}
		reqs := sg.got()
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		body := reqs[0].body
		data := body["personalizations"].([]any)[0].(map[string]any)["dynamic_template_data"].(map[string]any)
		shipment := data["shipment"].(map[string]any)
		order := data["order"].(map[string]any)
		if body["template_id"] != "d-0123456789abcdef" || body["content"] != nil || data["kind"] != "shipment_sent" ||
			shipment["carrier"] != "usps" || shipment["tracking_number"] != "9400 1000" ||
			shipment["tracking_url"] != "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400+1000" ||
			order["name"] != o.Name || order["total"] != "20.00 USD" || data["subject"] != m.Subject {
			t.Fatalf("dynamic template request %v", body)
		}
	})

	t.Run("retry schedule", func(t *testing.T) {
		sg := newFakeSendGrid(t)
		cfg := sg.config()
		cfg.RetryBackoff = 10 * time.Second
		w := email.NewService(e.db.Client, cfg, testLogger(t, nil)).Worker()
		job := &river.Job[email.SendArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1, MaxAttempts: email.MaxAttempts}}
		for attempt, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 11: time.Hour, 40: time.Hour} {
			job.Attempt = attempt
			got := time.Until(w.NextRetry(job))
			if got < want*8/10-time.Second || got > want*12/10 {
				t.Errorf("attempt %d retries in %v, want %v ±20%%", attempt, got, want)
			}
		}
	})

	t.Run("a 429 waits as long as SendGrid asks", func(t *testing.T) {
		limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}))
		t.Cleanup(limited.Close)
		w := email.NewService(e.db.Client, email.Config{SendGridAPIKey: testKey, SendGridAPIURL: limited.URL, From: testFrom, RetryBackoff: time.Second},
			testLogger(t, nil)).Worker()
		o := e.place(t, 1)
		m := e.db.Client.EmailMessage.Query().Where(emailmessage.OrderID(o.ID)).OnlyX(e.sys)
		job := e.jobOf(t, m, 1)
		if err := w.Work(ctx, job); err == nil {
			t.Fatal("a 429 did not ask River to retry")
		}
		if got := time.Until(w.NextRetry(job)); got < 119*time.Second || got > 121*time.Second {
			t.Fatalf("retries in %v after Retry-After: 120", got)
		}
		// The hint is used once: the next failure backs off normally again.
		if got := time.Until(w.NextRetry(job)); got > 2*time.Second {
			t.Fatalf("the Retry-After hint outlived its attempt: %v", got)
		}
	})
}

func ptr[T any](v T) *T { return &v }
