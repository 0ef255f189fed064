// Package nativelib finds the native libraries pipe loads at run time
// (ONNX Runtime for bridge/ort, libvips for bridge/vips): each is installed
// by its script into the user cache, pinned and checksummed, and looked
// for in the same order, with an error naming every place tried.
package nativelib

import (
	"errors"
	"os"
	"path/filepath"
)

// Candidate is one place to load a library from.
type Candidate struct {
	Path  string // what dlopen gets
	Label string // how an error names it
	File  bool   // a file path: checked with os.Stat first
}

// Candidates lists where to look, in order: the file the environment
// variable env names, the cacheNames in the user cache folder
// [CacheDir](lib, version), then systemNames through the system's
// library search.
func Candidates(env, lib, version string, cacheNames, systemNames []string) []Candidate {
	var out []Candidate
	if p := os.Getenv(env); p != "" {
		out = append(out, Candidate{Path: p, Label: env + "=" + p, File: true})
	}
	if dir := CacheDir(lib, version); dir != "" {
		for _, name := range cacheNames {
			p := filepath.Join(dir, name)
			out = append(out, Candidate{Path: p, Label: p, File: true})
		}
	}
	for _, name := range systemNames {
		out = append(out, Candidate{Path: name, Label: name + " (system library path)"})
	}
	return out
}

// CacheDir is ${XDG_CACHE_HOME:-$HOME/.cache}/pipe/LIB/VERSION, the folder
// the install scripts fill; "" without a home folder.
func CacheDir(lib, version string) string {
	root := os.Getenv("XDG_CACHE_HOME")
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		root = filepath.Join(home, ".cache")
	}
	return filepath.Join(root, "pipe", lib, version)
}

// Find tries each candidate with load and returns the path of the first
// that loads; when none does, it returns "" and, for every candidate, its
// label and why it did not load. A file candidate that does not exist
// never reaches load.
func Find(cands []Candidate, load func(string) error) (string, []string) {
	var tried []string
	for _, c := range cands {
		if c.File {
			if _, err := os.Stat(c.Path); err != nil {
				tried = append(tried, c.Label+": "+statReason(err))
				continue
			}
		}
		err := load(c.Path)
		if err == nil {
			return c.Path, nil
		}
		tried = append(tried, c.Label+": "+err.Error())
	}
	return "", tried
}

func statReason(err error) string {
	if errors.Is(err, os.ErrNotExist) {
		return "no such file"
	}
	return err.Error()
}
