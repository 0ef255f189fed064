package s3folder_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/output"
)

// layout writes a one-shard job's output, uncommitted, to f: two part
// files, a stale part file of another job, and the shard manifest.
func layout(t *testing.T, f output.Folder) {
	t.Helper()
	ctx := t.Context()
	parts := map[string]string{"part-00000-00000.parquet": "rows of unit 0", "part-00001-00000.parquet": "rows of unit 1, longer"}
	sm := &output.ShardManifest{Version: output.ManifestVersion, Job: "j", Stage: "sink", Fingerprint: "fp1",
		Shard: 0, Shards: 1, TotalUnits: 2, Units: []int{0, 1}, Rows: 5}
	for _, name := range []string{"part-00000-00000.parquet", "part-00001-00000.parquet"} {
		sum := sha256.Sum256([]byte(parts[name]))
		rows := int64(len(sm.Files) + 2) // 2 and 3
		sm.Files = append(sm.Files, output.ManifestFile{Name: name, Rows: rows, Bytes: int64(len(parts[name])), SHA256: hex.EncodeToString(sum[:])})
		if err := f.WriteFileAtomic(ctx, name, []byte(parts[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.WriteFileAtomic(ctx, "part-00007-00000.parquet", []byte("another job's")); err != nil {
		t.Fatal(err)
	}
	if err := output.WriteShardManifest(ctx, f, sm); err != nil {
		t.Fatal(err)
	}
}

// upload copies the local folder dir's files to f under the same names.
func upload(t *testing.T, dir string, f output.Folder) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		return f.WriteFileAtomic(t.Context(), filepath.ToSlash(rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCommitAndVerify: a folder committed locally and uploaded verifies on
// the bucket; the same layout committed on the bucket (pipe commit) gets
// the same manifest, loses the stale part file and verifies; a changed
// byte fails verification.
func TestCommitAndVerify(t *testing.T) {
	s := startServer(t)
	ctx := t.Context()
	dir := t.TempDir()
	local := output.Local(dir)
	layout(t, local)
	want, err := output.CommitOutput(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	uploaded := s.open(t, s.url())
	upload(t, dir, uploaded)
	if m, err := output.VerifyOutput(ctx, uploaded); err != nil || m.Rows != 5 || len(m.Files) != 2 {
		t.Fatalf("VerifyOutput of the uploaded committed folder = %+v, %v", m, err)
	}

	f := s.open(t, s.url())
	layout(t, f)
	if _, err := output.VerifyOutput(ctx, f); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("VerifyOutput before the commit: %v; want no _SUCCESS", err)
	}
	got, err := output.CommitOutput(ctx, f)
	if err != nil {
		t.Fatalf("CommitOutput on the bucket: %v", err)
	}
	if !slices.Equal(got.Files, want.Files) || got.Rows != want.Rows || got.Generation != want.Generation {
		t.Errorf("bucket manifest %+v, local %+v: want the same", got, want)
	}
	if _, err := f.Stat(ctx, "part-00007-00000.parquet"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the unlisted part file is still there: %v", err)
	}
	if _, err := output.VerifyOutput(ctx, f); err != nil {
		t.Fatalf("VerifyOutput after the commit: %v", err)
	}
	// Recommitting replaces the manifest it read (conditional put).
	if _, err := output.CommitOutput(ctx, f); err != nil {
		t.Fatalf("second CommitOutput: %v", err)
	}
	if err := f.WriteFileAtomic(ctx, "part-00001-00000.parquet", []byte("rows of unit 1, LONGER")); err != nil {
		t.Fatal(err)
	}
	if _, err := output.VerifyOutput(ctx, f); err == nil || !strings.Contains(err.Error(), "sha256") || !strings.HasPrefix(err.Error(), f.Path("")) {
		t.Errorf("VerifyOutput of a changed file: %v; want a sha256 mismatch naming the folder", err)
	}
}
