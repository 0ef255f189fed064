package source

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pipe-ml/pipe/stages"
)

// ErrUnit: Shard was given a unit index that does not name a unit of
// Units(unitRows), or the same index twice.
var ErrUnit = errors.New("no such work unit")

// Every source splits into work units.
var (
	_ stages.Sharder = (*Parquet)(nil)
	_ stages.Sharder = (*IPC)(nil)
	_ stages.Sharder = (*CSV)(nil)
	_ stages.Sharder = (*JSONL)(nil)
	_ stages.Sharder = (*Generate)(nil)
)

// span is one work unit of a file source: the pieces [from, to) of one
// file, in the source's own numbering (indexes into a Parquet source's row
// groups, record batch indexes of an IPC file). to is -1 for "to the end of
// the file" (an Arrow IPC stream).
type span struct {
	file     int // index in the source's files
	from, to int
	rows     int64 // -1 when unknown
}

// groupPieces appends to out the units of the pieces [first, first+len(rows))
// of one file, whose row counts are rows: consecutive pieces grouped until
// they hold at least unitRows rows (the last unit of the file may hold
// fewer); one piece per unit when unitRows <= 0.
func groupPieces(out []span, file, first int, rows []int64, unitRows int64) []span {
	start, n := 0, int64(0)
	for i, r := range rows {
		n += r
		if n >= unitRows || unitRows <= 0 || i == len(rows)-1 {
			out = append(out, span{file: file, from: first + start, to: first + i + 1, rows: n})
			start, n = i+1, 0
		}
	}
	return out
}

// pieceKey names a unit of pieces [from, to] (inclusive) of a file:
// "path#rg2" for one piece, "path#rg0-3" for several.
func pieceKey(path, tag string, from, last int) string {
	if from == last {
		return fmt.Sprintf("%s#%s%d", path, tag, from)
	}
	return fmt.Sprintf("%s#%s%d-%d", path, tag, from, last)
}

// unitPath is how a unit key names a file: relative to the job folder base
// (as the job wrote it, with forward slashes) when the file is inside it,
// else the path as expanded. Keys then do not depend on where the job
// folder sits on a machine.
func unitPath(base, path string) string {
	if base == "" || isObjectURL(path) {
		return path
	}
	rel, err := filepath.Rel(base, path)
	if err != nil || filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return filepath.ToSlash(rel)
}

// pickUnits checks that every index of units names one of n units, at most
// once, and returns an error wrapping [ErrUnit] naming the stage type
// otherwise.
func pickUnits(typ string, n int, unitRows int64, units []int) error {
	seen := make(map[int]bool, len(units))
	for _, k := range units {
		if k < 0 || k >= n {
			return fmt.Errorf("%s: %w: index %d, the source has %d units of %d rows (indexes 0 to %d)", typ, ErrUnit, k, n, unitRows, n-1)
		}
		if seen[k] {
			return fmt.Errorf("%s: %w: index %d listed twice", typ, ErrUnit, k)
		}
		seen[k] = true
	}
	return nil
}

// unitCache keeps the units of the last unitRows asked for, so that the
// runtime's one Shard call per unit does not regroup every row group of a
// large job each time. It is safe for concurrent use.
type unitCache struct {
	mu       sync.Mutex
	valid    bool
	unitRows int64
	spans    []span
}

// get returns the units for unitRows, computing them with compute on a
// miss. The slice is shared; callers must not modify it.
func (c *unitCache) get(unitRows int64, compute func() []span) []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid || c.unitRows != unitRows {
		c.spans, c.unitRows, c.valid = compute(), unitRows, true
	}
	return c.spans
}

// Units lists the source's work units: consecutive row groups of one file
// grouped until they hold at least unitRows rows (one row group per unit
// when unitRows <= 0). A file without row groups has no unit. The key is
// "path#rg2" or "path#rg0-3" with the row groups' indexes in the file.
func (p *Parquet) Units(unitRows int64) []stages.Unit {
	spans := p.spans(unitRows)
	out := make([]stages.Unit, len(spans))
	for i, s := range spans {
		out[i] = stages.Unit{
			Key:   pieceKey(unitPath(p.keyBase, p.files[s.file].path), "rg", p.groups[s.from].Index, p.groups[s.to-1].Index),
			Rows:  s.rows,
			Files: []string{p.files[s.file].path},
		}
	}
	return out
}

