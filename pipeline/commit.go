package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
)

// Sentinels of the output checks made before a run.
var (
	// ErrUpToDate is returned by [Pipeline.CheckOutputs] when every sink's
	// folder already holds complete output with this job's fingerprint.
	ErrUpToDate = errors.New("output is complete; nothing to do")
	// ErrOutputConflict is wrapped by [*OutputConflictError].
	ErrOutputConflict = errors.New("output folder holds complete output of another job")
)

// OutputStatus is what a sink's output folder held before the run.
type OutputStatus struct {
	Stage string
	Dir   string
	// Complete is true when the folder holds the success marker.
	Complete bool
	// Fingerprint is the manifest's fingerprint; empty when the folder is
	// not complete or its manifest cannot be read.
	Fingerprint string
	// Problem says why complete output does not match its manifest (a
	// file missing or of another size); empty when it matches.
	Problem string
	// Replaces is true when the sink may replace complete output.
	Replaces bool
	// Foreign names the first entries of the folder that pipe did not
	// write, and ForeignCount counts them all.
	Foreign      []string
	ForeignCount int
	// Mode, JobFingerprint and Generation are the manifest's (see
	// [output.Manifest]).
	Mode           string
	JobFingerprint string
	Generation     int
}

// OutputConflictError is returned before any data moves when a sink's
// folder holds complete output that the run may not replace: another job's
// (a different fingerprint), or output that no longer matches its manifest.
// It wraps [ErrOutputConflict].
type OutputConflictError struct {
	Stage, Dir string
	// Have is the fingerprint in the folder's manifest ("" when there is
	// none); Want is this job's.
	Have, Want string
	// Problem, when set, says how the output differs from its manifest.
	Problem string
	// Incremental is set when the folder holds generation Generation of an
	// incremental job that the run would extend but for a change of the
	// job or a model: Have and Want are then job fingerprints.
	Incremental bool
	Generation  int
}

func (e *OutputConflictError) Error() string {
	var what string
	switch {
	case e.Incremental:
		return fmt.Sprintf("stage %q: output folder %s holds generation %d of this incremental job scored by another version of the job or its models "+
			"(job fingerprint %s; now %s); an incremental run does not rescore earlier inputs silently: rerun with --overwrite to rescore every input, "+
			"or restore the job and models", e.Stage, e.Dir, e.Generation, e.Have, e.Want)
	case e.Problem != "":
		what = fmt.Sprintf("holds output marked complete that no longer matches its manifest (%s)", e.Problem)
	case e.Have == "":
		what = fmt.Sprintf("holds complete output without a readable %s", stages.ManifestFile)
	case e.Have == e.Want:
		what = fmt.Sprintf("holds the complete output of this job (fingerprint %s)", e.Want)
	default:
		what = fmt.Sprintf("holds the complete output of another job (fingerprint %s; this job's is %s)", e.Have, e.Want)
	}
	return fmt.Sprintf("stage %q: output folder %s %s; rerun with --overwrite (or set overwrite: true) to replace it", e.Stage, e.Dir, what)
}

// Unwrap returns ErrOutputConflict.
func (e *OutputConflictError) Unwrap() error { return ErrOutputConflict }

// Outputs inspects the output folder of every sink that writes files
// ([stages.FileLister]) and every dead-letter folder, in stage order.
func (p *Pipeline) Outputs() []OutputStatus {
	ctx := context.Background()
	var out []OutputStatus
	dirs := p.fileDirs()
	ours := map[string]bool{}
	for _, d := range dirs {
		ours[folderAt(d.dir).Path("")] = true // as the folders name their entries
	}
	for _, d := range dirs {
		st := OutputStatus{Stage: d.id(), Dir: d.dir, Replaces: d.lister().ReplacesOutput()}
		f := folderAt(d.dir)
		st.Foreign, st.ForeignCount, _ = output.ForeignEntries(ctx, f, ours)
		if output.Complete(ctx, f) {
			st.Complete = true
			if m, err := output.ReadManifest(ctx, f); err == nil {
				st.Fingerprint = m.Fingerprint
				st.Problem = m.Problem(ctx, f)
				st.Mode, st.JobFingerprint, st.Generation = m.Mode, m.JobFingerprint, max(m.Generation, 1)
			}
		}
		out = append(out, st)
	}
	return out
}

