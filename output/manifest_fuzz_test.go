package output

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/stages"
)

// FuzzManifestNames feeds arbitrary bytes to the readers of the manifest,
// a unit record and a shard manifest: each either refuses the file or
// returns file names that stay inside the output folder, and a commit over
// a hostile shard manifest never touches a file outside it.
func FuzzManifestNames(f *testing.F) {
	f.Add([]byte(`{"version":1,"fingerprint":"x","unit":0,"files":[{"name":"part-00000-00000.parquet"}]}`))
	f.Add([]byte(`{"version":1,"unit":0,"files":[{"name":"../escape.parquet"}]}`))
	f.Add([]byte(`{"version":1,"unit":0,"files":[{"name":"/etc/passwd"}]}`))
	f.Add([]byte(`{"version":1,"shard":0,"shards":1,"total_units":1,"units":[0],"files":[{"name":"part-00000-00000.parquet/../../x"}]}`))
	f.Add([]byte(`{"version":1,"shard":0,"shards":1,"total_units":1,"units":[0],"files":[{"name":"sub/../../x","bytes":0}]}`))
	// One folder for every input, emptied between them: a fresh t.TempDir
	// per input made each run slow enough for the fuzzer to time out.
	root := f.TempDir()
	dir := filepath.Join(root, "out")
	outside := filepath.Join(root, "x")
	ctx := context.Background()
	folder := Local(dir)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return // a manifest that long adds names, not new paths through the code
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{filepath.Join(dir, stages.UnitsDir), filepath.Join(dir, stages.ShardsDir)} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(outside, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{filepath.Join(dir, stages.ManifestFile), filepath.Join(dir, filepath.FromSlash(unitRecordName(0))), filepath.Join(dir, filepath.FromSlash(ShardManifestName(Shard{0, 1})))} {
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		inside := func(name string) bool {
			full := filepath.Join(dir, filepath.FromSlash(name))
			rel, err := filepath.Rel(dir, full)
			return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && filepath.IsLocal(filepath.FromSlash(name))
		}
		if m, err := ReadManifest(ctx, folder); err == nil {
			for _, fl := range m.Files {
				if !inside(fl.Name) {
					t.Fatalf("manifest name %q leaves the folder", fl.Name)
				}
			}
		}
		if r, err := ReadUnitRecord(ctx, folder, 0); err == nil {
			for _, fl := range r.Files {
				if !inside(fl.Name) {
					t.Fatalf("unit record name %q leaves the folder", fl.Name)
				}
			}
		}
		if ms, err := ReadShardManifests(ctx, folder); err == nil {
			for _, m := range ms {
				for _, fl := range m.Files {
					if !inside(fl.Name) {
						t.Fatalf("shard manifest name %q leaves the folder", fl.Name)
					}
				}
			}
		}
		_, _ = CommitOutput(ctx, folder)
		if _, err := os.Stat(outside); err != nil {
			t.Fatalf("a commit removed a file outside the output folder: %v", err)
		}
	})
}
