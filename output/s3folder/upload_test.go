package s3folder_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/s3test"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/output/s3folder"
)

// pendingUploads returns the multipart uploads the server holds open.
func pendingUploads(t *testing.T, s *server) int {
	t.Helper()
	out, err := s3test.Client(s.endpoint).ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

// TestUpload: an upload's object appears only at Commit, whole, whatever
// the write sizes; an aborted or failed one leaves no object and no
// pending multipart upload.
func TestUpload(t *testing.T) {
	s := startServer(t)
	data := make([]byte, 2*s3folder.MinPartSize+12345)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	tests := []struct {
		name  string
		size  int
		abort bool
	}{
		{"three parts", len(data), false},
		{"exactly one part", s3folder.MinPartSize, false},
		{"smaller than a part", 1000, false},
		{"empty", 0, false},
		{"aborted after parts were sent", len(data), true},
		{"aborted before any part", 1000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := s.open(t, s.url())
			up, err := f.Create(t.Context(), "part-00000.parquet", output.CreateOptions{PartSize: s3folder.MinPartSize, MaxInFlight: 1})
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; off < tc.size; {
				k := min(tc.size-off, 1+rand.IntN(1<<20))
				if _, err := up.Write(data[off : off+k]); err != nil {
					t.Fatal(err)
				}
				off += k
			}
			if _, err := f.Size(t.Context(), "part-00000.parquet"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("before Commit the object is there (or: %v)", err)
			}
			if tc.abort {
				if err := up.Abort(); err != nil {
					t.Fatal(err)
				}
				if _, err := f.Size(t.Context(), "part-00000.parquet"); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("after Abort: %v, want no object", err)
				}
			} else {
				if err := up.Commit(); err != nil {
					t.Fatal(err)
				}
				got, err := f.ReadFile(t.Context(), "part-00000.parquet")
				if err != nil || !bytes.Equal(got, data[:tc.size]) {
					t.Errorf("object holds %d bytes (%v), want the %d written", len(got), err, tc.size)
				}
				if err := up.Abort(); err != nil {
					t.Errorf("Abort after Commit: %v", err)
				}
			}
			if n := pendingUploads(t, s); n != 0 {
				t.Errorf("%d multipart uploads left pending", n)
			}
		})
	}
}

// TestUploadContexts: the context Create was given may end before the
// file does (a sink writes under several calls' contexts): the upload
// still completes. Abort with parts in flight cancels them and leaves no
// object and no open upload.
func TestUploadContexts(t *testing.T) {
	s := startServer(t)
	f := s.open(t, s.url())
	chunk := make([]byte, s3folder.MinPartSize+1)
	ctx, cancel := context.WithCancel(t.Context())
	up, err := f.Create(ctx, "x.parquet", output.CreateOptions{PartSize: s3folder.MinPartSize})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write(chunk); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := up.Write(chunk); err != nil {
		t.Fatalf("write after the creating context ended: %v", err)
	}
	if err := up.Commit(); err != nil {
		t.Fatalf("commit after the creating context ended: %v", err)
	}
	if n, err := f.Size(t.Context(), "x.parquet"); err != nil || n != int64(2*len(chunk)) {
		t.Errorf("object size %d (%v), want %d", n, err, 2*len(chunk))
	}
	up, err = f.Create(t.Context(), "y.parquet", output.CreateOptions{PartSize: s3folder.MinPartSize, MaxInFlight: 3})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := up.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := up.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Size(t.Context(), "y.parquet"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Abort with parts in flight: %v, want no object", err)
	}
	if n := pendingUploads(t, s); n != 0 {
		t.Errorf("%d multipart uploads left pending", n)
	}
}

func TestUploadPartSize(t *testing.T) {
	s := startServer(t)
	f := s.open(t, s.url())
	if _, err := f.Create(t.Context(), "x", output.CreateOptions{PartSize: 1 << 20}); !errors.Is(err, s3folder.ErrPartSize) {
		t.Errorf("Create with 1 MiB parts: %v, want ErrPartSize", err)
	}
}
