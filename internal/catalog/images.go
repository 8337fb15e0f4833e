package catalog

import (
	"context"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/ent/productimage"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
	"github.com/mercantile/mercantile/internal/jobs"
	"github.com/mercantile/mercantile/internal/media"
	"github.com/mercantile/mercantile/internal/platform/database"
	"github.com/mercantile/mercantile/internal/pulid"
)

// MaxAltLength is the longest alt text an image may have (the column's limit).
const MaxAltLength = 512

// ImageInput describes an image a client is about to upload.
type ImageInput struct {
	Filename    string  `json:"filename"`
	ContentType string  `json:"content_type"`
	Alt         *string `json:"alt"`
	// SizeBytes, when given, is signed into the upload, so the store refuses any other
	// length; without it the store enforces only the configured maximum.
	SizeBytes *int64 `json:"size_bytes"`
}

// CreateImage records a pending image at the end of the product's images and returns it
// with the presigned upload that carries its bytes straight to the media store. The
// image's URL serves the bytes once the client has uploaded them.
// Errors: not_found (product), invalid (naming filename, content_type, alt or size_bytes),
// payload_too_large (size_bytes over the limit), unavailable (no media store), forbidden.
func (s *Service) CreateImage(ctx context.Context, productID pulid.ID, in ImageInput) (Image, media.Upload, error) {
	if err := mayWrite(ctx); err != nil {
		return Image{}, media.Upload{}, err
	}
	v, _ := viewer.FromContext(ctx)
	if s.media == nil {
		return Image{}, media.Upload{}, apperr.New(apperr.Unavailable, "Image uploads are not configured on this server.")
	}
	var size int64
	if in.SizeBytes != nil {
		size = *in.SizeBytes
	}
	alt := ""
	if in.Alt != nil {
		alt = strings.TrimSpace(*in.Alt)
	}
	if err := checkImage(in, alt, size, s.maxImageBytes); err != nil {
		return Image{}, media.Upload{}, err
	}

	var (
		img    *ent.ProductImage
		upload media.Upload
	)
	err := database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Client) error {
		// Locked so that concurrent uploads to one product get distinct positions.
		if _, err := tx.Product.Query().Where(product.ID(productID)).Modify(s.lockRows).OnlyID(ctx); err != nil {
			return apperr.From(err)
		}
		last, err := tx.ProductImage.Query().Where(productimage.ProductID(productID)).
			Order(ent.Desc(productimage.FieldPosition)).Limit(1).Select(productimage.FieldPosition).Ints(ctx)
		if err != nil {
			return apperr.From(err)
		}
		position := 1
		if len(last) > 0 {
			position = last[0] + 1
		}
		// The id is chosen here because the object key carries it: a key is never reused,
		// so its URL may be cached forever.
		id := pulid.New("img")
		key := media.ObjectKey(v.MerchantID.String(), productID.String(), id.String(), in.Filename)
		create := tx.ProductImage.Create().SetID(id).SetProductID(productID).SetStorageKey(key).
			SetContentType(in.ContentType).SetPosition(position).SetAlt(alt)
		if size > 0 {
			create.SetSizeBytes(size)
		}
		if img, err = create.Save(ctx); err != nil {
			return apperr.From(err)
		}
		// Signed before the commit, so a store that refuses the upload leaves no image.
		if upload, err = s.media.PresignPut(ctx, key, in.ContentType, size); err != nil {
			return err
		}
		// Once the upload URL has expired the object is there or never will be: the job
		// then marks the image uploaded or removes it. Enqueued in this transaction, it
		// exists exactly when the image does.
		if err := jobs.Enqueue(ctx, ConfirmImageArgs{ImageID: id, MerchantID: v.MerchantID},
			&river.InsertOpts{ScheduledAt: upload.ExpiresAt.Add(confirmGrace)}); err != nil {
			return apperr.Wrap(err, apperr.Internal, "Scheduling the upload check failed.")
		}
		s.invalidateAfterCommit(ctx, productID)
		return nil
	})
	if err != nil {
		return Image{}, media.Upload{}, err
	}
	return s.imageView(img), upload, nil
}

// checkImage validates an image upload, reporting every invalid field at once; a size
// over the limit is reported (413) only when nothing else is wrong.
func checkImage(in ImageInput, alt string, size, maxBytes int64) error {
	var val apperr.Validation
	if strings.TrimSpace(in.Filename) == "" || len(in.Filename) > MaxTitleLength {
		val.Add("filename", "must be 1 to %d characters", MaxTitleLength)
	}
	if len(alt) > MaxAltLength {
		val.Add("alt", "must be at most %d characters", MaxAltLength)
	}
	err := media.CheckImage(in.ContentType, size, maxBytes)
	if e := apperr.From(err); err != nil && e.Code == apperr.Invalid {
		for _, f := range e.Fields {
			val.Add(f.Field, "%s", f.Message)
		}
		err = nil
	}
	if verr := val.Err(); verr != nil {
		return verr
	}
	return err
}

// confirmGrace lets an upload that started just before its URL expired finish.
const confirmGrace = time.Minute

// ConfirmImageArgs is the job that settles an image after its upload URL expired.
type ConfirmImageArgs struct {
	ImageID    pulid.ID `json:"image_id"`
	MerchantID pulid.ID `json:"merchant_id"`
}

// Kind implements river.JobArgs.
func (ConfirmImageArgs) Kind() string { return "confirm_image_upload" }

// ConfirmImageWorker returns the worker of ConfirmImageArgs, to register with the queue.
func (s *Service) ConfirmImageWorker() river.Worker[ConfirmImageArgs] {
	return &confirmImageWorker{svc: s}
}

type confirmImageWorker struct {
	river.WorkerDefaults[ConfirmImageArgs]
	svc *Service
}

func (w *confirmImageWorker) Work(ctx context.Context, job *river.Job[ConfirmImageArgs]) error {
	return w.svc.ConfirmImage(viewer.MerchantSystemContext(ctx, job.Args.MerchantID), job.Args.ImageID)
}

// ConfirmImage marks a pending image uploaded when its object exists in the media store,
// with the stored size, and deletes the image when it does not: a client that never
// uploaded must not leave a broken image on the product. An image already settled, or
// gone, is left alone.
func (s *Service) ConfirmImage(ctx context.Context, id pulid.ID) error {
	img, err := s.client.ProductImage.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return apperr.From(err)
	}
	if img.Status != productimage.StatusPending || s.media == nil {
		return nil
	}
	obj, err := s.media.Stat(ctx, img.StorageKey)
	switch {
	case apperr.CodeOf(err) == apperr.NotFound:
		err = s.client.ProductImage.DeleteOneID(id).Exec(ctx)
	case err != nil:
		return err
	default:
		err = s.client.ProductImage.UpdateOneID(id).SetStatus(productimage.StatusUploaded).SetSizeBytes(obj.Size).Exec(ctx)
	}
	if err != nil && !ent.IsNotFound(err) {
		return apperr.From(err)
	}
	s.invalidateAfterCommit(ctx, img.ProductID)
	return nil
}
