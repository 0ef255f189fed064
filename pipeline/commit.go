package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pipe-ml/pipe/stages"
)

// ManifestVersion is the version of the manifest format written.
const ManifestVersion = 1

// Sentinels of the output checks made before a run.
var (
	// ErrUpToDate is returned by [Pipeline.CheckOutputs] when every sink's
	// folder already holds complete output with this job's fingerprint.
	ErrUpToDate = errors.New("output is complete; nothing to do")
	// ErrOutputConflict is wrapped by [*OutputConflictError].
	ErrOutputConflict = errors.New("output folder holds complete output of another job")
)

// Manifest is the content of a sink's `_manifest.json`: the files of a
// complete output folder and the fingerprint of the job that wrote them.
type Manifest struct {
	Version     int    `json:"version"`
	Job         string `json:"job"`
	Stage       string `json:"stage"`
	Fingerprint string `json:"fingerprint"`
	// Generation counts the outputs committed in the folder: 1 for the
	// first, one more for each that replaced it. Part files of generation G
	// >= 2 carry -gG- in their names (see [Unlisted]).
	Generation int            `json:"generation,omitempty"`
	Rows       int64          `json:"rows"`
	Files      []ManifestFile `json:"files"`
}

// ManifestFile is one file of a [Manifest].
type ManifestFile struct {
	// Name is the file's name relative to the output folder.
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

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
}

func (e *OutputConflictError) Error() string {
	var what string
	switch {
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
	var out []OutputStatus
	dirs := p.fileDirs()
	ours := map[string]bool{}
	for _, d := range dirs {
		ours[filepath.Clean(d.dir)] = true
	}
	for _, d := range dirs {
		st := OutputStatus{Stage: d.id(), Dir: d.dir, Replaces: d.lister().ReplacesOutput()}
		st.Foreign, st.ForeignCount, _ = foreignEntries(d.dir, ours)
		if _, err := os.Lstat(filepath.Join(st.Dir, stages.SuccessFile)); err == nil {
			st.Complete = true
			if m, err := ReadManifest(st.Dir); err == nil {
				st.Fingerprint = m.Fingerprint
				st.Problem = m.checkSizes(st.Dir)
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
			return &ForeignFilesError{Stage: o.Stage, Dir: o.Dir, Names: o.Foreign, Count: o.ForeignCount}
		}
		if o.Complete && !o.Replaces {
			return &OutputConflictError{Stage: o.Stage, Dir: o.Dir, Have: o.Fingerprint, Want: p.Fingerprint(), Problem: o.Problem}
		}
	}
	return nil
}

// writeSync creates an empty file, fsyncs it and its folder.
func writeSync(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a folder, so that the entries created in it are durable.
func syncDir(dir string) error { return stages.SyncDir(dir) }

// writeJSONAtomic writes v as indented JSON to path through a temporary
// file, fsynced and renamed.
func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// readJSON reads path's JSON into a new T; a decoding error names path.
func readJSON[T any](path string) (*T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// fileSHA256Size returns a file's SHA-256 in hex and its size.
func fileSHA256Size(path string) (string, int64, error) {
	sum, err := fileSHA256(path)
	if err != nil {
		return "", 0, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", 0, err
	}
	return sum, fi.Size(), nil
}

// checkSize returns an error unless path holds size bytes: a file whose
// digest its sink computed while writing it is not read again, but a size
// that differs from what the sink wrote means something else wrote to it.
func checkSize(path string, size int64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return fmt.Errorf("%s has %d bytes; its sink wrote %d", path, fi.Size(), size)
	}
	return nil
}

// ReadManifest reads and parses dir's `_manifest.json`.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, stages.ManifestFile)
	m, err := readJSON[Manifest](path)
	if err != nil {
		return nil, err
	}
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("%s: version %d, want %d", path, m.Version, ManifestVersion)
	}
	for _, f := range m.Files {
		if !filepath.IsLocal(filepath.FromSlash(f.Name)) {
			return nil, fmt.Errorf("%s: file name %q leaves the output folder", path, f.Name)
		}
	}
	return m, nil
}

// checkSizes returns how the files in dir differ in presence or size from
// the manifest, or "".
func (m *Manifest) checkSizes(dir string) string {
	for _, f := range m.Files {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Name)))
		switch {
		case err != nil:
			return fmt.Sprintf("%s: %v", f.Name, err)
		case fi.Size() != f.Bytes:
			return fmt.Sprintf("%s has %d bytes, the manifest says %d", f.Name, fi.Size(), f.Bytes)
		}
	}
	return ""
}

// VerifyOutput checks that dir holds complete output: the success marker,
// a readable manifest whose row counts add up, and every listed file with
// its size and SHA-256. It returns the manifest, or an error naming the
// first difference. Part files the manifest does not list are not output
// (an unfinished run's, or an old generation's; see [Unlisted]).
func VerifyOutput(dir string) (*Manifest, error) {
	if _, err := os.Lstat(filepath.Join(dir, stages.SuccessFile)); err != nil {
		return nil, fmt.Errorf("%s: no %s: %w", dir, stages.SuccessFile, err)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	var rows int64
	for _, f := range m.Files {
		rows += f.Rows
		sum, size, err := fileSHA256Size(filepath.Join(dir, filepath.FromSlash(f.Name)))
		if err != nil {
			return m, fmt.Errorf("%s: %w", dir, err)
		}
		if size != f.Bytes || sum != f.SHA256 {
			return m, fmt.Errorf("%s: %s has %d bytes, sha256 %s; the manifest says %d bytes, sha256 %s", dir, f.Name, size, sum, f.Bytes, f.SHA256)
		}
	}
	if rows != m.Rows {
		return m, fmt.Errorf("%s: the manifest's files hold %d rows, its total says %d", dir, rows, m.Rows)
	}
	return m, nil
}
