// Package idempotency makes retried POSTs safe: the first request with an
// Idempotency-Key records its response, a retry with the same key and body gets that
// response again, and the same key with another body, or while the first is still
// running, is refused. Keys are per merchant and per route, and live 24 hours.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/idempotencykey"
	"github.com/mercantile/mercantile/internal/apperr"
)

// TTL is how long a key is remembered.
const TTL = 24 * time.Hour

// MaxKeyLength bounds the header's value.
const MaxKeyLength = 255

// Response is a recorded response to replay.
type Response struct {
	Status int
	Body   []byte
}

// Store keeps keys in the database, tenant-scoped like everything else.
type Store struct {
	client *ent.Client
	now    func() time.Time
}

// NewStore returns a Store.
func NewStore(client *ent.Client) *Store { return &Store{client: client, now: time.Now} }

// Begin claims key for scope and body. It returns the recorded response when this is a
// retry of a completed request (replay), or nil when the caller should run the request
// and then call Complete or Abandon.
// Errors: invalid (key too long or empty), idempotency_conflict (another body, or the
// first request still running).
func (s *Store) Begin(ctx context.Context, key, scope string, body []byte) (*Response, error) {
	if key == "" || len(key) > MaxKeyLength {
		return nil, apperr.New(apperr.Invalid, "Idempotency-Key must be 1 to %d characters.", MaxKeyLength).
			WithField("Idempotency-Key", "invalid length")
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	for attempt := 0; attempt < 2; attempt++ {
		err := s.client.IdempotencyKey.Create().SetKey(key).SetScope(scope).SetRequestHash(hash).
			SetExpiresAt(s.now().Add(TTL)).Exec(ctx)
		if err == nil {
			return nil, nil
		}
		if !ent.IsConstraintError(err) {
			return nil, apperr.From(err)
		}
		prior, err := s.client.IdempotencyKey.Query().
			Where(idempotencykey.Key(key), idempotencykey.Scope(scope)).Only(ctx)
		if ent.IsNotFound(err) {
			continue // abandoned meanwhile: claim it again
		}
		if err != nil {
			return nil, apperr.From(err)
		}
		if !s.now().Before(prior.ExpiresAt) {
			if err := s.client.IdempotencyKey.DeleteOneID(prior.ID).Exec(ctx); err != nil && !ent.IsNotFound(err) {
				return nil, apperr.From(err)
			}
			continue
		}
		switch {
		case prior.RequestHash != hash:
			return nil, apperr.New(apperr.IdempotencyConflict,
				"This Idempotency-Key was used with a different request body; use a new key.")
		case prior.Status == idempotencykey.StatusInProgress:
			return nil, apperr.New(apperr.IdempotencyConflict,
				"A request with this Idempotency-Key is still running; retry once it has finished.")
		}
		return &Response{Status: prior.ResponseStatus, Body: prior.ResponseBody}, nil
	}
	return nil, apperr.New(apperr.IdempotencyConflict, "This Idempotency-Key is being claimed concurrently; retry.")
}

// Complete records the response of the request that claimed key.
func (s *Store) Complete(ctx context.Context, key, scope string, status int, body []byte) error {
	_, err := s.client.IdempotencyKey.Update().
		Where(idempotencykey.Key(key), idempotencykey.Scope(scope)).
		SetStatus(idempotencykey.StatusCompleted).SetResponseStatus(status).SetResponseBody(body).Save(ctx)
	return apperr.Translate(err)
}

// Abandon forgets key after a failure that a retry might not repeat (a 5xx), so the
// client can try again with the same key.
func (s *Store) Abandon(ctx context.Context, key, scope string) error {
	_, err := s.client.IdempotencyKey.Delete().
		Where(idempotencykey.Key(key), idempotencykey.Scope(scope)).Exec(ctx)
	return apperr.Translate(err)
}
