package source

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// requestLog records the requests the sources' client sends: the keys of
// the objects fetched (GET of a key) and the prefixes listed.
type requestLog struct {
	mu     sync.Mutex
	gets   []string // keys below the bucket
	listed []string // prefix of each ListObjectsV2
}

// record notes the request r to bucket.
func (l *requestLog) record(r *http.Request, bucket string) {
	if r.Method != http.MethodGet {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	q := r.URL.Query()
	if q.Has("list-type") {
		l.listed = append(l.listed, q.Get("prefix"))
		return
	}
	key, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/"+bucket+"/"))
	l.gets = append(l.gets, key)
}

// under returns the entries of s that start with one of prefixes.
func under(s, prefixes []string) []string {
	var out []string
	for _, x := range s {
		for _, p := range prefixes {
			if strings.HasPrefix(x, p) {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

type loggingTransport struct {
	log    *requestLog
	bucket string
}

func (t loggingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.log.record(r, t.bucket)
	return http.DefaultTransport.RoundTrip(r)
}

// logRequests makes the sources' client record its requests to bucket.
func logRequests(t *testing.T, client *s3.Client, bucket string) *requestLog {
	log := &requestLog{}
	logging := s3.New(client.Options(), func(o *s3.Options) {
		o.HTTPClient = &http.Client{Transport: loggingTransport{log: log, bucket: bucket}}
	})
	was := objectClient
	objectClient = func(context.Context) (*s3.Client, error) { return logging, nil }
	t.Cleanup(func() { objectClient = was })
	return log
}

// hiveObjectCases are the partitioned reads TestHiveObjects compares; the
// corrupt folders (below data/) hold a file that fails any source that
// reads it, and pruned are the prefixes (below data/) that must be neither
// fetched nor, when listed is false, listed.
var hiveObjectCases = []struct {
	name, with string
	corrupt    []string
	pruned     []string
	listed     bool // the pruned prefixes are listed (pruned by a key below them)
}{
	{name: "inferred types", with: "paths: [\"PATH\"]"},
	{name: "declared date32 and both keys", with: "paths: [\"PATH\"]\npartition_types: {dt: date32}\npartitions: \"dt >= '2026-12-01' and region = 'eu'\"",
		corrupt: []string{"dt=2026-11-29/region=eu", "dt=2026-12-01/region=xx"},
		pruned:  []string{"dt=2026-11-29/", "dt=2026-11-30/", "dt=2026-12-01/region=us/", "dt=2026-12-01/region=xx/", "dt=2026-12-07/"}, listed: true},
	{name: "first key unlisted", with: "paths: [\"PATH\"]\npartition_types: {dt: date32}\npartitions: \"dt > '2026-11-30'\"",
		corrupt: []string{"dt=2026-11-29/region=eu", "dt=2026-11-28/not-a-partition"},
		pruned:  []string{"dt=2026-11-28/", "dt=2026-11-29/", "dt=2026-11-30/"}},
	{name: "first key without a trap", with: "paths: [\"PATH\"]\npartition_types: {dt: date32}\npartitions: \"dt > '2026-11-30'\"",
		pruned: []string{"dt=2026-11-30/"}},
	{name: "null and escaped values", with: "paths: [\"PATH\"]\npartitions: \"region is null or region = 'a/b=c'\"",
		pruned: []string{"dt=2026-11-30/region=eu/", "dt=2026-12-01/region=eu/", "dt=2026-12-01/region=us/"}, listed: true},
	{name: "glob", with: "paths: [\"PATH/*/*/*.EXT\"]\npartitions: \"region = 'us'\"",
		pruned: []string{"dt=2026-11-30/", "dt=2026-12-01/region=eu/", "dt=2026-12-07/"}, listed: true},
}

// TestHiveObjects reads the partitioned tree of TestHivePartitions, with
// every file source, from a bucket and from a local copy: the rows, the
// partition columns' values and types (null and escaped values included),
// the files listed and those pruned are the same, and no object under a
// pruned prefix is fetched (nor listed, when the pruning key is the
// first).
func TestHiveObjects(t *testing.T) {
	client, bucket := startObjects(t)
	for _, f := range hiveFormats {
		for ci, tc := range hiveObjectCases {
			t.Run(f.typ+"/"+tc.name, func(t *testing.T) {
				mem := stagetest.Mem(t)
				dir := t.TempDir()
				root := makeHiveTree(t, mem, dir, f.ext)
				for _, c := range tc.corrupt {
					corruptFile(t, filepath.Join(root, filepath.FromSlash(c), "part-0."+f.ext))
				}
				prefix := fmt.Sprintf("%s/%d/", f.ext, ci)
				objs := map[string][]byte{}
				for k, v := range uploadDir(t, dir) {
					objs[prefix+k] = v
				}
				putObjects(t, client, bucket, objs)
				with := strings.ReplaceAll(tc.with, ".EXT", "."+f.ext) + "\npartitioning: hive\nbatch_rows: 2"
				read := func(root string) (stages.Source, []arrow.RecordBatch) {
					src, err := build(t, mem, f.typ, strings.ReplaceAll(with, "PATH", root), "")
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { src.Close() })
					recs, err := drainRecs(t, src)
					if err != nil {
						t.Fatal(err)
					}
					return src, recs
				}
				local, want := read(root)
				log := logRequests(t, client, bucket)
				objRoot := "s3://" + bucket + "/" + prefix + "data"
				obj, got := read(objRoot)
				sameRows(t, mem, "bucket", got, want)
				if len(got) == 0 || !got[0].Schema().Equal(want[0].Schema()) || !obj.Schema().Equal(local.Schema()) {
					t.Fatalf("schema %v, want the local tree's %v", obj.Schema(), local.Schema())
				}
				sameListing(t, local, obj, root, objRoot)
				sameLastUnit(t, mem, local, obj, root, objRoot)
				var pruned []string
				for _, p := range tc.pruned {
					pruned = append(pruned, prefix+"data/"+p)
				}
				if g := under(log.gets, pruned); len(g) > 0 {
					t.Errorf("fetched %q under the pruned prefixes %q", g, tc.pruned)
				}
				if l := under(log.listed, pruned); !tc.listed && len(l) > 0 {
					t.Errorf("listed %q under the pruned prefixes %q", l, tc.pruned)
				}
				if len(log.gets) == 0 {
					t.Error("no object fetched: the test did not read the bucket")
				}
			})
		}
	}
}

// sameListing checks that obj lists the files and skipped notes of local,
// with objRoot for root.
func sameListing(t *testing.T, local, obj stages.Source, root, objRoot string) {
	t.Helper()
	rel := func(m []string, notes []stages.FileNote, base string) []string {
		var out []string
		for _, p := range m {
			out = append(out, "read "+strings.TrimPrefix(filepath.ToSlash(p), base))
		}
		for _, n := range notes {
			out = append(out, n.Reason+": "+strings.TrimPrefix(filepath.ToSlash(n.Path), base))
		}
		slices.Sort(out)
		return out
	}
	lm, ls := local.(stages.InputLister).InputFiles()
	om, os := obj.(stages.InputLister).InputFiles()
	if w, g := rel(lm, ls, filepath.ToSlash(root)), rel(om, os, objRoot); !slices.Equal(g, w) {
		t.Errorf("listing\n%q\nwant the local tree's\n%q", g, w)
	}
}

// TestHiveObjectErrors checks that partitioned reads of a bucket fail as
// those of folders do, naming the URL: a prefix holding nothing, and a
// "folder" that is not key=value.
func TestHiveObjectErrors(t *testing.T) {
	client, bucket := startObjects(t)
	putObjects(t, client, bucket, map[string][]byte{"bad/dt=1/x.csv": []byte("id\n1\n"), "bad/other/x.csv": []byte("id\n2\n")})
	root := "s3://" + bucket + "/"
	for _, tc := range []struct{ name, path, want string }{
		{"nothing under the prefix", root + "missing/", root + "missing/|matches no file"},
		{"not key=value", root + "bad", root + "bad/other|outside the partition layout|layout dt=..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, stagetest.Mem(t), "csv_source", fmt.Sprintf("{paths: [%q], partitioning: hive}", tc.path), "")
			wantErr(t, err, tc.want)
		})
	}
}

// sameLastUnit checks that obj has the units of local, keyed by objRoot
// for root, and that a shard of its last unit reads the rows, partition
// columns included, of local's.
func sameLastUnit(t *testing.T, mem memory.Allocator, local, obj stages.Source, root, objRoot string) {
	t.Helper()
	lu, ou := local.(stages.Sharder).Units(0), obj.(stages.Sharder).Units(0)
	if len(ou) != len(lu) || len(ou) == 0 {
		t.Fatalf("%d units, want %d as for the local tree", len(ou), len(lu))
	}
	for i := range ou {
		if strings.TrimPrefix(ou[i].Key, objRoot) != strings.TrimPrefix(filepath.ToSlash(lu[i].Key), filepath.ToSlash(root)) {
			t.Errorf("unit %d keyed %s, want the local tree's %s", i, ou[i].Key, lu[i].Key)
		}
	}
	shard := func(s stages.Source, n int) []arrow.RecordBatch {
		sh, err := s.(stages.Sharder).Shard(0, []int{n - 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sh.Close() })
		recs, err := drainRecs(t, sh)
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	sameRows(t, mem, "last unit", shard(obj, len(ou)), shard(local, len(lu)))
}
