package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/pipeline"
)

// incrementalJob scores the CSV files of a Hive-partitioned folder (dt=...)
// with the model m.onnx (y = k·x), in incremental mode.
const incrementalJob = `version: 1
name: nightly
mode: incremental
stages:
  - id: read
    type: csv_source
    with: {paths: [in], partitioning: hive, partition_types: {dt: string}, batch_rows: 500}
  - id: score
    type: model
    inputs: [read]
    with:
      model: m.onnx
      backends: [cpu]
      inputs: {x: [a, b, c, d]}
      outputs: {y: y}
      keep: [id, dt]
  - id: write
    type: parquet_sink
    inputs: [score]
    with: {path: "${OUT}"}
`

// nightly is a project folder holding incrementalJob, its model and its
// partitioned input.
type nightly struct {
	t   *testing.T
	dir string
}

func newNightly(t *testing.T) *nightly {
	stagetest.NeedORT(t)
	n := &nightly{t: t, dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(n.dir, "job.yaml"), []byte(incrementalJob), 0o644); err != nil {
		t.Fatal(err)
	}
	writeScaleModel(t, filepath.Join(n.dir, "m.onnx"), 2)
	return n
}

// partition writes day's partition: rows rows whose values depend on seed.
func (n *nightly) partition(day string, rows int, seed uint64) {
	n.t.Helper()
	dir := filepath.Join(n.dir, "in", "dt="+day)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		n.t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	var b strings.Builder
	b.WriteString("id,a,b,c,d\n")
	for i := range rows {
		fmt.Fprintf(&b, "%d,%.4f,%.4f,%.4f,%.4f\n", i, rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64())
	}
	// A new file renamed into place, as a loader publishes one.
	tmp := filepath.Join(dir, ".part.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		n.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "part-0.csv")); err != nil {
		n.t.Fatal(err)
	}
}

// drop removes day's partition.
func (n *nightly) drop(day string) {
	if err := os.RemoveAll(filepath.Join(n.dir, "in", "dt="+day)); err != nil {
		n.t.Fatal(err)
	}
}

// run runs the job into out (relative to the project) and returns the
// child.
func (n *nightly) run(out string, args ...string) child {
	n.t.Helper()
	return runChild(n.t, childOptions{Dir: n.dir, Env: []string{"OUT=" + out}}, append([]string{"run", "job.yaml"}, args...)...)
}

// mustRun runs the job into out to success.
func (n *nightly) mustRun(out string, args ...string) child {
	n.t.Helper()
	c := n.run(out, args...)
	if c.Code != 0 {
		n.t.Fatalf("run into %s %v: exit %d\n%s", out, args, c.Code, stderrTail(c.Stderr))
	}
	return c
}

// rows reads the committed output in out, checked against its manifest,
// as sorted rows of text.
func (n *nightly) rows(out string) []string {
	n.t.Helper()
	dir := filepath.Join(n.dir, out)
	m, err := output.VerifyOutput(n.t.Context(), output.Local(dir))
	if err != nil {
		n.t.Fatal(err)
	}
	var rows []string
	for _, f := range m.Files {
		tbl := readPartTable(n.t, filepath.Join(dir, f.Name))
		tr := array.NewTableReader(tbl, 1<<20)
		for tr.Next() {
			rec := tr.RecordBatch()
			for i := range int(rec.NumRows()) {
				var cols []string
				for c, col := range rec.Columns() {
					cols = append(cols, rec.ColumnName(c)+"="+col.ValueStr(i))
				}
				rows = append(rows, strings.Join(cols, " "))
			}
		}
		tr.Release()
		tbl.Release()
	}
	slices.Sort(rows)
	return rows
}

// sameAsFullRun checks that out holds the rows a clean full run over the
// current inputs writes.
func (n *nightly) sameAsFullRun(out, when string) {
	n.t.Helper()
	clean := fmt.Sprintf("clean-%d", time.Now().UnixNano())
	n.mustRun(clean)
	want, got := n.rows(clean), n.rows(out)
	if !slices.Equal(got, want) {
		n.t.Fatalf("%s: incremental output (%d rows) differs from a clean run's (%d rows)", when, len(got), len(want))
	}
	if err := os.RemoveAll(filepath.Join(n.dir, clean)); err != nil {
		n.t.Fatal(err)
	}
}

