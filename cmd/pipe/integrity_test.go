package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/stages/sink"
)

// integrityJob writes enough rows in small files that a run commits several
// files while it runs.
const integrityJob = `version: 1
name: integrity
resources: {unit_rows: 30000}
stages:
  - id: gen
    type: generate
    with:
      count: ${ROWS}
      seed: ${SEED:-7}
      batch_rows: 3000
      columns:
        - {name: id, type: int64}
        - {name: x, type: vector, dims: 8, distribution: normal, mean: 0, std: 1}
  - id: write
    type: parquet_sink
    inputs: [gen]
    with: {path: "${OUT}", max_rows_per_file: 10000, row_group_rows: 5000}
`

// partitionedJob is integrityJob writing Hive partition folders by a
// segment column with at most 2 files open, so that a unit's files are
// spread over folders and closed and reopened while it runs.
var partitionedJob = strings.Replace(strings.Replace(integrityJob,
	"        - {name: x, type: vector",
	"        - {name: seg, type: string, distribution: choice, values: [north, \"s/w\", east]}\n        - {name: x, type: vector", 1),
	"max_rows_per_file: 10000, row_group_rows: 5000}",
	"max_rows_per_file: 10000, row_group_rows: 5000, partition_by: [seg], max_open_files: 2}", 1)

// TestPartitionedIntegrity kills runs of a partitioned job at random
// moments: the commit protocol holds across partition folders as it does
// in one folder (no partial file under a final name, _SUCCESS only over
// complete output), and every rerun gives the clean run's files, folder
// for folder.
func TestPartitionedIntegrity(t *testing.T) {
	h := newHarnessFor(t, partitionedJob)
	var folders int
	for name := range h.golden {
		if strings.HasPrefix(name, "seg=") {
			folders++
		}
	}
	if folders != len(h.golden) || !hasKeyPrefix(h.golden, "seg=s%2Fw/") {
		t.Fatalf("clean run files %v: want every file under a seg= folder, s/w escaped", h.golden)
	}
	h.chaos(t, 8)
}

func hasKeyPrefix(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// integrityRows is the job's row count: about half a second of work.
const integrityRows = 150_000

// harness runs the pipe binary built with failpoints on one job.
type harness struct {
	t      *testing.T
	bin    string
	job    string
	golden map[string]string // part file name -> SHA-256 of the clean run
	clean  time.Duration     // the clean run's wall time
}

func newHarness(t *testing.T) *harness { return newHarnessFor(t, integrityJob) }

// newHarnessFor is newHarness for another job writing integrityRows rows
// into ${OUT}.
func newHarnessFor(t *testing.T, job string) *harness {
	h := &harness{t: t, bin: buildPipe(t), job: filepath.Join(t.TempDir(), "job.yaml")}
	if err := os.WriteFile(h.job, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "golden")
	start := time.Now()
	if code, stderr := h.run(out, nil); code != 0 {
		t.Fatalf("clean run: exit %d\n%s", code, stderr)
	}
	h.clean = time.Since(start)
	// The first run pays for a cold binary and page cache; the chaos test
	// draws its kill times from a warm run's time, the shorter of two.
	start = time.Now()
	if code, stderr := h.run(filepath.Join(t.TempDir(), "warm"), nil); code != 0 {
		t.Fatalf("second clean run: exit %d\n%s", code, stderr)
	}
	h.clean = min(h.clean, time.Since(start))
	if _, err := output.VerifyOutput(t.Context(), output.Local(out)); err != nil {
		t.Fatalf("clean run: %v", err)
	}
	h.golden = partHashes(t, out)
	if len(h.golden) < 10 {
		t.Fatalf("clean run wrote %d files, want at least 10", len(h.golden))
	}
	return h
}

// command prepares a run of the job writing into out.
func (h *harness) command(out string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(h.bin, append([]string{"run", "-q", h.job}, args...)...)
	cmd.Env = append(os.Environ(), "ROWS="+strconv.Itoa(integrityRows), "OUT="+out, failpoint.EnvVar+"=")
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, &stderr
}

// run runs the job to its end and returns the exit code; -1 when killed.
func (h *harness) run(out string, env []string, args ...string) (int, string) {
	h.t.Helper()
	cmd, stderr := h.command(out, env, args...)
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, stderr.String()
		}
		return ee.ExitCode(), stderr.String()
	}
	h.t.Fatalf("run pipe: %v", err)
	return 0, ""
}

