package s3folder_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/pipe-ml/pipe/internal/s3test"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/output/foldertest"
	"github.com/pipe-ml/pipe/output/s3folder"
	"github.com/pipe-ml/pipe/stages"
)

// server is a running versitygw and a source of fresh prefixes in its
// bucket.
type server struct {
	endpoint, bucket string
	n                atomic.Int64
}

func startServer(t *testing.T) *server {
	endpoint, bucket := s3test.Start(t)
	return &server{endpoint: endpoint, bucket: bucket}
}

// url returns a fresh, empty folder's URL.
func (s *server) url() string { return fmt.Sprintf("s3://%s/out/run-%03d", s.bucket, s.n.Add(1)) }

// open opens rawURL on the server, or fails the test.
func (s *server) open(t *testing.T, rawURL string) *s3folder.Folder {
	t.Helper()
	f, err := s3folder.Open(t.Context(), rawURL, s3folder.Options{Endpoint: s.endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestContract runs the storage seam's contract against a bucket prefix on
// a real S3 server.
func TestContract(t *testing.T) {
	s := startServer(t)
	foldertest.Run(t, func(t *testing.T) output.Folder { return s.open(t, s.url()) })
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct{ in, bucket, prefix string }{
		{"s3://b", "b", ""},
		{"s3://b/", "b", ""},
		{"s3://b/out", "b", "out/"},
		{"s3://b/out/x/", "b", "out/x/"},
		{"s3://b/out/../x", "", ""},
		{"s3://b/a//b", "", ""},
		{"s3:///out", "", ""},
		{"gs://b/out", "", ""},
		{"s3://b/out?x=1", "", ""},
		{"/local/dir", "", ""},
	} {
		bucket, prefix, err := s3folder.ParseURL(c.in)
		if bad := c.bucket == ""; bad != (err != nil) || bucket != c.bucket || prefix != c.prefix {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q (error: %v)", c.in, bucket, prefix, err, c.bucket, c.prefix, bad)
		}
	}
}

// TestPaths: Path is the object's URL, the folder's without a slash.
func TestPaths(t *testing.T) {
	f := s3folder.New(nil, "b", "out/", nil)
	if got := f.Path(""); got != "s3://b/out" {
		t.Errorf("Path(\"\") = %q", got)
	}
	if got := f.Path("_pipe_units/unit-00001.json"); got != "s3://b/out/_pipe_units/unit-00001.json" {
		t.Errorf("Path(name) = %q", got)
	}
	if got := s3folder.New(nil, "b", "", nil).Path("x"); got != "s3://b/x" {
		t.Errorf("Path at the bucket's root = %q", got)
	}
}

// TestConditionalManifest: the manifest write is conditional on the version
// this Folder saw, so of two committers that read the same manifest only
// the first replaces it, and a first write does not replace one another
// wrote meanwhile; other files are plain puts.
func TestConditionalManifest(t *testing.T) {
	s := startServer(t)
	ctx := t.Context()
	u := s.url()
	a, b := s.open(t, u), s.open(t, u)
	const m = stages.ManifestFile
	// Both see no manifest; a creates it; b's create must fail.
	for _, f := range []*s3folder.Folder{a, b} {
		if _, err := f.ReadFile(ctx, m); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadFile of the missing manifest: %v", err)
		}
	}
	if err := a.WriteFileAtomic(ctx, m, []byte("gen 1")); err != nil {
		t.Fatalf("first create: %v", err)
	}
	err := b.WriteFileAtomic(ctx, m, []byte("gen 1 by b"))
	if !errors.Is(err, s3folder.ErrConditionFailed) || !strings.Contains(err.Error(), u+"/"+m) {
		t.Fatalf("second create: %v; want ErrConditionFailed naming %s/%s", err, u, m)
	}
	// Both read gen 1; a replaces it; b's replace must fail.
	for _, f := range []*s3folder.Folder{a, b} {
		if got, err := f.ReadFile(ctx, m); err != nil || string(got) != "gen 1" {
			t.Fatalf("ReadFile = %q, %v", got, err)
		}
	}
	if err := a.WriteFileAtomic(ctx, m, []byte("gen 2")); err != nil {
		t.Fatalf("replace on the version read: %v", err)
	}
	if err := b.WriteFileAtomic(ctx, m, []byte("gen 2 by b")); !errors.Is(err, s3folder.ErrConditionFailed) {
		t.Fatalf("replace on a stale version: %v; want ErrConditionFailed", err)
	}
	// a's own successive writes need no read in between.
	if err := a.WriteFileAtomic(ctx, m, []byte("gen 3")); err != nil {
		t.Fatalf("replace after its own write: %v", err)
	}
	if got, _ := b.ReadFile(ctx, m); string(got) != "gen 3" {
		t.Errorf("manifest = %q, want a's gen 3", got)
	}
	// A name not made conditional is a plain put either way.
	for _, f := range []*s3folder.Folder{a, b, a} {
		if err := f.WriteFileAtomic(ctx, "_pipe_units/unit-00000.json", []byte("{}")); err != nil {
			t.Errorf("plain put: %v", err)
		}
	}
}

// TestErrors: a missing bucket, refused credentials and names that leave
// the folder are errors of their kind, naming the URL.
func TestErrors(t *testing.T) {
	s := startServer(t)
	ctx := t.Context()
	nb := s.open(t, "s3://no-such-bucket/out")
	_, err := nb.List(ctx, "")
	if !errors.Is(err, s3folder.ErrNoSuchBucket) || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "s3://no-such-bucket/out") {
		t.Errorf("List in a missing bucket: %v; want ErrNoSuchBucket naming the URL", err)
	}
	if err := nb.WriteMarker(ctx, "_SUCCESS"); !errors.Is(err, s3folder.ErrNoSuchBucket) {
		t.Errorf("put in a missing bucket: %v; want ErrNoSuchBucket", err)
	}
	f := s.open(t, s.url())
	for _, name := range []string{"../x", "/x", "a//b", "a/./b"} {
		if err := f.WriteMarker(ctx, name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("WriteMarker(%q): %v; want fs.ErrInvalid", name, err)
		}
	}
	if err := f.Remove(ctx, ""); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Remove of the folder itself: %v; want fs.ErrInvalid", err)
	}
	if err := f.WriteMarker(ctx, "_pipe_units/unit-00000.json"); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(ctx, "_pipe_units"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove of a folder holding a file: %v; want refused", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	bad := s.open(t, s.url())
	if _, err := bad.List(ctx, ""); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("List with a wrong secret: %v; want fs.ErrPermission", err)
	}
}

