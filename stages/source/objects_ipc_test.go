package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/faultproxy"
	"github.com/pipe-ml/pipe/internal/s3test"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// uploadDir uploads every file under dir to bucket, keyed by its path
// below dir, and returns the keys.
func uploadDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	objs := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		objs[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// readIPC reads src whole; the batches are released when the test ends.
func readIPC(t *testing.T, src *IPC) []arrow.RecordBatch {
	t.Helper()
	got, err := drainRecs(t, src)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestIPCObjects reads Arrow IPC files (file format, plain and zstd) and
// streams from a bucket: the rows, row counts, units and shards are those
// of the same files read locally, and the fingerprint lists each object.
func TestIPCObjects(t *testing.T) {
	client, bucket := startObjects(t)
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 2500, batch_rows: 1000, seed: 4, columns: [{name: id, type: int64}, {name: s, type: string, null_fraction: 0.3}, {name: v, type: vector, dims: 2}]}`)
	writeIPC(t, filepath.Join(dir, "a.arrow"), recs, true)
	writeIPC(t, filepath.Join(dir, "b.arrows"), recs, false)
	writeIPC(t, filepath.Join(dir, "c.arrow"), recs, true, ipc.WithZstd())
	stagetest.Release(recs)
	objs := uploadDir(t, dir)
	putObjects(t, client, bucket, objs)
	for _, name := range []string{"a.arrow", "b.arrows", "c.arrow"} {
		t.Run(name, func(t *testing.T) {
			url := "s3://" + bucket + "/" + name
			open := func(path string) *IPC {
				src, err := NewIPC(IPCConfig{Paths: []stages.Path{stages.Path(path)}, BatchRows: 700, MaxBatchBytes: 1 << 20}, mem)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { src.Close() })
				return src
			}
			local, obj := open(filepath.Join(dir, name)), open(url)
			want := readIPC(t, local)
			if stagetest.Rows(want) != 2500 {
				t.Fatalf("the file read %d rows, want 2500", stagetest.Rows(want))
			}
			got := readIPC(t, obj)
			sameRows(t, mem, "object", got, want)
			if n, _ := obj.TotalRows(); n != 2500 {
				t.Errorf("TotalRows %d, want 2500", n)
			}
			if v := obj.ObjectVersions(); len(v) != 1 || v[0].URL != url || v[0].Size != int64(len(objs[name])) || v[0].ETag == "" {
				t.Errorf("object versions %+v, want %s of %d bytes with its ETag", v, url, len(objs[name]))
			}
			compareIPCUnits(t, mem, local, obj, url)
		})
	}
}

// compareIPCUnits checks that obj (reading the object url) has the units
// of local, keyed by the URL, and that a shard of two units in reverse
// order reads the rows of the same shard of local.
func compareIPCUnits(t *testing.T, mem memory.Allocator, local, obj *IPC, url string) {
	t.Helper()
	lu, ou := local.Units(1000), obj.Units(1000)
	if len(ou) != len(lu) || len(ou) == 0 {
		t.Fatalf("%d units, want %d as for the file", len(ou), len(lu))
	}
	for i := range ou {
		if ou[i].Rows != lu[i].Rows || !strings.HasPrefix(ou[i].Key, url) || strings.TrimPrefix(ou[i].Key, url) != strings.TrimPrefix(lu[i].Key, local.files[0].path) {
			t.Errorf("unit %d: %+v, want the file's %+v keyed by %s", i, ou[i], lu[i], url)
		}
	}
	pick := []int{len(ou) - 1, 0}
	if len(ou) == 1 {
		pick = []int{0}
	}
	shard := func(s *IPC) []arrow.RecordBatch {
		sh, err := s.Shard(1000, pick)
		if err != nil {
			t.Fatal(err)
		}
		defer sh.Close()
		recs, err := stagetest.Drain(context.Background(), sh)
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	want, got := shard(local), shard(obj)
	defer stagetest.Release(want)
	defer stagetest.Release(got)
	sameRows(t, mem, fmt.Sprintf("shard %v", pick), got, want)
}

// TestIPCObjectChanged replaces an IPC object between listing and reading,
// in the file and the stream format: the read fails naming the URL rather
// than mixing versions.
func TestIPCObjectChanged(t *testing.T) {
	client, bucket := startObjects(t)
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 3000, batch_rows: 1000, seed: 1, columns: [{name: id, type: int64}]}`)
	writeIPC(t, filepath.Join(dir, "t.arrow"), recs, true)
	writeIPC(t, filepath.Join(dir, "t.arrows"), recs, false)
	stagetest.Release(recs)
	objs := uploadDir(t, dir)
	putObjects(t, client, bucket, objs)
	for _, name := range []string{"t.arrow", "t.arrows"} {
		t.Run(name, func(t *testing.T) {
			url := "s3://" + bucket + "/" + name
			src, err := NewIPC(IPCConfig{Paths: []stages.Path{stages.Path(url)}, BatchRows: 1000, MaxBatchBytes: 1 << 20}, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			putObjects(t, client, bucket, map[string][]byte{name: append(slices.Clone(objs[name]), 0, 0, 0, 0, 0, 0, 0, 0)})
			_, err = drainRecs(t, src)
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrObjectChanged) || !strings.Contains(err.Error(), url) {
				t.Fatalf("err %v, want a FileError naming %s wrapping ErrObjectChanged", err, url)
			}
		})
	}
}

