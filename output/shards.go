package output

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pipe-ml/pipe/stages"
)

// Shard names one shard of a run: Index of Count. A Count below 1 is one
// shard, the whole job.
type Shard struct {
	Index, Count int
}

func (s Shard) count() int { return max(s.Count, 1) }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.count()) }

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
	// Mode and JobFingerprint are the job's, as [Manifest] has them.
	Mode           string `json:"mode,omitempty"`
	JobFingerprint string `json:"job_fingerprint,omitempty"`
	// Ledger holds the shard's units as the folder manifest's ledger
	// lists them.
	Ledger []LedgerUnit `json:"ledger,omitempty"`
}

// ShardManifestName is the name of shard sh's manifest in an output folder.
func ShardManifestName(sh Shard) string {
	return path.Join(stages.ShardsDir, fmt.Sprintf("shard-%05d-of-%05d.json", sh.Index, sh.count()))
}

// WriteShardManifest writes m under the name of its shard.
func WriteShardManifest(ctx context.Context, f Folder, m *ShardManifest) error {
	return writeJSON(ctx, f, ShardManifestName(Shard{m.Shard, m.Shards}), m)
}

// ReadShardManifests reads every shard manifest in the folder.
func ReadShardManifests(ctx context.Context, f Folder) ([]*ShardManifest, error) {
	var out []*ShardManifest
	for _, name := range matching(ctx, f, stages.ShardsDir, "shard-*-of-*.json") {
		m, err := readJSON[ShardManifest](ctx, f, name)
		if err != nil {
			return nil, err
		}
		if m.Version != ManifestVersion || m.Shards < 1 || m.Shard < 0 || m.Shard >= m.Shards || ShardManifestName(Shard{m.Shard, m.Shards}) != name {
			return nil, fmt.Errorf("%s: not a version %d manifest of the shard its name says", f.Path(name), ManifestVersion)
		}
		for _, fl := range m.Files {
			if !filepath.IsLocal(filepath.FromSlash(fl.Name)) {
				return nil, fmt.Errorf("%s: file name %q leaves the output folder", f.Path(name), fl.Name)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// RemoveOtherShardManifests removes the shard manifests of jobs other than
// the one with fingerprint fp, as far as they can be read; a folder whose
// manifests cannot be read is left alone.
func RemoveOtherShardManifests(ctx context.Context, f Folder, fp string) {
	ms, err := ReadShardManifests(ctx, f)
	if err != nil {
		return
	}
	for _, m := range ms {
		if m.Fingerprint != fp {
			_ = f.Remove(ctx, ShardManifestName(Shard{m.Shard, m.Shards}))
		}
	}
}

// ShardGroup returns the manifests of the n shards of the job with
// fingerprint fp in the folder, in shard order, or an error saying which
// are missing or inconsistent. fp "" picks the one job whose shards are
// all present (or, when none is complete, reports the most advanced one).
func ShardGroup(ctx context.Context, f Folder, fp string, n int) ([]*ShardManifest, error) {
	dir := f.Path("")
	ms, err := ReadShardManifests(ctx, f)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("%s: %w (run the job's shards first)", dir, ErrNoShards)
	}
	type key struct {
		fp string
		n  int
	}
	groups := map[key][]*ShardManifest{}
	var keys []key
	for _, m := range ms {
		k := key{m.Fingerprint, m.Shards}
		if fp != "" && (k.fp != fp || k.n != n) {
			continue
		}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], m)
	}
	var best *ShardsMissingError
	for _, k := range keys {
		have := make([]*ShardManifest, k.n)
		for _, m := range groups[k] {
			have[m.Shard] = m
		}
		var missing []int
		for i, m := range have {
			if m == nil {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 {
			if err := checkShards(dir, have); err != nil {
				return nil, err
			}
			return have, nil
		}
		if best == nil || len(missing) < len(best.Missing) {
			best = &ShardsMissingError{Dir: dir, Fingerprint: k.fp, Shards: k.n, Missing: missing}
		}
	}
	return nil, missingShards(best, dir, fp, n, ms)
}

// missingShards completes the error of [ShardGroup] when no job has all its
// shards: best, or every shard of fp's job when none of its shards wrote a
// manifest, counting the manifests of other runs.
func missingShards(best *ShardsMissingError, dir, fp string, n int, ms []*ShardManifest) error {
	if best == nil {
		best = &ShardsMissingError{Dir: dir, Fingerprint: fp, Shards: n}
		for i := range n {
			best.Missing = append(best.Missing, i)
		}
	}
	best.Others = len(ms)
	for _, m := range ms {
		if m.Fingerprint == best.Fingerprint && m.Shards == best.Shards {
			best.Others--
		}
	}
	return best
}

// checkShards checks that a full set of shard manifests agrees: the same
// job and unit count, every unit in exactly one shard.
func checkShards(dir string, ms []*ShardManifest) error {
	seen := make([]bool, ms[0].TotalUnits)
	for _, m := range ms {
		if m.TotalUnits != ms[0].TotalUnits || m.Stage != ms[0].Stage {
			return fmt.Errorf("%s: shard %d lists %d units of stage %q, shard 0 %d of %q", dir, m.Shard, m.TotalUnits, m.Stage, ms[0].TotalUnits, ms[0].Stage)
		}
		for _, u := range m.Units {
			if u < 0 || u >= len(seen) || seen[u] {
				return fmt.Errorf("%s: shard %d lists unit %d, which is out of range or in another shard", dir, m.Shard, u)
			}
			seen[u] = true
		}
	}
	if i := slices.Index(seen, false); i >= 0 {
		return fmt.Errorf("%s: no shard lists work unit %d", dir, i)
	}
	return nil
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
