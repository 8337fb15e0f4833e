// Package auth turns credentials into a viewer: API keys (sk_ for servers, pk_ for
// storefronts) and staff sessions with CSRF tokens. It owns key and password hashing and
// the session store; it must not decide what a viewer may do beyond that (ent privacy
// rules and the domain services do).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/apikey"
	"github.com/mercantile/mercantile/ent/user"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/paging"
	"github.com/mercantile/mercantile/internal/platform/kv"
	"github.com/mercantile/mercantile/internal/pulid"
)

const (
	secretPrefix      = "sk_"
	publishablePrefix = "pk_"
	// keyRandomChars of base62 give about 238 bits: no need for a slow hash.
	keyRandomChars = 40
	// shownPrefixLen is how much of a key is kept in clear to tell keys apart.
	shownPrefixLen = 11
	// lastUsedGranularity bounds how often a key's last_used_at is written: once a minute
	// is precise enough for people and keeps the hot path read-only.
	lastUsedGranularity = time.Minute
	// keyCacheTTL bounds how long a key's lookup is reused from the shared store. Each
	// reload may write last_used_at, so it matches that field's granularity.
	keyCacheTTL = lastUsedGranularity
	// revokedKeyTTL keeps a revoked key's marker in the shared store for far longer than
	// a lookup can take, so a request that read the key just before it was revoked cannot
	// cache it as valid again.
	revokedKeyTTL = 10 * keyCacheTTL
	revokedMarker = "revoked"
	// MinPasswordLength is the shortest password staff may set.
	MinPasswordLength = 10
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Service authenticates requests and manages keys, users and sessions.
type Service struct {
	client     *ent.Client
	sessions   kv.Store
	keys       kv.Store // nil: every request looks its key up in the database
	sessionTTL time.Duration
	bcryptCost int
	now        func() time.Time
}

// NewService returns a Service storing sessions in store for ttl.
// API keys are looked up in store too, when it is shared between processes; an
// in-process store is not shared with `mercantile key revoke` run beside the server, so
// there every request reads its key from the database.
func NewService(client *ent.Client, store kv.Store, ttl time.Duration) *Service {
	s := &Service{client: client, sessions: store, sessionTTL: ttl, bcryptCost: bcrypt.DefaultCost, now: time.Now}
	if _, inProcess := store.(*kv.Memory); store != nil && !inProcess {
		s.keys = store
	}
	return s
}

func keyCacheKey(hash string) string { return "mercantile:apikey:" + hash }

// cachedKey is what a request needs of its API key.
type cachedKey struct {
	ID         pulid.ID    `json:"id"`
	MerchantID pulid.ID    `json:"merchant_id"`
	Kind       apikey.Kind `json:"kind"`
}

func (c cachedKey) viewer() viewer.Viewer {
	if c.Kind == apikey.KindPublishable {
		return viewer.Viewer{Kind: viewer.KindPublishableKey, MerchantID: c.MerchantID, ActorID: c.ID}
	}
	return viewer.Viewer{Kind: viewer.KindSecretKey, MerchantID: c.MerchantID, ActorID: c.ID, Role: viewer.RoleOwner}
}

// SetBcryptCost changes the password hashing cost; tests lower it to stay fast.
func (s *Service) SetBcryptCost(cost int) { s.bcryptCost = cost }

// randomString returns n random base62 characters.
func randomString(n int) string {
	var b strings.Builder
	limit := big.NewInt(int64(len(base62)))
	for range n {
		i, err := rand.Int(rand.Reader, limit)
		if err != nil {
			panic(fmt.Sprintf("auth: reading random bytes: %v", err))
		}
		b.WriteByte(base62[i.Int64()])
	}
	return b.String()
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// NewKey is a freshly created API key; Secret is shown once and never stored.
type NewKey struct {
	Key    *ent.APIKey
	Secret string
}

// CreateKey creates an API key of kind for the viewer's merchant.
// Errors: forbidden (not an owner), invalid.
func (s *Service) CreateKey(ctx context.Context, kind apikey.Kind, name string) (NewKey, error) {
	if err := apikey.KindValidator(kind); err != nil {
		return NewKey{}, apperr.New(apperr.Invalid, "kind must be secret or publishable").WithField("kind", err.Error())
	}
	prefix := secretPrefix
	if kind == apikey.KindPublishable {
		prefix = publishablePrefix
	}
	secret := prefix + randomString(keyRandomChars)
	k, err := s.client.APIKey.Create().
		SetKind(kind).
		SetName(name).
		SetPrefix(secret[:shownPrefixLen]).
		SetHash(hashKey(secret)).
		Save(ctx)
	if err != nil {
		return NewKey{}, apperr.From(err)
	}
	return NewKey{Key: k, Secret: secret}, nil
}

// RevokeKey revokes the viewer's merchant's key id. Revoking twice is not an error, and
// repairs a revocation whose marker could not reach the shared store.
// Errors: not_found, forbidden, unavailable (revoked, but the shared store did not take
// the marker: retry, or requests may use the key for up to a minute more).
func (s *Service) RevokeKey(ctx context.Context, id pulid.ID) (*ent.APIKey, error) {
	k, err := s.client.APIKey.Get(ctx, id)
	if err != nil {
		return nil, apperr.From(err)
	}
	if k.RevokedAt == nil {
		if k, err = k.Update().SetRevokedAt(s.now()).Save(ctx); err != nil {
			return nil, apperr.Translate(err)
		}
	}
	// Set, not delete: the marker also stops a lookup still in flight from caching the
	// key as valid (fills only write where nothing is).
	if s.keys != nil {
		if err := s.keys.Set(ctx, keyCacheKey(k.Hash), []byte(revokedMarker), revokedKeyTTL); err != nil {
			return nil, apperr.Wrap(err, apperr.Unavailable, "The key is revoked, but the cache could not be told; revoke it again.")
		}
	}
	return k, nil
}

// ListKeys returns a page of the viewer's merchant's keys, oldest first, and whether
// more follow.
// Errors: forbidden (storefront key).
func (s *Service) ListKeys(ctx context.Context, p paging.Page) ([]*ent.APIKey, bool, error) {
	q := s.client.APIKey.Query().Order(ent.Asc(apikey.FieldID)).Limit(p.Limit + 1)
	if p.After != "" {
		q.Where(apikey.IDGT(p.After))
	}
	keys, err := q.All(ctx)
	if err != nil {
		return nil, false, apperr.From(err)
	}
	keys, more := paging.Trim(keys, p)
	return keys, more, nil
}

// ListUsers returns a page of the viewer's merchant's staff, oldest first, and whether
// more follow.
// Errors: forbidden (storefront key).
func (s *Service) ListUsers(ctx context.Context, p paging.Page) ([]*ent.User, bool, error) {
	q := s.client.User.Query().Order(ent.Asc(user.FieldID)).Limit(p.Limit + 1)
	if p.After != "" {
		q.Where(user.IDGT(p.After))
	}
	users, err := q.All(ctx)
	if err != nil {
		return nil, false, apperr.From(err)
	}
	users, more := paging.Trim(users, p)
	return users, more, nil
}

// AuthenticateKey returns the viewer an API key stands for. A valid key's lookup is
// reused from the shared store for up to keyCacheTTL; revoking replaces it at once.
// Errors: unauthorized.
func (s *Service) AuthenticateKey(ctx context.Context, secret string) (viewer.Viewer, error) {
	if !strings.HasPrefix(secret, secretPrefix) && !strings.HasPrefix(secret, publishablePrefix) {
		return viewer.Viewer{}, apperr.New(apperr.Unauthorized, "The API key is malformed.")
	}
	hash := hashKey(secret)
	if s.keys != nil {
		if raw, ok, err := s.keys.Get(ctx, keyCacheKey(hash)); err == nil && ok {
			if string(raw) == revokedMarker {
				return viewer.Viewer{}, apperr.New(apperr.Unauthorized, "The API key has been revoked.")
			}
			var c cachedKey
			if json.Unmarshal(raw, &c) == nil {
				return c.viewer(), nil
			}
		}
	}
	sys := viewer.SystemContext(ctx)
	k, err := s.client.APIKey.Query().Where(apikey.Hash(hash)).Only(sys)
	if ent.IsNotFound(err) {
		return viewer.Viewer{}, apperr.New(apperr.Unauthorized, "The API key is not valid.")
	}
	if err != nil {
		return viewer.Viewer{}, apperr.From(err)
	}
	if k.RevokedAt != nil {
		return viewer.Viewer{}, apperr.New(apperr.Unauthorized, "The API key has been revoked.")
	}
	now := s.now()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastUsedGranularity {
		// Losing this write is harmless; failing the request for it would not be.
		_ = s.client.APIKey.UpdateOneID(k.ID).SetLastUsedAt(now).Exec(sys)
	}
	c := cachedKey{ID: k.ID, MerchantID: k.MerchantID, Kind: k.Kind}
	if s.keys != nil {
		if raw, err := json.Marshal(c); err == nil {
			_, _ = s.keys.SetIfAbsent(ctx, keyCacheKey(hash), raw, keyCacheTTL)
		}
	}
	return c.viewer(), nil
}

// NormalizeEmail lower-cases and validates an email address.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return "", errors.New("must be a valid email address")
	}
	return email, nil
}

