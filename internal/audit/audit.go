// Package audit owns the audit log (ent AuditEvent): one row per successful change made by
// staff or a secret key, written by REST's middleware and GraphQL's mutation extension
// after the change succeeded, and the keyset list owners read it through. It does not
// decide what an action is called or whether a request succeeded: its callers do. It
// never fails a request: a row that cannot be written is logged and dropped.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/auditevent"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/paging"
)

// writeTimeout bounds the insert of one event, which runs after the response is decided
// and must not hold the request for long when the database is slow.
const writeTimeout = 5 * time.Second

// Service records and lists audit events.
type Service struct {
	client *ent.Client
	log    *slog.Logger
}

// NewService returns the audit log kept in client; failed writes are logged to log.
func NewService(client *ent.Client, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{client: client, log: log}
}

// Event is one action to record. The actor and merchant come from the viewer in the
// context Record is given.
type Event struct {
	// Action names what was done: REST's operation id ("createProduct") or
	// "graphql:<mutation field>".
	Action string
	// SubjectID is the id of the object acted on, when known.
	SubjectID string
	RequestID string
	IP        string
	Details   map[string]any
}

// Audited reports whether v's changes are recorded: staff sessions and secret keys.
// Storefront (publishable) keys are shoppers, and the system records nothing about itself.
func Audited(v viewer.Viewer) bool {
	return v.Kind == viewer.KindUser || v.Kind == viewer.KindSecretKey
}

// Record writes e for the viewer in ctx, if that viewer is audited. Call it once the
// action has succeeded. It never fails: an error is logged.
//
// The row is written in a transaction of its own, not the action's: every request gets
// one row whatever service it calls, without changing every service (or GraphQL's
// resolvers) to write it. The cost is that a crash between the action's commit and this
// insert loses the row.
func (s *Service) Record(ctx context.Context, e Event) {
	if s == nil {
		return
	}
	v, ok := viewer.FromContext(ctx)
	if !ok || !Audited(v) {
		return
	}
	// The request may be over (the client gone, its deadline passed) by the time the
	// action succeeded; the record must still be written. The system acts for the viewer's
	// merchant: a staff member with the read-only viewer role may still log out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	ctx = viewer.MerchantSystemContext(ctx, v.MerchantID)
	err := s.client.AuditEvent.Create().
		SetMerchantID(v.MerchantID).
		SetActor(v.Actor()).
		SetAction(e.Action).
		SetSubjectID(e.SubjectID).
		SetRequestID(e.RequestID).
		SetIP(e.IP).
		SetDetails(e.Details).
		Exec(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "audit: recording an event", "error", err, "action", e.Action,
			"merchant_id", v.MerchantID.String(), "actor", v.Actor(), "request_id", e.RequestID)
	}
}

// Filter narrows a list; empty fields do not filter.
type Filter struct {
	SubjectID string
	Actor     string
	Action    string
}

// List returns a keyset page of the viewer's merchant's audit log, newest first.
// Errors: forbidden (storefront keys, staff other than owners).
func (s *Service) List(ctx context.Context, f Filter, p paging.Page) ([]*ent.AuditEvent, bool, error) {
	if v, ok := viewer.FromContext(ctx); !ok || !v.IsOwner() {
		return nil, false, apperr.New(apperr.Forbidden, "Only owners and secret keys may read the audit log.")
	}
	// Ids are ULIDs, so descending id order is newest first and "after" a cursor means
	// "older than it". The privacy rules scope the query to the viewer's merchant.
	q := s.client.AuditEvent.Query().Order(ent.Desc(auditevent.FieldID)).Limit(p.Limit + 1)
	if p.After != "" {
		q.Where(auditevent.IDLT(p.After))
	}
	if f.SubjectID != "" {
		q.Where(auditevent.SubjectID(f.SubjectID))
	}
	if f.Actor != "" {
		q.Where(auditevent.Actor(f.Actor))
	}
	if f.Action != "" {
		q.Where(auditevent.Action(f.Action))
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, false, apperr.From(err)
	}
	rows, more := paging.Trim(rows, p)
	return rows, more, nil
}

type ipKey struct{}

// WithClientIP returns ctx carrying the client address of the request, for recorders
// that do not see the request itself (GraphQL's).
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

// ClientIP returns the address WithClientIP put in ctx, or "".
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(ipKey{}).(string)
	return ip
}
