package stages

import (
	"fmt"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/executor"
)

// Env is what a stage constructor receives besides its config.
type Env struct {
	// ID is the stage's id in the job.
	ID string
	// Inputs holds the schema arriving on each of the stage's inputs, in the
	// order of its `inputs` list. Empty for sources.
	Inputs []*arrow.Schema
	// InputIDs holds the ids of the stages feeding each input, in the same
	// order, for messages that name them.
	InputIDs []string
	// Mem allocates every Arrow buffer the stage creates.
	Mem memory.Allocator
	// Log is the stage's logger, with the stage id attached.
	Log *slog.Logger
	// JobDir is the folder of the job file; [Path] fields in the config are
	// already resolved against it.
	JobDir string
	// Executor runs the job's model calls: placement on backends, shared
	// sessions, admission against the memory budget, retries. The runtime
	// provides one to stage types that set [Type.NeedsExecutor]; nil
	// otherwise.
	Executor *executor.Executor
	// Batches is told about every model batch the stage completes; nil
	// when nobody watches (see [BatchObserver]).
	Batches BatchObserver
	// Files pins the content of the files the stage reads at build time
	// (models, matrices); nil pins nothing (see [FilePins]).
	Files *FilePins
	// Overwrite lets sinks replace the output already in their folder, as
	// their own overwrite setting does (`pipe run --overwrite`).
	Overwrite bool
	// Reject receives rows the stage could not process when its on_error
	// is skip or dead_letter; nil when on_error is fail (return the error).
	Reject Rejecter
	// PartPrefix, when set, is the prefix of every file a sink writes in
	// this run: the runtime builds one sink per work unit, each naming its
	// files PartPrefix-NNNNN.parquet. Files with that prefix already in the
	// folder are the unit's earlier output and are replaced; files with
	// other prefixes belong to other units and are left alone.
	PartPrefix string
}

// Input returns the schema of the only input of a transform or the first
// input of an operator.
func (e *Env) Input() *arrow.Schema {
	if len(e.Inputs) == 0 {
		return nil
	}
	return e.Inputs[0]
}

// ColumnError is a problem with one column of a stage's input or output,
// found when the stage is built or while it runs.
type ColumnError struct {
	Column string
	Msg    string
}

func (e *ColumnError) Error() string { return fmt.Sprintf("column %q: %s", e.Column, e.Msg) }

// Column returns the index of the named column in s, or a [*ColumnError]
// listing the columns that exist.
func Column(s *arrow.Schema, name string) (int, error) {
	idx := s.FieldIndices(name)
	if len(idx) == 0 {
		names := make([]string, s.NumFields())
		for i, f := range s.Fields() {
			names[i] = f.Name
		}
		msg := "not found"
		if n := Nearest(name, names); n != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", n)
		}
		return -1, &ColumnError{Column: name, Msg: msg + "; input columns: " + joinNames(names)}
	}
	if len(idx) > 1 {
		return -1, &ColumnError{Column: name, Msg: "appears more than once in the input"}
	}
	return idx[0], nil
}
