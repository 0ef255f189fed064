package output

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pipe-ml/pipe/stages"
)

// ReportFile is the run report a run writes into each sink's output
// folder; the protocol counts it as one of pipe's own files.
const ReportFile = "metrics.json"

// HTMLReportFile is the page drawn from the run report, written beside it;
// one of pipe's own files too.
const HTMLReportFile = "report.html"

// partName matches the part files pipe writes: unit, generation (empty for
// 1) and file number.
var partName = regexp.MustCompile(`^part-([0-9]{5,})-(?:g([0-9]+)-)?([0-9]{5,})\.parquet$`)

// partGeneration returns the generation of a part file pipe wrote, and
// false for any other name.
func partGeneration(name string) (int, bool) {
	m := partName.FindStringSubmatch(name)
	switch {
	case m == nil:
		return 0, false
	case m[2] == "":
		return 1, true
	}
	g, err := strconv.Atoi(m[2])
	if err != nil || g < 2 {
		return 0, false
	}
	return g, true
}

// unitPrefix is the file-name prefix of a unit's part files.
func unitPrefix(unit int) string { return fmt.Sprintf("part-%05d", unit) }

// PartPrefix is the prefix of the part files of a unit in generation gen;
// the sink appends -NNNNN.parquet.
func PartPrefix(unit, gen int) string {
	if gen <= 1 {
		return unitPrefix(unit)
	}
	return fmt.Sprintf("%s-g%d", unitPrefix(unit), gen)
}

// NextGeneration is the generation a run over committed output m (nil:
// none) names its files in: one past m's.
func NextGeneration(m *Manifest) int { return m.generation() + 1 }

// RemoveStale removes the part files of generation m's or lower that the
// committed manifest m does not list: what a replacement left when it was
// stopped between its manifest and its clean-up. Part files of later
// generations are an unfinished run's, which a resumed run may keep.
func RemoveStale(ctx context.Context, f Folder, m *Manifest) error {
	if m == nil {
		return nil
	}
	listed := m.names()
	return removeParts(ctx, f, func(name string, gen int) bool { return gen <= m.generation() && !listed[name] })
}

