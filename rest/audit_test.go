package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/auditevent"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
	"github.com/mercantile/mercantile/internal/pulid"
)

// auditEvents are merchant's events as stored, newest first.
func (h *harness) auditEvents(t *testing.T, merchant pulid.ID) []*ent.AuditEvent {
	t.Helper()
	rows, err := h.client.AuditEvent.Query().Where(auditevent.MerchantID(merchant)).
		Order(ent.Desc(auditevent.FieldID)).All(viewer.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

type auditList struct {
	Data     []auditEventJSON `json:"data"`
	PageInfo pageOut          `json:"page_info"`
}

func (l auditList) actions() []string {
	out := []string{}
	for _, e := range l.Data {
		out = append(out, e.Action)
	}
	return out
}

// secretKeyID is the id of the merchant's secret key, as GET /api/v1/keys lists it.
func secretKeyID(t *testing.T, s shop) string {
	t.Helper()
	var keys struct {
		Data []struct{ ID, Kind string }
	}
	s.secret("GET", "/api/v1/keys", nil).decode(t, http.StatusOK, &keys)
	for _, k := range keys.Data {
		if k.Kind == "secret" {
			return k.ID
		}
	}
	t.Fatal("no secret key listed")
	return ""
}

func TestAuditOnPostgres(t *testing.T) {
	t.Parallel()
	testAudit(t, newHarnessOn(t, dbtest.Postgres(t)))
}

func TestAuditOnSQLite(t *testing.T) {
	t.Parallel()
	testAudit(t, newHarnessOn(t, dbtest.SQLite(t)))
}

func testAudit(t *testing.T, h *harness) {
	// newShop creates a product and two warehouses with the secret key: three events.
	a := newShop(t, h, "audit-a")
	b := newShop(t, h, "audit-b")
	a.setStock("TEE-S", "W1", 5)
	actor := "key:" + secretKeyID(t, a)

	created := a.secret("POST", "/api/v1/products", tshirtBody())
	var product struct{ ID string }
	created.decode(t, http.StatusCreated, &product)
	// ULIDs order events by millisecond: keep the two apart so newest first is certain.
	time.Sleep(2 * time.Millisecond)
	updated := a.secret("PATCH", "/api/v1/products/"+product.ID, map[string]any{"title": "Renamed"})
	updated.decode(t, http.StatusOK, &map[string]any{})

	t.Run("create and update are recorded", func(t *testing.T) {
		events := h.auditEvents(t, a.Merchant.ID)
		if len(events) < 2 {
			t.Fatalf("%d events", len(events))
		}
		for i, want := range []struct {
			action string
			reply  reply
			method string
			status int
		}{{"updateProduct", updated, "PATCH", 200}, {"createProduct", created, "POST", 201}} {
			e := events[i]
			if e.Action != want.action || e.SubjectID != product.ID || e.Actor != actor ||
				e.RequestID == "" || e.RequestID != want.reply.header.Get("X-Request-Id") || e.IP != "127.0.0.1" {
				t.Errorf("event %d = %+v; want %s of %s by %s in request %s", i, e, want.action, product.ID, actor, want.reply.header.Get("X-Request-Id"))
			}
			if e.Details["method"] != want.method || e.Details["status"] != float64(want.status) && e.Details["status"] != want.status ||
				e.Details["path"] == "" {
				t.Errorf("event %d details %v", i, e.Details)
			}
		}
	})

	t.Run("failed request records nothing", func(t *testing.T) {
		before := len(h.auditEvents(t, a.Merchant.ID))
		a.secret("POST", "/api/v1/products", map[string]any{"title": ""}).expectProblem(t, http.StatusUnprocessableEntity, "invalid")
		if after := len(h.auditEvents(t, a.Merchant.ID)); after != before {
			t.Fatalf("%d events after a 422, want %d", after, before)
		}
	})

	t.Run("storefront order placement records nothing", func(t *testing.T) {
		before := len(h.auditEvents(t, a.Merchant.ID))
		a.place(orderBody("TEE-S", 1))
		if after := len(h.auditEvents(t, a.Merchant.ID)); after != before {
			t.Fatalf("%d events after a storefront order, want %d", after, before)
		}
	})

	t.Run("staff session is recorded as the user", func(t *testing.T) {
		owner := h.merchant("audit-staff", "owner password 1")
		login := h.do(request{method: "POST", path: "/api/v1/session",
			body: map[string]any{"email": "owner@audit-staff.example.com", "password": "owner password 1"}})
		var sess struct {
			CSRFToken string `json:"csrf_token"`
		}
		login.decode(t, http.StatusCreated, &sess)
		cookies := (&http.Response{Header: login.header}).Cookies()
		r := h.do(request{method: "POST", path: "/api/v1/products", body: tshirtBody(),
			cookies: cookies, header: map[string]string{csrfHeader: sess.CSRFToken}})
		r.decode(t, http.StatusCreated, &map[string]any{})
		events := h.auditEvents(t, owner.Merchant.ID)
		if len(events) != 1 || events[0].Actor != "user:"+owner.Owner.ID.String() || events[0].Action != "createProduct" {
			t.Fatalf("events %+v", events)
		}
	})

	t.Run("list pages newest first and filters", func(t *testing.T) {
		all := h.auditEvents(t, a.Merchant.ID)
		var page1, page2 auditList
		a.secret("GET", "/api/v1/audit?limit=1", nil).decode(t, http.StatusOK, &page1)
		if len(page1.Data) != 1 || page1.Data[0].ID != all[0].ID.String() || !page1.PageInfo.HasNextPage || page1.PageInfo.EndCursor == nil {
			t.Fatalf("page 1 %+v, newest %s", page1, all[0].ID)
		}
		a.secret("GET", "/api/v1/audit?limit=1&after="+url.QueryEscape(*page1.PageInfo.EndCursor), nil).decode(t, http.StatusOK, &page2)
		if len(page2.Data) != 1 || page2.Data[0].ID != all[1].ID.String() {
			t.Fatalf("page 2 %+v, want %s", page2, all[1].ID)
		}

		var bySubject auditList
		a.secret("GET", "/api/v1/audit?subject_id="+product.ID, nil).decode(t, http.StatusOK, &bySubject)
		if got := bySubject.actions(); len(got) != 2 || got[0] != "updateProduct" || got[1] != "createProduct" {
			t.Fatalf("events of %s: %v", product.ID, got)
		}
		e := bySubject.Data[0]
		if e.Actor != actor || e.RequestID != updated.header.Get("X-Request-Id") || e.Details["method"] != "PATCH" ||
			e.Details["path"] != "/api/v1/products/"+product.ID {
			t.Fatalf("event as listed %+v", e)
		}

		var byAction auditList
		a.secret("GET", "/api/v1/audit?action=createWarehouse&actor="+url.QueryEscape(actor), nil).decode(t, http.StatusOK, &byAction)
		if got := byAction.actions(); len(got) != 2 {
			t.Fatalf("createWarehouse events: %v", got)
		}
		var none auditList
		a.secret("GET", "/api/v1/audit?actor=key:key_nobody", nil).decode(t, http.StatusOK, &none)
		if len(none.Data) != 0 {
			t.Fatalf("another actor's events: %v", none.actions())
		}
	})

	t.Run("list matches its schema", func(t *testing.T) {
		r := a.secret("GET", "/api/v1/audit", nil)
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		if problems := conform(v, schemas["AuditEventList"], "$"); len(problems) > 0 {
			t.Fatalf("%v", problems)
		}
	})

	t.Run("B cannot see A's events", func(t *testing.T) {
		var list auditList
		b.secret("GET", "/api/v1/audit?limit=250", nil).decode(t, http.StatusOK, &list)
		if len(list.Data) == 0 {
			t.Fatal("B sees none of its own events")
		}
		for _, e := range list.Data {
			if e.SubjectID == product.ID || e.Actor == actor {
				t.Fatalf("B sees A's event %+v", e)
			}
		}
		b.secret("GET", "/api/v1/audit?subject_id="+product.ID, nil).decode(t, http.StatusOK, &list)
		if len(list.Data) != 0 {
			t.Fatalf("B sees A's events of %s: %v", product.ID, list.actions())
		}
	})

	t.Run("staff other than owners are forbidden", func(t *testing.T) {
		a.secret("POST", "/api/v1/users", map[string]any{"email": "clerk@audit-a.example.com", "password": "clerk password 1", "role": "staff"}).
			decode(t, http.StatusCreated, &map[string]any{})
		login := h.do(request{method: "POST", path: "/api/v1/session",
			body: map[string]any{"email": "clerk@audit-a.example.com", "password": "clerk password 1"}})
		login.decode(t, http.StatusCreated, &map[string]any{})
		h.do(request{method: "GET", path: "/api/v1/audit", cookies: (&http.Response{Header: login.header}).Cookies()}).
			expectProblem(t, http.StatusForbidden, "forbidden")
	})

	t.Run("publishable key is forbidden", func(t *testing.T) {
		a.storefront("GET", "/api/v1/audit", nil).expectProblem(t, http.StatusForbidden, "forbidden")
	})

	t.Run("graphql mutation is recorded", func(t *testing.T) {
		r := h.do(request{method: "POST", path: "/graphql", key: a.SecretKey, body: map[string]any{
			"query":     `mutation Rename($id: ID!) { renamed: updateProduct(id: $id, input: {title: "Via GraphQL"}) { title } }`,
			"variables": map[string]any{"id": product.ID},
		}})
		var out gqlReply
		if err := json.Unmarshal(r.body, &out); err != nil || len(out.Errors) > 0 {
			t.Fatalf("mutation: %d %s", r.status, r.body)
		}
		e := h.auditEvents(t, a.Merchant.ID)[0]
		if e.Action != "graphql:updateProduct" || e.SubjectID != product.ID || e.Actor != actor ||
			e.RequestID != r.header.Get("X-Request-Id") || e.IP != "127.0.0.1" {
			t.Fatalf("event %+v", e)
		}

		before := len(h.auditEvents(t, a.Merchant.ID))
		a.expectCode(a.SecretKey, `mutation { updateProduct(id: "prd_01HZZZZZZZZZZZZZZZZZZZZZZZ", input: {title: "x"}) { id } }`, nil, "not_found")
		a.data(a.SecretKey, `query { __typename }`, nil, &map[string]any{})
		if after := len(h.auditEvents(t, a.Merchant.ID)); after != before {
			t.Fatalf("%d events after a failed mutation and a query, want %d", after, before)
		}
	})
}

func TestLeadingID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, body, want string }{
		{"first member", `{"id":"prd_1","title":"x"}`, "prd_1"},
		{"after nested members", `{"order":{"id":"ord_1"},"lines":[{"id":"x"}],"id":"ref_1"}`, "ref_1"},
		{"prefix ends first", `{"title":"a long title","id":"prd_`, ""},
		{"no id", `{"title":"x"}`, ""},
		{"not a string", `{"id":7}`, ""},
		{"not an object", `["prd_1"]`, ""},
		{"empty", ``, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := leadingID([]byte(tt.body)); got != tt.want {
				t.Fatalf("leadingID(%s) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}
