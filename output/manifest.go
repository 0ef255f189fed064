package output

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/pipe-ml/pipe/stages"
)

// ManifestVersion is the version of the manifest, unit record and shard
// manifest formats written.
const ManifestVersion = 1

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
	// Mode is the job's mode ("incremental"; empty for a full job) and
	// JobFingerprint its fingerprint without the input files: an
	// incremental run extends the output only of its own job.
	Mode           string `json:"mode,omitempty"`
	JobFingerprint string `json:"job_fingerprint,omitempty"`
	// Units is the ledger: the work units whose files Files lists, in unit
	// order.
	Units []LedgerUnit `json:"units,omitempty"`
	// History notes what each generation committed in the folder did,
	// oldest first (the latest 1,000).
	History []GenerationNote `json:"history,omitempty"`
}

// ManifestFile is one file of a [Manifest].
type ManifestFile struct {
	// Name is the file's name relative to the output folder.
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ReadManifest reads and parses the folder's `_manifest.json`.
func ReadManifest(ctx context.Context, f Folder) (*Manifest, error) {
	m, err := readJSON[Manifest](ctx, f, stages.ManifestFile)
	if err != nil {
		return nil, err
	}
	path := f.Path(stages.ManifestFile)
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("%s: version %d, want %d", path, m.Version, ManifestVersion)
	}
	for _, fl := range m.Files {
		if !filepath.IsLocal(filepath.FromSlash(fl.Name)) {
			return nil, fmt.Errorf("%s: file name %q leaves the output folder", path, fl.Name)
		}
	}
	return m, nil
}

// Complete reports whether the folder holds the success marker: it holds
// complete output if its manifest reads and its files match.
func Complete(ctx context.Context, f Folder) bool {
	_, err := f.Stat(ctx, stages.SuccessFile)
	return err == nil
}

// Committed reads the folder's committed output: its manifest when the
// success marker is present and the manifest readable, else nil.
func Committed(ctx context.Context, f Folder) *Manifest {
	if !Complete(ctx, f) {
		return nil
	}
	m, err := ReadManifest(ctx, f)
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

// names returns the set of file names m lists.
func (m *Manifest) names() map[string]bool {
	out := make(map[string]bool, len(m.Files))
	for _, fl := range m.Files {
		out[fl.Name] = true
	}
	return out
}

// Problem returns how the folder's files differ in presence or size from
// the manifest, or "". It reads no file's contents.
func (m *Manifest) Problem(ctx context.Context, f Folder) string {
	for _, fl := range m.Files {
		size, err := f.Size(ctx, fl.Name)
		switch {
		case err != nil:
			return fmt.Sprintf("%s: %v", fl.Name, err)
		case size != fl.Bytes:
			return fmt.Sprintf("%s has %d bytes, the manifest says %d", fl.Name, size, fl.Bytes)
		}
	}
	return ""
}

// VerifyOutput checks that the folder holds complete output: the success
// marker, a readable manifest whose row counts add up, and every listed
// file with its size and SHA-256. It returns the manifest, or an error
// naming the first difference. Part files the manifest does not list are
// not output (an unfinished run's, or an old generation's; see [Unlisted]).
func VerifyOutput(ctx context.Context, f Folder) (*Manifest, error) {
	dir := f.Path("")
	if _, err := f.Stat(ctx, stages.SuccessFile); err != nil {
		return nil, fmt.Errorf("%s: no %s: %w", dir, stages.SuccessFile, err)
	}
	m, err := ReadManifest(ctx, f)
	if err != nil {
		return nil, err
	}
	var rows int64
	for _, fl := range m.Files {
		rows += fl.Rows
		sum, size, err := fileSHA256Size(ctx, f, fl.Name)
		if err != nil {
			return m, fmt.Errorf("%s: %w", dir, err)
		}
		if size != fl.Bytes || sum != fl.SHA256 {
			return m, fmt.Errorf("%s: %s has %d bytes, sha256 %s; the manifest says %d bytes, sha256 %s", dir, fl.Name, size, sum, fl.Bytes, fl.SHA256)
		}
	}
	if rows != m.Rows {
		return m, fmt.Errorf("%s: the manifest's files hold %d rows, its total says %d", dir, rows, m.Rows)
	}
	return m, nil
}
