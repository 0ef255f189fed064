package output

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/pipe-ml/pipe/stages"
)

// UnitRecord is a work unit's entry in a sink folder's journal
// (`_pipe_units/unit-NNNNN.json`): the files it committed and the job
// fingerprint. A unit counts as done on a rerun only when its record has
// this job's fingerprint and its files are intact.
type UnitRecord struct {
	Version     int            `json:"version"`
	Fingerprint string         `json:"fingerprint"`
	Unit        int            `json:"unit"`
	Key         string         `json:"key"`
	Rows        int64          `json:"rows"`
	Files       []ManifestFile `json:"files"`
	// Generation is the generation whose run computed the unit: a unit an
	// incremental run kept has an earlier one than the run's, and its
	// files the names of that generation.
	Generation int `json:"generation,omitempty"`
	// Inputs are the input files the unit read, for incremental jobs.
	Inputs []InputFile `json:"inputs,omitempty"`
}

// unitRecordName is the journal entry of unit.
func unitRecordName(unit int) string {
	return path.Join(stages.UnitsDir, fmt.Sprintf("unit-%05d.json", unit))
}

// ReadUnitRecord reads a unit's journal entry in the folder.
func ReadUnitRecord(ctx context.Context, f Folder, unit int) (*UnitRecord, error) {
	name := unitRecordName(unit)
	r, err := readJSON[UnitRecord](ctx, f, name)
	if err != nil {
		return nil, err
	}
	if r.Version != ManifestVersion || r.Unit != unit {
		return nil, fmt.Errorf("%s: not a version %d record of unit %d", f.Path(name), ManifestVersion, unit)
	}
	for _, fl := range r.Files {
		// Partitioned sinks list files in col=value/ folders. A unit an
		// incremental run kept has the files of its unit in the run that
		// computed it.
		_, part := partGeneration(path.Base(fl.Name))
		ours := strings.HasPrefix(path.Base(fl.Name), unitPrefix(unit)+"-")
		if !filepath.IsLocal(filepath.FromSlash(fl.Name)) || !part || (!ours && r.Generation == 0) {
			return nil, fmt.Errorf("%s: file name %q is not one of the unit's", f.Path(name), fl.Name)
		}
	}
	return r, nil
}

// UnitDone reports whether the folder's journal holds unit with
// fingerprint fp and every file it lists is present with its size and
// SHA-256.
func UnitDone(ctx context.Context, f Folder, unit int, fp string) bool {
	r, err := ReadUnitRecord(ctx, f, unit)
	if err != nil || r.Fingerprint != fp {
		return false
	}
	for _, fl := range r.Files {
		sum, size, err := fileSHA256Size(ctx, f, fl.Name)
		if err != nil || size != fl.Bytes || sum != fl.SHA256 {
			return false
		}
	}
	return true
}

// WriteUnitRecord records a committed unit in the folder's journal.
func WriteUnitRecord(ctx context.Context, f Folder, r *UnitRecord) error {
	return writeJSON(ctx, f, unitRecordName(r.Unit), r)
}

// DescribeFiles lists committed files with rows, sizes and SHA-256, named
// relative to the folder (whose [Folder.Path] the files' paths start
// with). It takes the digests sinks computed while writing and reads only
// the files that come without one.
func DescribeFiles(ctx context.Context, f Folder, files []stages.OutputFile) ([]ManifestFile, int64, error) {
	dir := f.Path("")
	var out []ManifestFile
	var rows int64
	for _, of := range files {
		rel, err := filepath.Rel(dir, of.Path)
		if err != nil || !filepath.IsLocal(rel) {
			return nil, 0, fmt.Errorf("file %s is not inside the output folder %s", of.Path, dir)
		}
		name := filepath.ToSlash(rel)
		sum, size := of.SHA256, of.Bytes
		if sum == "" {
			sum, size, err = fileSHA256Size(ctx, f, name)
		} else {
			err = checkSize(ctx, f, name, size)
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ManifestFile{Name: name, Rows: of.Rows, Bytes: size, SHA256: sum})
		rows += of.Rows
	}
	return out, rows, nil
}
