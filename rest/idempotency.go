package rest

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/mercantile/mercantile/internal/auth/viewer"
)

const (
	idempotencyHeader = "Idempotency-Key"
	// replayedHeader marks a response that is the recorded answer to an earlier request.
	replayedHeader = "Idempotent-Replayed"
)

// idempotent makes a route honour Idempotency-Key: the first request with a key runs and
// its response is recorded; a retry with the same key, path and body gets that response
// again without running; another path or body with the key, or a retry while the first
// is still running, is 409 idempotency_conflict. 5xx responses are not recorded, so a
// retry runs again. scope is the route ("POST /api/v1/orders/{id}/refunds").
//
// It runs after authentication: keys belong to the viewer's merchant.
func (a *api) idempotent(scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(idempotencyHeader)
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, r, a.log, decodeError(err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		// The path is part of the request: the same key sent to refund another order is a
		// different request, not a retry.
		a.replayOrRun(w, r, key, scope, append([]byte(r.URL.Path+"\n"), body...), next)
	})
}

// replayOrRun answers a request carrying Idempotency-Key key: with the recorded
// response when request (what identifies it: path and body, or a digest of them) was
// seen with key before, else by running next and recording its response.
func (a *api) replayOrRun(w http.ResponseWriter, r *http.Request, key, scope string, request []byte, next http.Handler) {
	// The record is the API's bookkeeping, not a write of the viewer's: storefront keys
	// and read-only staff may not write, yet their retries must be recognised too.
	v, _ := viewer.FromContext(r.Context())
	ctx := context.WithoutCancel(viewer.MerchantSystemContext(r.Context(), v.MerchantID))
	prior, err := a.idempotency.Begin(ctx, key, scope, request)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if prior != nil {
		contentType := "application/json"
		if prior.Status >= 400 {
			contentType = "application/problem+json"
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set(replayedHeader, "true")
		w.WriteHeader(prior.Status)
		_, _ = w.Write(prior.Body)
		return
	}

	rec := &recordingWriter{ResponseWriter: w}
	finished := false
	defer func() {
		// A panicking handler answers 500 through the recoverer: forget the key.
		if !finished {
			a.forgetKey(ctx, r, key, scope)
		}
	}()
	next.ServeHTTP(rec, r)
	finished = true
	if rec.status == 0 || rec.status >= 500 {
		a.forgetKey(ctx, r, key, scope)
		return
	}
	// Failing here leaves the key claimed: forgetting it instead would let a retry
	// repeat a request that succeeded.
	if err := a.idempotency.Complete(ctx, key, scope, rec.status, rec.body.Bytes()); err != nil {
		a.log.ErrorContext(r.Context(), "recording an idempotent response", "err", err, "scope", scope)
	}
}

func (a *api) forgetKey(ctx context.Context, r *http.Request, key, scope string) {
	if err := a.idempotency.Abandon(ctx, key, scope); err != nil {
		a.log.ErrorContext(r.Context(), "forgetting an idempotency key", "err", err, "scope", scope)
	}
}

// recordingWriter passes a response through and keeps its status and body.
type recordingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recordingWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}
