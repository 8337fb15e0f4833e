package media

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mercantile/mercantile/internal/apperr"
)

// S3Config configures an S3 store.
type S3Config struct {
	// Bucket holds the objects; it must exist.
	Bucket string
	// Endpoint is the base URL of an S3-compatible service (MinIO, R2, ...); empty is AWS.
	Endpoint string
	// Region defaults to us-east-1.
	Region string
	// PublicBaseURL is where clients read objects, typically a CDN in front of the
	// bucket. Empty reads from the bucket itself, so the objects must be public there.
	PublicBaseURL string
	// UsePathStyle addresses the bucket as ENDPOINT/BUCKET instead of BUCKET.ENDPOINT;
	// most S3-compatible services need it.
	UsePathStyle bool
	// PresignTTL is how long an upload URL stays valid; it defaults to 15 minutes and
	// S3 allows at most 7 days.
	PresignTTL time.Duration
}

// S3 stores objects in an S3 bucket. Clients upload to it directly with presigned URLs.
type S3 struct {
	client     *s3.Client
	presigner  *s3.PresignClient
	bucket     string
	publicBase string
	ttl        time.Duration
}

// maxPresignTTL is SigV4's limit for presigned URLs.
const maxPresignTTL = 7 * 24 * time.Hour

// NewS3 returns a store on cfg.Bucket. Credentials come from the standard AWS chain
// (environment, shared config files, web identity, instance or task role). It makes no
// request: a missing bucket or bad credentials show on first use.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("media: S3 bucket is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.PresignTTL == 0 {
		cfg.PresignTTL = defaultPresignTTL
	}
	if cfg.PresignTTL < time.Second || cfg.PresignTTL > maxPresignTTL {
		return nil, fmt.Errorf("media: presign TTL must be between 1s and %s, got %s", maxPresignTTL, cfg.PresignTTL)
	}
	publicBase, err := s3PublicBase(cfg)
	if err != nil {
		return nil, err
	}
	// "When required" keeps the SDK from adding CRC checksum parameters to presigned
	// URLs, which a browser's plain PUT cannot satisfy, and from validating checksums
	// that S3-compatible services do not send.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(cfg.Region),
		awsconfig.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		awsconfig.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	)
	if err != nil {
		return nil, fmt.Errorf("media: loading AWS configuration: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.UsePathStyle
	})
	return &S3{
		client:     client,
		presigner:  s3.NewPresignClient(client, s3.WithPresignExpires(cfg.PresignTTL)),
		bucket:     cfg.Bucket,
		publicBase: publicBase,
		ttl:        cfg.PresignTTL,
	}, nil
}

// s3PublicBase is the URL objects are read from, without a trailing slash.
func s3PublicBase(cfg S3Config) (string, error) {
	if cfg.PublicBaseURL != "" {
		return strings.TrimRight(cfg.PublicBaseURL, "/"), nil
	}
	endpoint := "https://s3." + cfg.Region + ".amazonaws.com"
	if cfg.Endpoint != "" {
		endpoint = strings.TrimRight(cfg.Endpoint, "/")
	}
	if cfg.UsePathStyle {
		return endpoint + "/" + url.PathEscape(cfg.Bucket), nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("media: S3 endpoint %q is not an absolute URL", cfg.Endpoint)
	}
	u.Host = cfg.Bucket + "." + u.Host
	return u.String(), nil
}

// PresignPut signs a PutObject request with Content-Type (and Content-Length when size
// > 0) among the signed headers, so S3 rejects an upload of another type or length.
func (s *S3) PresignPut(ctx context.Context, key, contentType string, size int64) (Upload, error) {
	if err := checkUpload(key, contentType, size); err != nil {
		return Upload{}, err
	}
	in := &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key), ContentType: aws.String(contentType)}
	if size > 0 {
		in.ContentLength = aws.Int64(size)
	}
	// X-Amz-Date has whole seconds and is taken after this, so the URL lives at least
	// until expires.
	expires := time.Now().UTC().Truncate(time.Second).Add(s.ttl)
	req, err := s.presigner.PresignPutObject(ctx, in)
	if err != nil {
		return Upload{}, fmt.Errorf("media: presigning upload of %s: %w", key, err)
	}
	headers := make(map[string]string, len(req.SignedHeader))
	for name, values := range req.SignedHeader {
		if name == "Host" || name == "Content-Length" || len(values) == 0 {
			continue
		}
		headers[name] = values[0]
	}
	return Upload{Method: req.Method, URL: req.URL, Headers: headers, ExpiresAt: expires}, nil
}

// Stat returns the object's size and type from a HeadObject request.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		// HEAD responses have no body, so the status is all S3 says about a missing key.
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
			return Object{}, apperr.New(apperr.NotFound, "No object %s.", key)
		}
		return Object{}, fmt.Errorf("media: reading %s: %w", key, err)
	}
	return Object{Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType)}, nil
}

// PublicURL returns the object's URL under the public base URL.
func (s *S3) PublicURL(key string) string {
	return s.publicBase + "/" + escapeKey(key)
}

// Delete removes the object. S3 answers a delete of a missing key with success.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("media: deleting %s: %w", key, err)
	}
	return nil
}
