package s3conf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// cuttingStore serves one object; each body it returns fails with a reset
// after cut bytes, for the first cuts bodies.
type cuttingStore struct {
	data      []byte
	etag      string
	cut, cuts int
	ranges    []string // the Range of each request
}

type cutBody struct {
	r   io.Reader
	err error
}

func (b *cutBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF && b.err != nil {
		return n, b.err
	}
	return n, err
}

func (b *cutBody) Close() error { return nil }

func (s *cuttingStore) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if aws.ToString(in.IfMatch) != s.etag && in.IfMatch != nil {
		return nil, errors.New("PreconditionFailed")
	}
	rg := aws.ToString(in.Range)
	s.ranges = append(s.ranges, rg)
	from, to := int64(0), int64(len(s.data)-1)
	if rg != "" {
		if _, err := fmt.Sscanf(rg, "bytes=%d-%d", &from, &to); err != nil {
			to = int64(len(s.data) - 1)
		}
	}
	part := s.data[from : to+1]
	body := &cutBody{r: bytes.NewReader(part)}
	if len(s.ranges) <= s.cuts && len(part) > s.cut {
		body = &cutBody{r: bytes.NewReader(part[:s.cut]), err: syscall.ECONNRESET}
	}
	return &s3.GetObjectOutput{Body: body, ETag: aws.String(s.etag), ContentLength: aws.Int64(int64(len(part)))}, nil
}

func TestGetBodyResumes(t *testing.T) {
	data := []byte(strings.Repeat("abcdefghij", 100))
	for _, tc := range []struct {
		name      string
		cut, cuts int
		ok        bool
		ranges    []string
	}{
		{"no cut", 300, 0, true, []string{""}},
		{"two cuts", 300, 2, true, []string{"", "bytes=300-", "bytes=600-"}},
		{"cut every time", 10, 100, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &cuttingStore{data: data, etag: `"v1"`, cut: tc.cut, cuts: tc.cuts}
			body, out, err := GetBody(context.Background(), s, "b", "k", "", 0)
			if err != nil {
				t.Fatal(err)
			}
			defer body.Close()
			if aws.ToString(out.ETag) != `"v1"` {
				t.Errorf("first response's ETag %q", aws.ToString(out.ETag))
			}
			got, err := io.ReadAll(body)
			if !tc.ok {
				if !errors.Is(err, ErrBodyCut) || !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("err %v, want ErrBodyCut wrapping the reset", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, err %v; want the object whole", len(got), err)
			}
			if fmt.Sprint(s.ranges) != fmt.Sprint(tc.ranges) {
				t.Errorf("requests %q, want %q", s.ranges, tc.ranges)
			}
		})
	}
}

func TestReadRangeResumes(t *testing.T) {
	data := []byte(strings.Repeat("0123456789", 100))
	s := &cuttingStore{data: data, etag: `"v1"`, cut: 100, cuts: 2}
	p := make([]byte, 500)
	if err := ReadRange(context.Background(), s, "b", "k", `"v1"`, p, 250); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, data[250:750]) {
		t.Fatal("the range read differs from the object's bytes")
	}
	if want := "[bytes=250-749 bytes=350-749 bytes=450-749]"; fmt.Sprint(s.ranges) != want {
		t.Errorf("requests %v, want %s", s.ranges, want)
	}
	s = &cuttingStore{data: data, etag: `"v1"`, cut: 10, cuts: 100}
	if err := ReadRange(context.Background(), s, "b", "k", `"v1"`, p, 0); !errors.Is(err, ErrBodyCut) || len(s.ranges) != MaxAttempts {
		t.Fatalf("err %v after %d requests, want ErrBodyCut after %d", err, len(s.ranges), MaxAttempts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s = &cuttingStore{data: data, etag: `"v1"`, cut: 10, cuts: 100}
	if err := ReadRange(ctx, s, "b", "k", `"v1"`, p, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err %v", err)
	}
}
