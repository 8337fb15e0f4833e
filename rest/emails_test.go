package rest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mercantile/mercantile/internal/platform/database/dbtest"
)

type emailOut struct {
	ID         string  `json:"id"`
	Kind       string  `json:"kind"`
	Status     string  `json:"status"`
	OrderID    *string `json:"order_id"`
	ShipmentID *string `json:"shipment_id"`
	ToAddress  string  `json:"to_address"`
	Subject    string  `json:"subject"`
	TextBody   string  `json:"text_body"`
}

type emailList struct {
	Data     []emailOut `json:"data"`
	PageInfo pageOut    `json:"page_info"`
}

func (s shop) emails(query string) emailList {
	s.t.Helper()
	var l emailList
	r := s.secret("GET", "/api/v1/emails"+query, nil)
	r.decode(s.t, http.StatusOK, &l)
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		s.t.Fatal(err)
	}
	if problems := conform(v, schemas["EmailList"], "$"); len(problems) > 0 {
		s.t.Fatalf("GET /api/v1/emails%s does not match EmailList:\n%s", query, strings.Join(problems, "\n"))
	}
	return l
}

func kindsOf(l emailList) []string {
	out := make([]string, len(l.Data))
	for i, m := range l.Data {
		out[i] = m.Kind
	}
	return out
}

func TestEmailsOnPostgres(t *testing.T) {
	t.Parallel()
	testEmailOutbox(t, newHarness(t))
}

func TestEmailsOnSQLite(t *testing.T) {
	t.Parallel()
	testEmailOutbox(t, newHarnessOn(t, dbtest.SQLite(t)))
}

func testEmailOutbox(t *testing.T, h *harness) {
	s := newShop(t, h, "mail")
	s.setStock("TEE-S", "W1", 10)
	var placed []orderOut
	for range 3 {
		placed = append(placed, s.place(orderBody("TEE-S", 1)))
	}
	first := placed[0]
	s.act("/api/v1/orders/"+first.ID+"/mark-paid", nil, http.StatusOK)
	s.act("/api/v1/shipments/"+first.Shipments[0].ID+"/ship", map[string]any{"carrier": "UPS", "tracking_number": "1Z999"}, http.StatusOK)
	s.act("/api/v1/orders/"+placed[1].ID+"/cancel", map[string]any{"reason": "out of budget"}, http.StatusOK)

	other := newShop(t, h, "elsewhere")
	other.setStock("TEE-S", "W1", 1)
	theirs := other.place(orderBody("TEE-S", 1))

	all := s.emails("")
	t.Run("newest first", func(t *testing.T) {
		want := []string{"order_cancelled", "shipment_sent", "order_confirmation", "order_confirmation", "order_confirmation"}
		if got := kindsOf(all); !slices.Equal(got, want) || all.PageInfo.HasNextPage {
			t.Fatalf("kinds %v (more: %v), want %v", got, all.PageInfo.HasNextPage, want)
		}
		if *all.Data[4].OrderID != first.ID || *all.Data[2].OrderID != placed[2].ID {
			t.Fatalf("confirmations not newest first: %+v", all.Data)
		}
		shipped := all.Data[1]
		if *shipped.ShipmentID != first.Shipments[0].ID || shipped.ToAddress != "buyer@example.com" || shipped.Status != "queued" ||
			!strings.Contains(shipped.TextBody, "UPS") || !strings.Contains(shipped.TextBody, "1Z999") {
			t.Fatalf("shipment email %+v", shipped)
		}
		if !strings.Contains(all.Data[0].TextBody, "Reason: out of budget.") {
			t.Fatalf("cancel email %+v", all.Data[0])
		}
	})
	t.Run("keyset pages", func(t *testing.T) {
		var ids []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("pagination does not end")
			}
			l := s.emails("?limit=2" + after)
			for _, m := range l.Data {
				ids = append(ids, m.ID)
			}
			if !l.PageInfo.HasNextPage {
				if len(l.Data) != 1 {
					t.Fatalf("last page has %d emails, want 1", len(l.Data))
				}
				break
			}
			if len(l.Data) != 2 || l.PageInfo.EndCursor == nil {
				t.Fatalf("page %+v", l)
			}
			after = "&after=" + *l.PageInfo.EndCursor
		}
		var want []string
		for _, m := range all.Data {
			want = append(want, m.ID)
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("paged %v, want %v", ids, want)
		}
	})
	t.Run("filters", func(t *testing.T) {
		if got := kindsOf(s.emails("?order_id=" + first.ID)); !slices.Equal(got, []string{"shipment_sent", "order_confirmation"}) {
			t.Fatalf("order filter: %v", got)
		}
		if l := s.emails("?kind=order_cancelled"); len(l.Data) != 1 || *l.Data[0].OrderID != placed[1].ID {
			t.Fatalf("kind filter: %+v", l.Data)
		}
		if l := s.emails("?status=queued&kind=order_confirmation"); len(l.Data) != 3 {
			t.Fatalf("status and kind filter: %d emails", len(l.Data))
		}
		if l := s.emails("?status=sent"); len(l.Data) != 0 {
			t.Fatalf("status filter: %d sent emails, none was", len(l.Data))
		}
		expectField(t, s.secret("GET", "/api/v1/emails?kind=welcome", nil).expectProblem(t, http.StatusUnprocessableEntity, "invalid"), "kind")
		expectField(t, s.secret("GET", "/api/v1/emails?status=lost", nil).expectProblem(t, http.StatusUnprocessableEntity, "invalid"), "status")
		expectField(t, s.secret("GET", "/api/v1/emails?after=!!", nil).expectProblem(t, http.StatusUnprocessableEntity, "invalid"), "after")
	})
	t.Run("storefront keys may not read emails", func(t *testing.T) {
		s.storefront("GET", "/api/v1/emails", nil).expectProblem(t, http.StatusForbidden, "forbidden")
	})
	t.Run("another merchant's emails are invisible", func(t *testing.T) {
		mine := other.emails("")
		if len(mine.Data) != 1 || *mine.Data[0].OrderID != theirs.ID {
			t.Fatalf("the other merchant sees %+v", mine.Data)
		}
		for _, m := range all.Data {
			if m.ID == mine.Data[0].ID {
				t.Fatalf("merchant mail sees the other merchant's email %s", m.ID)
			}
		}
		if l := s.emails("?order_id=" + theirs.ID); len(l.Data) != 0 {
			t.Fatalf("filtering by another merchant's order shows %+v", l.Data)
		}
		if l := other.emails("?order_id=" + first.ID); len(l.Data) != 0 {
			t.Fatalf("filtering by another merchant's order shows %+v", l.Data)
		}
	})
}
