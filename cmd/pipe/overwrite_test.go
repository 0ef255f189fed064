package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/output"
)

// replacement is the integrity job's complete output of one seed (old)
// about to be replaced by another seed's (new), with both outputs' part
// files from clean runs.
type replacement struct {
	h                *harness
	oldEnv, newEnv   []string
	oldHash, newHash map[string]string
}

func newReplacement(t *testing.T) *replacement {
	h := newHarness(t)
	r := &replacement{h: h, oldEnv: []string{"SEED=7"}, newEnv: []string{"SEED=8"}, oldHash: h.golden}
	r.newHash = partHashes(t, r.complete(t, t.TempDir()+"/new", r.newEnv))
	if mapsEqual(r.oldHash, r.newHash) {
		t.Fatal("the two seeds wrote the same output")
	}
	return r
}

// complete runs the job with env into out to completion and returns out.
func (r *replacement) complete(t *testing.T, out string, env []string) string {
	t.Helper()
	if code, stderr := r.h.run(out, env); code != 0 {
		t.Fatalf("clean run %v: exit %d\n%s", env, code, stderr)
	}
	return out
}

// oldOrNew asserts that out holds, whole, either the old output or the
// new one: the success marker, a manifest, and exactly the files of one
// clean run as the manifest lists them, intact. It returns which.
func (r *replacement) oldOrNew(t *testing.T, out, when string) string {
	t.Helper()
	m, err := output.VerifyOutput(t.Context(), output.Local(out))
	if err != nil {
		t.Fatalf("%s: the folder holds neither output whole: %v", when, err)
	}
	got := map[string]string{}
	for _, f := range m.Files {
		got[genTag.ReplaceAllString(f.Name, "-")] = f.SHA256 // VerifyOutput checked the files against these
	}
	switch {
	case mapsEqual(got, r.oldHash):
		return "old"
	case mapsEqual(got, r.newHash):
		return "new"
	}
	t.Fatalf("%s: the manifest lists a mix of files:\n%v\nold %v\nnew %v", when, got, r.oldHash, r.newHash)
	return ""
}

// finishNew reruns the replacement to completion: the folder then holds
// exactly the new output, nothing else.
func (r *replacement) finishNew(t *testing.T, out, when string) {
	t.Helper()
	if code, stderr := r.h.run(out, r.newEnv, "--overwrite"); code != 0 {
		t.Fatalf("%s: rerun exit %d\n%s", when, code, stderr)
	}
	if got := r.oldOrNew(t, out, when); got != "new" {
		t.Fatalf("%s: after a complete replacement the folder holds the %s output", when, got)
	}
	if got := partHashes(t, out); !mapsEqual(got, r.newHash) {
		t.Fatalf("%s: files beside the new output: %v", when, got)
	}
}

// TestOverwriteNeverDestroys replaces one job's complete output with
// another's (--overwrite) and stops the replacement in every way a run
// stops: SIGKILL at seeded moments and at every step of the commit
// protocol, an error in a unit, SIGTERM. At every stop the folder holds the
// old output or the new one, whole; a rerun completes the new one.
func TestOverwriteNeverDestroys(t *testing.T) {
	r := newReplacement(t)
	h := r.h
	t.Run("kills", func(t *testing.T) {
		seed := uint64(21)
		if s, err := strconv.ParseUint(os.Getenv("PIPE_CHAOS_SEED"), 10, 64); err == nil {
			seed = s
		}
		rng := rand.New(rand.NewPCG(seed, 3))
		out := r.complete(t, filepath.Join(t.TempDir(), "out"), r.oldEnv)
		seen := map[string]int{}
		for i := range 10 {
			when := fmt.Sprintf("seed %d kill %d", seed, i)
			if i > 0 {
				// Back to the old output (a kill after the switch left the
				// new one), so that every kill stops an old -> new
				// replacement; twice, so that the folder also holds
				// earlier generations' leftovers.
				for range 2 {
					if code, stderr := h.run(out, r.oldEnv, "--overwrite"); code != 0 {
						t.Fatalf("%s: back to old: exit %d\n%s", when, code, stderr)
					}
				}
			}
			d := time.Duration(rng.Int64N(int64(h.clean) + 1))
			cmd, _ := h.command(out, r.newEnv, "--overwrite")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(d)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			seen[r.oldOrNew(t, out, when)]++
		}
		t.Logf("seed %d: after the kills the folder held %v", seed, seen)
		if seen["old"] == 0 {
			t.Errorf("no kill landed before the switch (%v): the clean run time (%v) is too short to test", seen, h.clean)
		}
		r.finishNew(t, out, "after the kills")
	})
	t.Run("failpoints", func(t *testing.T) {
		tests := []struct {
			fp, action string
			want       string // the output the folder holds after the stop
		}{
			{"sink/beforeRename@2", "kill", "old"},
			{"sink/afterRename@3", "kill", "old"},
			{"commit/afterUnitRecord@5", "kill", "old"},
			{"commit/beforeManifest", "kill", "old"},
			{"commit/afterManifest", "kill", "new"},
			{"commit/beforeSuccess", "kill", "new"},
			{"sink/beforeSync@3", "error", "old"},
			{"commit/afterUnitRecord@2", "error", "old"},
			{"commit/beforeManifest", "error", "old"},
		}
		for _, tc := range tests {
			t.Run(tc.fp+"/"+tc.action, func(t *testing.T) {
				out := r.complete(t, filepath.Join(t.TempDir(), "out"), r.oldEnv)
				name, at, _ := strings.Cut(tc.fp, "@")
				if at == "" {
					at = "1"
				}
				env := append([]string{failpoint.EnvVar + "=" + name + "=" + tc.action + "@" + at}, r.newEnv...)
				code, stderr := h.run(out, env, "--overwrite")
				want := -1
				if tc.action == "error" {
					want = exitFailed
				}
				if code != want {
					t.Fatalf("exit %d, want %d (-1: killed)\n%s", code, want, stderr)
				}
				if got := r.oldOrNew(t, out, tc.fp); got != tc.want {
					t.Errorf("after a stop at %s the folder holds the %s output, want the %s", tc.fp, got, tc.want)
				}
				r.finishNew(t, out, tc.fp)
			})
		}
	})
	t.Run("sigterm", func(t *testing.T) {
		out := r.complete(t, filepath.Join(t.TempDir(), "out"), r.oldEnv)
		// Stopped mid-way (SIGSTOP at a failpoint), sent SIGTERM, continued:
		// the signal lands while the replacement writes, whatever the speed.
		cmd, stderr := h.command(out, append([]string{failpoint.EnvVar + "=sink/afterRename=stop@2"}, r.newEnv...), "--overwrite")
		startStopped(t, cmd)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Process.Signal(syscall.SIGCONT)
		if code := exitCode(t, cmd); code != exitFailed {
			t.Fatalf("SIGTERM: exit %d, want %d\n%s", code, exitFailed, stderr)
		}
		if got := r.oldOrNew(t, out, "SIGTERM"); got != "old" {
			t.Errorf("after SIGTERM the folder holds the %s output, want the old", got)
		}
		r.finishNew(t, out, "after SIGTERM")
	})
}