// TestPaging: List and RemoveAll page through more keys than one
// ListObjectsV2 or DeleteObjects call takes (1,000).
func TestPaging(t *testing.T) {
	s := startServer(t)
	ctx := t.Context()
	f := s.open(t, s.url())
	const n = 1003
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error { return f.WriteMarker(gctx, fmt.Sprintf("_pipe_units/unit-%05d.json", i)) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	ents, err := f.List(ctx, "_pipe_units")
	if err != nil || len(ents) != n || ents[n-1].Name != fmt.Sprintf("unit-%05d.json", n-1) {
		t.Fatalf("List = %d entries, %v; want %d, the last unit-%05d.json", len(ents), err, n, n-1)
	}
	if err := f.RemoveAll(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if ents, err := f.List(ctx, ""); err != nil || len(ents) != 0 {
		t.Errorf("after RemoveAll: %d entries, %v; want none", len(ents), err)
	}
}

// TestStatFolder: a prefix with keys under it is a folder; the folder
// itself is one; a listing is in name order, not S3's key order.
func TestStatFolder(t *testing.T) {
	s := startServer(t)
	ctx := t.Context()
	f := s.open(t, s.url())
	if err := f.WriteMarker(ctx, "_pipe_shards/deep/x"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "_pipe_shards", "_pipe_shards/deep"} {
		if e, err := f.Stat(ctx, name); err != nil || !e.Type.IsDir() {
			t.Errorf("Stat(%q) = %+v, %v; want a folder", name, e, err)
		}
	}
	if _, err := f.Stat(ctx, "_pipe_sh"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a mere key prefix: %v; want fs.ErrNotExist", err)
	}
	// Keys sort "_pipe_shards-x" before "_pipe_shards/"; names do not.
	if err := f.WriteMarker(ctx, "_pipe_shards-x"); err != nil {
		t.Fatal(err)
	}
	ents, err := f.List(ctx, "")
	if err != nil || len(ents) != 2 || ents[0].Name != "_pipe_shards" || !ents[0].Type.IsDir() || ents[1].Name != "_pipe_shards-x" {
		t.Errorf("List = %+v, %v; want the folder _pipe_shards, then the file _pipe_shards-x", ents, err)
	}
}