// CreateUser adds a staff member to the viewer's merchant. An empty password creates a
// user who cannot log in until one is set.
// Errors: invalid, conflict (email taken), forbidden (not an owner).
func (s *Service) CreateUser(ctx context.Context, email, name, password string, role user.Role) (*ent.User, error) {
	var v apperr.Validation
	email, err := NormalizeEmail(email)
	if err != nil {
		v.Add("email", "%s", err)
	}
	if password != "" && len(password) < MinPasswordLength {
		v.Add("password", "must be at least %d characters", MinPasswordLength)
	}
	if user.RoleValidator(role) != nil {
		v.Add("role", "must be owner, staff or viewer")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash := ""
	if password != "" {
		b, err := bcrypt.GenerateFromPassword([]byte(password), s.bcryptCost)
		if err != nil {
			return nil, apperr.From(err)
		}
		hash = string(b)
	}
	u, err := s.client.User.Create().SetEmail(email).SetName(name).SetPasswordHash(hash).SetRole(role).Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, apperr.New(apperr.Conflict, "A user with this email already exists.").WithField("email", "is taken")
	}
	return u, apperr.Translate(err)
}

// Session is a logged-in staff member's session.
type Session struct {
	ID         string    `json:"-"`
	UserID     pulid.ID  `json:"user_id"`
	MerchantID pulid.ID  `json:"merchant_id"`
	Role       user.Role `json:"role"`
	CSRFToken  string    `json:"csrf_token"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Viewer returns the viewer the session stands for.
func (s Session) Viewer() viewer.Viewer {
	return viewer.Viewer{Kind: viewer.KindUser, MerchantID: s.MerchantID, ActorID: s.UserID, Role: viewer.Role(s.Role)}
}

// CheckCSRF reports whether token is the session's CSRF token, in constant time.
func (s Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRFToken)) == 1
}

// sessionKey stores sessions under a hash of their id, so a dump of the store does not
// hand out live sessions.
func sessionKey(id string) string { return "mercantile:session:" + hashKey(id) }

// dummyHash is compared against when the email is unknown, so a failed login takes as
// long whether or not the account exists.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a real password"), bcrypt.DefaultCost)

// Login checks a staff member's email and password and starts a session.
// Errors: unauthorized (wrong email or password, disabled user).
func (s *Service) Login(ctx context.Context, email, password string) (Session, error) {
	fail := apperr.New(apperr.Unauthorized, "The email or password is wrong.")
	email, err := NormalizeEmail(email)
	if err != nil {
		return Session{}, fail
	}
	sys := viewer.SystemContext(ctx)
	u, err := s.client.User.Query().Where(user.Email(email)).Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return Session{}, apperr.From(err)
	}
	if u == nil || u.PasswordHash == "" || u.DisabledAt != nil {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return Session{}, fail
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return Session{}, fail
	}
	now := s.now()
	sess := Session{
		ID:         randomString(43),
		UserID:     u.ID,
		MerchantID: u.MerchantID,
		Role:       u.Role,
		CSRFToken:  randomString(32),
		ExpiresAt:  now.Add(s.sessionTTL),
	}
	body, err := json.Marshal(sess)
	if err != nil {
		return Session{}, apperr.From(err)
	}
	if err := s.sessions.Set(ctx, sessionKey(sess.ID), body, s.sessionTTL); err != nil {
		return Session{}, apperr.Wrap(err, apperr.Unavailable, "Sessions are unavailable right now.")
	}
	_ = s.client.User.UpdateOneID(u.ID).SetLastLoginAt(now).Exec(sys)
	return sess, nil
}

// Session returns the live session with id.
// Errors: unauthorized (unknown or expired), unavailable (store down).
func (s *Service) Session(ctx context.Context, id string) (Session, error) {
	body, ok, err := s.sessions.Get(ctx, sessionKey(id))
	if err != nil {
		return Session{}, apperr.Wrap(err, apperr.Unavailable, "Sessions are unavailable right now.")
	}
	var sess Session
	if !ok || json.Unmarshal(body, &sess) != nil || !s.now().Before(sess.ExpiresAt) {
		return Session{}, apperr.New(apperr.Unauthorized, "The session has expired; log in again.")
	}
	sess.ID = id
	return sess, nil
}

// Logout ends the session with id.
func (s *Service) Logout(ctx context.Context, id string) error {
	if err := s.sessions.Delete(ctx, sessionKey(id)); err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "Sessions are unavailable right now.")
	}
	return nil
}

// GeneratePassword returns a random password for accounts created by the system.
func GeneratePassword() string { return randomString(20) }