// TestOverwriteDiskFull replaces complete output on a filesystem that
// fills up mid-way: the run fails, and the old output is whole.
func TestOverwriteDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root; the failpoint cases of TestOverwriteNeverDestroys cover a failing write")
	}
	r := newReplacement(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); the failpoint cases of TestOverwriteNeverDestroys cover a failing write", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	out := r.complete(t, filepath.Join(mnt, "out"), r.oldEnv)
	// Leave room for about half of the new output.
	var size int64
	for _, f := range mustManifest(t, out).Files {
		size += f.Bytes
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < size {
		t.Fatalf("the tmpfs has %d bytes free, the output needs %d", free, size)
	}
	if err := os.WriteFile(filepath.Join(mnt, "filler"), make([]byte, free-size/2), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr := r.h.run(out, r.newEnv, "--overwrite")
	if code != exitFailed || !strings.Contains(stderr, "no space left on device") {
		t.Fatalf("exit %d, want %d naming the full disk\n%s", code, exitFailed, stderr)
	}
	if got := r.oldOrNew(t, out, "disk full"); got != "old" {
		t.Errorf("after the disk filled up the folder holds the %s output, want the old", got)
	}
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	r.finishNew(t, out, "after the disk was freed")
}

func mustManifest(t *testing.T, dir string) *output.Manifest {
	t.Helper()
	m, err := output.ReadManifest(t.Context(), output.Local(dir))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOverwriteCorruptInput replaces complete output from inputs of which
// the third has gone bad: the run fails on it, and the old output is whole.
func TestOverwriteCorruptInput(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen.yaml")
	if err := os.WriteFile(gen, []byte(`version: 1
stages:
  - id: gen
    type: generate
    with: {count: 30000, seed: 3, columns: [{name: id, type: int64}, {name: s, type: string}]}
  - id: write
    type: parquet_sink
    inputs: [gen]
    with: {path: in, max_rows_per_file: 10000}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := runChild(t, childOptions{Dir: dir}, "run", "-q", gen); c.Code != 0 {
		t.Fatalf("making the inputs: exit %d\n%s", c.Code, c.Stderr)
	}
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte(`version: 1
resources: {unit_rows: 10000}
stages:
  - id: read
    type: parquet_source
    with: {paths: ["in/part-*.parquet"]}
  - id: write
    type: parquet_sink
    inputs: [read]
    with: {path: out}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := runChild(t, childOptions{Dir: dir}, "run", "-q", job); c.Code != 0 {
		t.Fatalf("first run: exit %d\n%s", c.Code, c.Stderr)
	}
	out := filepath.Join(dir, "out")
	before, err := output.VerifyOutput(t.Context(), output.Local(out))
	if err != nil {
		t.Fatal(err)
	}
	third := filepath.Join(dir, "in", "part-00000-00002.parquet")
	b, err := os.ReadFile(third)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the pages, not the footer (its length and the magic are the
	// last 8 bytes), so that the job checks and fails while reading.
	footer := len(b) - 8 - int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	for i := 4; i < footer; i += 7 {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(third, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := runChild(t, childOptions{Dir: dir}, "run", "-q", "--overwrite", job)
	if c.Code != exitFailed || !strings.Contains(c.Stderr, "part-00000-00002.parquet") {
		t.Fatalf("overwrite from a corrupt input: exit %d, want %d naming the file\n%s", c.Code, exitFailed, c.Stderr)
	}
	after, err := output.VerifyOutput(t.Context(), output.Local(out))
	if err != nil {
		t.Fatalf("after the failed overwrite: %v", err)
	}
	if after.Fingerprint != before.Fingerprint || len(after.Files) != len(before.Files) {
		t.Fatalf("after the failed overwrite the manifest is %+v, want the old %+v", after, before)
	}
	for i, f := range after.Files {
		if f != before.Files[i] {
			t.Errorf("file %d: %+v, was %+v", i, f, before.Files[i])
		}
	}
}
