package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/pipeline"
)

func TestRerun(t *testing.T) {
	tests := []struct {
		name string
		rep  pipeline.Report
		want string
	}{
		{"before units were planned", pipeline.Report{Status: "failed"}, "a rerun starts over: no work unit is committed"},
		{"nothing committed", pipeline.Report{Status: "failed", Units: &pipeline.UnitsReport{Assigned: 4, Resumable: true}},
			"a rerun starts over: no work unit is committed"},
		{"some committed", pipeline.Report{Status: "failed", Units: &pipeline.UnitsReport{Assigned: 8, Skipped: 2, Ran: 1, Resumable: true}},
			"a rerun resumes: 3 of 8 work units are committed"},
		{"interrupted", pipeline.Report{Status: "interrupted", Units: &pipeline.UnitsReport{Assigned: 8, Ran: 5, Resumable: true}},
			"a rerun resumes: 5 of 8 work units are committed"},
		{"not resumable", pipeline.Report{Status: "failed", Units: &pipeline.UnitsReport{Assigned: 8, Ran: 5}},
			"a rerun starts over: 5 of 8 work units are committed, but this job does not resume (its sinks write no folder, or it overwrites)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rep.Rerun(); got != tc.want {
				t.Fatalf("Rerun() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestWriteTable checks the end-of-run table: a sink's bytes written, and
// a busy time longer than the run marked and explained.
func TestWriteTable(t *testing.T) {
	rep := &pipeline.Report{Status: "succeeded", Seconds: 2,
		Stages: []pipeline.StageReport{
			{ID: "src", Type: "parquet", Kind: "source", RowsOut: 1000, BatchesOut: 4, BytesOut: 8000, BusySeconds: 0.5, BlockedSeconds: 1.2, RowsPerSecond: 500},
			{ID: "embed", Type: "model", Kind: "operator", RowsIn: 1000, RowsOut: 1000, BatchesIn: 4, BatchesOut: 4, BytesOut: 8000,
				BusySeconds: 3.5, BlockedInSeconds: 0.1, RowsPerSecond: 500},
			{ID: "out", Type: "parquet_sink", Kind: "sink", RowsIn: 1000, RowsOut: 1000, BatchesIn: 4, BytesOut: 3 << 20, BusySeconds: 0.25,
				BlockedInSeconds: 1.5, RowsPerSecond: 500},
		},
		Timeline: []pipeline.UnitSpan{{Unit: 0, StartSeconds: 0, EndSeconds: 1.5}, {Unit: 1, StartSeconds: 1, EndSeconds: 2}},
	}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	want := string(data)
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}
