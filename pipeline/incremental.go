package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
)

// An incremental job ([ModeIncremental]) keeps, from one run to the next,
// the output of every work unit whose key and input files (path, size and
// modification time or ETag) are unchanged, computed under the same job
// fingerprint ([Pipeline.JobFingerprint]). A unit's fingerprint
// ([Pipeline.unitFingerprint]) folds all of that; the manifest's ledger
// ([output.LedgerUnit]) records it per unit, so the next run finds the
// units it keeps by fingerprint whatever their index, writes their records
// under their new indexes, computes the others as a new generation and
// commits a manifest listing both. Units of the ledger that the run does
// not keep (inputs gone or changed) lose their files once the new manifest
// is in place: the output always mirrors the inputs, as a full run over
// them would.

// stampInputs returns the stamps of the input files of unit u: size and
// modification time for a file, size and ETag for an object the source
// listed. A file that cannot be read is stamped missing (size -1), so that
// it never matches an earlier stamp.
func (p *Pipeline) stampInputs(u stages.Unit) []output.InputFile {
	out := make([]output.InputFile, 0, len(u.Files))
	for _, path := range u.Files {
		st := output.InputFile{Path: p.stampPath(path), Size: -1, Version: "missing"}
		if stages.IsObjectURL(path) {
			if v, ok := p.objectVersions()[path]; ok {
				st.Size, st.Version = v.Size, "etag:"+v.ETag
			}
		} else if fi, err := os.Stat(path); err == nil {
			st.Size, st.Version = fi.Size(), "mtime:"+strconv.FormatInt(fi.ModTime().UnixNano(), 10)
		}
		out = append(out, st)
	}
	return out
}

// stampPath is how an input path is recorded: relative to the job's
// folder when inside it, so that moving a project does not rescore it.
func (p *Pipeline) stampPath(path string) string {
	if stages.IsObjectURL(path) || p.job.Dir == "" {
		return path
	}
	if rel, err := filepath.Rel(p.job.Dir, path); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return path
}

// objectVersions maps the URL of every object a source listed to its
// version, computed once.
func (p *Pipeline) objectVersions() map[string]stages.ObjectVersion {
	p.objOnce.Do(func() {
		p.objs = map[string]stages.ObjectVersion{}
		for _, n := range p.nodes {
			if v, ok := n.stage.(stages.ObjectVersioner); ok && n.entry.Kind == stages.KindSource {
				for _, o := range v.ObjectVersions() {
					p.objs[o.URL] = o
				}
			}
		}
	})
	return p.objs
}

// unitFingerprints computes the fingerprint of every unit of the plan. A
// job that does not split into units is one unit reading every input: its
// fingerprint is the whole job's, input files included.
func (p *Pipeline) unitFingerprints(plan *unitPlan) {
	plan.fps = make([]string, len(plan.units))
	for i, u := range plan.units {
		if plan.sharder == nil {
			plan.fps[i] = p.Fingerprint()
			continue
		}
		plan.fps[i] = p.unitFingerprint(u)
	}
}

// keptUnit is a unit of the committed output that the run keeps: its
// ledger entry in each sink folder, by folder.
type keptUnit map[folderKey]output.LedgerUnit

// findKept finds the units of the shard that an incremental run keeps from
// the committed output: those whose key and fingerprint every sink
// folder's ledger holds, with their files present at their sizes. A
// folder without committed output of this job keeps nothing.
func (p *Pipeline) findKept(ctx context.Context, plan *unitPlan) map[int]keptUnit {
	if !p.job.Incremental() || p.overwrite {
		return nil
	}
	dirs := p.fileDirs()
	ledgers := make(map[folderKey]map[string]output.LedgerUnit, len(dirs))
	for _, d := range dirs {
		f := folderAt(d.dir)
		m := output.Committed(ctx, f)
		if m == nil || m.JobFingerprint != p.JobFingerprint() || m.Problem(ctx, f) != "" {
			return nil
		}
		byKey := make(map[string]output.LedgerUnit, len(m.Units))
		for _, e := range m.Units {
			byKey[e.Key+"\x00"+e.Fingerprint] = e
		}
		ledgers[d.key()] = byKey
	}
	kept := map[int]keptUnit{}
	for _, u := range plan.mine {
		k := keptUnit{}
		for _, d := range dirs {
			e, ok := ledgers[d.key()][plan.units[u].Key+"\x00"+plan.fps[u]]
			if !ok {
				k = nil
				break
			}
			k[d.key()] = e
		}
		if len(dirs) > 0 && k != nil {
			kept[u] = k
		}
	}
	return kept
}

// recordKept writes, under the run's lock, the record of every unit the
// run keeps into each sink folder: the unit's files from the committed
// manifest, under the unit's index in this run.
func (p *Pipeline) recordKept(ctx context.Context, plan *unitPlan) error {
	for _, d := range p.fileDirs() {
		if len(plan.kept) == 0 {
			break
		}
		f := folderAt(d.dir)
		m := output.Committed(ctx, f)
		if m == nil {
			return &StageError{Stage: d.id(), Err: fmt.Errorf("%s: the committed output disappeared during the run", d.dir)}
		}
		for u, k := range plan.kept {
			r, err := output.CarriedRecord(m, k[d.key()], u)
			if err == nil && !sameRecord(ctx, f, r) {
				err = output.WriteUnitRecord(ctx, f, r)
			}
			if err != nil {
				return &StageError{Stage: d.id(), Err: fmt.Errorf("keep unit %d (%s): %w", u, plan.units[u].Key, err)}
			}
		}
	}
	return nil
}

// sameRecord reports whether the folder already holds record r under its
// unit's index, as when the units before it did not change: most runs of
// a folder growing by new partitions then write no record for what they
// keep (each write is a file and folder sync).
func sameRecord(ctx context.Context, f output.Folder, r *output.UnitRecord) bool {
	have, err := output.ReadUnitRecord(ctx, f, r.Unit)
	return err == nil && have.Fingerprint == r.Fingerprint && have.Key == r.Key && have.Generation == r.Generation &&
		slices.Equal(have.Files, r.Files) && have.Rows == r.Rows
}

// logIncremental says what an incremental run does with the committed
// output.
func (p *Pipeline) logIncremental(plan *unitPlan) {
	if !p.job.Incremental() {
		return
	}
	p.log.Info(fmt.Sprintf("incremental: %d of %d work units are unchanged and kept; scoring %d new or changed", len(plan.kept), len(plan.mine), len(plan.todo)),
		"shard", p.shard.String())
}
