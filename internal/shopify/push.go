package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/inventorylevel"
	"github.com/mercantile/mercantile/ent/variant"
	"github.com/mercantile/mercantile/ent/warehouse"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/inventory"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/pulid"
)

// inventoryLevelPayload is Shopify's inventory_levels/update body. available is null
// for an item Shopify does not track.
type inventoryLevelPayload struct {
	InventoryItemID int64      `json:"inventory_item_id"`
	LocationID      int64      `json:"location_id"`
	Available       *int64     `json:"available"`
	UpdatedAt       *time.Time `json:"updated_at"`
}

// syncLevel sets available of the variant with the payload's inventory item in the
// warehouse with its location, without pushing it back (inventory.SyncAvailable). An
// unknown item or location, or an untracked item, changes nothing; so do the echo of our
// own push, whose figure is already ours, and a delivery older than the last applied.
func (s *Service) syncLevel(ctx context.Context, tx *ent.Client, payload []byte) (bool, error) {
	var p inventoryLevelPayload
	if err := decode(payload, &p); err != nil {
		return false, malformed("inventory level", err)
	}
	if p.Available == nil {
		return false, nil
	}
	vr, err := tx.Variant.Query().Where(variant.ShopifyInventoryItemID(p.InventoryItemID)).Order(ent.Asc(variant.FieldID)).First(ctx)
	if ent.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, apperr.From(err)
	}
	wh, err := tx.Warehouse.Query().Where(warehouse.ShopifyLocationID(p.LocationID)).Only(ctx)
	if ent.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, apperr.From(err)
	}
	return s.inventory.SyncAvailable(ctx, vr.ID, wh.ID, max(*p.Available, 0), p.UpdatedAt, "Shopify inventory_levels/update")
}

// StockHook returns the inventory.ChangeHook that enqueues pushes of changed levels to
// Shopify, in the transaction of the change.
func (s *Service) StockHook() inventory.ChangeHook { return stockHook{svc: s} }

type stockHook struct{ svc *Service }

// StockChanged enqueues one push per changed level of a connected merchant whose
// variant and warehouse are linked to a Shopify inventory item and location. Changes
// that came from Shopify never reach here (inventory.SyncedContext).
func (h stockHook) StockChanged(ctx context.Context, tx *ent.Client, changes []inventory.LevelChange) error {
	if len(changes) == 0 {
		return nil
	}
	m, err := tx.Merchant.Get(ctx, changes[0].MerchantID)
	if err != nil {
		return apperr.From(err)
	}
	if !Connected(m) {
		return nil
	}
	delay := h.svc.cfg.PushDelay
	window := h.svc.now().UnixNano() / int64(delay)
	at := time.Unix(0, (window+1)*int64(delay))
	seen := map[[2]pulid.ID]bool{}
	for _, c := range changes {
		key := [2]pulid.ID{c.VariantID, c.WarehouseID}
		if seen[key] {
			continue
		}
		seen[key] = true
		linked, err := tx.Variant.Query().Where(variant.ID(c.VariantID), variant.ShopifyInventoryItemIDNotNil()).Exist(ctx)
		if err == nil && linked {
			linked, err = tx.Warehouse.Query().Where(warehouse.ID(c.WarehouseID), warehouse.ShopifyLocationIDNotNil()).Exist(ctx)
		}
		if err != nil {
			return apperr.From(err)
		}
		if !linked {
			continue
		}
		args := PushStockArgs{MerchantID: c.MerchantID, VariantID: c.VariantID, WarehouseID: c.WarehouseID, SKU: c.SKU, Window: window}
		if err := jobs.Enqueue(ctx, args, &river.InsertOpts{ScheduledAt: at}); err != nil {
			return err
		}
	}
	return nil
}

// PushStockArgs is the job that pushes a level's available quantity to Shopify. Window
// is the push-delay period the change fell in: one job per level and window gathers a
// burst of changes, and the job reads the figure when it runs, so the last one wins.
type PushStockArgs struct {
	MerchantID  pulid.ID `json:"merchant_id"`
	VariantID   pulid.ID `json:"variant_id"`
	WarehouseID pulid.ID `json:"warehouse_id"`
	SKU         string   `json:"sku"`
	Window      int64    `json:"window"`
}

// Kind implements river.JobArgs.
func (PushStockArgs) Kind() string { return "shopify_push_stock" }

