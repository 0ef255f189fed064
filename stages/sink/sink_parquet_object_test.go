package sink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/s3test"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// bucket is a running test S3 server and its bucket.
type bucket struct {
	endpoint, name string
	client         *s3.Client
}

// startBucket starts the S3 server and points the SDK's environment at it
// (the sink opens s3:// paths with the environment's settings).
func startBucket(t *testing.T) *bucket {
	endpoint, name := s3test.Start(t)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("PIPE_S3_PATH_STYLE", "1")
	return &bucket{endpoint: endpoint, name: name, client: s3test.Client(endpoint)}
}

// objects returns the keys under prefix and each object's SHA-256, and
// the number of multipart uploads still open in the bucket.
func (b *bucket) objects(t *testing.T, prefix string) (map[string]string, int) {
	t.Helper()
	ctx := t.Context()
	out := map[string]string{}
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.name, Prefix: aws.String(prefix + "/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			get, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			_, err = io.Copy(h, get.Body)
			get.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			out[strings.TrimPrefix(aws.ToString(o.Key), prefix+"/")] = hex.EncodeToString(h.Sum(nil))
		}
	}
	ups, err := b.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b.name})
	if err != nil {
		t.Fatal(err)
	}
	return out, len(ups.Uploads)
}

// localFiles returns the files under dir (pipe's _ folders left out) and
// each one's SHA-256.
func localFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rel := range partFiles(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		out[rel] = digestHex(b)
	}
	return out
}

// newSinkAt builds a parquet_sink writing to path with conf's other keys.
func newSinkAt(t *testing.T, mem memory.Allocator, conf ParquetConfig, path string, schema *arrow.Schema, prefix string) *ParquetSink {
	t.Helper()
	conf.Path = stages.Path(path)
	s, err := NewParquet(conf, &stages.Env{Inputs: []*arrow.Schema{schema}, Mem: mem, PartPrefix: prefix})
	if err != nil {
		t.Fatalf("NewParquet(%s): %v", path, err)
	}
	s.conf.skipSync = true
	return s
}