// removeParts removes the part files pipe wrote in the folder for which
// drop is true. Files already gone are not an error.
// Part files in partition folders (col=value/, see [PartitionFolder]) count,
// named by their slash-separated paths.
func removeParts(ctx context.Context, f Folder, drop func(name string, gen int) bool) error {
	return walkParts(ctx, f, "", 0, func(name string, e Entry) error {
		gen, ok := partGeneration(e.Name)
		if !ok || !e.Regular() || !drop(name, gen) {
			return nil
		}
		if err := f.Remove(ctx, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// maxPartitionDepth bounds how deep partition folders are looked into.
const maxPartitionDepth = 32

// PartitionFolder reports whether an entry name is a partition folder's,
// col=value, as a parquet_sink with partition_by writes them: a column
// name not starting with _ or . (which readers skip), then =.
func PartitionFolder(name string) bool {
	i := strings.IndexByte(name, '=')
	return i > 0 && name[0] != '_' && name[0] != '.'
}

// walkParts calls fn with the slash-separated name of every entry that is
// not a partition folder in folder dir and, recursively, in its partition
// folders. A partition folder that cannot be listed is skipped, as [Folder]
// globs are.
func walkParts(ctx context.Context, f Folder, dir string, depth int, fn func(name string, e Entry) error) error {
	ents, err := f.List(ctx, dir)
	if err != nil {
		if dir != "" {
			return nil
		}
		return err
	}
	for _, e := range ents {
		name := path.Join(dir, e.Name)
		if e.Type.IsDir() && PartitionFolder(e.Name) {
			if depth < maxPartitionDepth {
				if err := walkParts(ctx, f, name, depth+1, fn); err != nil {
					return err
				}
			}
			continue
		}
		if err := fn(name, e); err != nil {
			return err
		}
	}
	return nil
}

// Unlisted returns the part files in the folder that m does not list: an
// unfinished run's, or an old generation's whose removal was cut short.
// Readers that take the list of files from the manifest never see them.
func Unlisted(ctx context.Context, f Folder, m *Manifest) ([]string, error) {
	listed := m.names()
	var out []string
	err := walkParts(ctx, f, "", 0, func(name string, e Entry) error {
		if strings.HasPrefix(e.Name, "part-") && strings.HasSuffix(e.Name, ".parquet") && !listed[name] {
			out = append(out, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// HasLeftovers reports whether a folder holding committed output also holds
// part files its manifest does not list, or a staging folder: what a
// replacement stopped before its own manifest (or a clean-up cut short)
// left, which [RemoveUnlisted] removes.
func HasLeftovers(ctx context.Context, f Folder) bool {
	m := Committed(ctx, f)
	if m == nil {
		return false
	}
	un, err := Unlisted(ctx, f, m)
	if err != nil {
		return false
	}
	_, serr := f.Stat(ctx, stages.StagingDir)
	return len(un) > 0 || serr == nil
}

// RemoveUnlisted removes the part files pipe wrote in the folder that its
// committed manifest, read again (under the caller's lock), does not list,
// and the staging folder.
func RemoveUnlisted(ctx context.Context, f Folder) error {
	m := Committed(ctx, f)
	if m == nil {
		return nil
	}
	listed := m.names()
	if err := removeParts(ctx, f, func(name string, _ int) bool { return !listed[name] }); err != nil {
		return err
	}
	return f.RemoveAll(ctx, stages.StagingDir)
}

// ErrForeignFiles is wrapped by [*ForeignFilesError].
var ErrForeignFiles = errors.New("output folder holds files pipe did not write")

// ForeignFilesError is returned before any data moves when a sink's folder
// holds entries that pipe did not write, and the run may not write beside
// them. It wraps [ErrForeignFiles].
type ForeignFilesError struct {
	Stage, Dir string
	// Names are the first entries found (at most 5), and Count all of them.
	Names []string
	Count int
}

func (e *ForeignFilesError) Error() string {
	more := ""
	if e.Count > len(e.Names) {
		more = fmt.Sprintf(" and %d more", e.Count-len(e.Names))
	}
	return fmt.Sprintf("stage %q: output folder %s holds %d entries pipe did not write (%s%s); write into an empty or new folder, or rerun with --overwrite to write beside them (pipe never removes them)",
		e.Stage, e.Dir, e.Count, strings.Join(e.Names, ", "), more)
}

// Unwrap returns ErrForeignFiles.
func (e *ForeignFilesError) Unwrap() error { return ErrForeignFiles }

// pipeEntries are the names pipe writes in an output folder, besides part
// files.
var pipeEntries = map[string]bool{
	stages.SuccessFile: true, stages.ManifestFile: true, stages.UnitsDir: true, stages.ShardsDir: true,
	stages.StagingDir: true, LockDir: true, ReportFile: true, HTMLReportFile: true,
}

// ForeignEntries lists the entries of the folder that pipe did not write:
// the first 5 names and the count of all. ours holds the paths
// ([Folder.Path]) of the job's other output folders, which may live inside
// this one. A folder that does not exist holds none.
func ForeignEntries(ctx context.Context, f Folder, ours map[string]bool) (names []string, count int, err error) {
	ents, err := f.List(ctx, "")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	for _, e := range ents {
		n := e.Name
		if _, ok := partGeneration(n); ok || pipeEntries[n] || ours[f.Path(n)] || isAtomicTemp(n) || (e.Type.IsDir() && PartitionFolder(n)) {
			continue
		}
		count++
		if len(names) < 5 {
			names = append(names, n)
		}
	}
	return names, count, nil
}

// isAtomicTemp recognises the temporary files [LocalDir.WriteFileAtomic]
// creates for pipe's own files, which a crash can leave.
func isAtomicTemp(name string) bool {
	for n := range pipeEntries {
		if strings.HasPrefix(name, "."+n+".tmp") {
			return true
		}
	}
	return false
}
