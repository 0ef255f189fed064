package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/output"
)

// writeShardManifests writes the shard's manifest into every sink folder
// and reports whether every shard of the job is now done, so that the run
// marks the output complete ([Pipeline.commitFolders]).
func (p *Pipeline) writeShardManifests(rep *Report) (bool, error) {
	if p.plan == nil {
		return false, nil
	}
	ctx := context.Background()
	fp := p.Fingerprint()
	dirs := p.fileDirs()
	for _, d := range dirs {
		f := folderAt(d.dir)
		m := &output.ShardManifest{Version: output.ManifestVersion, Job: p.job.Name, Stage: d.id(), Fingerprint: fp,
			Shard: p.shard.Index, Shards: p.shard.count(), TotalUnits: len(p.plan.units), Units: p.plan.mine, Files: []output.ManifestFile{},
			JobFingerprint: p.JobFingerprint()}
		if p.job.Incremental() {
			m.Mode = ModeIncremental
		}
		for _, u := range p.plan.mine {
			r, err := output.ReadUnitRecord(ctx, f, u)
			if err != nil || r.Fingerprint != p.plan.fps[u] {
				return false, &StageError{Stage: d.id(), Err: fmt.Errorf("work unit %d has no record of this job in %s: %v", u, d.dir, err)}
			}
			m.Files = append(m.Files, r.Files...)
			m.Rows += r.Rows
			m.Ledger = append(m.Ledger, output.LedgerOf(r))
		}
		if err := output.WriteShardManifest(ctx, f, m); err != nil {
			return false, &StageError{Stage: d.id(), Err: fmt.Errorf("write shard manifest: %w", err)}
		}
	}
	if len(dirs) == 0 {
		return false, nil
	}
	// Every folder must be complete before any is marked: check first.
	for _, d := range dirs {
		if _, err := output.ShardGroup(ctx, folderAt(d.dir), fp, p.shard.count()); err != nil {
			var miss *output.ShardsMissingError
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
		if _, err := output.CommitFolder(context.Background(), folderAt(d.dir), fp, p.shard.count()); err != nil {
			return &StageError{Stage: d.id(), Err: err}
		}
	}
	return nil
}
