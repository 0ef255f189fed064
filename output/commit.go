package output

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/stages"
)

// CommitOutput marks a sharded output folder complete: when every shard of
// one job has written its manifest and the manifests agree, it writes the
// folder's `_manifest.json` (every shard's files), removes part files no
// shard lists, and writes `_SUCCESS`. Otherwise it returns a
// [*ShardsMissingError] naming the missing shards, or an error saying how
// the manifests disagree. It is what `pipe commit` runs; the last shard of a
// run to finish does the same ([CommitFolder]).
func CommitOutput(ctx context.Context, f Folder) (*Manifest, error) {
	// A run writing the folder unsharded holds its lock exclusively.
	if lk, ok := f.(Locker); ok {
		l := &Locks{}
		defer l.Release()
		if err := f.MkdirAll(ctx, LockDir); err != nil {
			return nil, err
		}
		if _, err := l.take(ctx, lk, "folder", false); err != nil {
			return nil, refused(ctx, f, err, "a run is writing it")
		}
	}
	return CommitFolder(ctx, f, "", 0)
}

// CommitFolder writes the folder's manifest from the shard manifests of the
// n shards of the job with fingerprint fp ("" and 0: whichever job has all
// its shards), under the folder's commit lock: the new manifest replaces
// the committed one in one write, then the part files it does not list are
// removed, then the success marker is written.
func CommitFolder(ctx context.Context, f Folder, fp string, n int) (*Manifest, error) {
	unlock, err := lockCommit(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("%s: commit lock: %w", f.Path(""), err)
	}
	defer unlock()
	ms, err := ShardGroup(ctx, f, fp, n)
	if err != nil {
		return nil, err
	}
	m, err := manifestOf(ctx, f, ms)
	if err != nil {
		return nil, err
	}
	if err := writeJSON(ctx, f, stages.ManifestFile, m); err != nil {
		return nil, err
	}
	if err := failpoint.Inject("commit/afterManifest"); err != nil {
		return nil, err
	}
	// Part files the manifest does not list are an earlier generation's or
	// another job's: remove them, so the folder holds exactly its files.
	listed := m.names()
	if err := removeParts(ctx, f, func(name string, _ int) bool { return !listed[name] }); err != nil {
		return nil, err
	}
	// Records of other jobs' units (another fingerprint, or a unit this
	// job does not have) describe files no longer there.
	if err := pruneUnitRecords(ctx, f, m, ms[0].TotalUnits); err != nil {
		return nil, err
	}
	// Every unit is committed: what staging holds is a crashed attempt's.
	if err := f.RemoveAll(ctx, stages.StagingDir); err != nil {
		return nil, err
	}
	if err := failpoint.Inject("commit/beforeSuccess"); err != nil {
		return nil, err
	}
	if err := f.WriteMarker(ctx, stages.SuccessFile); err != nil {
		return nil, err
	}
	return m, nil
}

// manifestOf builds the folder manifest listing the shards' files, checked
// present with their sizes, in the generation after the committed one (and
// at least that of every file it lists).
func manifestOf(ctx context.Context, f Folder, ms []*ShardManifest) (*Manifest, error) {
	dir := f.Path("")
	m := &Manifest{Version: ManifestVersion, Job: ms[0].Job, Stage: ms[0].Stage, Fingerprint: ms[0].Fingerprint, Files: []ManifestFile{},
		Mode: ms[0].Mode, JobFingerprint: ms[0].JobFingerprint}
	prev := Committed(ctx, f)
	m.Generation = NextGeneration(prev)
	seen := map[string]int{}
	for _, s := range ms {
		m.Units = append(m.Units, s.Ledger...)
		for _, fl := range s.Files {
			if other, dup := seen[fl.Name]; dup {
				return nil, fmt.Errorf("%s: %s is listed by shard %d and shard %d", dir, fl.Name, other, s.Shard)
			}
			seen[fl.Name] = s.Shard
			size, err := f.Size(ctx, fl.Name)
			if err != nil {
				return nil, fmt.Errorf("%s: shard %d's file: %w", dir, s.Shard, err)
			}
			if size != fl.Bytes {
				return nil, fmt.Errorf("%s: %s has %d bytes, shard %d's manifest says %d", dir, fl.Name, size, s.Shard, fl.Bytes)
			}
			m.Files = append(m.Files, fl)
			m.Rows += fl.Rows
			if g, ok := partGeneration(path.Base(fl.Name)); ok {
				m.Generation = max(m.Generation, g)
			}
		}
	}
	slices.SortFunc(m.Files, func(a, b ManifestFile) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(m.Units, func(a, b LedgerUnit) int { return a.Unit - b.Unit })
	m.History = history(prev, m, time.Now())
	return m, nil
}

// pruneUnitRecords removes the unit records in the folder that are not of
// the units 0..total-1 of the job that committed m: records with m's
// fingerprint, or the one its ledger gives the unit.
func pruneUnitRecords(ctx context.Context, f Folder, m *Manifest, total int) error {
	ledger := make(map[int]string, len(m.Units))
	for _, e := range m.Units {
		ledger[e.Unit] = e.Fingerprint
	}
	for _, name := range matching(ctx, f, stages.UnitsDir, "unit-*.json") {
		var u int
		if _, err := fmt.Sscanf(path.Base(name), "unit-%d.json", &u); err == nil && u >= 0 && u < total {
			if r, err := ReadUnitRecord(ctx, f, u); err == nil && (r.Fingerprint == m.Fingerprint || r.Fingerprint == ledger[u]) {
				continue
			}
		}
		if err := f.Remove(ctx, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