// runKilled starts the job and sends SIGKILL after d. It reports whether
// the process was killed (false when it had already finished).
func (h *harness) runKilled(out string, d time.Duration, args ...string) bool {
	h.t.Helper()
	cmd, stderr := h.command(out, nil, args...)
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
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
	if err != nil {
		h.t.Fatalf("run ended with %v before the kill:\n%s", err, stderr)
	}
	return false
}

// checkInvariants asserts what must hold whenever the process dies: every
// part file under a final name reads fully, and _SUCCESS is present only
// when the manifest lists every file with the right bytes and rows.
func (h *harness) checkInvariants(out, when string) {
	h.t.Helper()
	for _, p := range partFiles(h.t, out) {
		if err := readFully(p); err != nil {
			h.t.Errorf("%s: partial file under a final name: %v", when, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(out, stages.SuccessFile)); err == nil {
		m, err := output.VerifyOutput(h.t.Context(), output.Local(out))
		if err != nil {
			h.t.Errorf("%s: _SUCCESS present but the output is not complete: %v", when, err)
		} else if m.Rows != integrityRows {
			h.t.Errorf("%s: _SUCCESS present with %d rows, want %d", when, m.Rows, integrityRows)
		}
	}
}

// chaos kills runs of the harness's job at seeded random moments in
// [0, clean run time] (PIPE_CHAOS_SEED, default 12): half of the runs start
// from an empty folder, half replace complete output (--overwrite), and
// every fourth run is killed twice. After every kill the invariants hold,
// and a rerun gives the clean run's files.
func (h *harness) chaos(t *testing.T, kills int) {
	seed := uint64(12)
	if s, err := strconv.ParseUint(os.Getenv("PIPE_CHAOS_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	out := filepath.Join(t.TempDir(), "out")
	killed := 0
	for i := range kills {
		when := fmt.Sprintf("seed %d kill %d", seed, i)
		var args []string
		if i%2 == 0 {
			if err := os.RemoveAll(out); err != nil {
				t.Fatal(err)
			}
		} else {
			args = []string{"--overwrite"}
		}
		for range 1 + boolInt(i%4 == 2) {
			d := time.Duration(rng.Int64N(int64(h.clean) + 1))
			if h.runKilled(out, d, args...) {
				killed++
			}
			h.checkInvariants(out, when)
		}
		h.finish(out, when)
	}
	if killed < kills/2 {
		t.Errorf("only %d of %d runs were killed before they finished; the clean run time (%v) is too short", killed, kills, h.clean)
	}
	t.Logf("seed %d: %d runs killed mid-way, clean run %v", seed, killed, h.clean)
}

// finish reruns the job to completion and compares it with the clean run.
func (h *harness) finish(out, when string) {
	h.t.Helper()
	if code, stderr := h.run(out, nil); code != 0 {
		h.t.Fatalf("%s: rerun exit %d\n%s", when, code, stderr)
	}
	if _, err := output.VerifyOutput(h.t.Context(), output.Local(out)); err != nil {
		h.t.Fatalf("%s: after rerun: %v", when, err)
	}
	if got := partHashes(h.t, out); !mapsEqual(got, h.golden) {
		h.t.Fatalf("%s: after rerun the part files differ from the clean run's:\n%v\nwant\n%v", when, got, h.golden)
	}
	if _, err := os.Stat(filepath.Join(out, sink.StagingDir)); !errors.Is(err, os.ErrNotExist) {
		h.t.Errorf("%s: staging folder left after a complete rerun (%v)", when, err)
	}
}

func TestOutputIntegrity(t *testing.T) {
	h := newHarness(t)
	t.Run("rerun", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		h.finish(out, "first run")
		before := modTimes(t, out)
		cmd := exec.Command(h.bin, "run", h.job)
		cmd.Env = append(os.Environ(), "ROWS="+strconv.Itoa(integrityRows), "OUT="+out)
		msg, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(msg), "output is complete (fingerprint") || !strings.Contains(string(msg), "nothing to do") {
			t.Fatalf("rerun over complete output: %v\n%s", err, msg)
		}
		if after := modTimes(t, out); !mapsEqual(after, before) {
			t.Errorf("a rerun with nothing to do changed files:\n%v\nwant\n%v", after, before)
		}
		code, stderr := h.run(out, []string{"ROWS=" + strconv.Itoa(integrityRows-1)})
		if code != exitUsage || !strings.Contains(stderr, "another job") || !strings.Contains(stderr, "--overwrite") {
			t.Fatalf("rerun with another fingerprint: exit %d, want %d naming both fingerprints\n%s", code, exitUsage, stderr)
		}
		if code, stderr := h.run(out, nil, "--overwrite"); code != 0 {
			t.Fatalf("--overwrite: exit %d\n%s", code, stderr)
		}
		h.finish(out, "after --overwrite")
	})
	t.Run("chaos", func(t *testing.T) { h.chaos(t, 20) })
	t.Run("failpoints", func(t *testing.T) {
		tests := []struct {
			fp        string
			overwrite bool // start from complete output and run with --overwrite
			action    string
			resumed   int // fewest units the rerun finds committed; -1: not checked
		}{
			{"sink/beforeSync@3", false, "kill", -1},
			{"sink/beforeRename@3", false, "kill", -1},
			{"sink/afterRename@3", false, "kill", -1},
			{"sink/beforeRename@2", true, "kill", -1},
			{"commit/beforeUnitRecord@2", false, "kill", 0},
			{"commit/afterUnitRecord@3", false, "kill", 3},
			{"commit/afterUnitRecord@2", true, "kill", -1}, // the old output is whole: the rerun has nothing to do
			{"commit/beforeManifest", false, "kill", 5},
			{"commit/afterManifest", false, "kill", 5},
			{"commit/beforeSuccess", false, "kill", 5},
			{"commit/beforeSuccess", true, "kill", -1},
			{"sink/beforeRename@2", false, "error", 0},
			{"commit/beforeSuccess", false, "error", 5},
		}
		for _, tc := range tests {
			name, at, _ := strings.Cut(tc.fp, "@")
			if at == "" {
				at = "1"
			}
			t.Run(fmt.Sprintf("%s@%s/%s/overwrite=%v", name, at, tc.action, tc.overwrite), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out")
				var args []string
				if tc.overwrite {
					h.finish(out, "setup")
					args = []string{"--overwrite"}
				}
				code, stderr := h.run(out, []string{failpoint.EnvVar + "=" + name + "=" + tc.action + "@" + at}, args...)
				want := -1
				if tc.action == "error" {
					want = exitFailed
				}
				if code != want {
					t.Fatalf("exit %d, want %d (-1: killed)\n%s", code, want, stderr)
				}
				h.checkInvariants(out, tc.fp)
				_, err := os.Lstat(filepath.Join(out, stages.SuccessFile))
				switch {
				case tc.overwrite && err != nil:
					// A replacement keeps the old output whole until its
					// own manifest takes its place.
					t.Errorf("_SUCCESS of the replaced output gone after a crash at %s", tc.fp)
				case !tc.overwrite && err == nil:
					t.Errorf("_SUCCESS present after a crash at %s", tc.fp)
				}
				// Units run two at a time, so a crash in one may find the
				// other's record written or not: the rerun must skip
				// exactly the units recorded, at least tc.resumed of them.
				recorded, _ := filepath.Glob(filepath.Join(out, stages.UnitsDir, "unit-*.json"))
				h.finish(out, tc.fp)
				if tc.resumed >= 0 {
					u := readUnits(t, filepath.Join(out, "metrics.json"))
					if u.Skipped != len(recorded) || u.Skipped < tc.resumed || u.Ran != u.Total-u.Skipped {
						t.Errorf("rerun after %s: units %+v; %d units were recorded, want them skipped (at least %d) and the rest computed", tc.fp, u, len(recorded), tc.resumed)
					}
				}
			})
		}
	})
}

// readUnits reads the work-unit figures of a run report.
func readUnits(t *testing.T, path string) pipeline.UnitsReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep pipeline.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if rep.Units == nil {
		t.Fatalf("%s has no units", path)
	}
	return *rep.Units
}

