// Package httperr writes application errors as RFC 9457 problem documents: the one shape
// every HTTP error of Mercantile has, from the REST API and the media store alike.
package httperr

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/mercantile/mercantile/internal/apperr"
)

// TypeBase prefixes a problem's code to make its type, a link into /docs.
const TypeBase = "/docs#problem-"

// Document is an RFC 9457 problem document with Mercantile's stable code and the fields
// at fault.
type Document struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Code      apperr.Code         `json:"code"`
	Errors    []apperr.FieldError `json:"errors"`
	RequestID string              `json:"request_id,omitempty"`
}

// Write maps err to a status and problem document, and logs only internal errors, with
// the request id, since the client sees nothing of them.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := apperr.From(err)
	status := e.HTTPStatus()
	reqID := middleware.GetReqID(r.Context())
	if e.Code == apperr.Internal {
		log.ErrorContext(r.Context(), "internal error", "err", err, "request_id", reqID,
			"method", r.Method, "path", r.URL.Path)
	}
	fields := e.Fields
	if fields == nil {
		fields = []apperr.FieldError{}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	if s := e.RetryAfterSeconds(); s > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Document{
		Type:      TypeBase + string(e.Code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    e.Message,
		Code:      e.Code,
		Errors:    fields,
		RequestID: reqID,
	})
}