// units reads the units report of the last run into out.
func (n *nightly) units(out string) pipeline.UnitsReport {
	return readUnits(n.t, filepath.Join(n.dir, out, output.ReportFile))
}

func (n *nightly) manifest(out string) *output.Manifest {
	return mustManifest(n.t, filepath.Join(n.dir, out))
}

// TestIncrementalRuns adds, changes and removes partitions over several
// runs: each run scores only the new or changed ones, and its output
// equals, row for row, a clean full run over the same inputs.
func TestIncrementalRuns(t *testing.T) {
	n := newNightly(t)
	for i, day := range []string{"2026-12-01", "2026-12-02", "2026-12-03"} {
		n.partition(day, 700, uint64(i))
	}
	steps := []struct {
		name           string
		change         func()
		ran, kept, gen int
	}{
		{"first run", func() {}, 3, 0, 1},
		{"a new day", func() { n.partition("2026-12-04", 900, 10) }, 1, 3, 2},
		{"a day rewritten, one removed", func() {
			time.Sleep(10 * time.Millisecond) // a new modification time
			n.partition("2026-12-02", 650, 20)
			n.drop("2026-12-01")
		}, 1, 2, 3},
		{"two new days", func() {
			n.partition("2026-12-05", 300, 30)
			n.partition("2026-12-06", 400, 40)
		}, 2, 3, 4},
	}
	for _, st := range steps {
		st.change()
		n.mustRun("out")
		u := n.units("out")
		if u.Ran != st.ran || u.Kept != st.kept || !u.Committed {
			t.Fatalf("%s: ran %d, kept %d, committed %v; want ran %d, kept %d", st.name, u.Ran, u.Kept, u.Committed, st.ran, st.kept)
		}
		m := n.manifest("out")
		if m.Generation != st.gen || m.Mode != pipeline.ModeIncremental || len(m.History) != st.gen {
			t.Fatalf("%s: manifest generation %d, mode %q, %d history notes; want generation %d", st.name, m.Generation, m.Mode, len(m.History), st.gen)
		}
		if last := m.History[len(m.History)-1]; last.Scored != st.ran || last.Kept != st.kept {
			t.Fatalf("%s: history says %v", st.name, last)
		}
		n.sameAsFullRun("out", st.name)
	}
	// Nothing changed: nothing to do, and the output stays as it is.
	c := n.mustRun("out")
	if !strings.Contains(c.Stderr, "nothing to do") || n.manifest("out").Generation != 4 {
		t.Fatalf("unchanged inputs: want nothing to do at generation 4:\n%s", stderrTail(c.Stderr))
	}
	if files := partFiles(t, filepath.Join(n.dir, "out")); len(files) != len(n.manifest("out").Files) {
		t.Fatalf("the folder holds %d part files, the manifest lists %d: the dropped units' files were not removed", len(files), len(n.manifest("out").Files))
	}
	// pipe inspect lists the generations and what each holds.
	ins := runChild(t, childOptions{Dir: n.dir}, "inspect", "out")
	for _, want := range []string{
		"generations (newest first):",
		"generation 4 (", "2 units scored (700 rows), 3 kept, 0 dropped (0 rows)",
		"1 units scored (650 rows), 2 kept, 2 dropped (1400 rows)",
		"holds in/dt=2026-12-05/part-0.csv",
		"holds in/dt=2026-12-02/part-0.csv",
	} {
		if !strings.Contains(ins.Stdout, want) {
			t.Fatalf("pipe inspect out: no %q in\n%s", want, ins.Stdout)
		}
	}
}

