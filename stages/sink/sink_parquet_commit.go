package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/stages"
)

// prepare creates the output and staging folders, clearing a staging folder
// left by a crashed run. It first removes the success marker of the output
// it is going to replace, so that no crash from here on leaves a stale
// marker beside new files. Complete output is replaced only with overwrite.
func (s *ParquetSink) prepare(ctx context.Context) error {
	if s.prepared {
		return nil
	}
	if s.complete && !s.overwrite {
		return fmt.Errorf("%w: %s holds the complete output of an earlier run (%s); set overwrite: true or run with --overwrite to replace it",
			ErrOutputExists, s.dir, stages.SuccessFile)
	}
	if s.obj != nil {
		return s.prepareObject(ctx)
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	if s.prefix != "" {
		// A symbolic link in place of the shared staging folder would send
		// the unit's files outside the output folder: replace it (the
		// link, not what it points to). The unit's own folder is removed
		// below as a whole sink's is.
		parent := filepath.Dir(s.staging)
		if fi, err := os.Lstat(parent); err == nil && (!fi.IsDir() || fi.Mode()&os.ModeSymlink != 0) {
			if err := os.Remove(parent); err != nil {
				return err
			}
		}
		// A unit's sink: the runtime removed the success marker before the
		// first unit; the staging folder is the unit's own.
		if err := os.MkdirAll(filepath.Dir(s.staging), 0o755); err != nil {
			return err
		}
	} else if err := os.Remove(filepath.Join(s.dir, stages.SuccessFile)); err == nil {
		s.removedSuccess = true
		if err := s.syncDir(s.dir); err != nil {
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(s.staging); err != nil {
		return err
	}
	if err := s.makeStaging(); err != nil {
		return err
	}
	if err := s.syncDir(s.dir); err != nil {
		return err
	}
	s.prepared = true
	return nil
}

// makeStaging creates the staging folder. A unit's folder lives in the
// staging folder units share, which another unit's sink (in this process or
// another shard's) removes when it finds it empty: between creating the
// shared folder and the unit's own, that can happen, so it is tried again.
// Once the unit's folder exists the shared one is not empty and stays.
func (s *ParquetSink) makeStaging() error {
	if s.prefix == "" {
		return os.Mkdir(s.staging, 0o755)
	}
	var err error
	for range 5 {
		if err = os.MkdirAll(s.staging, 0o755); err == nil || !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return err
}

// Commit completes the last file, moves every completed file to its final
// name, removes old part files this run did not produce (overwrite), and
// fsyncs the folder. The staging folder, now empty, is removed by Close:
// the runtime writes the manifest and success marker in between. A run that
// wrote no rows leaves one file holding the schema and no rows, when the
// schema is known.
func (s *ParquetSink) Commit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.state != stateOpen {
		return fmt.Errorf("commit after %s", s.stateName())
	}
	if err := s.prepare(ctx); err != nil {
		return &FileError{Op: "create", Path: s.dir, Err: err}
	}
	s.committing = true
	if s.parts != nil {
		return s.parts.commit(ctx)
	}
	if s.cur == nil && len(s.produced) == 0 && s.schema != nil {
		if err := s.openFile(ctx); err != nil {
			return err
		}
	}
	if s.cur != nil {
		if err := s.finishFile(); err != nil {
			return err
		}
	}
	if s.holdFinal {
		for _, pf := range s.produced {
			dst := filepath.Join(s.dir, pf.name)
			if err := os.Rename(filepath.Join(s.staging, pf.name), dst); err != nil {
				return &FileError{Op: "rename", Path: dst, Err: err}
			}
			if err := failpoint.Inject("sink/afterCommitRename"); err != nil {
				return &FileError{Op: "rename", Path: dst, Err: err}
			}
		}
	}
	keep := make(map[string]bool, len(s.produced))
	for _, pf := range s.produced {
		keep[pf.name] = true
	}
	for _, n := range s.old {
		if !keep[n] {
			if err := s.removeFile(n); err != nil {
				return err
			}
		}
	}
	if s.prepared {
		if err := s.syncDir(s.dir); err != nil {
			return &FileError{Op: "sync", Path: s.dir, Err: err}
		}
	}
	s.state = stateCommitted
	return nil
}

// Abort discards this run's output: the file being written, the staging
// folder and the files this run already completed. Part files of earlier
// runs are left alone; when the run replaced complete output and had not
// begun to commit, the old output's success marker is written back. A
// staging folder stays, empty, when part files of a crashed run (or a mix
// of old and new files) remain, so that the next run replaces them. After
// Commit, Abort (the run failed before its output was marked complete)
// keeps the committed files and the staging folder.
func (s *ParquetSink) Abort() error {
	if s.state == stateCommitted {
		// The run failed after the commit, before its output was marked
		// complete: the files stay, and so does the staging folder, so
		// that the next run knows them for an incomplete run's.
		s.keepStaging = true
		return nil
	}
	if s.state != stateOpen {
		return nil
	}
	s.state = stateAborted
	s.parts.release()
	s.discardFile()
	s.releaseCarry()
	var errs []error
	if !s.holdFinal {
		for _, pf := range s.produced {
			if err := s.removeFile(pf.name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if !s.prepared {
		return errors.Join(errs...)
	}
	if s.obj != nil {
		// Partitions' completed files are under their final names.
		errs = append(errs, s.parts.removeProduced()...)
		return errors.Join(append(errs, s.abortObject())...)
	}
	if err := os.RemoveAll(s.staging); err != nil {
		errs = append(errs, &FileError{Op: "remove", Path: s.staging, Err: err})
	}
	if s.prefix != "" {
		_ = os.Remove(filepath.Dir(s.staging)) // when no other unit's is left
	}
	switch {
	case s.removedSuccess && !s.committing:
		// The old output is untouched: mark it complete again.
		if err := s.writeSuccess(); err != nil {
			errs = append(errs, &FileError{Op: "create", Path: filepath.Join(s.dir, stages.SuccessFile), Err: err})
		}
	case s.prefix == "" && len(s.old) > 0 && (s.crashed || s.committing):
		// Part files of a crashed run, or a mix of old and new ones, remain
		// without a success marker: leave an empty staging folder so that
		// the next run knows them for a crashed run's and replaces them.
		if err := os.Mkdir(s.staging, 0o755); err != nil {
			errs = append(errs, &FileError{Op: "create", Path: s.staging, Err: err})
		}
	}
	return errors.Join(errs...)
}

// writeSuccess creates the empty success marker, fsynced, and fsyncs the
// folder.
func (s *ParquetSink) writeSuccess() error {
	f, err := os.Create(filepath.Join(s.dir, stages.SuccessFile))
	if err != nil {
		return err
	}
	if !s.conf.skipSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return s.syncDir(s.dir)
}

// Close releases everything the sink holds. Without a prior Commit or
// Abort it aborts. After Commit it removes the (empty) staging folder: the
// folder outlives Commit so that, until the runtime has written the
// manifest, part files without a success marker are recognisably the work
// of a crashed run. It is safe to call more than once.
func (s *ParquetSink) Close() error {
	var err error
	switch s.state {
	case stateOpen:
		err = s.Abort()
	case stateCommitted:
		if s.obj != nil && s.prepared && !s.keepStaging {
			err = s.removeStaging(context.Background())
		} else if s.obj == nil && s.prepared && !s.keepStaging {
			if rerr := os.RemoveAll(s.staging); rerr != nil {
				err = &FileError{Op: "remove", Path: s.staging, Err: rerr}
			}
			if s.prefix != "" {
				// The shared staging folder goes when its last unit's does.
				_ = os.Remove(filepath.Dir(s.staging))
			}
		}
	}
	s.parts.release()
	s.discardFile()
	s.releaseCarry()
	s.state = stateClosed
	return err
}

// syncDir fsyncs a folder so that renames in it are durable.
func (s *ParquetSink) syncDir(dir string) error {
	if s.conf.skipSync || s.obj != nil {
		return nil
	}
	return stages.SyncDir(dir)
}

// abortObject is the end of Abort on object storage, once the sink's own
// files are gone: as for a local folder, the old output's success marker is
// written back when it is untouched, and the staging marker stays when part
// files of a crashed run (or a mix) remain.
func (s *ParquetSink) abortObject() error {
	ctx := context.Background()
	f := s.obj.folder
	switch {
	case s.prefix == "" && len(s.old) > 0 && (s.crashed || s.committing) && !(s.removedSuccess && !s.committing):
		return nil // the staging marker stays
	case s.removedSuccess && !s.committing:
		if err := s.removeStaging(ctx); err != nil {
			return err
		}
		if err := f.WriteMarker(ctx, stages.SuccessFile); err != nil {
			return &FileError{Op: "create", Path: s.join(stages.SuccessFile), Err: err}
		}
		return nil
	}
	return s.removeStaging(ctx)
}
