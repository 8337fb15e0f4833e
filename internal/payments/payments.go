// Package payments is Mercantile's side of Stripe: a Client that creates, cancels and
// refunds PaymentIntents (orders.PaymentGateway) through its own stripe-go client and
// backends, and Webhooks that verify Stripe's signed events and hand them to the orders
// service. It owns no order state and must not change orders itself: internal/orders
// decides what an intent or an event means. It never uses stripe-go's global key or
// backends, so tests and staging point it at stripe-mock through Config.APIURL.
package payments

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/orders"
)

// Config is how to reach Stripe.
type Config struct {
	// SecretKey is the platform's Stripe secret key (sk_... or a restricted rk_...).
	SecretKey string
	// APIURL is the API's base URL; empty is Stripe's own. Tests use stripe-mock.
	APIURL string
	// HTTPClient makes the requests; nil is a client with RequestTimeout.
	HTTPClient *http.Client
}

// RequestTimeout bounds one request to Stripe (stripe-go's own default is 80 s).
const RequestTimeout = 20 * time.Second

// maxNetworkRetries is stripe-go's default: connection errors, 409s and 5xx are retried
// with the same idempotency key, so a retry never makes a second object.
const maxNetworkRetries = 2

// metadataLimit is Stripe's limit on a metadata value.
const metadataLimit = 500

// Client calls Stripe's API for orders. It implements orders.PaymentGateway.
type Client struct {
	api *client.API
}

var _ orders.PaymentGateway = (*Client)(nil)

// NewClient returns a client with its own backends: nothing is shared with stripe-go's
// package-level state.
func NewClient(cfg Config) *Client {
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: RequestTimeout}
	}
	backend := func(t stripe.SupportedBackend, url *string) stripe.Backend {
		return stripe.GetBackendWithConfig(t, &stripe.BackendConfig{
			URL: url, HTTPClient: httpClient, MaxNetworkRetries: stripe.Int64(maxNetworkRetries),
			// Failures come back as errors, which the caller logs with its context.
			LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
		})
	}
	var apiURL *string
	if cfg.APIURL != "" {
		apiURL = stripe.String(cfg.APIURL)
	}
	return &Client{api: client.New(cfg.SecretKey, &stripe.Backends{
		API: backend(stripe.APIBackend, apiURL), Connect: backend(stripe.ConnectBackend, nil), Uploads: backend(stripe.UploadsBackend, nil),
	})}
}

// CreateIntent creates a PaymentIntent for an order's total, in minor units and the
// lower-cased currency, with the order's ids in its metadata so webhooks find the order
// whatever Stripe's ids are, and automatic payment methods for the SPA's Payment Element.
// Errors: unavailable (502: unreachable, 5xx, rejected key, the same key in use), invalid
// or conflict (Stripe refused the request).
func (c *Client) CreateIntent(ctx context.Context, in orders.IntentRequest) (orders.Intent, error) {
	number := strconv.FormatInt(in.OrderNumber, 10)
	params := &stripe.PaymentIntentParams{
		Amount:                  stripe.Int64(in.Amount),
		Currency:                stripe.String(strings.ToLower(in.Currency)),
		Description:             stripe.String("Order #" + number),
		AutomaticPaymentMethods: &stripe.PaymentIntentAutomaticPaymentMethodsParams{Enabled: stripe.Bool(true)},
	}
	params.Context = ctx
	params.SetIdempotencyKey(in.IdempotencyKey)
	params.AddMetadata(MetadataMerchantID, in.MerchantID.String())
	params.AddMetadata(MetadataOrderID, in.OrderID.String())
	params.AddMetadata(MetadataOrderNumber, number)
	pi, err := c.api.PaymentIntents.New(params)
	if err != nil {
		return orders.Intent{}, callError("Creating the PaymentIntent", err)
	}
	return orders.Intent{ID: pi.ID, ClientSecret: pi.ClientSecret, Status: string(pi.Status)}, nil
}

// CancelIntent cancels a PaymentIntent so it can no longer be paid.
// Errors: as CreateIntent; Stripe refuses intents that succeeded or were cancelled.
func (c *Client) CancelIntent(ctx context.Context, intentID, idempotencyKey string) error {
	params := &stripe.PaymentIntentCancelParams{}
	params.Context = ctx
	params.SetIdempotencyKey(idempotencyKey)
	_, err := c.api.PaymentIntents.Cancel(intentID, params)
	if err != nil {
		return callError("Cancelling the PaymentIntent", err)
	}
	return nil
}

// CreateRefund refunds amount of a PaymentIntent. The refund's metadata names the
// order and the refund row, so its webhooks find both. The free-text reason goes to
// metadata: Stripe's own reason field takes three fixed values.
// Errors: as CreateIntent; conflict when the charge is already refunded.
func (c *Client) CreateRefund(ctx context.Context, in orders.RefundRequest) (orders.RefundResult, error) {
	params := &stripe.RefundParams{PaymentIntent: stripe.String(in.IntentID), Amount: stripe.Int64(in.Amount)}
	params.Context = ctx
	params.SetIdempotencyKey(in.IdempotencyKey)
	params.AddMetadata(MetadataMerchantID, in.MerchantID.String())
	params.AddMetadata(MetadataOrderID, in.OrderID.String())
	params.AddMetadata(MetadataRefundID, in.RefundID.String())
	if in.Reason != "" {
		params.AddMetadata("reason", truncate(in.Reason, metadataLimit))
	}
	r, err := c.api.Refunds.New(params)
	if err != nil {
		return orders.RefundResult{}, callError("Creating the refund", err)
	}
	return orders.RefundResult{ID: r.ID, Status: string(r.Status), FailureReason: string(r.FailureReason)}, nil
}

// The metadata keys Mercantile puts on Stripe objects.
const (
	MetadataMerchantID  = "merchant_id"
	MetadataOrderID     = "order_id"
	MetadataOrderNumber = "order_number"
	MetadataRefundID    = "refund_id"
)

// callError maps a stripe-go error to the application's. An unknown outcome (no answer,
// a 5xx, a rate limit, a 409 for another request with the same idempotency key still in
// progress) and Stripe rejecting Mercantile's own key are unavailable (502): the client
// did nothing wrong, and callers must not take it for a refusal, since the object may
// exist. Stripe refusing the request itself is the client's business.
func callError(what string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return badGateway(err, what+" failed: Stripe could not be reached.")
	}
	switch {
	case se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode == http.StatusConflict || se.HTTPStatusCode >= 500:
		return badGateway(err, what+" failed: Stripe answered "+strconv.Itoa(se.HTTPStatusCode)+".")
	case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden:
		return badGateway(err, what+" failed: Stripe refused the server's API key.")
	case se.Code == stripe.ErrorCodeChargeAlreadyRefunded:
		return apperr.Wrap(err, apperr.Conflict, "Stripe: "+se.Msg)
	}
	return apperr.Wrap(err, apperr.Invalid, "Stripe: "+se.Msg)
}

func badGateway(err error, message string) *apperr.Error {
	e := apperr.Wrap(err, apperr.Unavailable, message)
	e.Status = http.StatusBadGateway
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