// TestIncrementalModelChangeIsExplicit: after the model changes, an
// incremental run refuses to extend output scored by the old one, leaving
// it whole, until --overwrite rescores every input.
func TestIncrementalModelChangeIsExplicit(t *testing.T) {
	n := newNightly(t)
	n.partition("2026-12-01", 300, 1)
	n.partition("2026-12-02", 300, 2)
	n.mustRun("out")
	before := n.rows("out")
	writeScaleModel(t, filepath.Join(n.dir, "m.onnx"), 3)
	n.partition("2026-12-03", 300, 3)
	c := n.run("out")
	if c.Code == 0 || !strings.Contains(c.Stderr, "another version of the job or its models") || !strings.Contains(c.Stderr, "--overwrite") {
		t.Fatalf("changed model: exit %d, want a refusal naming --overwrite:\n%s", c.Code, stderrTail(c.Stderr))
	}
	if got := n.rows("out"); !slices.Equal(got, before) {
		t.Fatal("the refused run changed the committed output")
	}
	n.mustRun("out", "--overwrite")
	if u := n.units("out"); u.Ran != 3 || u.Kept != 0 {
		t.Fatalf("--overwrite: ran %d, kept %d; want every unit rescored", u.Ran, u.Kept)
	}
	n.sameAsFullRun("out", "after --overwrite")
}

// TestIncrementalShards runs an incremental update as 2 shards: each keeps
// and scores its own units, the last one commits the next generation.
func TestIncrementalShards(t *testing.T) {
	n := newNightly(t)
	for i, day := range []string{"2026-12-01", "2026-12-02", "2026-12-03"} {
		n.partition(day, 500, uint64(i))
	}
	n.mustRun("out")
	n.partition("2026-12-04", 500, 4)
	n.drop("2026-12-02")
	n.mustRun("out", "--shard", "0/2")
	if m := n.manifest("out"); m.Generation != 1 {
		t.Fatalf("after one shard of two the manifest is generation %d, want still 1", m.Generation)
	}
	n.mustRun("out", "--shard", "1/2")
	kept := 0
	for s := range 2 {
		var sm output.ShardManifest
		readJSONFile(t, filepath.Join(n.dir, "out", output.ShardManifestName(output.Shard{Index: s, Count: 2})), &sm)
		for _, e := range sm.Ledger {
			if e.Generation == 1 {
				kept++
			}
		}
	}
	if m := n.manifest("out"); m.Generation != 2 || kept != 2 {
		t.Fatalf("after both shards: generation %d, %d units kept; want 2 and 2", m.Generation, kept)
	}
	n.sameAsFullRun("out", "after two shards")
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// killAfter runs the job in dir with env and SIGKILLs it after d, unless
// it ended before; it reports whether the kill ended it.
func killAfter(t *testing.T, bin, dir string, env []string, d time.Duration) bool {
	t.Helper()
	cmd := exec.Command(bin, "run", "-q", "job.yaml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return true
		}
	}
	return false
}

// TestIncrementalKilled kills incremental runs at random moments: the
// committed output is always one clean run's whole (the previous
// generation until the new manifest is in place), and a rerun completes it.
func TestIncrementalKilled(t *testing.T) {
	n := newNightly(t)
	n.partition("2026-12-01", 2000, 1)
	n.mustRun("out")
	old := n.rows("out")
	// The first generation, to start again from when a run was not killed:
	// the next would have nothing to do.
	saved := filepath.Join(t.TempDir(), "gen1")
	if err := os.CopyFS(saved, os.DirFS(filepath.Join(n.dir, "out"))); err != nil {
		t.Fatal(err)
	}
	n.partition("2026-12-02", 50000, 2)
	n.partition("2026-12-03", 50000, 3)
	full := time.Duration(1<<63 - 1)
	for range 2 { // the shorter of two clean runs
		start := time.Now()
		n.mustRun("probe")
		full = min(full, time.Since(start))
		if err := os.RemoveAll(filepath.Join(n.dir, "probe")); err != nil {
			t.Fatal(err)
		}
	}
	n.mustRun("probe")
	newRows := n.rows("probe")
	bin := buildPipe(t)
	rng := rand.New(rand.NewPCG(19, 1))
	killed := 0
	for i := range 6 {
		d := full/20 + time.Duration(rng.Int64N(int64(full)*8/10))
		if killAfter(t, bin, n.dir, []string{"OUT=out"}, d) {
			killed++
		}
		for _, p := range partFiles(t, filepath.Join(n.dir, "out")) {
			if err := readFully(p); err != nil {
				t.Fatalf("kill %d after %v: partial file under a final name: %v", i, d, err)
			}
		}
		got := n.rows("out")
		switch {
		case slices.Equal(got, old):
		case slices.Equal(got, newRows):
			// The run ended before the kill: start again from generation 1.
			out := filepath.Join(n.dir, "out")
			if err := os.RemoveAll(out); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(out, os.DirFS(saved)); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("kill %d after %v: the committed output is neither generation's", i, d)
		}
	}
	if killed < 3 {
		t.Errorf("only %d of 6 runs were killed before they ended (a clean run takes %v)", killed, full)
	}
	t.Logf("%d of 6 runs killed mid-way; a clean run takes %v", killed, full)
	n.mustRun("out")
	n.sameAsFullRun("out", "after the kills")
}

