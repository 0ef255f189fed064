package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/internal/faultproxy"
	"github.com/pipe-ml/pipe/internal/s3test"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// TestObjectsThroughFaults reads Parquet, CSV and JSON lines objects
// through a proxy answering 503 SlowDown, resetting connections, cutting
// bodies off half-way and answering slowly: the rows are those of the
// files, as without faults. Requests refused or reset before an answer
// are retried by the SDK; bodies cut off are resumed from the first byte
// not read, on the same object version.
func TestObjectsThroughFaults(t *testing.T) {
	endpoint, bucket := s3test.Start(t)
	client := s3test.Client(endpoint)
	proxy := faultproxy.Start(t, endpoint, faultproxy.Faults{Seed: 5, Refuse: 0.1, Reset: 0.1, Truncate: 0.2, Slow: 0.05, Delay: 20 * time.Millisecond})
	t.Setenv("AWS_ENDPOINT_URL", proxy.URL)
	t.Setenv("PIPE_S3_PATH_STYLE", "1")
	mem := stagetest.Mem(t)
	dir := t.TempDir()

	recs := genRecords(t, mem, `{count: 40000, batch_rows: 10000, seed: 3, columns: [{name: id, type: int64}, {name: a, type: float64}, {name: s, type: string}]}`)
	defer stagetest.Release(recs)
	writeParquet(t, filepath.Join(dir, "t.parquet"), recs, 5000)
	var csv, jsonl strings.Builder
	csv.WriteString("id,name\n")
	for i := range 20000 {
		fmt.Fprintf(&csv, "%d,name-%d\n", i, i)
		fmt.Fprintf(&jsonl, "{\"id\": %d, \"name\": \"name-%d\"}\n", i, i)
	}
	writeFile(t, filepath.Join(dir, "t.csv"), csv.String())
	writeFile(t, filepath.Join(dir, "t.jsonl"), jsonl.String())
	objs := map[string][]byte{}
	for _, name := range []string{"t.parquet", "t.csv", "t.jsonl"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		objs["f/"+name] = data
	}
	putObjects(t, client, bucket, objs)

	for _, tc := range []struct{ typ, name, with string }{
		{"parquet_source", "t.parquet", "batch_rows: 3000"},
		{"csv_source", "t.csv", "batch_rows: 3000"},
		{"jsonl_source", "t.jsonl", "batch_rows: 3000"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			read := func(path string) []arrow.RecordBatch {
				src, err := build(t, mem, tc.typ, fmt.Sprintf("{paths: [%q], %s}", path, tc.with), "")
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
			for try := range 3 { // several passes, so every fault meets every kind of read
				got := read("s3://" + bucket + "/f/" + tc.name)
				sameRows(t, mem, fmt.Sprintf("%s through faults, pass %d", tc.typ, try), got, want)
				stagetest.Release(got)
			}
			stagetest.Release(want)
		})
	}
	for k := range faultproxy.Slowed + 1 {
		if proxy.Count(k) == 0 {
			t.Errorf("no request was %s (of %d): the test did not exercise that fault", k, proxy.Requests())
		}
	}
	t.Logf("%d requests: %d refused, %d reset, %d truncated, %d slowed", proxy.Requests(), proxy.Count(faultproxy.Refused),
		proxy.Count(faultproxy.ResetConn), proxy.Count(faultproxy.Truncated), proxy.Count(faultproxy.Slowed))
}
