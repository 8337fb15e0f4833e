package shopify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/riverqueue/river"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/merchant"
	"github.com/mercantile/mercantile/ent/webhookevent"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/pulid"
)

// The topics applied; any other is recorded as ignored.
const (
	TopicProductsCreate        = "products/create"
	TopicProductsUpdate        = "products/update"
	TopicProductsDelete        = "products/delete"
	TopicOrdersCreate          = "orders/create"
	TopicOrdersUpdated         = "orders/updated"
	TopicOrdersPaid            = "orders/paid"
	TopicOrdersCancelled       = "orders/cancelled"
	TopicInventoryLevelsUpdate = "inventory_levels/update"
	TopicAppUninstalled        = "app/uninstalled"
)

var topics = map[string]bool{
	TopicProductsCreate: true, TopicProductsUpdate: true, TopicProductsDelete: true,
	TopicOrdersCreate: true, TopicOrdersUpdated: true, TopicOrdersPaid: true, TopicOrdersCancelled: true,
	TopicInventoryLevelsUpdate: true, TopicAppUninstalled: true,
}

// Delivery is one webhook request: Shopify's headers and the raw body they sign.
type Delivery struct {
	Topic      string
	HMAC       string
	ShopDomain string
	WebhookID  string
	Body       []byte
}

// Outcome is what receiving a delivery did.
type Outcome string

// The outcomes of Receive.
const (
	// OutcomeQueued: recorded, and a job applies it.
	OutcomeQueued Outcome = "queued"
	// OutcomeDuplicate: this webhook id was received before; nothing was done.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeIgnored: recorded, but its topic is not handled or the shop uninstalled
	// the app.
	OutcomeIgnored Outcome = "ignored"
)

// Verify checks the X-Shopify-Hmac-Sha256 header, base64(HMAC-SHA256(secret, body)),
// against each configured secret in constant time.
// Errors: unauthorized (missing or wrong), unavailable (no secret configured).
func (s *Service) Verify(body []byte, signature string) error {
	if len(s.cfg.Secrets) == 0 {
		return apperr.New(apperr.Unavailable, "Shopify webhooks are not configured (SHOPIFY_API_SECRET).")
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if signature == "" || err != nil {
		return apperr.New(apperr.Unauthorized, "The X-Shopify-Hmac-Sha256 header is missing or not base64.")
	}
	ok := false
	for _, secret := range s.cfg.Secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		// Every secret is tried, so the time taken does not say which one matched.
		ok = hmac.Equal(mac.Sum(nil), got) || ok
	}
	if !ok {
		return apperr.New(apperr.Unauthorized, "The X-Shopify-Hmac-Sha256 does not match the body.")
	}
	return nil
}

// Receive verifies a delivery and records it once per webhook id, enqueueing the job
// that applies it in the same transaction: the record exists if and only if the job
// does. It does no other work, so Shopify gets its answer fast.
// Errors: unauthorized (HMAC), not_found (unknown shop), invalid (no webhook id or
// topic), unavailable (no secret configured).
func (s *Service) Receive(ctx context.Context, d Delivery) (Outcome, error) {
	if err := s.Verify(d.Body, d.HMAC); err != nil {
		return "", err
	}
	d.Topic, d.WebhookID = strings.TrimSpace(d.Topic), strings.TrimSpace(d.WebhookID)
	if d.Topic == "" || d.WebhookID == "" {
		return "", apperr.Malformed("The X-Shopify-Topic and X-Shopify-Webhook-Id headers are required.")
	}
	domain := strings.ToLower(strings.TrimSpace(d.ShopDomain))
	m, err := s.client.Merchant.Query().Where(merchant.ShopifyShopDomain(domain)).Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) || domain == "" {
		return "", apperr.New(apperr.NotFound, "No merchant is connected to the shop %q.", domain)
	}
	if err != nil {
		return "", apperr.From(err)
	}
	status := webhookevent.StatusReceived
	if !topics[d.Topic] || (m.ShopifyUninstalledAt != nil && d.Topic != TopicAppUninstalled) {
		status = webhookevent.StatusIgnored
	}
	outcome := OutcomeQueued
	err = database.InTx(viewer.MerchantSystemContext(ctx, m.ID), s.client, func(ctx context.Context, tx *ent.Client) error {
		id := pulid.New("whe")
		create := tx.WebhookEvent.Create().SetID(id).SetSource(webhookevent.SourceShopify).SetExternalID(d.WebhookID).
			SetTopic(d.Topic).SetPayload(d.Body).SetStatus(status)
		if status == webhookevent.StatusIgnored {
			create.SetProcessedAt(s.now())
		}
		err := create.OnConflictColumns(webhookevent.FieldMerchantID, webhookevent.FieldSource, webhookevent.FieldExternalID).
			DoNothing().Exec(ctx)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return apperr.From(err)
		}
		stored, err := tx.WebhookEvent.Query().
			Where(webhookevent.SourceEQ(webhookevent.SourceShopify), webhookevent.ExternalID(d.WebhookID)).OnlyID(ctx)
		if err != nil {
			return apperr.From(err)
		}
		switch {
		case stored != id:
			outcome = OutcomeDuplicate
			return nil
		case status == webhookevent.StatusIgnored:
			outcome = OutcomeIgnored
			return nil
		}
		return jobs.Enqueue(ctx, ApplyWebhookArgs{MerchantID: m.ID, EventID: id}, nil)
	})
	if err != nil {
		return "", err
	}
	return outcome, nil
}

