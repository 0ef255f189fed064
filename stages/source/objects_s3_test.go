package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/s3test"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// startObjects starts an S3 server and points the sources' client at it
// through the environment, as a user would (AWS_ENDPOINT_URL,
// PIPE_S3_PATH_STYLE=1, credentials from the standard chain).
func startObjects(t *testing.T) (*s3.Client, string) {
	t.Helper()
	endpoint, bucket := s3test.Start(t)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("PIPE_S3_PATH_STYLE", "1")
	return s3test.Client(endpoint), bucket
}

// putObjects uploads every key → body of objs, eight at a time.
func putObjects(t *testing.T, client *s3.Client, bucket string, objs map[string][]byte) {
	t.Helper()
	keys := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				_, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(objs[k])})
				if err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, fmt.Errorf("put %s: %w", k, err))
					mu.Unlock()
				}
			}
		}()
	}
	for k := range objs {
		keys <- k
	}
	close(keys)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// cmpOr returns a when it is not nil, else b.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func TestObjectPaths(t *testing.T) {
	client, bucket := startObjects(t)
	const many = 1100 // more than one ListObjectsV2 page (versitygw pages at 1000)
	objs := map[string][]byte{}
	var want []string
	for i := range many {
		k := fmt.Sprintf("many/part-%05d.parquet", i)
		objs[k] = []byte("x")
		want = append(want, "s3://"+bucket+"/"+k)
	}
	for _, k := range []string{"many/notes.csv", "many/.hidden.parquet", "many/_tmp/a.parquet", "many/sub/deep.parquet", "one.parquet"} {
		objs[k] = []byte("x")
	}
	putObjects(t, client, bucket, objs)
	url := func(k string) string { return "s3://" + bucket + "/" + k }
	exts := []string{".parquet"}

	t.Run("glob pages through the prefix", func(t *testing.T) {
		got, err := expandPaths([]stages.Path{stages.Path(url("many/*.parquet"))}, exts)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got %d objects (first %v), want %d: the %d objects of many/, without sub/, _tmp/ and .hidden", len(got), got[:min(3, len(got))], len(want), many)
		}
	})
	t.Run("folder", func(t *testing.T) {
		l, err := listPaths([]stages.Path{stages.Path(url("many"))}, exts)
		if err != nil {
			t.Fatal(err)
		}
		wantAll := append(slices.Clone(want), url("many/sub/deep.parquet"))
		slices.Sort(wantAll)
		if !slices.Equal(l.matched, wantAll) {
			t.Errorf("matched %d objects, want %d (with sub/deep.parquet)", len(l.matched), len(wantAll))
		}
		var notes []string
		for _, n := range l.skipped {
			notes = append(notes, strings.TrimPrefix(n.Path, url(""))+": "+n.Reason)
		}
		wantNotes := []string{"many/.hidden.parquet: name starts with .", "many/_tmp/a.parquet: name starts with _", "many/notes.csv: extension"}
		if !slices.Equal(notes, wantNotes) {
			t.Errorf("skipped %q, want %q", notes, wantNotes)
		}
	})
	t.Run("one object", func(t *testing.T) {
		l, err := listPaths([]stages.Path{stages.Path(url("one.parquet"))}, exts)
		if err != nil {
			t.Fatal(err)
		}
		o := l.object(url("one.parquet"))
		if !slices.Equal(l.matched, []string{url("one.parquet")}) || o == nil || o.size != 1 || o.etag == "" {
			t.Errorf("matched %q, object %+v; want one.parquet of 1 byte with an ETag", l.matched, o)
		}
	})
	for _, tc := range []struct{ name, path, want string }{
		{"no match", url("many/*.csvx"), "matches no file"},
		{"missing key", url("nothing.parquet"), "matches no file"},
		{"no bucket", "s3:///k.parquet", "want s3://bucket/key"},
		{"bad pattern", url("many/[.parquet"), "syntax error in pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := expandPaths([]stages.Path{stages.Path(tc.path)}, exts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("err %v, want one naming %q and saying %q", err, tc.path, tc.want)
			}
		})
	}
}

// countingTransport counts the GET requests it carries and the bytes of
// their response bodies.
type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64 // bytes
	gets *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet {
		c.gets.Add(1)
	}
	resp, err := c.base.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: c.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// countFetched makes the sources' client count the bytes it receives and
// its GET requests.
func countFetched(t *testing.T, client *s3.Client) (bytes, gets *atomic.Int64) {
	var n, g atomic.Int64
	counting := s3.New(client.Options(), func(o *s3.Options) {
		o.HTTPClient = &http.Client{Transport: countingTransport{base: http.DefaultTransport, n: &n, gets: &g}}
	})
	was := objectClient
	objectClient = func(context.Context) (*s3.Client, error) { return counting, nil }
	t.Cleanup(func() { objectClient = was })
	return &n, &g
}