// CheckOutputs says, before any data moves, what running would do to the
// sinks' folders: nil when the run may write; an error wrapping
// [ErrUpToDate] when every folder holds complete output with this job's
// fingerprint and intact files (unless BuildOptions.Overwrite); an
// [*OutputConflictError] when a folder holds complete output the run may not
// replace. [Pipeline.Run] makes the conflict check itself, not the
// up-to-date one: a caller that wants a rerun to do nothing asks first, as
// `pipe run` does.
func (p *Pipeline) CheckOutputs() error {
	outs := p.Outputs()
	if !p.overwrite && len(outs) > 0 {
		fp := p.Fingerprint()
		upToDate := true
		for _, o := range outs {
			if !o.Complete || o.Fingerprint != fp || o.Problem != "" {
				upToDate = false
			}
		}
		if upToDate {
			return fmt.Errorf("%w (fingerprint %s)", ErrUpToDate, fp)
		}
	}
	return p.checkConflicts(outs)
}

// checkConflicts reports the first folder holding complete output that its
// sink may not replace, or entries pipe did not write (unless the run
// overwrites).
func (p *Pipeline) checkConflicts(outs []OutputStatus) error {
	for _, o := range outs {
		if o.ForeignCount > 0 && !o.Replaces && !p.overwrite {
			return &output.ForeignFilesError{Stage: o.Stage, Dir: o.Dir, Names: o.Foreign, Count: o.ForeignCount}
		}
		if o.Complete && !o.Replaces {
			if err := p.incrementalConflict(o); err != nil || o.Problem == "" && p.extends(o) {
				return err
			}
			return &OutputConflictError{Stage: o.Stage, Dir: o.Dir, Have: o.Fingerprint, Want: p.Fingerprint(), Problem: o.Problem}
		}
	}
	return nil
}

// extends reports whether an incremental run extends the complete output o:
// its own job's, with unchanged job and models.
func (p *Pipeline) extends(o OutputStatus) bool {
	return p.job.Incremental() && o.Mode == ModeIncremental && o.JobFingerprint == p.JobFingerprint()
}

// incrementalConflict refuses an incremental run over its own job's
// output scored with another job or model version.
func (p *Pipeline) incrementalConflict(o OutputStatus) error {
	if !p.job.Incremental() || o.Mode != ModeIncremental || o.JobFingerprint == p.JobFingerprint() {
		return nil
	}
	return &OutputConflictError{Stage: o.Stage, Dir: o.Dir, Have: o.JobFingerprint, Want: p.JobFingerprint(), Incremental: true, Generation: o.Generation}
}

// RemoveLeftovers tidies output folders that hold complete output but also
// part files their manifests do not list, or a staging folder: what a
// replacement stopped before its own manifest (or a clean-up cut short)
// left. `pipe run` calls it when the output is already complete (nothing
// to run), so that a reader that lists the folder instead of reading the
// manifest does not see them. Folders another run holds are left alone.
func (p *Pipeline) RemoveLeftovers() error {
	ctx := context.Background()
	for _, d := range p.fileDirs() {
		f := folderAt(d.dir)
		if !output.HasLeftovers(ctx, f) {
			continue
		}
		l, err := output.LockFolders(ctx, []output.Folder{f}, output.Shard{})
		if errors.Is(err, output.ErrLocked) {
			continue
		}
		if err != nil {
			return err
		}
		err = output.RemoveUnlisted(ctx, f)
		l.Release()
		if err != nil {
			return &StageError{Stage: d.id(), Err: err}
		}
	}
	return nil
}
