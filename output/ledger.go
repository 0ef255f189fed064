package output

import (
	"fmt"
	"time"
)

// InputFile is one input file a work unit read, as an incremental run
// stamps it: its path (or object URL), size and version.
type InputFile struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Version is "mtime:UNIX_NANOS" for a file, "etag:ETAG" for an
	// object.
	Version string `json:"version"`
}

// LedgerUnit is one work unit of committed output in the manifest's
// ledger ([Manifest.Units]): the unit's key, the fingerprint its record
// carried (for an incremental job, the job's and the stamps of Inputs),
// the generation that computed it and its files. An incremental run keeps
// a unit whose key and fingerprint it computes again, and drops the
// others.
type LedgerUnit struct {
	// Unit is the unit's index among the units of the run that committed
	// the manifest.
	Unit        int         `json:"unit"`
	Key         string      `json:"key"`
	Fingerprint string      `json:"fingerprint"`
	Generation  int         `json:"generation"`
	Rows        int64       `json:"rows"`
	Inputs      []InputFile `json:"inputs,omitempty"`
	// Files are the names of the unit's files, which [Manifest.Files]
	// describes.
	Files []string `json:"files"`
}

// GenerationNote is what one committed generation did, in the manifest's
// history ([Manifest.History]).
type GenerationNote struct {
	Generation int       `json:"generation"`
	Committed  time.Time `json:"committed"`
	// Scored counts the units this generation computed and their rows.
	Scored     int   `json:"units_scored"`
	ScoredRows int64 `json:"rows_scored"`
	// Kept counts the units kept from the generation before.
	Kept int `json:"units_kept"`
	// Dropped counts the units of the generation before that this one no
	// longer holds (their inputs are gone or changed) and their rows.
	Dropped     int   `json:"units_dropped"`
	DroppedRows int64 `json:"rows_dropped"`
}

func (g GenerationNote) String() string {
	return fmt.Sprintf("generation %d (%s): %d units scored (%d rows), %d kept, %d dropped (%d rows)",
		g.Generation, g.Committed.Format(time.RFC3339), g.Scored, g.ScoredRows, g.Kept, g.Dropped, g.DroppedRows)
}

// maxHistory bounds the notes a manifest keeps: the latest ones.
const maxHistory = 1000

// LedgerOf returns the ledger entry of a unit record.
func LedgerOf(r *UnitRecord) LedgerUnit {
	e := LedgerUnit{Unit: r.Unit, Key: r.Key, Fingerprint: r.Fingerprint, Generation: r.Generation, Rows: r.Rows, Inputs: r.Inputs, Files: []string{}}
	for _, f := range r.Files {
		e.Files = append(e.Files, f.Name)
	}
	return e
}

// history returns prev's history followed by the note of m, the manifest
// replacing prev (nil: none).
func history(prev, m *Manifest, now time.Time) []GenerationNote {
	note := GenerationNote{Generation: m.Generation, Committed: now.UTC()}
	kept := map[string]bool{}
	for _, u := range m.Units {
		if u.Generation == m.Generation {
			note.Scored++
			note.ScoredRows += u.Rows
		} else {
			note.Kept++
		}
		kept[u.Key+"\x00"+u.Fingerprint] = true
	}
	var out []GenerationNote
	if prev != nil {
		out = append(out, prev.History...)
		for _, u := range prev.Units {
			if !kept[u.Key+"\x00"+u.Fingerprint] {
				note.Dropped++
				note.DroppedRows += u.Rows
			}
		}
	}
	out = append(out, note)
	return out[max(0, len(out)-maxHistory):]
}

// CarriedRecord is the record of unit for a unit of committed output m
// that an incremental run keeps: e's files, described as m describes them,
// under the unit's index in the run. It fails when m does not describe a
// file of e.
func CarriedRecord(m *Manifest, e LedgerUnit, unit int) (*UnitRecord, error) {
	byName := make(map[string]ManifestFile, len(m.Files))
	for _, fl := range m.Files {
		byName[fl.Name] = fl
	}
	r := &UnitRecord{Version: ManifestVersion, Fingerprint: e.Fingerprint, Unit: unit, Key: e.Key, Generation: e.Generation, Rows: e.Rows, Inputs: e.Inputs, Files: []ManifestFile{}}
	for _, name := range e.Files {
		fl, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("the manifest's ledger lists %s for unit %q, but not among its files", name, e.Key)
		}
		r.Files = append(r.Files, fl)
	}
	return r, nil
}