// spans groups p.groups into units; from and to index p.groups.
func (p *Parquet) spans(unitRows int64) []span {
	return p.units.get(unitRows, func() []span {
		var out []span
		rows := make([]int64, 0, len(p.groups))
		for i := 0; i < len(p.groups); {
			j := i + 1
			for j < len(p.groups) && p.fileIndex[j] == p.fileIndex[i] && p.groups[j].Index == p.groups[j-1].Index+1 {
				j++
			}
			rows = rows[:0]
			for _, g := range p.groups[i:j] {
				rows = append(rows, g.Rows)
			}
			out = groupPieces(out, p.fileIndex[i], i, rows, unitRows)
			i = j
		}
		return out
	})
}

// Shard returns a Parquet source that reads only the listed units of
// Units(unitRows), in the order given. It shares the footers read by p,
// which must stay open while the shard is used; closing the shard leaves p
// untouched.
func (p *Parquet) Shard(unitRows int64, units []int) (stages.Source, error) {
	spans := p.spans(unitRows)
	if err := pickUnits("parquet_source", len(spans), unitRows, units); err != nil {
		return nil, err
	}
	s := &Parquet{mem: p.mem, mmap: p.mmap, batchRows: p.batchRows, choice: p.choice, lim: p.lim, schema: p.schema, hive: p.hive, keyBase: p.keyBase, cur: -1, pfFile: -1}
	remap := map[int]int{} // index in p.files -> index in s.files
	for _, k := range units {
		sp := spans[k]
		fi, ok := remap[sp.file]
		if !ok {
			fi = len(s.files)
			remap[sp.file] = fi
			s.files = append(s.files, p.files[sp.file])
		}
		for _, g := range p.groups[sp.from:sp.to] {
			s.groups = append(s.groups, g)
			s.fileIndex = append(s.fileIndex, fi)
		}
	}
	return s, nil
}

// Units lists the source's work units. In a file-format file, consecutive
// record batches are grouped until they hold at least unitRows rows (one
// batch per unit when unitRows <= 0), keyed "path#b2" or "path#b0-3"; a
// stream-format file is one unit keyed by its path, since reaching a batch
// means decoding every batch before it. Row counts come from the message
// headers. A file without record batches has no unit.
func (s *IPC) Units(unitRows int64) []stages.Unit {
	spans := s.spans(unitRows)
	out := make([]stages.Unit, len(spans))
	for i, sp := range spans {
		path := unitPath(s.keyBase, s.files[sp.file].path)
		if sp.to >= 0 {
			path = pieceKey(path, "b", sp.from, sp.to-1)
		}
		out[i] = stages.Unit{Key: path, Rows: sp.rows, Files: []string{s.files[sp.file].path}}
	}
	return out
}

// spans groups the parts the source reads into units.
func (s *IPC) spans(unitRows int64) []span {
	return s.units.get(unitRows, func() []span {
		var out []span
		for _, pt := range s.parts {
			lay := s.files[pt.file].layout
			to := pt.to
			if to < 0 {
				to = len(lay.batchRows)
			}
			if pt.from >= to {
				continue
			}
			if !lay.file {
				out = append(out, span{file: pt.file, from: 0, to: -1, rows: lay.rows})
				continue
			}
			out = groupPieces(out, pt.file, pt.from, lay.batchRows[pt.from:to], unitRows)
		}
		return out
	})
}

// Shard returns an IPC source that reads only the listed units of
// Units(unitRows), in the order given. It shares the layouts walked by s;
// closing it leaves s untouched.
func (s *IPC) Shard(unitRows int64, units []int) (stages.Source, error) {
	spans := s.spans(unitRows)
	if err := pickUnits("ipc_source", len(spans), unitRows, units); err != nil {
		return nil, err
	}
	out := &IPC{mem: s.mem, batchRows: s.batchRows, maxBody: s.maxBody, files: s.files, schema: s.schema, hive: s.hive, keyBase: s.keyBase, fi: -1}
	for _, k := range units {
		out.parts = append(out.parts, spans[k])
	}
	return out, nil
}