// ApplyWebhookArgs is the job that applies one recorded Shopify webhook.
type ApplyWebhookArgs struct {
	MerchantID pulid.ID `json:"merchant_id"`
	EventID    pulid.ID `json:"event_id"`
}

// Kind implements river.JobArgs.
func (ApplyWebhookArgs) Kind() string { return "shopify_apply_webhook" }

// InsertOpts bounds the retries of a webhook that keeps failing.
func (ApplyWebhookArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: webhookAttempts}
}

// WebhookWorker returns the worker of ApplyWebhookArgs, to register with the job queue.
func (s *Service) WebhookWorker() river.Worker[ApplyWebhookArgs] {
	return &webhookWorker{svc: s}
}

type webhookWorker struct {
	river.WorkerDefaults[ApplyWebhookArgs]
	svc *Service
}

func (w *webhookWorker) Work(ctx context.Context, job *river.Job[ApplyWebhookArgs]) error {
	ctx = viewer.MerchantSystemContext(ctx, job.Args.MerchantID)
	err := w.svc.Apply(ctx, job.Args.EventID)
	if err != nil && job.Attempt >= job.MaxAttempts {
		w.svc.recordFailure(ctx, job.Args.EventID, err)
	}
	return err
}

// Apply applies a recorded webhook once: the event is claimed (received -> processed,
// or ignored when it changed nothing) in the transaction that applies it, so a job that
// runs twice applies it once. A payload that cannot be read is recorded as failed.
// The context's viewer must be the event's merchant.
// Errors: internal (retried by the job).
func (s *Service) Apply(ctx context.Context, eventID pulid.ID) error {
	var changed []pulid.ID
	err := database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		claimed, err := tx.WebhookEvent.Update().
			Where(webhookevent.ID(eventID), webhookevent.StatusEQ(webhookevent.StatusReceived)).
			SetStatus(webhookevent.StatusProcessed).SetProcessedAt(s.now()).Save(ctx)
		if err != nil {
			return apperr.From(err)
		}
		if claimed == 0 {
			return nil
		}
		ev, err := tx.WebhookEvent.Get(ctx, eventID)
		if err != nil {
			return apperr.From(err)
		}
		m, err := tx.Merchant.Get(ctx, ev.MerchantID)
		if err != nil {
			return apperr.From(err)
		}
		var applied bool
		if m.ShopifyUninstalledAt == nil || ev.Topic == TopicAppUninstalled {
			applied, changed, err = s.apply(ctx, tx, m, ev.Topic, ev.Payload)
		}
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				return err
			}
			return tx.WebhookEvent.UpdateOneID(eventID).SetStatus(webhookevent.StatusFailed).SetError(err.Error()).Exec(ctx)
		}
		if !applied {
			return tx.WebhookEvent.UpdateOneID(eventID).SetStatus(webhookevent.StatusIgnored).Exec(ctx)
		}
		return nil
	})
	if err == nil && len(changed) > 0 && s.catalog != nil {
		s.catalog.InvalidateProducts(ctx, changed...)
	}
	return err
}

// apply dispatches a payload by topic. It reports whether anything changed and which
// products did.
func (s *Service) apply(ctx context.Context, tx *ent.Client, m *ent.Merchant, topic string, payload []byte) (bool, []pulid.ID, error) {
	switch topic {
	case TopicProductsCreate, TopicProductsUpdate:
		return s.upsertProduct(ctx, tx, payload)
	case TopicProductsDelete:
		return s.deleteProduct(ctx, tx, payload)
	case TopicOrdersCreate, TopicOrdersUpdated, TopicOrdersPaid, TopicOrdersCancelled:
		ok, err := s.upsertOrder(ctx, tx, m, payload)
		return ok, nil, err
	case TopicInventoryLevelsUpdate:
		ok, err := s.syncLevel(ctx, tx, payload)
		return ok, nil, err
	case TopicAppUninstalled:
		if m.ShopifyUninstalledAt != nil {
			return false, nil, nil
		}
		// The token dies with the installation; a reinstall sets a new one.
		err := tx.Merchant.UpdateOneID(m.ID).SetShopifyUninstalledAt(s.now()).ClearShopifyAccessToken().Exec(ctx)
		return err == nil, nil, apperr.Translate(err)
	}
	return false, nil, nil
}

// recordFailure marks an event failed after its last attempt, so it shows why.
func (s *Service) recordFailure(ctx context.Context, eventID pulid.ID, cause error) {
	err := s.client.WebhookEvent.UpdateOneID(eventID).SetStatus(webhookevent.StatusFailed).
		SetError(fmt.Sprintf("gave up: %v", cause)).Exec(context.WithoutCancel(ctx))
	if err != nil {
		s.log.ErrorContext(ctx, "shopify: recording a failed webhook", "event_id", eventID, "err", err)
	}
}

// malformed is the error of a payload that cannot be read: recorded, not retried.
func malformed(topic string, err error) error {
	return apperr.Malformed("The %s payload cannot be read: %v", topic, err)
}
