// Package merchants creates merchants and manages a merchant's own settings and its
// migration status (onboarding -> active -> sunset). It must not touch other merchants'
// data: every call but Create acts on the viewer's merchant.
package merchants

import (
	"context"
	"regexp"
	"strings"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/apikey"
	"github.com/mercantile/mercantile/ent/merchant"
	"github.com/mercantile/mercantile/ent/user"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/pulid"
)

// Service manages merchants.
type Service struct {
	client *ent.Client
	auth   *auth.Service
	// sunsetCheck refuses the move to sunset while the migration is incomplete.
	sunsetCheck func(ctx context.Context) error
}

// RequireBeforeSunset makes Update call check (as the viewer) before a merchant moves to
// sunset; its error refuses the move. Without one, sunset is refused: leaving the old
// system must be proven safe (internal/parity's CheckSunset).
func (s *Service) RequireBeforeSunset(check func(ctx context.Context) error) {
	s.sunsetCheck = check
}

// NewService returns a Service.
func NewService(client *ent.Client, authService *auth.Service) *Service {
	return &Service{client: client, auth: authService}
}

// CreateInput describes a new merchant and its owner.
type CreateInput struct {
	Name     string
	Handle   string // derived from Name when empty
	Currency string // USD when empty
	// OwnerEmail is the first staff member, an owner. OwnerPassword may be empty: the
	// owner then cannot log in until a password is set.
	OwnerEmail    string
	OwnerPassword string
}

