// Package apperr is the one application error type. Domain services return *Error with a
// Code; REST renders it as RFC 9457 problem+json and GraphQL as extensions.code, so both
// APIs speak the same stable codes. It owns no transport: it must not import net/http
// handlers or GraphQL.
package apperr

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"entgo.io/ent/privacy"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mercantile/mercantile/ent"
)

// Code is a stable, machine-readable error code. Clients switch on it; never rename one.
type Code string

// The codes of the v1 contract (API.md).
const (
	Invalid                Code = "invalid"
	NotFound               Code = "not_found"
	Unauthorized           Code = "unauthorized"
	Forbidden              Code = "forbidden"
	Conflict               Code = "conflict"
	InsufficientInventory  Code = "insufficient_inventory"
	IdempotencyConflict    Code = "idempotency_conflict"
	InvalidStateTransition Code = "invalid_state_transition"
	RateLimited            Code = "rate_limited"
	PayloadTooLarge        Code = "payload_too_large"
	Unavailable            Code = "unavailable"
	Internal               Code = "internal"
)

// FieldError names one offending input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an application error: a code, a human message safe to show, and optionally the
// fields at fault. Internal errors keep their cause for the log but never show it.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// Status overrides the HTTP status the code maps to, for the few codes that have two
	// (invalid is 400 for malformed input and 422 for well-formed but wrong input).
	Status int
	// RetryAfter says when the request may succeed if sent again (rate_limited): REST
	// sends it as Retry-After, GraphQL as extensions.retryAfter, in whole seconds.
	RetryAfter time.Duration
	cause      error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.cause }

// New returns an error with code and a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with code and message that keeps err as its cause.
//
// An internal error that is the database connection failing becomes unavailable (503):
// the client's retry is the remedy, not a bug report.
func Wrap(err error, code Code, message string) *Error {
	if code == Internal && connectionLost(err) {
		return &Error{Code: Unavailable, Message: connectionLostMessage, cause: err}
	}
	return &Error{Code: code, Message: message, cause: err}
}

const connectionLostMessage = "The connection to the database was lost, so the request may not have completed. " +
	"Retry it (with the same Idempotency-Key, if it had one)."

// connectionLost reports whether err is the database connection failing rather than the
// request: the server shutting down or terminating the session (SQLSTATE class 08,
// 57P01-57P03, as pg_terminate_backend and failovers do), or the connection breaking
// under the driver.
func connectionLost(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// WithField adds a field error and returns e.
func (e *Error) WithField(field, message string) *Error {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: message})
	return e
}

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up so that a client waiting
// that long is not refused again; at least 1 when RetryAfter is set, else 0.
func (e *Error) RetryAfterSeconds() int {
	if e.RetryAfter <= 0 {
		return 0
	}
	return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
}

// Malformed is a 400 invalid error: the request could not be decoded.
func Malformed(format string, args ...any) *Error {
	e := New(Invalid, format, args...)
	e.Status = http.StatusBadRequest
	return e
}

// Validation collects field errors of a well-formed request (422 invalid).
type Validation struct {
	fields []FieldError
}

// Add records a problem with field.
func (v *Validation) Add(field, format string, args ...any) {
	v.fields = append(v.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was added, else an invalid error naming every field.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "The request has invalid fields.", Fields: v.fields, Status: http.StatusUnprocessableEntity}
}

// From returns err as an *Error. Errors of the data layer map to their codes (a row the
// viewer may not see is not found, a privacy denial is forbidden); anything else becomes
// internal, with a bland message and err kept as the cause.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case ent.IsNotFound(err):
		return Wrap(err, NotFound, "The requested object does not exist.")
	case errors.Is(err, privacy.Deny):
		return Wrap(err, Forbidden, "Your credentials do not allow this.")
	case ent.IsConstraintError(err):
		return Wrap(err, Conflict, "The change conflicts with existing data.")
	case ent.IsValidationError(err):
		var ve *ent.ValidationError
		errors.As(err, &ve)
		return &Error{Code: Invalid, Message: "The request has invalid fields.", Status: http.StatusUnprocessableEntity,
			Fields: []FieldError{{Field: ve.Name, Message: ve.Unwrap().Error()}}, cause: err}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return Wrap(err, Unavailable, "The request did not finish in time.")
	case connectionLost(err):
		return Wrap(err, Unavailable, connectionLostMessage)
	}
	return Wrap(err, Internal, "An internal error occurred.")
}

// CodeOf returns the code of err (internal for foreign errors, "" for nil).
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return From(err).Code
}

// HTTPStatus maps e to its HTTP status.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	switch e.Code {
	case Invalid:
		return http.StatusUnprocessableEntity
	case NotFound:
		return http.StatusNotFound
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case Conflict, InsufficientInventory, IdempotencyConflict, InvalidStateTransition:
		return http.StatusConflict
	case RateLimited:
		return http.StatusTooManyRequests
	case PayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Translate is From for return statements: nil stays nil.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	return From(err)
}