// TestIPCObjectRequests counts the requests of building an ipc_source
// over an object of ten record batches: walking the message headers costs
// about one ranged GET per message (the footer's window, then one window
// per header), and fetches headers, not bodies.
func TestIPCObjectRequests(t *testing.T) {
	client, bucket := startObjects(t)
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 100000, batch_rows: 10000, seed: 4, columns: [{name: id, type: int64}, {name: s, type: string}]}`)
	writeIPC(t, filepath.Join(dir, "a.arrow"), recs, true)
	writeIPC(t, filepath.Join(dir, "b.arrows"), recs, false)
	stagetest.Release(recs)
	objs := uploadDir(t, dir)
	putObjects(t, client, bucket, objs)
	fetched, gets := countFetched(t, client)
	for _, name := range []string{"a.arrow", "b.arrows"} {
		t.Run(name, func(t *testing.T) {
			fetched.Store(0)
			gets.Store(0)
			src, err := NewIPC(IPCConfig{Paths: []stages.Path{stages.Path("s3://" + bucket + "/" + name)}, BatchRows: 10000, MaxBatchBytes: 1 << 26}, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			g, n, size := gets.Load(), fetched.Load(), int64(len(objs[name]))
			t.Logf("build: %d GETs, %d of %d bytes", g, n, size)
			if g > 10+3 || n > size/2 {
				t.Errorf("building fetched %d bytes of %d in %d GETs; want at most 13 GETs (one per message, three for the footer and schema) and half the object", n, size, g)
			}
			if got := readIPC(t, src); stagetest.Rows(got) != 100000 {
				t.Errorf("read %d rows, want 100000", stagetest.Rows(got))
			}
			t.Logf("build and read: %d GETs, %d bytes", gets.Load(), fetched.Load())
		})
	}
}

// TestIPCObjectsThroughFaults reads IPC objects, file and stream format,
// through a proxy answering 503 SlowDown, resetting connections and
// cutting bodies off half-way: the rows are those of the files.
func TestIPCObjectsThroughFaults(t *testing.T) {
	endpoint, bucket := s3test.Start(t)
	client := s3test.Client(endpoint)
	proxy := faultproxy.Start(t, endpoint, faultproxy.Faults{Seed: 7, Refuse: 0.1, Reset: 0.1, Truncate: 0.2, Slow: 0.05, Delay: 20 * time.Millisecond})
	t.Setenv("AWS_ENDPOINT_URL", proxy.URL)
	t.Setenv("PIPE_S3_PATH_STYLE", "1")
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 20000, batch_rows: 2000, seed: 2, columns: [{name: id, type: int64}, {name: s, type: string, null_fraction: 0.2}]}`)
	writeIPC(t, filepath.Join(dir, "t.arrow"), recs, true)
	writeIPC(t, filepath.Join(dir, "t.arrows"), recs, false, ipc.WithZstd())
	stagetest.Release(recs)
	putObjects(t, client, bucket, uploadDir(t, dir))
	for _, name := range []string{"t.arrow", "t.arrows"} {
		t.Run(name, func(t *testing.T) {
			read := func(path string) []arrow.RecordBatch {
				src, err := NewIPC(IPCConfig{Paths: []stages.Path{stages.Path(path)}, BatchRows: 2000, MaxBatchBytes: 1 << 24}, mem)
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				return readIPC(t, src)
			}
			want := read(filepath.Join(dir, name))
			for pass := range 2 {
				sameRows(t, mem, fmt.Sprintf("pass %d", pass), read("s3://"+bucket+"/"+name), want)
			}
		})
	}
	for k := range faultproxy.Slowed + 1 {
		if proxy.Count(k) == 0 {
			t.Errorf("no request was %s (of %d): the test did not exercise that fault", k, proxy.Requests())
		}
	}
}
