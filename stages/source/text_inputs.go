package source

import (
	"log/slog"

	"github.com/pipe-ml/pipe/stages"
)

// This file holds what the text sources (CSV, JSON lines) tell the user
// about their files: which files their paths matched and skipped, and the
// files that hold no rows.

// Both text sources list their files for `pipe validate`.
var (
	_ stages.InputLister = (*CSV)(nil)
	_ stages.InputLister = (*JSONL)(nil)
)

// logInputs logs, at debug level, the files a source's paths matched and
// the files skipped in its folders, each with the reason.
func logInputs(log *slog.Logger, matched []string, skipped []stages.FileNote) {
	if log == nil {
		return
	}
	log.Debug("input files", "matched", len(matched), "skipped", len(skipped))
	for _, p := range matched {
		log.Debug("input file matched", "file", p)
	}
	for _, n := range skipped {
		log.Debug("input file skipped", "file", n.Path, "reason", n.Reason)
	}
}

// warnNoRows warns that the file at path held no rows, saying why; such a
// file is read as 0 rows, not an error.
func warnNoRows(log *slog.Logger, path, why string) {
	if log != nil {
		log.Warn("file holds no rows: "+why, "file", path)
	}
}
