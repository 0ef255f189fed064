package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pipe-ml/pipe/stages"
)

// DefaultUnitRows is the target size of a work unit when the job's
// resources block does not set unit_rows.
const DefaultUnitRows = 1 << 20

// Shard selects the work units one process runs: shard Index of Count.
// The zero value (and Count 1) is the whole job.
type Shard struct {
	Index, Count int
}

// ParseShard parses "i/n" (0 <= i < n). "auto/n" takes i from the
// JOB_COMPLETION_INDEX environment variable that Kubernetes sets in the pods
// of an Indexed Job.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/n, such as 0/4 or auto/4", s)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 {
		return Shard{}, fmt.Errorf("shard %q: the shard count must be a positive integer", s)
	}
	if is == "auto" {
		v, set := os.LookupEnv("JOB_COMPLETION_INDEX")
		if !set {
			return Shard{}, fmt.Errorf("shard %q: JOB_COMPLETION_INDEX is not set (auto is for Kubernetes Indexed Jobs)", s)
		}
		is = v
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: the index must be an integer from 0 to %d", s, n-1)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) count() int { return max(s.Count, 1) }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.count()) }

// AssignUnits returns the indexes of the units shard sh runs: the unit list
// is cut into sh.Count contiguous ranges of about equal rows (a unit of
// unknown size weighs as much as the average known one), so neighbouring
// row groups of a file stay on one machine. A unit belongs to the range
// holding its middle row. The assignment depends only on the unit list.
func AssignUnits(units []stages.Unit, sh Shard) []int {
	n := sh.count()
	weights := make([]float64, len(units))
	var known, total float64
	var nKnown int
	for _, u := range units {
		if u.Rows >= 0 {
			known += float64(u.Rows)
			nKnown++
		}
	}
	avg := 1.0
	if nKnown > 0 && known > 0 {
		avg = known / float64(nKnown)
	}
	for i, u := range units {
		w := avg
		if u.Rows >= 0 {
			w = float64(u.Rows)
		}
		weights[i] = w
		total += w
	}
	var out []int
	var before float64
	for i, w := range weights {
		// A unit belongs to the shard in whose range its middle row falls.
		mid := before + w/2
		before += w
		s := 0
		if total > 0 {
			s = int(mid * float64(n) / total)
		} else {
			s = i * n / max(len(units), 1)
		}
		if min(s, n-1) == sh.Index {
			out = append(out, i)
		}
	}
	return out
}

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
}

// unitPrefix is the file-name prefix of a unit's part files.
func unitPrefix(unit int) string { return fmt.Sprintf("part-%05d", unit) }

func unitRecordPath(dir string, unit int) string {
	return filepath.Join(dir, stages.UnitsDir, fmt.Sprintf("unit-%05d.json", unit))
}

// readUnitRecord reads a unit's journal entry in dir.
func readUnitRecord(dir string, unit int) (*UnitRecord, error) {
	path := unitRecordPath(dir, unit)
	r, err := readJSON[UnitRecord](path)
	if err != nil {
		return nil, err
	}
	if r.Version != ManifestVersion || r.Unit != unit {
		return nil, fmt.Errorf("%s: not a version %d record of unit %d", path, ManifestVersion, unit)
	}
	for _, f := range r.Files {
		if !filepath.IsLocal(filepath.FromSlash(f.Name)) || !strings.HasPrefix(f.Name, unitPrefix(unit)+"-") {
			return nil, fmt.Errorf("%s: file name %q is not one of the unit's", path, f.Name)
		}
	}
	return r, nil
}

// unitDone reports whether dir's journal holds unit with fingerprint fp and
// every file it lists is present with its size and SHA-256.
func unitDone(dir string, unit int, fp string) bool {
	r, err := readUnitRecord(dir, unit)
	if err != nil || r.Fingerprint != fp {
		return false
	}
	for _, f := range r.Files {
		sum, size, err := fileSHA256Size(filepath.Join(dir, filepath.FromSlash(f.Name)))
		if err != nil || size != f.Bytes || sum != f.SHA256 {
			return false
		}
	}
	return true
}

