package rest

import (
	"net/http"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/email"
	"github.com/mercantile/mercantile/internal/pulid"
)

type emailJSON struct {
	ID                string  `json:"id"`
	Kind              string  `json:"kind"`
	Status            string  `json:"status"`
	OrderID           *string `json:"order_id"`
	ShipmentID        *string `json:"shipment_id"`
	ToAddress         string  `json:"to_address"`
	Subject           string  `json:"subject"`
	TextBody          string  `json:"text_body"`
	HTMLBody          string  `json:"html_body"`
	Attempts          int     `json:"attempts"`
	LastError         string  `json:"last_error"`
	ProviderMessageID string  `json:"provider_message_id"`
	SentAt            *string `json:"sent_at"`
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         string  `json:"updated_at"`
}

func idJSONPtr(id *pulid.ID) *string {
	if id == nil {
		return nil
	}
	s := id.String()
	return &s
}

func toEmailJSON(m *ent.EmailMessage) emailJSON {
	return emailJSON{
		ID: m.ID.String(), Kind: string(m.Kind), Status: string(m.Status),
		OrderID: idJSONPtr(m.OrderID), ShipmentID: idJSONPtr(m.ShipmentID),
		ToAddress: m.ToAddress, Subject: m.Subject, TextBody: m.TextBody, HTMLBody: m.HTMLBody,
		Attempts: m.Attempts, LastError: m.LastError, ProviderMessageID: m.ProviderMessageID,
		SentAt: timeJSONPtr(m.SentAt), CreatedAt: timeJSON(m.CreatedAt), UpdatedAt: timeJSON(m.UpdatedAt),
	}
}

func (a *api) listEmails(w http.ResponseWriter, r *http.Request) {
	page, err := pageFrom(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	q := r.URL.Query()
	rows, more, err := a.emails.List(r.Context(), email.ListFilter{OrderID: q.Get("order_id"), Kind: q.Get("kind"), Status: q.Get("status")}, page)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(rows, more, func(m *ent.EmailMessage) pulid.ID { return m.ID }, toEmailJSON))
}

// emailRoutes are the outbox of transactional email, for staff and secret keys.
func (a *api) emailRoutes() []route {
	filters := []param{
		{Name: "order_id", Description: "Emails about this order."},
		{Name: "kind", Description: "Which email.", Schema: emailKind},
		{Name: "status", Description: "queued (not sent yet), sent (SendGrid accepted it), logged (written to the log: no SendGrid key), failed (rejected, or retries ran out).",
			Schema: emailStatus},
	}
	return []route{
		{"GET", "/api/v1/emails", private, a.listEmails, operation{
			ID: "listEmails", Tag: "Emails", Summary: "The merchant's transactional emails, newest first: each is written with the order change that causes it and sent in the background.",
			Response: "EmailList", Paged: true, Params: filters}},
	}
}
