package sink

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// TestParquetUnitPrefix checks a work unit's sink (Env.PartPrefix): its
// files carry the prefix, its own earlier files are replaced, other units'
// files are left alone, and a symbolic link in place of the shared staging
// folder is replaced rather than written through.
func TestParquetUnitPrefix(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	elsewhere := t.TempDir()
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"part-00001-00000.parquet", "part-00001-00003.parquet", "part-00002-00000.parquet"} {
		if err := os.WriteFile(filepath.Join(out, name), []byte("old "+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(elsewhere, filepath.Join(out, StagingDir)); err != nil {
		t.Fatal(err)
	}
	conf := DefaultParquetConfig()
	conf.Path = stages.Path(out)
	conf.MaxRowsPerFile = 10
	s, err := NewParquet(conf, &stages.Env{Inputs: []*arrow.Schema{benchSchema()}, Mem: mem, PartPrefix: "part-00001"})
	if err != nil {
		t.Fatal(err)
	}
	recs := cutBatches(mem, 25, 7, 18)
	defer stagetest.Release(recs)
	writeAll(t, s, recs)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	names, err := existingParts(out, "part-*.parquet")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"part-00001-00000.parquet", "part-00001-00001.parquet", "part-00001-00002.parquet", "part-00002-00000.parquet"}
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v (the unit's old part-00001-00003 removed, unit 2's kept)", names, want)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "part-00002-00000.parquet")); string(b) != "old part-00002-00000.parquet" {
		t.Error("another unit's file changed")
	}
	f := readBack(t, mem, filepath.Join(out, "part-00001-00002.parquet"))
	checkRows(t, mem, f, 20, 5)
	f.release()
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("the sink wrote %d entries through the staging link", len(ents))
	}
	if _, err := os.Lstat(filepath.Join(out, StagingDir)); !os.IsNotExist(err) {
		t.Errorf("staging folder left: %v", err)
	}
	if _, err := NewParquet(conf, &stages.Env{Inputs: []*arrow.Schema{benchSchema()}, Mem: mem, PartPrefix: "../x"}); err == nil {
		t.Error("a prefix leaving the folder was accepted")
	}
}
