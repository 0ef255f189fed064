package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinels for conditions callers branch on. Errors returned by [Load] and
// [Build] wrap [ErrInvalidJob]; errors from [Pipeline.Run] name the stage
// that failed.
var (
	// ErrInvalidJob is wrapped by every problem found in a job file before
	// data moves; the CLI exits 2 on it.
	ErrInvalidJob = errors.New("invalid job")
	// ErrInterrupted is returned by Run after a soft stop ([Pipeline.Stop]):
	// the stages drained and no sink committed.
	ErrInterrupted = errors.New("run interrupted")
)

// Problem is one error or warning in a job file, positioned in the file,
// or in a command-line flag when the value at fault came from one.
type Problem struct {
	File      string
	Line, Col int
	// Flag is the command-line flag that gave the value at fault, such as
	// "--set read.batch_rows=abc"; when set, it replaces the position.
	Flag  string
	Stage string // the stage id, when the problem belongs to one stage
	Msg   string
}

func (p Problem) String() string {
	pos := p.File
	switch {
	case p.Flag != "":
		pos = p.Flag
	case p.Line > 0:
		pos = fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	if p.Stage != "" {
		return fmt.Sprintf("%s: stage %q: %s", pos, p.Stage, p.Msg)
	}
	return pos + ": " + p.Msg
}

// ValidationError holds every problem found in a job, sorted by position.
// It wraps [ErrInvalidJob].
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns ErrInvalidJob.
func (e *ValidationError) Unwrap() error { return ErrInvalidJob }

// problems collects positioned problems.
type problems struct {
	file string
	list []Problem
}

func (ps *problems) add(line, col int, stage, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: ps.file, Line: line, Col: col, Stage: stage, Msg: fmt.Sprintf(format, args...)})
}

// addFlag adds a problem with a value given by the command-line flag
// flag, positioned there rather than in the file.
func (ps *problems) addFlag(flag, stage, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: ps.file, Flag: flag, Stage: stage, Msg: fmt.Sprintf(format, args...)})
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	sortProblems(ps.list)
	return &ValidationError{Problems: ps.list}
}

func sortProblems(list []Problem) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// StageError is a failure of one stage while the job runs.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return fmt.Sprintf("stage %q: %v", e.Stage, e.Err) }

// Unwrap returns the stage's error.
func (e *StageError) Unwrap() error { return e.Err }