func TestParquetObjects(t *testing.T) {
	client, bucket := startObjects(t)
	mem := stagetest.Mem(t)
	recs := genRecords(t, mem, `{count: 40000, batch_rows: 10000, seed: 3, columns: [{name: id, type: int64}, {name: a, type: float64}, {name: b, type: float64}, {name: s, type: string}]}`)
	defer stagetest.Release(recs)
	local := filepath.Join(t.TempDir(), "t.parquet")
	writeParquet(t, local, recs, 10000)
	data, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	putObjects(t, client, bucket, map[string][]byte{"d/t.parquet": data})
	fetched, gets := countFetched(t, client)

	for _, tc := range []struct {
		name    string
		columns []string
		most    float64 // largest share of the object fetched
		chunks  int64   // column chunks read: 4 row groups of the columns
	}{
		{"all columns", nil, 1.01, 4 * 4},
		{"one column of four", []string{"a"}, 0.5, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := func(path string) []arrow.RecordBatch {
				src, err := NewParquet(ParquetConfig{Paths: []stages.Path{stages.Path(path)}, Columns: tc.columns, BatchRows: 4096}, mem)
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				got, err := drainRecs(t, src)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			want := read(local)
			fetched.Store(0)
			gets.Store(0)
			got := read("s3://" + bucket + "/d/t.parquet")
			if len(want) == 0 {
				t.Fatal("the file read no rows")
			}
			sameRows(t, mem, "object", got, want)
			n := fetched.Load()
			t.Logf("fetched %d of %d bytes", n, len(data))
			if n == 0 || float64(n) > tc.most*float64(len(data)) {
				t.Errorf("fetched %d bytes of an object of %d, want at most %.0f%%", n, len(data), 100*tc.most)
			}
			// The footer takes 3 reads (head, tail, footer); each chunk, of
			// more than the reader's 64 KiB buffer, one prefetched GET.
			if g := gets.Load(); g > 3+tc.chunks {
				t.Errorf("%d GET requests, want at most %d: 3 for the footer, one per column chunk", g, 3+tc.chunks)
			}
		})
	}
}

func TestParquetObjectChanged(t *testing.T) {
	client, bucket := startObjects(t)
	mem := stagetest.Mem(t)
	recs := genRecords(t, mem, `{count: 3000, seed: 1, columns: [{name: id, type: int64}]}`)
	defer stagetest.Release(recs)
	local := filepath.Join(t.TempDir(), "t.parquet")
	writeParquet(t, local, recs, 1000)
	data, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	putObjects(t, client, bucket, map[string][]byte{"t.parquet": data})
	url := "s3://" + bucket + "/t.parquet"
	src, err := NewParquet(ParquetConfig{Paths: []stages.Path{stages.Path(url)}, BatchRows: 1000}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if v := src.ObjectVersions(); len(v) != 1 || v[0].URL != url || v[0].Size != int64(len(data)) || v[0].ETag == "" {
		t.Errorf("object versions %+v, want %s of %d bytes with its ETag", v, url, len(data))
	}
	src.keyBase = "." // a job folder never makes a URL relative
	if u := src.Units(1000); len(u) != 3 || u[0].Key != url+"#rg0" {
		t.Errorf("units %+v, want 3 keyed %s#rgN", u, url)
	}
	// Replaced between listing and reading: the reads must not mix versions.
	putObjects(t, client, bucket, map[string][]byte{"t.parquet": append(slices.Clone(data), ' ')})
	_, err = drainRecs(t, src)
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), url) {
		t.Fatalf("err %v, want a FileError naming %s", err, url)
	}
}

func TestTextObjects(t *testing.T) {
	client, bucket := startObjects(t)
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	var csv, jsonl strings.Builder
	csv.WriteString("id,name\n")
	for i := range 5000 {
		fmt.Fprintf(&csv, "%d,n%d\n", i, i)
		fmt.Fprintf(&jsonl, "{\"id\": %d, \"name\": \"n%d\"}\n", i, i)
	}
	files := map[string][]byte{"t/a.csv": []byte(csv.String()), "t/a.jsonl": []byte(jsonl.String())}
	for k, v := range files {
		writeFile(t, filepath.Join(dir, filepath.Base(k)), string(v))
	}
	putObjects(t, client, bucket, files)
	for _, tc := range []struct{ typ, name string }{{"csv_source", "a.csv"}, {"jsonl_source", "a.jsonl"}} {
		t.Run(tc.typ, func(t *testing.T) {
			read := func(path string) []arrow.RecordBatch {
				src, err := build(t, mem, tc.typ, fmt.Sprintf("{paths: [%q], batch_rows: 1000}", path), "")
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				got, err := drainRecs(t, src)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			want := read(filepath.Join(dir, tc.name))
			if stagetest.Rows(want) != 5000 {
				t.Fatalf("the file read %d rows, want 5000", stagetest.Rows(want))
			}
			sameRows(t, mem, tc.typ, read("s3://"+bucket+"/t/*"+filepath.Ext(tc.name)), want)
		})
	}
}

func TestFilesObjects(t *testing.T) {
	client, bucket := startObjects(t)
	mem := stagetest.Mem(t)
	objs := map[string][]byte{"img/a.png": []byte("alpha"), "img/b.png": bytes.Repeat([]byte("b"), 3000), "img/c.txt": []byte("skip")}
	putObjects(t, client, bucket, objs)
	// batch_bytes of 2000 puts b.png in a batch of its own after a.png.
	src, err := build(t, mem, "files_source", fmt.Sprintf("{paths: [%q], extensions: [.png], batch_bytes: 2000}", "s3://"+bucket+"/img/"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	recs, err := drainRecs(t, src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		paths, data := r.Column(0).(*array.String), r.Column(3).(*array.Binary)
		for i := range int(r.NumRows()) {
			got = append(got, paths.Value(i)+"="+string(data.Value(i)[:min(5, len(data.Value(i)))])+fmt.Sprint(len(data.Value(i))))
		}
	}
	want := []string{"s3://" + bucket + "/img/a.png=alpha5", "s3://" + bucket + "/img/b.png=bbbbb3000"}
	if len(recs) != 2 || !slices.Equal(got, want) {
		t.Errorf("%d batches of %q, want 2 of %q", len(recs), got, want)
	}
}
