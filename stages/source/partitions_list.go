package source

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pipe-ml/pipe/stages"
)

// listSource expands the `paths` of a file source as listPaths does and,
// with partitioning hive, reads the partition layout of the files and
// prunes them by the partitions condition. The layout is nil when
// partitioning is off.
func listSource(paths []stages.Path, exts []string, c HiveConfig) (*pathList, *hiveLayout, error) {
	h, err := newHiveLayout(c)
	if err != nil {
		return nil, nil, err
	}
	if h == nil {
		l, err := listPaths(paths, exts)
		return l, nil, err
	}
	l, err := h.list(paths, exts)
	if err != nil {
		return nil, nil, err
	}
	return l, h, nil
}

// list is listPaths for partitioned folders: a folder is walked one level
// of key=value folders at a time, pruning each level as soon as the
// partitions condition names only the keys known, so that the folders under
// a pruned one are never listed; the files a glob or a plain path names are
// pruned by the folders above them.
func (h *hiveLayout) list(paths []stages.Path, exts []string) (*pathList, error) {
	if len(paths) == 0 {
		return nil, errors.New("paths: at least one file or pattern is required")
	}
	l := &pathList{seen: map[string]bool{}}
	var files []hiveFile
	for _, p := range paths {
		s := string(p)
		if s == "" {
			return nil, errors.New("paths: empty path")
		}
		if isObjectURL(s) {
			found, n, err := h.listObjects(l, s, exts)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				return nil, fmt.Errorf("paths: %q %w", s, ErrNoMatch)
			}
			files = append(files, found...)
			continue
		}
		matches, err := globPath(s)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				if len(matches) == 1 && m == s {
					return nil, fmt.Errorf("paths: %w", err)
				}
				continue
			}
			if !st.IsDir() {
				files = append(files, hiveFile{path: m, vals: trailingSegments(filepath.Dir(m))})
				n++
				continue
			}
			found, pruned, err := h.walk(m, exts, &l.skipped, h.readLevel)
			if err != nil {
				return nil, fmt.Errorf("paths: %w", err)
			}
			files = append(files, found...)
			n += len(found) + pruned
		}
		if n == 0 {
			return nil, fmt.Errorf("paths: %q %w", s, ErrNoMatch)
		}
	}
	if err := h.finish(l, files); err != nil {
		return nil, err
	}
	return l, nil
}

// levelReader lists one folder d of a partitioned tree (see
// [hiveLayout.readLevel]): its key=value sub-folders and its data files,
// noting what it leaves out in left.
type levelReader func(d hiveFile, exts []string, left *[]stages.FileNote) (dirs, files []hiveFile, err error)

// walk lists the data files under dir, level by level through read,
// pruning the folders of each level. It returns the files (sorted) and the
// number of folders pruned, and appends what it leaves out to skipped
// (sorted).
func (h *hiveLayout) walk(dir string, exts []string, skipped *[]stages.FileNote, read levelReader) ([]hiveFile, int, error) {
	start := hiveFile{path: dir, vals: trailingSegments(dir)}
	for i, v := range start.vals {
		if err := h.noteKey(i, v.key, dir); err != nil {
			return nil, 0, err
		}
		h.keys[i].observe(v)
	}
	var files []hiveFile
	var left []stages.FileNote
	pruned := 0
	level := []hiveFile{start}
	for len(level) > 0 {
		kept, notes, err := h.prune(level)
		if err != nil {
			return nil, 0, err
		}
		left = append(left, notes...)
		pruned += len(notes)
		var next []hiveFile
		for _, d := range kept {
			sub, found, err := read(d, exts, &left)
			if err != nil {
				return nil, 0, err
			}
			next = append(next, sub...)
			files = append(files, found...)
		}
		level = next
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	sort.Slice(left, func(i, j int) bool { return left[i].Path < left[j].Path })
	*skipped = append(*skipped, left...)
	return files, pruned, nil
}

// readLevel lists the folder d: its key=value sub-folders, and its data
// files; what it leaves out goes to left. A sub-folder that is not
// key=value, or of another key than its neighbours, is an error.
func (h *hiveLayout) readLevel(d hiveFile, exts []string, left *[]stages.FileNote) (dirs, files []hiveFile, err error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(d.path, name)
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			*left = append(*left, stages.FileNote{Path: p, Reason: "name starts with " + name[:1]})
			continue
		}
		if !e.IsDir() {
			if hasExtension(p, exts) {
				files = append(files, d)
				files[len(files)-1].path = p
			} else {
				*left = append(*left, stages.FileNote{Path: p, Reason: "extension"})
			}
			continue
		}
		sub, err := h.subFolder(d, name, p)
		if err != nil {
			return nil, nil, err
		}
		dirs = append(dirs, sub)
	}
	return dirs, files, nil
}

