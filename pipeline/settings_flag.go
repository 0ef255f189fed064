package pipeline

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// setForField returns the --set flag ("--set ID.KEY=VALUE") whose value a
// decoding problem at path ("with.batch.max_rows", as a
// [stages.FieldError] names it) is about, or "" when the problem is about
// the job file. A problem with a mapping the flag's key runs through is
// the flag's; one with the whole block (an unknown key) when msg quotes
// the key the flag added.
func (s *StageDef) setForField(path, msg string) string {
	rel, ok := strings.CutPrefix(path, "with")
	if !ok || (rel != "" && rel[0] != '.') {
		return ""
	}
	rel = strings.TrimPrefix(rel, ".")
	for _, key := range slices.Sorted(maps.Keys(s.sets)) {
		switch {
		case rel == key, strings.HasPrefix(rel, key+"."), rel != "" && strings.HasPrefix(key, rel+"."):
			return "--set " + s.sets[key]
		case rel == "":
			first, _, _ := strings.Cut(key, ".")
			if strings.Contains(msg, strconv.Quote(first)) {
				return "--set " + s.sets[key]
			}
		}
	}
	return ""
}

// setForMessage returns the --set flag whose value a stage constructor's
// error is about: one whose key (dotted, or its first part) the message
// starts with, as in "batch_rows must be at least 1" or "paths: …"; ""
// when none.
func (s *StageDef) setForMessage(msg string) string {
	for _, key := range slices.Sorted(maps.Keys(s.sets)) {
		first, _, _ := strings.Cut(key, ".")
		for _, k := range []string{key, first} {
			rest, ok := strings.CutPrefix(msg, k)
			if ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, ":")) {
				return "--set " + s.sets[key]
			}
		}
	}
	return ""
}