// TestShardedRun runs the integrity job as 4 shards in parallel processes
// into one folder: the union of their files is byte for byte the single
// run's, and the last shard to finish marks the folder complete. A shard
// killed mid-way and rerun computes only its own uncommitted units.
func TestShardedRun(t *testing.T) {
	h := newHarness(t)
	const n = 4
	t.Run("parallel", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		cmds := make([]*exec.Cmd, n)
		errs := make([]*bytes.Buffer, n)
		for i := range n {
			cmds[i], errs[i] = h.command(out, nil, "--shard", fmt.Sprintf("%d/%d", i, n))
			if err := cmds[i].Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatalf("shard %d: %v\n%s", i, err, errs[i])
			}
		}
		if _, err := output.VerifyOutput(t.Context(), output.Local(out)); err != nil {
			t.Fatal(err)
		}
		if got := partHashes(t, out); !mapsEqual(got, h.golden) {
			t.Fatalf("the shards' files differ from the single run's:\n%v\nwant\n%v", got, h.golden)
		}
		total, ran := 0, 0
		for i := range n {
			u := readUnits(t, filepath.Join(out, stages.ShardsDir, fmt.Sprintf("metrics-shard-%05d-of-%05d.json", i, n)))
			total, ran = u.Total, ran+u.Ran
		}
		if total != 5 || ran != 5 {
			t.Fatalf("the shards computed %d units of %d, want each of 5 once", ran, total)
		}
	})
	t.Run("killed shard", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		for _, i := range []int{0, 1, 3} {
			if code, stderr := h.run(out, nil, "--shard", fmt.Sprintf("%d/%d", i, n)); code != 0 {
				t.Fatalf("shard %d: exit %d\n%s", i, code, stderr)
			}
		}
		// Shard 2 holds units 2 and 3; it dies after recording one of them.
		code, stderr := h.run(out, []string{failpoint.EnvVar + "=commit/afterUnitRecord=kill"}, "--shard", "2/4")
		if code != -1 {
			t.Fatalf("shard 2 with a kill failpoint: exit %d\n%s", code, stderr)
		}
		h.checkInvariants(out, "shard 2 killed")
		if _, err := os.Lstat(filepath.Join(out, stages.SuccessFile)); err == nil {
			t.Fatal("_SUCCESS with shard 2 unfinished")
		}
		code, stdout, stderr := pipe("commit", out)
		if code != exitFailed || !strings.Contains(stderr, "missing: 2") {
			t.Fatalf("pipe commit with shard 2 unfinished: exit %d\n%s%s", code, stdout, stderr)
		}
		// Shards 0, 1 and 3 recorded units 0, 1, 4 (and 5..); shard 2 at
		// least one of its own before the kill (the other ran beside it).
		recorded, _ := filepath.Glob(filepath.Join(out, stages.UnitsDir, "unit-*.json"))
		mine := 0
		for _, r := range recorded {
			if b := filepath.Base(r); b == "unit-00002.json" || b == "unit-00003.json" {
				mine++
			}
		}
		if code, stderr := h.run(out, nil, "--shard", "2/4"); code != 0 {
			t.Fatalf("shard 2 rerun: exit %d\n%s", code, stderr)
		}
		u := readUnits(t, filepath.Join(out, stages.ShardsDir, "metrics-shard-00002-of-00004.json"))
		if u.Assigned != 2 || mine < 1 || u.Skipped != mine || u.Ran != 2-mine || !u.Committed {
			t.Fatalf("shard 2 rerun units %+v with %d of its units recorded; want those skipped, the rest computed, output committed", u, mine)
		}
		if got := partHashes(t, out); !mapsEqual(got, h.golden) {
			t.Fatalf("after the rerun the files differ from the single run's")
		}
		if code, stdout, stderr := pipe("commit", out); code != 0 || !strings.Contains(stdout, "committed 15 files, 150000 rows") {
			t.Fatalf("pipe commit on complete output: exit %d\n%s%s", code, stdout, stderr)
		}
		if _, err := output.VerifyOutput(t.Context(), output.Local(out)); err != nil {
			t.Fatal(err)
		}
	})
}

