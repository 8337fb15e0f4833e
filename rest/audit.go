package rest

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/internal/audit"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/pulid"
)

// auditBodyPrefix is how much of a response body the audit middleware keeps to find the
// created object's id. Every object's JSON starts with its id, so a short prefix holds it.
const auditBodyPrefix = 512

// auditable reports whether the audit middleware wraps rt: routes that change state and
// need credentials. Public routes (login, webhooks, uploads signed by URL) have no staff
// actor; GraphQL records its mutations itself (graph.Options.Audit).
func auditable(rt route) bool {
	switch rt.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	return rt.access != public && rt.path != "/graphql"
}

// audited records a successful (2xx) request of a staff session or secret key as action
// (the route's operation id) once the handler has answered. Replayed idempotent
// responses are not recorded again: nothing was done twice.
func (a *api) audited(action string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := viewer.FromContext(r.Context())
		if !ok || !audit.Audited(v) {
			next.ServeHTTP(w, r)
			return
		}
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		var body prefixBuffer
		ww.Tee(&body)
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		if status < 200 || status > 299 || ww.Header().Get(replayedHeader) != "" {
			return
		}
		subject := chi.URLParam(r, "id")
		if subject == "" {
			subject = leadingID(body.Bytes())
		}
		a.audit.Record(r.Context(), audit.Event{
			Action: action, SubjectID: subject,
			RequestID: middleware.GetReqID(r.Context()), IP: a.auditIP(r),
			Details: map[string]any{"status": status, "method": r.Method, "path": r.URL.Path},
		})
	})
}

// auditIP is the client address recorded: the TCP peer, or the client a trusted proxy
// names, whole (rate limits group IPv6 by /64; the audit log keeps the address).
func (a *api) auditIP(r *http.Request) string {
	addr, ok := clientAddr(r, a.cfg.TrustedProxies)
	if !ok {
		return r.RemoteAddr
	}
	return addr.String()
}

// withAuditIP puts the client address in the context for GraphQL's recorder.
func (a *api) withAuditIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(audit.WithClientIP(r.Context(), a.auditIP(r))))
	})
}

// prefixBuffer keeps the first auditBodyPrefix bytes written to it and drops the rest.
// It never fails, so teeing a response into it cannot break the response.
type prefixBuffer struct {
	buf bytes.Buffer
}

func (b *prefixBuffer) Write(p []byte) (int, error) {
	if room := auditBodyPrefix - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *prefixBuffer) Bytes() []byte { return b.buf.Bytes() }

// leadingID returns the string "id" member of the JSON object body starts with, or ""
// when body is not an object or the prefix ends before the member.
func leadingID(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		name, ok := key.(string)
		if !ok {
			return "" // the object's closing brace
		}
		if name == "id" {
			if t, err := dec.Token(); err == nil {
				if id, ok := t.(string); ok {
					return id
				}
			}
			return ""
		}
		if err := skipValue(dec); err != nil {
			return ""
		}
	}
}

// skipValue reads one JSON value, however nested, from dec.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

type auditEventJSON struct {
	ID        string         `json:"id"`
	Actor     string         `json:"actor"`
	Action    string         `json:"action"`
	SubjectID string         `json:"subject_id"`
	RequestID string         `json:"request_id"`
	IP        string         `json:"ip"`
	Details   map[string]any `json:"details"`
	CreatedAt string         `json:"created_at"`
}

func toAuditEventJSON(e *ent.AuditEvent) auditEventJSON {
	details := e.Details
	if details == nil {
		details = map[string]any{}
	}
	return auditEventJSON{
		ID: e.ID.String(), Actor: e.Actor, Action: e.Action, SubjectID: e.SubjectID,
		RequestID: e.RequestID, IP: e.IP, Details: details, CreatedAt: timeJSON(e.CreatedAt),
	}
}

func (a *api) listAuditEvents(w http.ResponseWriter, r *http.Request) {
	page, err := pageFrom(r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	q := r.URL.Query()
	rows, more, err := a.audit.List(r.Context(), audit.Filter{SubjectID: q.Get("subject_id"), Actor: q.Get("actor"), Action: q.Get("action")}, page)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(rows, more, func(e *ent.AuditEvent) pulid.ID { return e.ID }, toAuditEventJSON))
}

// auditRoutes are the audit log, for owners and secret keys; left out without one.
func (a *api) auditRoutes() []route {
	if a.audit == nil {
		return nil
	}
	return []route{
		{"GET", "/api/v1/audit", private, a.listAuditEvents, operation{
			ID: "listAuditEvents", Tag: "Audit", Summary: "The merchant's audit log, newest first: one event per successful change made by staff or a secret key " +
				"(REST's operation id, or graphql:<mutation> for each GraphQL mutation field), owners and secret keys only.",
			Response: "AuditEventList", Paged: true, Params: []param{
				{Name: "subject_id", Description: "Events about this object."},
				{Name: "actor", Description: "Events by this actor: user:<user id> or key:<key id>."},
				{Name: "action", Description: "Events of this action, e.g. createProduct or graphql:updateProduct."},
			}}},
	}
}