// subFolder returns the sub-folder name (at p) of the folder d, noting its
// key and value; a name that is not key=value, or of another key than the
// layout's at its depth, is an error.
func (h *hiveLayout) subFolder(d hiveFile, name, p string) (hiveFile, error) {
	v, ok := parseSegment(name)
	if !ok {
		return hiveFile{}, fmt.Errorf("%s: %w: folder %q is not key=value (partitioning hive; layout %s)", p, ErrPartitionLayout, name, h.describe())
	}
	depth := len(d.vals)
	if err := h.noteKey(depth, v.key, p); err != nil {
		return hiveFile{}, err
	}
	h.keys[depth].observe(v)
	return hiveFile{path: p, vals: append(slices.Clone(d.vals), v)}, nil
}

// finish checks that every file lies under the layout's keys, fixes the
// types of the partition columns, prunes the files by the partitions
// condition and adds the others to l.
func (h *hiveLayout) finish(l *pathList, files []hiveFile) error {
	for _, f := range files {
		for i, v := range f.vals {
			if err := h.noteKey(i, v.key, f.path); err != nil {
				return err
			}
			h.keys[i].observe(v)
		}
	}
	if len(h.keys) == 0 {
		return fmt.Errorf("paths: %w: partitioning is hive, but no file lies under key=value folders (first file %s)", ErrPartitionLayout, files[0].path)
	}
	for _, f := range files {
		if len(f.vals) != len(h.keys) {
			return fmt.Errorf("%s: %w: expected it under folders %s, found %s", f.path, ErrPartitionLayout, h.describe(), describeVals(f.vals))
		}
	}
	if err := h.fixFields(); err != nil {
		return err
	}
	rows, rowOf := distinctTuples(files)
	keep, err := h.buildTuples(rows, files, rowOf)
	if err != nil {
		return err
	}
	prunedFiles := 0
	for i, f := range files {
		if l.seen[f.path] {
			continue
		}
		if !keep[rowOf[i]] {
			prunedFiles++
			l.seen[f.path] = true
			l.skipped = append(l.skipped, stages.FileNote{Path: f.path, Reason: "partitions: " + h.conf.Partitions})
			continue
		}
		l.add(f.path)
		h.byFile[f.path] = rowOf[i]
	}
	if len(l.matched) == 0 {
		pruned := 0
		for _, n := range l.skipped {
			if n.Reason == "partitions: "+h.conf.Partitions {
				pruned++
			}
		}
		return fmt.Errorf("partitions: %q %w: every partition is pruned (%d folders, %d files)", h.conf.Partitions, ErrNoMatch, pruned-prunedFiles, prunedFiles)
	}
	return nil
}

// describeVals writes the key=value folders above a file.
func describeVals(vals []partVal) string {
	if len(vals) == 0 {
		return "no key=value folder"
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = v.key + "=..."
	}
	return strings.Join(parts, "/")
}

// distinctTuples numbers the distinct value tuples of files: rows holds
// each once, in order of first appearance, and rowOf[i] is the row of
// files[i].
func distinctTuples(files []hiveFile) (rows [][]partVal, rowOf []int) {
	index := map[string]int{}
	rowOf = make([]int, len(files))
	for i, f := range files {
		var b strings.Builder
		for _, v := range f.vals {
			if v.null {
				b.WriteString("\x01")
			} else {
				b.WriteString("\x02" + v.val)
			}
			b.WriteByte(0)
		}
		k := b.String()
		r, ok := index[k]
		if !ok {
			r = len(rows)
			index[k] = r
			rows = append(rows, f.vals)
		}
		rowOf[i] = r
	}
	return rows, rowOf
}