// TestIncrementalUnsplitJob: a job that is one work unit (two sources
// merged) counts all its inputs in its unit: a changed file rescores it.
func TestIncrementalUnsplitJob(t *testing.T) {
	dir := t.TempDir()
	job := `version: 1
name: merged
mode: incremental
stages:
  - {id: a, type: csv_source, with: {paths: [a.csv]}}
  - {id: b, type: csv_source, with: {paths: [b.csv]}}
  - {id: both, type: merge, inputs: [a, b]}
  - {id: write, type: parquet_sink, inputs: [both], with: {path: out}}
`
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("job.yaml", job)
	write("a.csv", "id\n1\n2\n")
	write("b.csv", "id\n3\n")
	n := &nightly{t: t, dir: dir}
	if c := runChild(t, childOptions{Dir: dir}, "run", "job.yaml"); c.Code != 0 {
		t.Fatalf("first run: exit %d\n%s", c.Code, stderrTail(c.Stderr))
	}
	write("b.csv", "id\n3\n4\n")
	if c := runChild(t, childOptions{Dir: dir}, "run", "job.yaml"); c.Code != 0 {
		t.Fatalf("second run: exit %d\n%s", c.Code, stderrTail(c.Stderr))
	}
	if u := n.units("out"); u.Ran != 1 || u.Kept != 0 {
		t.Fatalf("after b.csv changed: ran %d, kept %d; want the one unit rescored", u.Ran, u.Kept)
	}
	if got := n.rows("out"); len(got) != 4 {
		t.Fatalf("output rows %v, want the 4 rows of a.csv and the new b.csv", got)
	}
}

// TestIncrementalOnS3 runs the incremental job into a bucket and into a
// local folder over the same changes: each generation of the bucket's
// output holds the local one's units, file for file.
func TestIncrementalOnS3(t *testing.T) {
	n := newNightly(t)
	store := startS3Store(t)
	url := store.url()
	n.partition("2026-12-01", 400, 1)
	n.partition("2026-12-02", 400, 2)
	steps := []func(){
		func() {},
		func() { n.partition("2026-12-03", 500, 3); n.drop("2026-12-01") },
	}
	for i, change := range steps {
		change()
		n.mustRun("out")
		n.mustRun(url)
		local, remote := n.manifest("out"), s3Manifest(t, url)
		if got, want := unitFiles(remote), unitFiles(local); got != want {
			t.Fatalf("step %d: the bucket's units\n%s\nthe local folder's\n%s", i, got, want)
		}
		if remote.Generation != local.Generation || len(remote.History) != len(local.History) {
			t.Fatalf("step %d: bucket at generation %d, local at %d", i, remote.Generation, local.Generation)
		}
	}
	if last := s3Manifest(t, url).History[1]; last.Scored != 1 || last.Kept != 1 || last.Dropped != 1 {
		t.Fatalf("second generation on the bucket: %v; want 1 scored, 1 kept, 1 dropped", last)
	}
}

// s3Manifest reads a bucket folder's committed manifest, checked whole.
func s3Manifest(t *testing.T, url string) *output.Manifest {
	t.Helper()
	m, err := output.VerifyOutput(t.Context(), s3Folder(t, url))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// unitFiles lists a manifest's units by key with their files' SHA-256.
func unitFiles(m *output.Manifest) string {
	sums := map[string]string{}
	for _, f := range m.Files {
		sums[f.Name] = f.SHA256
	}
	var b strings.Builder
	for _, u := range m.Units {
		fmt.Fprintf(&b, "%s gen %d:", u.Key, u.Generation)
		for _, f := range u.Files {
			fmt.Fprintf(&b, " %s", sums[f])
		}
		b.WriteString("\n")
	}
	return b.String()
}
