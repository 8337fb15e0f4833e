package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/platform/httperr"
)

// writeError is the single exit for every failed request.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if code, ok := r.Context().Value(problemKey{}).(*apperr.Code); ok {
		*code = apperr.CodeOf(err)
	}
	httperr.Write(w, r, log, err)
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeRawJSON writes parts, which together are one JSON value, as they are.
func writeRawJSON(w http.ResponseWriter, status int, parts ...[]byte) {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(status)
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return
		}
	}
	_, _ = w.Write([]byte("\n"))
}

// decodeJSON reads exactly one JSON object into dst, refusing unknown fields, so a typo
// in a client is an error instead of a silently ignored field.
func decodeJSON(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return apperr.Malformed("The body must be JSON (Content-Type: application/json).")
	}
	// Read whole (the body limit applies) so an unknown field can be placed in it.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field := unknownFieldPath(body, reflect.TypeOf(dst), strings.Trim(name, `"`))
			return apperr.Malformed("Field %s is not known.", field).WithField(field, "is not a known field")
		}
		if len(body) == 0 {
			err = io.EOF
		}
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
