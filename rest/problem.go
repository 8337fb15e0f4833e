package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/mercantile/mercantile/internal/apperr"
)

// problem is an RFC 9457 problem document with Mercantile's stable code and field errors.
type problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Code      apperr.Code         `json:"code"`
	Errors    []apperr.FieldError `json:"errors"`
	RequestID string              `json:"request_id,omitempty"`
}

// problemTypeBase prefixes the code to make a problem's type, a link into /docs.
const problemTypeBase = "/docs#problem-"

// writeError is the single exit for every failed request: it maps err to a status and
// problem document, and logs only internal errors, with the request id, since the client
// sees nothing of them.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
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
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{
		Type:      problemTypeBase + string(e.Code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    e.Message,
		Code:      e.Code,
		Errors:    fields,
		RequestID: reqID,
	})
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads exactly one JSON object into dst, refusing unknown fields, so a typo
// in a client is an error instead of a silently ignored field.
func decodeJSON(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return apperr.Malformed("The body must be JSON (Content-Type: application/json).")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Malformed("The body must hold a single JSON object.")
	}
	return nil
}

func decodeError(err error) error {
	var (
		maxBytes  *http.MaxBytesError
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxBytes):
		return apperr.New(apperr.PayloadTooLarge, "The body is larger than %d bytes.", maxBytes.Limit)
	case errors.Is(err, io.EOF):
		return apperr.Malformed("The body is empty; a JSON object is required.")
	case errors.As(err, &syntax):
		return apperr.Malformed("The body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.As(err, &typeError):
		field := typeError.Field
		return apperr.Malformed("Field %s must be %s.", field, jsonKind(typeError.Type.Kind().String())).
			WithField(field, fmt.Sprintf("must be %s", jsonKind(typeError.Type.Kind().String())))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Malformed("Field %s is not known.", field).WithField(field, "is not a known field")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Malformed("The body is truncated JSON.")
	}
	return apperr.Malformed("The body could not be read: %v", err)
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case kind == "slice", kind == "array":
		return "an array"
	}
	return "an object"
}
