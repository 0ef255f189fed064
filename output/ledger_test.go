package output

import (
	"strings"
	"testing"
	"time"
)

func TestHistory(t *testing.T) {
	prev := &Manifest{Generation: 2, History: []GenerationNote{{Generation: 1}, {Generation: 2}}, Units: []LedgerUnit{
		{Key: "a", Fingerprint: "fa", Generation: 1, Rows: 10},
		{Key: "b", Fingerprint: "fb", Generation: 2, Rows: 20},
		{Key: "c", Fingerprint: "fc", Generation: 2, Rows: 30},
	}}
	m := &Manifest{Generation: 3, Units: []LedgerUnit{
		{Key: "a", Fingerprint: "fa", Generation: 1, Rows: 10},  // kept
		{Key: "b", Fingerprint: "fb2", Generation: 3, Rows: 25}, // changed: rescored
		{Key: "d", Fingerprint: "fd", Generation: 3, Rows: 5},   // new
	}}
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	h := history(prev, m, now)
	if len(h) != 3 || h[0].Generation != 1 || h[1].Generation != 2 {
		t.Fatalf("history %v: want the two earlier notes, then the new one", h)
	}
	want := GenerationNote{Generation: 3, Committed: now, Scored: 2, ScoredRows: 30, Kept: 1, Dropped: 2, DroppedRows: 50}
	if h[2] != want {
		t.Fatalf("note %+v, want %+v", h[2], want)
	}
	if first := history(nil, m, now); len(first) != 1 || first[0].Dropped != 0 {
		t.Fatalf("first generation's history %v", first)
	}
	long := &Manifest{Generation: 2000, History: make([]GenerationNote, maxHistory)}
	if got := history(long, m, now); len(got) != maxHistory || got[len(got)-1].Generation != 3 {
		t.Fatalf("history of %d notes, last %v; want the latest %d", len(got), got[len(got)-1], maxHistory)
	}
}

func TestCarriedRecord(t *testing.T) {
	m := &Manifest{Files: []ManifestFile{
		{Name: "part-00004-g2-00000.parquet", Rows: 7, Bytes: 100, SHA256: "s1"},
		{Name: "part-00004-g2-00001.parquet", Rows: 3, Bytes: 50, SHA256: "s2"},
	}}
	e := LedgerUnit{Unit: 4, Key: "in/dt=1/a.csv", Fingerprint: "f", Generation: 2, Rows: 10,
		Inputs: []InputFile{{Path: "in/dt=1/a.csv", Size: 9, Version: "mtime:1"}},
		Files:  []string{"part-00004-g2-00000.parquet", "part-00004-g2-00001.parquet"}}
	r, err := CarriedRecord(m, e, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Unit != 1 || r.Generation != 2 || r.Fingerprint != "f" || r.Rows != 10 || len(r.Files) != 2 || r.Files[1] != m.Files[1] || len(r.Inputs) != 1 {
		t.Fatalf("record %+v", r)
	}
	// The record reads back under its new index, though its files are
	// another unit's.
	f := Local(t.TempDir())
	if err := WriteUnitRecord(t.Context(), f, r); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadUnitRecord(t.Context(), f, 1); err != nil {
		t.Fatalf("carried record: %v", err)
	}
	// A record of this run's own computing may not name another unit's files.
	r.Generation = 0
	if err := WriteUnitRecord(t.Context(), f, r); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadUnitRecord(t.Context(), f, 1); err == nil || !strings.Contains(err.Error(), "not one of the unit's") {
		t.Fatalf("record of unit 1 listing unit 4's files without a generation: %v", err)
	}
	e.Files = append(e.Files, "part-00009-00000.parquet")
	if _, err := CarriedRecord(m, e, 1); err == nil {
		t.Fatal("a ledger entry naming a file the manifest does not describe was accepted")
	}
}
