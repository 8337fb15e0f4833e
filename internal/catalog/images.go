package catalog

import (
	"context"
	"strings"

	"github.com/mercantile/mercantile/ent"
	"github.com/mercantile/mercantile/ent/product"
	"github.com/mercantile/mercantile/ent/productimage"
	"github.com/mercantile/mercantile/internal/apperr"
	"github.com/mercantile/mercantile/internal/auth/viewer"
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
