package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
)

// unitsJob writes three CSV files (three work units: ids 1-2, 3-4, 5-6;
// the name of id 4 is long, v of id 2 is null) and a job named "three"
// that writes them to out. It returns the job's path.
func unitsJob(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	long := strings.Repeat("long name ", 10)
	files := map[string]string{
		"a.csv": "id,name,v\n1,ann,0.5\n2,bob,\n",
		"b.csv": "id,name,v\n3,cy,1.5\n4," + long + ",2.5\n",
		"c.csv": "id,name,v\n5,dee,-3\n6,eve,4\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	job := filepath.Join(dir, "job.yaml")
	text := `version: 1
name: three
stages:
  - {id: read, type: csv_source, with: {paths: [a.csv, b.csv, c.csv]}}
  - {id: write, type: parquet_sink, inputs: [read], with: {path: out}}
`
	if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return job
}

// TestInspectOutputFolder runs a job of three work units, then inspects
// its output folder: complete, its files with rows and bytes as the
// manifest lists them, the totals, schema, fingerprint, job, when and
// generation; --json says the same; --head reads the files in order;
// --stats takes the figures from the footers.
func TestInspectOutputFolder(t *testing.T) {
	job := unitsJob(t)
	if code, out, errs := pipe("run", "-q", job); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	dir := filepath.Join(filepath.Dir(job), "out")
	m, err := output.VerifyOutput(t.Context(), output.Local(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 3 {
		t.Fatalf("the job wrote %d files, want 3 (one per unit)", len(m.Files))
	}
	code, out, errs := pipe("inspect", dir)
	if code != 0 {
		t.Fatalf("inspect: exit %d\n%s%s", code, out, errs)
	}
	want := []string{"complete: yes\n", "job: three\n", "job file: " + job + "\n", "stage: write\n",
		"fingerprint: " + m.Fingerprint + "\n", "generation: 1\n", "work units: 3 committed of 3\n", "rows: 6\n",
		"files (from manifest): 3\n", "schema:\n  id: int64\n  name: utf8\n  v: float64\n"}
	for _, fl := range m.Files {
		want = append(want, fmt.Sprintf("  %s  %4d  %5d  %10d\n", fl.Name, fl.Rows, fl.Bytes, 1))
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("inspect lacks %q:\n%s", w, out)
		}
	}

	if made := madeAt(t, out); time.Since(made) > 10*time.Minute || time.Until(made) > time.Minute {
		t.Errorf("made %v, want about now:\n%s", made, out)
	}

	t.Run("json", func(t *testing.T) {
		r := inspectJSON(t, dir)
		if !r.Complete || r.Job != "three" || r.JobFile != job || r.Rows != 6 || r.Fingerprint != m.Fingerprint ||
			len(r.Files) != 3 || r.Files[2].Name != m.Files[2].Name || r.Files[2].Bytes != m.Files[2].Bytes ||
			r.Units != (unitsCount{3, 3}) || len(r.Schema) != 3 || r.Schema[1].Type != "utf8" {
			t.Errorf("--json: %+v", r)
		}
	})
	t.Run("head", func(t *testing.T) {
		code, out, errs := pipe("inspect", dir, "--head", "5")
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 7 || !strings.HasPrefix(lines[0], "id  name") || lines[6] != "(5 rows shown)" {
			t.Fatalf("want a header, 5 rows and a count:\n%s", out)
		}
		for i, l := range lines[1:6] {
			if !strings.HasPrefix(l, fmt.Sprint(i+1)+" ") {
				t.Errorf("row %d is %q: not in the files' order", i+1, l)
			}
		}
		if !strings.Contains(lines[2], "null") || !strings.Contains(lines[4], "long name long name long name long name…") {
			t.Errorf("a null or a long value is not shown as such:\n%s", out)
		}
	})
	t.Run("stats", func(t *testing.T) {
		code, out, errs := pipe("inspect", dir, "--stats")
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		for _, w := range []string{"stats (from statistics):", "  id          0  1", "  v           1  -3   4"} {
			if !strings.Contains(out, w) {
				t.Errorf("--stats lacks %q:\n%s", w, out)
			}
		}
	})
}

// madeAt returns the time of inspect's "made:" line.
func madeAt(t *testing.T, out string) time.Time {
	t.Helper()
	_, rest, ok := strings.Cut(out, "\nmade: ")
	line, _, _ := strings.Cut(rest, "\n")
	at, err := time.Parse(time.RFC3339, line)
	if !ok || err != nil {
		t.Fatalf("no made: line (%v):\n%s", err, out)
	}
	return at
}

// inspectJSON runs `pipe inspect --json dir` and decodes it.
func inspectJSON(t *testing.T, dir string) folderReport {
	t.Helper()
	code, out, errs := pipe("inspect", "--json", dir)
	if code != 0 {
		t.Fatalf("inspect --json: exit %d\n%s%s", code, out, errs)
	}
	checkJSON(t, "inspect", []byte(out))
	var r folderReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestInspectIncompleteFolder inspects folders whose output is not
// complete, and checks that inspect says why: a folder with nothing
// committed, a run killed after it committed two of three units, and a
// run stopped while it holds the folder's lock.
func TestInspectIncompleteFolder(t *testing.T) {
	t.Run("nothing committed", func(t *testing.T) {
		code, out, errs := pipe("inspect", t.TempDir())
		if code != 0 || !strings.Contains(out, "complete: no: no _manifest.json: nothing was committed\n") || !strings.Contains(out, "files (from none): 0\n") {
			t.Errorf("exit %d\n%s%s", code, out, errs)
		}
	})
	t.Run("killed after two units", func(t *testing.T) {
		job := unitsJob(t)
		dir := filepath.Join(filepath.Dir(job), "out")
		c := runChild(t, childOptions{Dir: filepath.Dir(job), Env: []string{failpoint.EnvVar + "=commit/afterUnitRecord=kill@2"}}, "run", "-q", "job.yaml")
		if c.Code != -1 {
			t.Fatalf("exit %d, want killed\n%s", c.Code, c.Stderr)
		}
		recs, _ := filepath.Glob(filepath.Join(dir, stages.UnitsDir, "unit-*.json"))
		r := inspectJSON(t, dir)
		why := fmt.Sprintf("work units committed: %d of ", len(recs))
		if r.Complete || r.Units.Committed != len(recs) || len(recs) < 2 || !strings.Contains(strings.Join(r.Why, ";"), why) || r.FilesFrom != "unit records" {
			t.Errorf("%d unit records; --json: %+v", len(recs), r)
		}
		_, out, _ := pipe("inspect", dir)
		if !strings.Contains(out, "complete: no: ") || !strings.Contains(out, why) {
			t.Errorf("inspect does not say %q:\n%s", why, out)
		}
	})
	t.Run("run in progress", func(t *testing.T) {
		job := unitsJob(t)
		dir := filepath.Join(filepath.Dir(job), "out")
		cmd := exec.Command(buildPipe(t), "run", "-q", "job.yaml")
		cmd.Dir = filepath.Dir(job)
		cmd.Env = append(os.Environ(), failpoint.EnvVar+"=commit/afterUnitRecord=stop@1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}()
		holder := fmt.Sprintf("in progress: pid %d on host", cmd.Process.Pid)
		var out string
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			_, out, _ = pipe("inspect", dir)
			if strings.Contains(out, holder) {
				break
			}
		}
		if !strings.Contains(out, holder) || !strings.Contains(out, "complete: no: ") || !strings.Contains(out, "a run is writing it now") {
			t.Errorf("inspect does not name the run holding the lock (%q):\n%s", holder, out)
		}
	})
}