// Created is a new merchant with its first keys, whose secrets are shown only now.
type Created struct {
	Merchant       *ent.Merchant
	Owner          *ent.User
	SecretKey      string
	PublishableKey string
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// Create makes a merchant with an owner, a secret key and a publishable key, in one
// transaction. It is for the system (CLI, first start), not for API viewers.
// Errors: invalid, conflict (handle or owner email taken).
func (s *Service) Create(ctx context.Context, in CreateInput) (Created, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	if in.Currency == "" {
		in.Currency = "USD"
	}
	if in.Handle == "" {
		// Names in scripts without ASCII letters handleize to nothing; a random handle
		// keeps them creatable, and the owner can rename the merchant later.
		if in.Handle = Handleize(in.Name); in.Handle == "" {
			in.Handle = "merchant-" + strings.ToLower(pulid.New("m").String()[len("m_")+16:])
		}
	}
	var v apperr.Validation
	if in.Name == "" || len(in.Name) > 255 {
		v.Add("name", "must be 1 to 255 characters")
	}
	if in.Handle == "" || len(in.Handle) > 64 || Handleize(in.Handle) != in.Handle {
		v.Add("handle", "must be 1 to 64 lower-case letters, digits and dashes")
	}
	if !currencyPattern.MatchString(in.Currency) {
		v.Add("currency", "must be an ISO 4217 code such as USD")
	}
	if _, err := auth.NormalizeEmail(in.OwnerEmail); err != nil {
		v.Add("email", "%s", err)
	}
	if err := v.Err(); err != nil {
		return Created{}, err
	}

	sys := viewer.SystemContext(ctx)
	tx, err := s.client.Tx(sys)
	if err != nil {
		return Created{}, apperr.From(err)
	}
	defer func() { _ = tx.Rollback() }()

	m, err := tx.Merchant.Create().SetName(in.Name).SetHandle(in.Handle).SetCurrency(in.Currency).Save(sys)
	if ent.IsConstraintError(err) {
		return Created{}, apperr.New(apperr.Conflict, "A merchant with handle %q already exists.", in.Handle).WithField("handle", "is taken")
	}
	if err != nil {
		return Created{}, apperr.From(err)
	}
	// The rest is written as the new merchant's system actor, so tenant rules stamp it.
	mctx := ent.NewTxContext(viewer.MerchantSystemContext(ctx, m.ID), tx)
	txAuth := auth.NewService(tx.Client(), nil, 0)
	owner, err := txAuth.CreateUser(mctx, in.OwnerEmail, "", in.OwnerPassword, user.RoleOwner)
	if err != nil {
		return Created{}, err
	}
	sk, err := txAuth.CreateKey(mctx, apikey.KindSecret, "Default secret key")
	if err != nil {
		return Created{}, err
	}
	pk, err := txAuth.CreateKey(mctx, apikey.KindPublishable, "Default publishable key")
	if err != nil {
		return Created{}, err
	}
	if err := tx.Commit(); err != nil {
		return Created{}, apperr.From(err)
	}
	return Created{Merchant: m.Unwrap(), Owner: owner.Unwrap(), SecretKey: sk.Secret, PublishableKey: pk.Secret}, nil
}

// Get returns the viewer's merchant.
// Errors: unauthorized (no viewer), not_found.
func (s *Service) Get(ctx context.Context) (*ent.Merchant, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.MerchantID == "" {
		return nil, apperr.New(apperr.Unauthorized, "Credentials are required.")
	}
	m, err := s.client.Merchant.Get(ctx, v.MerchantID)
	return m, apperr.Translate(err)
}

// UpdateInput changes a merchant; nil fields stay as they are.
type UpdateInput struct {
	Name              *string
	Currency          *string
	ShopifyShopDomain *string
	// ShopifyAccessToken is the Admin API token stock is pushed with; it is stored,
	// never shown. Setting one reconnects a shop that uninstalled the app; "" clears it.
	ShopifyAccessToken *string
	Status             *merchant.Status
}

// statusOrder is the one direction a merchant's migration moves in.
var statusOrder = map[merchant.Status]int{merchant.StatusOnboarding: 0, merchant.StatusActive: 1, merchant.StatusSunset: 2}

// Update changes the viewer's merchant.
// Errors: invalid, forbidden (not an owner), invalid_state_transition (status moving
// backwards or skipping a stage), conflict (Shopify domain used by another merchant, or
// sunset refused because parity with the source is not clean, naming the differences).
func (s *Service) Update(ctx context.Context, in UpdateInput) (*ent.Merchant, error) {
	m, err := s.Get(ctx)
	if err != nil {
		return nil, err
	}
	if v, _ := viewer.FromContext(ctx); !v.IsOwner() {
		return nil, apperr.New(apperr.Forbidden, "Only owners may change the merchant.")
	}
	var v apperr.Validation
	upd := m.Update()
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || len(name) > 255 {
			v.Add("name", "must be 1 to 255 characters")
		}
		upd.SetName(name)
	}
	if in.Currency != nil {
		cur := strings.ToUpper(strings.TrimSpace(*in.Currency))
		if !currencyPattern.MatchString(cur) {
			v.Add("currency", "must be an ISO 4217 code such as USD")
		}
		upd.SetCurrency(cur)
	}
	if in.ShopifyShopDomain != nil {
		domain := strings.ToLower(strings.TrimSpace(*in.ShopifyShopDomain))
		switch {
		case domain == "":
			upd.ClearShopifyShopDomain()
		case !shopDomainPattern.MatchString(domain):
			v.Add("shopify_shop_domain", "must look like example.myshopify.com")
		default:
			upd.SetShopifyShopDomain(domain)
		}
	}
	if in.ShopifyAccessToken != nil {
		switch token := strings.TrimSpace(*in.ShopifyAccessToken); {
		case token == "":
			upd.ClearShopifyAccessToken()
		case len(token) > 255 || strings.ContainsAny(token, " \t\r\n"):
			v.Add("shopify_access_token", "must be a Shopify Admin API access token")
		default:
			upd.SetShopifyAccessToken(token).ClearShopifyUninstalledAt()
		}
	}
	if in.Status != nil {
		if merchant.StatusValidator(*in.Status) != nil {
			v.Add("status", "must be onboarding, active or sunset")
		} else if *in.Status != m.Status && statusOrder[*in.Status] != statusOrder[m.Status]+1 {
			return nil, apperr.New(apperr.InvalidStateTransition,
				"A merchant moves onboarding -> active -> sunset one step at a time; it is %s.", m.Status).
				WithField("status", "cannot move from "+string(m.Status)+" to "+string(*in.Status))
		} else if *in.Status == merchant.StatusSunset && m.Status != merchant.StatusSunset {
			if s.sunsetCheck == nil {
				return nil, apperr.New(apperr.Conflict, "Moving to sunset needs a clean parity report, which this server cannot check.").
					WithField("status", "parity cannot be checked")
			}
			if err := s.sunsetCheck(ctx); err != nil {
				return nil, err
			}
		}
		upd.SetStatus(*in.Status)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	m, err = upd.Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, apperr.New(apperr.Conflict, "Another merchant is connected to this Shopify shop.").
			WithField("shopify_shop_domain", "is taken")
	}
	return m, apperr.Translate(err)
}

var shopDomainPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)

var nonHandle = regexp.MustCompile(`[^a-z0-9]+`)

// Handleize turns a title into a URL handle: lower-case ASCII letters and digits joined
// by single dashes.
func Handleize(s string) string {
	return strings.Trim(nonHandle.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// ByID returns a merchant by id for system callers (CLI).
func (s *Service) ByID(ctx context.Context, id pulid.ID) (*ent.Merchant, error) {
	m, err := s.client.Merchant.Get(viewer.SystemContext(ctx), id)
	return m, apperr.Translate(err)
}