// Units lists one unit per file, keyed by its path, with Rows -1: the row
// count of a CSV file is known only by reading it.
func (s *CSV) Units(unitRows int64) []stages.Unit { return fileUnits(s.keyBase, s.paths) }

// Shard returns a CSV source that reads only the files of the listed units,
// in the order given, with the schema of s (inferred once, from the first
// files of s, not again from the shard's).
func (s *CSV) Shard(unitRows int64, units []int) (stages.Source, error) {
	if err := pickUnits("csv_source", len(s.paths), unitRows, units); err != nil {
		return nil, err
	}
	out := &CSV{mem: s.mem, conf: s.conf, comma: s.comma, header: s.header, schema: s.schema, hive: s.hive,
		cols: s.cols, inferred: s.inferred, nulls: s.nulls, keyBase: s.keyBase, log: s.log, fi: -1}
	for _, k := range units {
		out.paths = append(out.paths, s.paths[k])
	}
	return out, nil
}

// Units lists one unit per file, keyed by its path, with Rows -1: the row
// count of a JSON lines file is known only by reading it.
func (s *JSONL) Units(unitRows int64) []stages.Unit { return fileUnits(s.keyBase, s.paths) }

// Shard returns a JSON lines source that reads only the files of the listed
// units, in the order given, with the schema of s (inferred once, from the
// first files of s, not again from the shard's).
func (s *JSONL) Shard(unitRows int64, units []int) (stages.Source, error) {
	if err := pickUnits("jsonl_source", len(s.paths), unitRows, units); err != nil {
		return nil, err
	}
	out := &JSONL{mem: s.mem, conf: s.conf, schema: s.schema, hive: s.hive, inferred: s.inferred, keyBase: s.keyBase, log: s.log, fi: -1}
	for _, k := range units {
		out.paths = append(out.paths, s.paths[k])
	}
	return out, nil
}

// fileUnits makes one unit of unknown size per file.
func fileUnits(base string, paths []string) []stages.Unit {
	out := make([]stages.Unit, len(paths))
	for i, p := range paths {
		out[i] = stages.Unit{Key: unitPath(base, p), Rows: -1, Files: []string{p}}
		if fi, err := os.Stat(p); err == nil {
			out[i].Bytes = fi.Size()
		}
	}
	return out
}

// Units lists the generator's row ranges [k*unitRows, (k+1)*unitRows),
// the last one shorter, keyed "rows 0-999" (inclusive); one unit of every
// row when unitRows <= 0, none when count is 0. Every value depends only on
// the seed, the column and the row number, so a unit yields the same rows
// as the full run does.
func (g *Generate) Units(unitRows int64) []stages.Unit {
	rs := g.unitRanges(unitRows)
	out := make([]stages.Unit, len(rs))
	for i, r := range rs {
		out[i] = stages.Unit{Key: fmt.Sprintf("rows %d-%d", r.start, r.end-1), Rows: r.end - r.start}
	}
	return out
}

// unitRanges splits the generator's ranges into units.
func (g *Generate) unitRanges(unitRows int64) []rowRange {
	var out []rowRange
	for _, r := range g.ranges {
		if unitRows <= 0 {
			if r.end > r.start {
				out = append(out, r)
			}
			continue
		}
		for s := r.start; s < r.end; s += unitRows {
			out = append(out, rowRange{s, min(r.end, s+unitRows)})
		}
	}
	return out
}

// Shard returns a generator of the rows of the listed units of
// Units(unitRows), in the order given. It shares the compiled columns of
// g, which are read-only.
func (g *Generate) Shard(unitRows int64, units []int) (stages.Source, error) {
	rs := g.unitRanges(unitRows)
	if err := pickUnits("generate", len(rs), unitRows, units); err != nil {
		return nil, err
	}
	out := &Generate{mem: g.mem, batchRows: g.batchRows, schema: g.schema, cols: g.cols}
	for _, k := range units {
		out.ranges = append(out.ranges, rs[k])
	}
	if len(out.ranges) > 0 {
		out.row = out.ranges[0].start
	}
	return out, nil
}
