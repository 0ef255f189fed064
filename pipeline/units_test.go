package pipeline_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

func TestParseShard(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	tests := []struct {
		in      string
		want    pipeline.Shard
		wantErr string
	}{
		{in: "0/4", want: pipeline.Shard{Index: 0, Count: 4}},
		{in: "3/4", want: pipeline.Shard{Index: 3, Count: 4}},
		{in: "auto/4", want: pipeline.Shard{Index: 2, Count: 4}},
		{in: "auto/2", wantErr: "from 0 to 1"},
		{in: "4/4", wantErr: "from 0 to 3"},
		{in: "-1/4", wantErr: "from 0 to 3"},
		{in: "1/0", wantErr: "positive"},
		{in: "1", wantErr: "want i/n"},
		{in: "a/b", wantErr: "positive"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := pipeline.ParseShard(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseShard(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
	t.Run("auto without the variable", func(t *testing.T) {
		t.Setenv("JOB_COMPLETION_INDEX", "")
		os.Unsetenv("JOB_COMPLETION_INDEX")
		if _, err := pipeline.ParseShard("auto/3"); err == nil || !strings.Contains(err.Error(), "JOB_COMPLETION_INDEX") {
			t.Fatalf("ParseShard(auto/3) without the variable = %v", err)
		}
	})
}

func TestAssignUnits(t *testing.T) {
	rows := func(ns ...int64) []stages.Unit {
		out := make([]stages.Unit, len(ns))
		for i, n := range ns {
			out[i] = stages.Unit{Rows: n}
		}
		return out
	}
	tests := []struct {
		name  string
		units []stages.Unit
		n     int
	}{
		{"equal units", rows(10, 10, 10, 10, 10, 10, 10, 10), 4},
		{"fewer units than shards", rows(5, 5), 4},
		{"one big unit", rows(1, 1, 100, 1, 1), 3},
		{"uneven", rows(7, 3, 9, 1, 4, 4, 8, 2, 6, 5, 5), 3},
		{"unknown sizes", rows(-1, -1, -1, -1, -1), 2},
		{"mixed", rows(10, -1, 10, -1), 2},
		{"no units", nil, 3},
		{"one shard", rows(3, 4), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			owner := map[int]int{}
			var total, maxUnit int64
			for _, u := range tc.units {
				total += max(u.Rows, 0)
				maxUnit = max(maxUnit, u.Rows)
			}
			last := -1
			for i := range tc.n {
				got := pipeline.AssignUnits(tc.units, pipeline.Shard{Index: i, Count: tc.n})
				if again := pipeline.AssignUnits(tc.units, pipeline.Shard{Index: i, Count: tc.n}); !slices.Equal(got, again) {
					t.Fatalf("shard %d: %v, then %v", i, got, again)
				}
				var rows int64
				for j, u := range got {
					if prev, dup := owner[u]; dup {
						t.Fatalf("unit %d in shards %d and %d", u, prev, i)
					}
					owner[u] = i
					if u <= last || (j > 0 && u != got[j-1]+1) {
						t.Fatalf("shard %d: units %v are not a contiguous range after unit %d", i, got, last)
					}
					last = u
					rows += max(tc.units[u].Rows, 0)
				}
				// Even by rows: no shard holds more than its share plus one unit.
				if tc.n > 0 && rows > total/int64(tc.n)+maxUnit {
					t.Errorf("shard %d holds %d of %d rows (largest unit %d)", i, rows, total, maxUnit)
				}
			}
			if len(owner) != len(tc.units) {
				t.Fatalf("%d of %d units assigned: %v", len(owner), len(tc.units), slices.Sorted(maps.Keys(owner)))
			}
		})
	}
}

// unitJob is integrityJob split into five units of 50 rows.
var unitJob = strings.Replace(integrityJob, "name: integrity", "name: integrity\nresources: {unit_rows: 50}", 1)

// folderFiles maps the part files of dir to their contents.
func folderFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = string(b)
	}
	return out
}

func TestResumeRedoesOnlyUncommittedUnits(t *testing.T) {
	clean := t.TempDir()
	p := buildIn(t, clean, unitJob, pipeline.BuildOptions{})
	rep, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u := rep.Units; u == nil || u.Total != 5 || u.Ran != 5 || u.Skipped != 0 || !u.Committed {
		t.Fatalf("clean run units = %+v, want 5 run and committed", rep.Units)
	}
	want := folderFiles(t, filepath.Join(clean, "out"))
	if len(want) != 5 {
		t.Fatalf("clean run wrote %d files, want one per unit: %v", len(want), slices.Sorted(maps.Keys(want)))
	}

	dir := t.TempDir()
	passFailAt.Store(170) // in unit 3 (rows 150-199)
	p = buildIn(t, dir, unitJob, pipeline.BuildOptions{})
	rep, err = p.Run(context.Background())
	passFailAt.Store(-1)
	if err == nil || !strings.Contains(err.Error(), "work unit 3 (rows 150-199)") {
		t.Fatalf("failing run = %v, want an error naming work unit 3", err)
	}
	// Units 0 to 2 commit; unit 4 may have started beside unit 3 (two
	// passes run at once) and then finishes too.
	committed := rep.Units.Ran
	if committed < 3 || committed > 4 {
		t.Fatalf("failing run committed %d units, want 3 or 4", committed)
	}
	out := filepath.Join(dir, "out")
	if _, err := os.Stat(filepath.Join(out, stages.SuccessFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("failed run left %s: %v", stages.SuccessFile, err)
	}
	if got := folderFiles(t, out); len(got) != committed || got["part-00003-00000.parquet"] != "" {
		t.Fatalf("failed run left %d part files (%v), want the %d committed units' and none of unit 3", len(got), slices.Sorted(maps.Keys(got)), committed)
	}

	p = buildIn(t, dir, unitJob, pipeline.BuildOptions{})
	if err := p.CheckOutputs(); err != nil {
		t.Fatalf("CheckOutputs after a crash = %v, want nil (resume)", err)
	}
	rep, err = p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u := rep.Units; u.Skipped != committed || u.Ran != 5-committed || !u.Committed {
		t.Fatalf("rerun units = %+v, want %d skipped, the rest run, committed", u, committed)
	}
	if _, err := output.VerifyOutput(t.Context(), output.Local(out)); err != nil {
		t.Fatal(err)
	}
	if got := folderFiles(t, out); !maps.Equal(got, want) {
		t.Fatalf("resumed output differs from a clean run: %v vs %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}

	t.Run("a changed job redoes every unit", func(t *testing.T) {
		changed := strings.Replace(unitJob, "max_rows_per_file: 100", "max_rows_per_file: 20", 1)
		p := buildIn(t, dir, changed, pipeline.BuildOptions{Overwrite: true})
		rep, err := p.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Units.Ran != 5 || rep.Units.Skipped != 0 {
			t.Fatalf("units = %+v, want all 5 run", rep.Units)
		}
		m, err := output.VerifyOutput(t.Context(), output.Local(out))
		if err != nil || len(m.Files) != 15 || m.Rows != 250 {
			t.Fatalf("after the changed job: %v files, %v", m, err)
		}
	})
	t.Run("fewer units leave no stale records", func(t *testing.T) {
		bigger := strings.Replace(unitJob, "unit_rows: 50", "unit_rows: 100", 1)
		p := buildIn(t, dir, bigger, pipeline.BuildOptions{Overwrite: true})
		rep, err := p.Run(context.Background())
		if err != nil || rep.Units.Total != 3 {
			t.Fatalf("units %+v, %v; want 3", rep.Units, err)
		}
		records, _ := filepath.Glob(filepath.Join(out, stages.UnitsDir, "unit-*.json"))
		if len(records) != 3 {
			t.Fatalf("%d unit records after a 3-unit run: %v", len(records), records)
		}
		if m, err := output.VerifyOutput(t.Context(), output.Local(out)); err != nil || m.Rows != 250 || len(m.Files) != 3 {
			t.Fatalf("after the 3-unit run: %+v, %v", m, err)
		}
	})
}

func TestShardsCommitWhenAllAreDone(t *testing.T) {
	single := t.TempDir()
	p := buildIn(t, single, unitJob, pipeline.BuildOptions{})
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := folderFiles(t, filepath.Join(single, "out"))

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	order := []int{2, 0, 1}
	for k, i := range order {
		p := buildIn(t, dir, unitJob, pipeline.BuildOptions{Shard: pipeline.Shard{Index: i, Count: 3}})
		rep, err := p.Run(context.Background())
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		_, statErr := os.Stat(filepath.Join(out, stages.SuccessFile))
		if last := k == len(order)-1; rep.Units.Committed != last || (statErr == nil) != last {
			t.Fatalf("after shard %d: committed=%v, %s: %v", i, rep.Units.Committed, stages.SuccessFile, statErr)
		}
		if k == 0 {
			_, err := output.CommitOutput(t.Context(), output.Local(out))
			var miss *output.ShardsMissingError
			if !errors.As(err, &miss) || !slices.Equal(miss.Missing, []int{0, 1}) || !strings.Contains(err.Error(), "missing: 0, 1") {
				t.Fatalf("CommitOutput with one shard done = %v, want shards 0 and 1 missing", err)
			}
		}
	}
	if got := folderFiles(t, out); !maps.Equal(got, want) {
		t.Fatalf("3-shard output %v differs from the single run's %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	m, err := output.VerifyOutput(t.Context(), output.Local(out))
	if err != nil || m.Rows != 250 {
		t.Fatalf("VerifyOutput = %+v, %v", m, err)
	}
	// pipe commit on a complete folder writes the same manifest again.
	m2, err := output.CommitOutput(t.Context(), output.Local(out))
	if err != nil || m2.Rows != 250 || len(m2.Files) != len(m.Files) {
		t.Fatalf("CommitOutput again = %+v, %v", m2, err)
	}
}

func TestShardingNeedsOneSplittableSource(t *testing.T) {
	job := `version: 1
name: two
stages:
  - {id: a, type: seq, with: {count: 10}}
  - {id: b, type: seq, with: {count: 10}}
  - {id: m, type: union, inputs: [a, b]}
  - {id: w, type: parquet_sink, inputs: [m], with: {path: out}}
`
	dir := t.TempDir()
	p := buildIn(t, dir, job, pipeline.BuildOptions{Shard: pipeline.Shard{Index: 0, Count: 2}})
	if err := p.CheckShards(2); !errors.Is(err, pipeline.ErrNotShardable) || !strings.Contains(err.Error(), "it has 2 sources") {
		t.Fatalf("CheckShards(2) of a two-source job = %v", err)
	}
	if err := p.CheckShards(1); err != nil {
		t.Fatalf("CheckShards(1) = %v", err)
	}
	if u := p.WorkUnits(); len(u) != 1 {
		t.Fatalf("WorkUnits = %v, want one", u)
	}
	_, err := p.Run(context.Background())
	if !errors.Is(err, pipeline.ErrNotShardable) {
		t.Fatalf("Run of shard 0/2 of a two-source job = %v", err)
	}
	// The sharded integrity job splits in 5 units of 50 rows.
	q := buildIn(t, t.TempDir(), unitJob, pipeline.BuildOptions{})
	defer q.Close()
	if u := q.WorkUnits(); len(u) != 5 || u[4].Key != "rows 200-249" || u[4].Rows != 50 {
		t.Fatalf("WorkUnits = %v", u)
	}
	if err := q.CheckShards(8); err != nil {
		t.Fatalf("CheckShards(8) = %v", err)
	}
}

func TestSymlinkedPipeFolderRefused(t *testing.T) {
	for _, name := range []string{stages.StagingDir, stages.UnitsDir, stages.ShardsDir} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			elsewhere := t.TempDir()
			out := filepath.Join(dir, "out")
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, filepath.Join(out, name)); err != nil {
				t.Fatal(err)
			}
			p := buildIn(t, dir, unitJob, pipeline.BuildOptions{})
			_, err := p.Run(context.Background())
			if !errors.Is(err, output.ErrFolderEscape) {
				t.Fatalf("Run with %s a symbolic link = %v, want ErrFolderEscape", name, err)
			}
			if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
				t.Fatalf("the run wrote %d entries through the link", len(ents))
			}
		})
	}
}

func TestNoInputRowsStillWritesTheSchema(t *testing.T) {
	dir := t.TempDir()
	p := buildIn(t, dir, strings.Replace(unitJob, "count: 250", "count: 0", 1), pipeline.BuildOptions{})
	rep, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m, err := output.VerifyOutput(t.Context(), output.Local(filepath.Join(dir, "out")))
	if err != nil || m.Rows != 0 || len(m.Files) != 1 || rep.Units.Total != 1 {
		t.Fatalf("manifest %+v, %v; units %+v: want one file holding the schema and no rows", m, err, rep.Units)
	}
}