// TestParquetObjectSameBytes: the same rows written to a bucket and to a
// local folder give the same files, byte for byte, and the same
// OutputFiles (rows, bytes, SHA-256), with and without partition_by and
// with files larger than a part (multipart uploads).
func TestParquetObjectSameBytes(t *testing.T) {
	b := startBucket(t)
	tests := []struct {
		name   string
		schema *arrow.Schema
		batch  func(memory.Allocator) []arrow.RecordBatch
		conf   func(*ParquetConfig)
	}{
		{"multipart files", benchSchema(), func(mem memory.Allocator) []arrow.RecordBatch { return cutBatches(mem, 300_000, 7000, 65536) },
			func(c *ParquetConfig) { c.MaxRowsPerFile, c.PartSize, c.Compression = 200_000, minPartSize, "none" }},
		{"small files", benchSchema(), func(mem memory.Allocator) []arrow.RecordBatch { return cutBatches(mem, 2500, 999) },
			func(c *ParquetConfig) { c.MaxRowsPerFile = 1000 }},
		{"partitioned", partSchema(), func(mem memory.Allocator) []arrow.RecordBatch { return partBatches(mem, 5000, 700) },
			func(c *ParquetConfig) { c.PartitionBy = []string{"dt", "region"}; c.MaxRowsPerFile = 400 }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			conf := DefaultParquetConfig()
			tc.conf(&conf)
			recs := tc.batch(mem)
			defer stagetest.Release(recs)
			local := filepath.Join(t.TempDir(), "out")
			url := "s3://" + b.name + "/same-" + string(rune('a'+i))
			var got [2][]stages.OutputFile
			for j, path := range []string{local, url} {
				s := newSinkAt(t, mem, conf, path, tc.schema, "part-00003")
				writeAll(t, s, recs)
				got[j] = s.OutputFiles()
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			objs, pending := b.objects(t, strings.TrimPrefix(url, "s3://"+b.name+"/"))
			files := localFiles(t, local)
			if len(files) < 2 || !mapsEqual(objs, files) {
				t.Errorf("bucket holds %v\nlocal folder holds %v", objs, files)
			}
			if pending != 0 {
				t.Errorf("%d multipart uploads left open", pending)
			}
			for k := range got[0] {
				l, o := got[0][k], got[1][k]
				if o.Path != url+"/"+strings.TrimPrefix(filepath.ToSlash(l.Path), filepath.ToSlash(local)+"/") ||
					o.Rows != l.Rows || o.Bytes != l.Bytes || o.SHA256 != l.SHA256 || o.SHA256 != objs[strings.TrimPrefix(o.Path, url+"/")] {
					t.Errorf("file %d: bucket %+v, local %+v", k, o, l)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestParquetObjectAbort: an aborted sink leaves no object of its own and
// no open multipart upload, and a unit's sink replaces its own earlier
// files and leaves other units' alone.
func TestParquetObjectAbort(t *testing.T) {
	b := startBucket(t)
	mem := stagetest.Mem(t)
	ctx := context.Background()
	url := "s3://" + b.name + "/abort"
	for _, name := range []string{"part-00001-00000.parquet", "part-00001-00003.parquet", "part-00002-00000.parquet"} {
		if _, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.name, Key: aws.String("abort/" + name), Body: strings.NewReader("old")}); err != nil {
			t.Fatal(err)
		}
	}
	conf := DefaultParquetConfig()
	conf.MaxRowsPerFile, conf.PartSize, conf.Compression = 100_000, minPartSize, "none"
	recs := cutBatches(mem, 250_000, 65536)
	defer stagetest.Release(recs)
	s := newSinkAt(t, mem, conf, url, benchSchema(), "part-00001")
	for _, r := range recs {
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil { // no Commit: aborts, with a file half sent
		t.Fatal(err)
	}
	objs, pending := b.objects(t, "abort")
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range objs {
			if !yield(k) {
				return
			}
		}
	})
	// The files this attempt wrote are gone (on a bucket it writes straight
	// to the final names: part-00001-00000 replaced the earlier attempt's,
	// which no manifest lists); the others stay until a sink of the unit
	// commits.
	if want := []string{"part-00001-00003.parquet", "part-00002-00000.parquet"}; !slices.Equal(names, want) || pending != 0 {
		t.Fatalf("after Abort: objects %v, %d uploads open; want %v and none", names, pending, want)
	}
	s = newSinkAt(t, mem, conf, url, benchSchema(), "part-00001")
	writeAll(t, s, recs[:1])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	objs, _ = b.objects(t, "abort")
	if _, ok := objs["part-00001-00003.parquet"]; ok || objs["part-00002-00000.parquet"] != digestHex([]byte("old")) || len(objs) != 2 {
		t.Errorf("after the unit's commit: %v; want its one new file and unit 2's old one", objs)
	}
}

// TestParquetObjectAbortPartitioned: an aborted partitioned sink leaves
// none of the files it completed in its partition folders.
func TestParquetObjectAbortPartitioned(t *testing.T) {
	b := startBucket(t)
	mem := stagetest.Mem(t)
	conf := DefaultParquetConfig()
	conf.PartitionBy, conf.MaxRowsPerFile = []string{"dt", "region"}, 300
	recs := partBatches(mem, 5000, 700)
	defer stagetest.Release(recs)
	s := newSinkAt(t, mem, conf, "s3://"+b.name+"/abort-part", partSchema(), "part-00004")
	for _, r := range recs {
		if err := s.Write(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.OutputFiles()) == 0 {
		t.Fatal("no file completed before the abort: the test proves nothing")
	}
	if err := s.Abort(); err != nil {
		t.Fatal(err)
	}
	if objs, pending := b.objects(t, "abort-part"); len(objs) != 0 || pending != 0 {
		t.Errorf("after Abort: objects %v, %d uploads open; want none", objs, pending)
	}
}

// TestParquetObjectErrors: a bucket that does not exist, or a part size
// S3 refuses, fail when the sink is built, naming the URL or the key.
func TestParquetObjectErrors(t *testing.T) {
	b := startBucket(t)
	mem := stagetest.Mem(t)
	conf := DefaultParquetConfig()
	conf.Path = "s3://no-such-bucket/out"
	_, err := NewParquet(conf, &stages.Env{Inputs: []*arrow.Schema{benchSchema()}, Mem: mem})
	if err == nil || !strings.Contains(err.Error(), "s3://no-such-bucket/out") || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("missing bucket: %v; want an error naming the URL and NoSuchBucket", err)
	}
	conf.Path = stages.Path("s3://" + b.name + "/out")
	conf.PartSize = 1 << 20
	_, err = NewParquet(conf, &stages.Env{Inputs: []*arrow.Schema{benchSchema()}, Mem: mem})
	if err == nil || !strings.Contains(err.Error(), "part_size") {
		t.Errorf("1 MiB parts: %v; want a part_size error", err)
	}
	conf.Path, conf.PartSize = "s3://"+stages.Path(b.name)+"/a/../b", DefaultPartSize
	if _, err = NewParquet(conf, &stages.Env{Inputs: []*arrow.Schema{benchSchema()}, Mem: mem}); err == nil || !errors.Is(err, err) || !strings.Contains(err.Error(), "/a/../b") {
		t.Errorf("unclean URL: %v; want an error naming it", err)
	}
}
