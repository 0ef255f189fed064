package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/stages"
)

// writeShardManifests writes the shard's manifest into every sink folder
// and reports whether every shard of the job is now done, so that the run
// marks the output complete ([Pipeline.commitFolders]).
func (p *Pipeline) writeShardManifests(rep *Report) (bool, error) {
	if p.plan == nil {
		return false, nil
	}
	fp := p.Fingerprint()
	dirs := p.fileDirs()
	for _, d := range dirs {
		m := &ShardManifest{Version: ManifestVersion, Job: p.job.Name, Stage: d.id(), Fingerprint: fp,
			Shard: p.shard.Index, Shards: p.shard.count(), TotalUnits: len(p.plan.units), Units: p.plan.mine, Files: []ManifestFile{}}
		for _, u := range p.plan.mine {
			r, err := readUnitRecord(d.dir, u)
			if err != nil || r.Fingerprint != fp {
				return false, &StageError{Stage: d.id(), Err: fmt.Errorf("work unit %d has no record of this job in %s: %v", u, d.dir, err)}
			}
			m.Files = append(m.Files, r.Files...)
			m.Rows += r.Rows
		}
		if err := writeJSONAtomic(shardManifestPath(d.dir, p.shard), m); err != nil {
			return false, &StageError{Stage: d.id(), Err: fmt.Errorf("write shard manifest: %w", err)}
		}
	}
	if len(dirs) == 0 {
		return false, nil
	}
	// Every folder must be complete before any is marked: check first.
	for _, d := range dirs {
		if _, err := shardGroup(d.dir, fp, p.shard.count()); err != nil {
			var miss *ShardsMissingError
			if errors.As(err, &miss) {
				rep.Units.Waiting = miss.Missing
				p.log.Info("shard done; the output is marked complete when every shard is", "shard", p.shard.String(), "waiting_for", miss.Missing)
				return false, nil
			}
			return false, &StageError{Stage: d.id(), Err: err}
		}
	}
	rep.Units.Committed = true
	return true, nil
}

// commitFolders writes every sink folder's manifest and success marker.
func (p *Pipeline) commitFolders() error {
	if err := failpoint.Inject("commit/beforeManifest"); err != nil {
		return err
	}
	fp := p.Fingerprint()
	for _, d := range p.fileDirs() {
		if _, err := commitFolder(d.dir, fp, p.shard.count()); err != nil {
			return &StageError{Stage: d.id(), Err: err}
		}
	}
	return nil
}

