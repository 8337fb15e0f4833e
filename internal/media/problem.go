package media

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/mercantile/mercantile/internal/apperr"
)

// problem is the API's RFC 9457 document, as rest/problem.go writes it. That writer is
// unexported and the REST layer imports this package, so its few lines are repeated
// here: clients of /media see the same shape and codes as everywhere else.
type problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Code      apperr.Code         `json:"code"`
	Errors    []apperr.FieldError `json:"errors"`
	RequestID string              `json:"request_id,omitempty"`
}

// writeProblem renders err and logs it only when it is internal, since the client sees
// nothing of those.
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	e := apperr.From(err)
	status := e.HTTPStatus()
	reqID := middleware.GetReqID(r.Context())
	if e.Code == apperr.Internal {
		slog.ErrorContext(r.Context(), "internal error", "err", err, "request_id", reqID,
			"method", r.Method, "path", r.URL.Path)
	}
	fields := e.Fields
	if fields == nil {
		fields = []apperr.FieldError{}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{
		Type:      "/docs#problem-" + string(e.Code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    e.Message,
		Code:      e.Code,
		Errors:    fields,
		RequestID: reqID,
	})
}