// writeUnitRecord records a committed unit in dir's journal.
func writeUnitRecord(dir string, r *UnitRecord) error {
	return writeJSONAtomic(unitRecordPath(dir, r.Unit), r)
}

// describeFiles lists committed files with rows, sizes and SHA-256, named
// relative to dir. It takes the digests sinks computed while writing and
// reads only the files that come without one.
func describeFiles(dir string, files []stages.OutputFile) ([]ManifestFile, int64, error) {
	var out []ManifestFile
	var rows int64
	for _, f := range files {
		name, err := filepath.Rel(dir, f.Path)
		if err != nil || !filepath.IsLocal(name) {
			return nil, 0, fmt.Errorf("file %s is not inside the output folder %s", f.Path, dir)
		}
		sum, size := f.SHA256, f.Bytes
		if sum == "" {
			sum, size, err = fileSHA256Size(f.Path)
		} else {
			err = checkSize(f.Path, size)
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ManifestFile{Name: filepath.ToSlash(name), Rows: f.Rows, Bytes: size, SHA256: sum})
		rows += f.Rows
	}
	return out, rows, nil
}

// ShardManifest is a completed shard's manifest in a sink folder
// (`_pipe_shards/shard-IIIII-of-NNNNN.json`): its units and their files.
type ShardManifest struct {
	Version     int    `json:"version"`
	Job         string `json:"job"`
	Stage       string `json:"stage"`
	Fingerprint string `json:"fingerprint"`
	Shard       int    `json:"shard"`
	Shards      int    `json:"shards"`
	// TotalUnits is the number of work units of the whole job.
	TotalUnits int            `json:"total_units"`
	Units      []int          `json:"units"`
	Rows       int64          `json:"rows"`
	Files      []ManifestFile `json:"files"`
}

func shardManifestPath(dir string, sh Shard) string {
	return filepath.Join(dir, stages.ShardsDir, fmt.Sprintf("shard-%05d-of-%05d.json", sh.Index, sh.count()))
}

// readShardManifests reads every shard manifest in dir.
func readShardManifests(dir string) ([]*ShardManifest, error) {
	paths, err := filepath.Glob(filepath.Join(dir, stages.ShardsDir, "shard-*-of-*.json"))
	if err != nil {
		return nil, err
	}
	var out []*ShardManifest
	for _, p := range paths {
		m, err := readJSON[ShardManifest](p)
		if err != nil {
			return nil, err
		}
		if m.Version != ManifestVersion || m.Shards < 1 || m.Shard < 0 || m.Shard >= m.Shards || shardManifestPath(dir, Shard{m.Shard, m.Shards}) != p {
			return nil, fmt.Errorf("%s: not a version %d manifest of the shard its name says", p, ManifestVersion)
		}
		for _, f := range m.Files {
			if !filepath.IsLocal(filepath.FromSlash(f.Name)) {
				return nil, fmt.Errorf("%s: file name %q leaves the output folder", p, f.Name)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// Sentinels of [CommitOutput].
var (
	// ErrShardsMissing is wrapped by [*ShardsMissingError].
	ErrShardsMissing = errors.New("shards missing")
	// ErrNoShards: the folder holds no shard manifest.
	ErrNoShards = errors.New("no shard manifest")
)

// ShardsMissingError says which shards of a sharded output have not
// written their manifest yet. It wraps [ErrShardsMissing].
type ShardsMissingError struct {
	Dir         string
	Fingerprint string
	Shards      int
	Missing     []int
	// Others counts shard manifests of other jobs (another fingerprint or
	// shard count) that were ignored.
	Others int
}

func (e *ShardsMissingError) Error() string {
	ids := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		ids[i] = strconv.Itoa(m)
	}
	msg := fmt.Sprintf("%s: %d of %d shards have no manifest yet (missing: %s)", e.Dir, len(e.Missing), e.Shards, strings.Join(ids, ", "))
	if e.Others > 0 {
		msg += fmt.Sprintf("; %d manifests of other runs (another fingerprint or shard count) ignored", e.Others)
	}
	return msg
}

// Unwrap returns ErrShardsMissing.
func (e *ShardsMissingError) Unwrap() error { return ErrShardsMissing }
