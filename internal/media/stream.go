package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// partSize is the size of each part of a streamed upload: S3's minimum but for the last
// part is 5 MiB, and one part is what Put holds in memory.
const partSize = 8 << 20

// Put streams r into key with a multipart upload, holding one part in memory at a time,
// and returns the bytes written. Servers use it for files that pass through them (CSV
// imports), which are private: keep them under a prefix the bucket does not publish.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), ContentType: aws.String("text/csv")})
	if err != nil {
		return 0, fmt.Errorf("media: starting upload of %s: %w", key, err)
	}
	abort := func(err error) (int64, error) {
		_, _ = s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
			Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: created.UploadId})
		return 0, err
	}
	buf := make([]byte, partSize)
	var (
		parts []types.CompletedPart
		total int64
	)
	for n := int32(1); ; n++ {
		size, rerr := io.ReadFull(r, buf)
		if rerr != nil && !errors.Is(rerr, io.EOF) && !errors.Is(rerr, io.ErrUnexpectedEOF) {
			return abort(rerr)
		}
		if size > 0 || n == 1 {
			out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(s.bucket), Key: aws.String(key),
				UploadId: created.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(buf[:size]),
				ContentLength: aws.Int64(int64(size))})
			if err != nil {
				return abort(fmt.Errorf("media: uploading part %d of %s: %w", n, key, err))
			}
			parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
			total += int64(size)
		}
		if rerr != nil {
			break
		}
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(s.bucket),
		Key: aws.String(key), UploadId: created.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		return abort(fmt.Errorf("media: completing upload of %s: %w", key, err))
	}
	return total, nil
}

// Open streams the object stored under key.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("media: reading %s: %w", key, err)
	}
	return out.Body, nil
}