// readFully reads every row of a Parquet file.
func readFully(path string) error {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return err
	}
	defer tbl.Release()
	if tbl.NumRows() != pf.NumRows() {
		return fmt.Errorf("read %d rows, the footer says %d", tbl.NumRows(), pf.NumRows())
	}
	return nil
}

// partHashes returns the SHA-256 of every part file in dir by name, less
// the generation a replacing run puts in it (part-00001-g2-00000.parquet
// counts as part-00001-00000.parquet), so that outputs of runs in different
// generations compare.
func partHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range partFiles(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, p)
		name := genTag.ReplaceAllString(rel, "-")
		if _, dup := out[name]; dup {
			t.Fatalf("%s: two generations of %s", dir, name)
		}
		out[name] = hex.EncodeToString(sum[:])
	}
	return out
}

// partFiles returns the part files under dir, in partition folders too
// (col=value/part-…), but not in pipe's own folders (_pipe_*).
func partFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil
		case err != nil:
			return err
		case d.IsDir() && p != dir && strings.HasPrefix(d.Name(), "_"):
			return filepath.SkipDir
		case !d.IsDir() && strings.HasPrefix(d.Name(), "part-") && strings.HasSuffix(d.Name(), ".parquet"):
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// genTag matches the generation in a part file's name.
var genTag = regexp.MustCompile(`-g[0-9]+-`)

// modTimes returns the modification time of every file in dir by name.
func modTimes(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fi.ModTime().String()
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	ka := make([]string, 0, len(a))
	for k := range a {
		ka = append(ka, k)
	}
	slices.Sort(ka)
	for _, k := range ka {
		if v, ok := b[k]; !ok || v != a[k] {
			return false
		}
	}
	return true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