// shardGroup returns the manifests of the n shards of the job with
// fingerprint fp in dir, in shard order, or an error saying which are
// missing or inconsistent. fp "" picks the one job whose shards are all
// present (or, when none is complete, reports the most advanced one).
func shardGroup(dir, fp string, n int) ([]*ShardManifest, error) {
	ms, err := readShardManifests(dir)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("%s: %w (run the job's shards first)", dir, ErrNoShards)
	}
	type key struct {
		fp string
		n  int
	}
	groups := map[key][]*ShardManifest{}
	var keys []key
	for _, m := range ms {
		k := key{m.Fingerprint, m.Shards}
		if fp != "" && (k.fp != fp || k.n != n) {
			continue
		}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], m)
	}
	var best *ShardsMissingError
	for _, k := range keys {
		g := groups[k]
		have := make([]*ShardManifest, k.n)
		for _, m := range g {
			have[m.Shard] = m
		}
		var missing []int
		for i, m := range have {
			if m == nil {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 {
			if err := checkShards(dir, have); err != nil {
				return nil, err
			}
			return have, nil
		}
		if best == nil || len(missing) < len(best.Missing) {
			best = &ShardsMissingError{Dir: dir, Fingerprint: k.fp, Shards: k.n, Missing: missing}
		}
	}
	if best == nil {
		best = &ShardsMissingError{Dir: dir, Fingerprint: fp, Shards: n}
		for i := range n {
			best.Missing = append(best.Missing, i)
		}
	}
	best.Others = len(ms)
	for _, m := range ms {
		if m.Fingerprint == best.Fingerprint && m.Shards == best.Shards {
			best.Others--
		}
	}
	return nil, best
}

// checkShards checks that a full set of shard manifests agrees: the same
// job and unit count, every unit in exactly one shard.
func checkShards(dir string, ms []*ShardManifest) error {
	seen := make([]bool, ms[0].TotalUnits)
	for _, m := range ms {
		if m.TotalUnits != ms[0].TotalUnits || m.Stage != ms[0].Stage {
			return fmt.Errorf("%s: shard %d lists %d units of stage %q, shard 0 %d of %q", dir, m.Shard, m.TotalUnits, m.Stage, ms[0].TotalUnits, ms[0].Stage)
		}
		for _, u := range m.Units {
			if u < 0 || u >= len(seen) || seen[u] {
				return fmt.Errorf("%s: shard %d lists unit %d, which is out of range or in another shard", dir, m.Shard, u)
			}
			seen[u] = true
		}
	}
	if i := slices.Index(seen, false); i >= 0 {
		return fmt.Errorf("%s: no shard lists work unit %d", dir, i)
	}
	return nil
}

// CommitOutput marks a sharded output folder complete: when every shard of
// one job has written its manifest and the manifests agree, it writes the
// folder's `_manifest.json` (every shard's files), removes part files no
// shard lists, and writes `_SUCCESS`. Otherwise it returns a
// [*ShardsMissingError] naming the missing shards, or an error saying how
// the manifests disagree. It is what `pipe commit` runs; the last shard of a
// run to finish does the same.
func CommitOutput(dir string) (*Manifest, error) {
	// A run writing the folder unsharded holds its lock exclusively.
	l := &folderLocks{}
	defer l.release()
	if err := os.MkdirAll(filepath.Join(dir, LockDir), 0o755); err != nil {
		return nil, err
	}
	if _, err := l.take(dir, "folder", false); err != nil {
		return nil, l.refused(dir, err, "a run is writing it")
	}
	return commitFolder(dir, "", 0)
}

// commitFolder writes dir's manifest from its shard manifests, under the
// folder's commit lock: the new manifest replaces the committed one in one
// rename, then the part files it does not list are removed.
func commitFolder(dir, fp string, n int) (*Manifest, error) {
	lock, err := lockCommit(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: commit lock: %w", dir, err)
	}
	defer unlockCommit(lock)
	ms, err := shardGroup(dir, fp, n)
	if err != nil {
		return nil, err
	}
	m, err := manifestOf(dir, ms)
	if err != nil {
		return nil, err
	}
	if err := writeJSONAtomic(filepath.Join(dir, stages.ManifestFile), m); err != nil {
		return nil, err
	}
	if err := failpoint.Inject("commit/afterManifest"); err != nil {
		return nil, err
	}
	// Part files the manifest does not list are an earlier generation's or
	// another job's: remove them, so the folder holds exactly its files.
	listed := m.names()
	if err := removeParts(dir, func(name string, _ int) bool { return !listed[name] }); err != nil {
		return nil, err
	}
	// Records of other jobs' units (another fingerprint, or a unit this
	// job does not have) describe files no longer there.
	if err := pruneUnitRecords(dir, m.Fingerprint, ms[0].TotalUnits); err != nil {
		return nil, err
	}
	// Every unit is committed: what staging holds is a crashed attempt's.
	if err := os.RemoveAll(filepath.Join(dir, stages.StagingDir)); err != nil {
		return nil, err
	}
	if err := failpoint.Inject("commit/beforeSuccess"); err != nil {
		return nil, err
	}
	if err := writeSync(filepath.Join(dir, stages.SuccessFile)); err != nil {
		return nil, err
	}
	return m, nil
}

// manifestOf builds the folder manifest listing the shards' files, checked
// present with their sizes, in the generation after the committed one (and
// at least that of every file it lists).
func manifestOf(dir string, ms []*ShardManifest) (*Manifest, error) {
	m := &Manifest{Version: ManifestVersion, Job: ms[0].Job, Stage: ms[0].Stage, Fingerprint: ms[0].Fingerprint, Files: []ManifestFile{}}
	m.Generation = committed(dir).generation() + 1
	for _, s := range ms {
		for _, f := range s.Files {
			fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Name)))
			if err != nil {
				return nil, fmt.Errorf("%s: shard %d's file: %w", dir, s.Shard, err)
			}
			if fi.Size() != f.Bytes {
				return nil, fmt.Errorf("%s: %s has %d bytes, shard %d's manifest says %d", dir, f.Name, fi.Size(), s.Shard, f.Bytes)
			}
			m.Files = append(m.Files, f)
			m.Rows += f.Rows
			if g, ok := partGeneration(path.Base(f.Name)); ok {
				m.Generation = max(m.Generation, g)
			}
		}
	}
	slices.SortFunc(m.Files, func(a, b ManifestFile) int { return strings.Compare(a.Name, b.Name) })
	return m, nil
}

// pruneUnitRecords removes the unit records in dir that are not of the job
// with fingerprint fp and its units 0..total-1.
func pruneUnitRecords(dir, fp string, total int) error {
	paths, err := filepath.Glob(filepath.Join(dir, stages.UnitsDir, "unit-*.json"))
	if err != nil {
		return err
	}
	for _, p := range paths {
		var u int
		if _, err := fmt.Sscanf(filepath.Base(p), "unit-%d.json", &u); err == nil && u >= 0 && u < total {
			if r, err := readUnitRecord(dir, u); err == nil && r.Fingerprint == fp {
				continue
			}
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
