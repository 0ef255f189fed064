package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pipe-ml/pipe/stages"
)

// Generations. A folder's committed output is its `_manifest.json`, its
// `_SUCCESS` and the files the manifest lists; the manifest is the one
// switch. A run replacing committed output (overwrite) writes its files
// under names the committed manifest cannot hold, so that the old output
// stays whole until the new manifest replaces it in one rename:
//
//	part-UUUUU-NNNNN.parquet       generation 1 (the first output)
//	part-UUUUU-gG-NNNNN.parquet    generation G >= 2
//
// A manifest of generation G lists files of generations up to G; a run
// over it writes generation G+1 and never writes, renames over or removes
// a file of generation G or lower before its own manifest is in place.
// Then it removes the part files its manifest does not list. A clean-up
// cut short leaves files of generation <= G that no manifest lists; the
// next run on the folder removes them first.

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

// partPrefix is the prefix of the part files of a unit in generation gen;
// the sink appends -NNNNN.parquet.
func partPrefix(unit, gen int) string {
	if gen <= 1 {
		return unitPrefix(unit)
	}
	return fmt.Sprintf("%s-g%d", unitPrefix(unit), gen)
}

// committed reads dir's committed output: its manifest when the success
// marker is present and the manifest readable, else nil.
func committed(dir string) *Manifest {
	if _, err := os.Lstat(filepath.Join(dir, stages.SuccessFile)); err != nil {
		return nil
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil
	}
	return m
}

// generation returns the generation of committed output: its manifest's,
// at least 1 (manifests written before generations counted are 1); 0 for
// nil.
func (m *Manifest) generation() int {
	if m == nil {
		return 0
	}
	return max(m.Generation, 1)
}

// removeStale removes the part files in dir of generation gen or lower that
// the committed manifest m does not list: what a replacement left when it
// was stopped between its manifest and its clean-up. Part files of later
// generations are an unfinished run's, which a resumed run may keep.
func removeStale(dir string, m *Manifest) error {
	if m == nil {
		return nil
	}
	listed := m.names()
	return removeParts(dir, func(name string, gen int) bool { return gen <= m.generation() && !listed[name] })
}

// removeParts removes the part files pipe wrote in dir for which drop is
// true. Files already gone are not an error.
func removeParts(dir string, drop func(name string, gen int) bool) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		gen, ok := partGeneration(e.Name())
		if !ok || !e.Type().IsRegular() || !drop(e.Name(), gen) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// names returns the set of file names m lists.
func (m *Manifest) names() map[string]bool {
	out := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		out[f.Name] = true
	}
	return out
}

// Unlisted returns the part files in dir that m does not list: an
// unfinished run's, or an old generation's whose removal was cut short.
// Readers that take the list of files from the manifest never see them.
func Unlisted(dir string, m *Manifest) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	listed := m.names()
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "part-") && strings.HasSuffix(e.Name(), ".parquet") && !listed[e.Name()] {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
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
	stages.StagingDir: true, LockDir: true, ReportFile: true,
}

// foreignEntries lists the entries of dir that pipe did not write; ours
// are other output folders of the job, which may live inside dir.
func foreignEntries(dir string, ours map[string]bool) (names []string, count int, err error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	for _, e := range ents {
		n := e.Name()
		if _, ok := partGeneration(n); ok || pipeEntries[n] || ours[filepath.Join(dir, n)] || isAtomicTemp(n) {
			continue
		}
		count++
		if len(names) < 5 {
			names = append(names, n)
		}
	}
	return names, count, nil
}

// isAtomicTemp recognises the temporary files [writeFileAtomic] creates for
// pipe's own files, which a crash can leave.
func isAtomicTemp(name string) bool {
	for n := range pipeEntries {
		if strings.HasPrefix(name, "."+n+".tmp") {
			return true
		}
	}
	return false
}

// RemoveLeftovers tidies output folders that hold complete output but also
// part files their manifests do not list, or a staging folder: what a
// replacement stopped before
// its own manifest (or a clean-up cut short) left. `pipe run` calls it when
// the output is already complete (nothing to run), so that a reader that
// lists the folder instead of reading the manifest does not see them.
// Folders another run holds are left alone.
func (p *Pipeline) RemoveLeftovers() error {
	for _, d := range p.fileDirs() {
		m := committed(d.dir)
		if m == nil {
			continue
		}
		un, err := Unlisted(d.dir, m)
		if err != nil {
			continue
		}
		if _, serr := os.Lstat(filepath.Join(d.dir, stages.StagingDir)); len(un) == 0 && serr != nil {
			continue
		}
		l, err := lockFolders([]string{d.dir}, Shard{})
		if errors.Is(err, ErrLocked) {
			continue
		}
		if err != nil {
			return err
		}
		err = removeUnlisted(d.dir)
		l.release()
		if err != nil {
			return &StageError{Stage: d.id(), Err: err}
		}
	}
	return nil
}

// removeUnlisted removes the part files pipe wrote in dir that its
// committed manifest, read again under the lock, does not list, and the
// staging folder.
func removeUnlisted(dir string) error {
	m := committed(dir)
	if m == nil {
		return nil
	}
	listed := m.names()
	if err := removeParts(dir, func(name string, _ int) bool { return !listed[name] }); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(dir, stages.StagingDir))
}