// InsertOpts makes the job unique per merchant, SKU, warehouse and window.
func (PushStockArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: pushAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// PushWorker returns the worker of PushStockArgs, to register with the job queue.
func (s *Service) PushWorker() river.Worker[PushStockArgs] {
	return &pushWorker{svc: s, retries: &jobs.Retries{Base: s.cfg.RetryBackoff, Max: maxRetryDelay}}
}

type pushWorker struct {
	river.WorkerDefaults[PushStockArgs]
	svc     *Service
	retries *jobs.Retries
}

func (w *pushWorker) Work(ctx context.Context, job *river.Job[PushStockArgs]) error {
	wait, err := w.svc.push(viewer.MerchantSystemContext(ctx, job.Args.MerchantID), job.Args)
	w.retries.Asked(job.ID, wait)
	return err
}

// NextRetry backs off exponentially, and waits at least as long as a 429 asked.
func (w *pushWorker) NextRetry(job *river.Job[PushStockArgs]) time.Time {
	return w.retries.Next(job.ID, job.Attempt)
}

// Timeout lets an attempt outlast its HTTP request.
func (w *pushWorker) Timeout(*river.Job[PushStockArgs]) time.Duration { return jobTimeout }

// push sends the level's current available quantity to Shopify. A merchant no longer
// connected, or a level no longer linked, is skipped. Transport errors and 5xx are
// returned for River to retry (with how long a 429 asked to wait); other 4xx are
// logged and the job is cancelled, since repeating the request cannot help.
func (s *Service) push(ctx context.Context, a PushStockArgs) (time.Duration, error) {
	m, err := s.client.Merchant.Get(ctx, a.MerchantID)
	if err != nil {
		return 0, err
	}
	if !Connected(m) {
		s.log.InfoContext(ctx, "shopify: merchant not connected; stock not pushed", "merchant_id", a.MerchantID, "sku", a.SKU)
		return 0, nil
	}
	vr, err := s.client.Variant.Get(ctx, a.VariantID)
	if err != nil {
		return 0, err
	}
	wh, err := s.client.Warehouse.Get(ctx, a.WarehouseID)
	if err != nil {
		return 0, err
	}
	if vr.ShopifyInventoryItemID == nil || wh.ShopifyLocationID == nil {
		return 0, nil
	}
	var available int64
	lvl, err := s.client.InventoryLevel.Query().
		Where(inventorylevel.VariantID(vr.ID), inventorylevel.WarehouseID(wh.ID)).Only(ctx)
	switch {
	case err == nil:
		available = lvl.OnHand - lvl.Reserved
	case !ent.IsNotFound(err):
		return 0, err
	}
	body, err := json.Marshal(map[string]int64{
		"location_id": *wh.ShopifyLocationID, "inventory_item_id": *vr.ShopifyInventoryItemID, "available": available,
	})
	if err != nil {
		return 0, err
	}
	base := s.cfg.APIURL
	if base == "" {
		base = "https://" + *m.ShopifyShopDomain
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/admin/api/"+APIVersion+"/inventory_levels/set.json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", *m.ShopifyAccessToken)
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("shopify: pushing %s: %w", a.SKU, err)
	}
	defer resp.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	reason := fmt.Sprintf("Shopify answered %d %s: %s", resp.StatusCode, http.StatusText(resp.StatusCode), bytes.TrimSpace(detail))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return retryAfter(resp.Header, s.now()), fmt.Errorf("shopify: pushing %s: %s", a.SKU, reason)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		return 0, fmt.Errorf("shopify: pushing %s: %s", a.SKU, reason)
	}
	s.log.ErrorContext(ctx, "shopify: stock push refused; not retrying", "merchant_id", a.MerchantID, "sku", a.SKU,
		"warehouse_id", a.WarehouseID, "available", available, "reason", reason)
	return 0, river.JobCancel(fmt.Errorf("shopify: pushing %s: %s", a.SKU, reason))
}

// retryAfter reads how long a 429 asks to wait: Retry-After in seconds (Shopify sends
// fractions, such as 2.0) or an HTTP date. Zero when it does not say.
func retryAfter(h http.Header, now time.Time) time.Duration {
	var d time.Duration
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil {
			d = time.Duration(secs * float64(time.Second))
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	}
	return min(max(d, 0), maxRetryDelay)
}
