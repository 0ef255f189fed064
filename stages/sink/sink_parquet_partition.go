package sink

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// DefaultMaxOpenFiles is the default max_open_files of a partitioned sink.
const DefaultMaxOpenFiles = 64

// HiveDefaultPartition is the folder value of a null (or empty) partition
// value, as Hive, Spark and pyarrow name it.
const HiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// maxFolderName is the longest folder name most file systems take, in
// bytes.
const maxFolderName = 255

// maxPartitionDepth bounds how deep the partition folders of an earlier run
// are looked for.
const maxPartitionDepth = 32

// validatePartitioning checks partition_by and max_open_files without a
// schema; the column types are checked by [partitions.bind].
func (c ParquetConfig) validatePartitioning() []error {
	var errs []error
	if c.MaxOpenFiles < 1 {
		errs = append(errs, fmt.Errorf("max_open_files: must be at least 1, got %d", c.MaxOpenFiles))
	}
	seen := map[string]bool{}
	for i, name := range c.PartitionBy {
		switch {
		case name == "":
			errs = append(errs, fmt.Errorf("partition_by[%d]: must not be empty", i))
		case seen[name]:
			errs = append(errs, fmt.Errorf("partition_by[%d]: column %q listed twice", i, name))
		}
		seen[name] = true
	}
	return errs
}

// partitions routes a sink's rows to one writer per partition folder. Each
// writer is a [ParquetSink] of its own, writing into the partition's folder
// under the root sink's staging folder, its files held there until the
// root commits; the root prepares, commits and aborts the folder as a whole.
type partitions struct {
	root   *ParquetSink
	cols   []int         // input indexes of the partition columns
	data   []int         // input indexes of the other columns
	schema *arrow.Schema // the files' schema: the data columns
	byDir  map[string]*partition
	open   []*partition // those with a file open
	tick   int64        // counts routed runs, for least-recently-used order
}

// partition is one partition folder's writer.
type partition struct {
	dir  string // relative, slash-separated: dt=2026-12-07/region=eu
	sink *ParquetSink
	used int64 // tick of its last rows
}

// bind checks the partition columns against the input schema s and derives
// the files' schema.
func (p *partitions) bind(s *arrow.Schema) error {
	conf := p.root.conf
	isPart := make([]bool, s.NumFields())
	p.cols = p.cols[:0]
	for _, name := range conf.PartitionBy {
		i, err := stages.Column(s, name)
		if err != nil {
			return fmt.Errorf("partition_by: %w", err)
		}
		if !partitionType(s.Field(i).Type) {
			return &stages.ColumnError{Column: name, Msg: fmt.Sprintf(
				"partition_by: type %s cannot name a folder; partition by strings, integers, booleans or date32", s.Field(i).Type)}
		}
		p.cols, isPart[i] = append(p.cols, i), true
	}
	var fields []arrow.Field
	p.data = p.data[:0]
	for i, f := range s.Fields() {
		if !isPart[i] {
			p.data, fields = append(p.data, i), append(fields, f)
		}
	}
	if len(fields) == 0 {
		return fmt.Errorf("partition_by: every column is a partition column; the files need at least one other")
	}
	md := s.Metadata()
	p.schema = arrow.NewSchema(fields, &md)
	p.byDir = map[string]*partition{}
	return nil
}

// partitionType reports whether values of type t can name a folder.
func partitionType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BOOL, arrow.DATE32,
		arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

// write routes the rows of rec, which is borrowed for the call and has the
// root's schema, to their partitions' writers, in input order within each.
func (p *partitions) write(ctx context.Context, rec arrow.RecordBatch) error {
	if p.schema == nil {
		if err := p.bind(rec.Schema()); err != nil {
			return err
		}
	}
	first := p.root.rowsIn
	p.root.rowsIn += rec.NumRows()
	rt, err := p.route(rec, first)
	if err != nil {
		return err
	}
	cols := make([]arrow.Array, len(p.data))
	for i, c := range p.data {
		cols[i] = rec.Column(c)
	}
	data := array.NewRecordBatch(p.schema, cols, rec.NumRows())
	defer data.Release()
	for k, dir := range rt.dirs {
		rows, err := rt.gather(ctx, data, int32(k), p.root.mem)
		if err != nil {
			return fmt.Errorf("partition %s: %w", dir, err)
		}
		part, err := p.writer(ctx, dir)
		if err == nil {
			err = part.sink.Write(ctx, rows)
		}
		rows.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// routing is where the rows of one batch go.
type routing struct {
	dirs  []string   // the folders, in the order their first rows come
	row   []int32    // each row's index into dirs
	count []int64    // rows per folder
	span  [][2]int64 // first and last row + 1 per folder
}

// route finds the partition folder of each row of rec. first is the input
// row number of rec's first row, for errors.
func (p *partitions) route(rec arrow.RecordBatch, first int64) (*routing, error) {
	n := int(rec.NumRows())
	rt := &routing{row: make([]int32, n)}
	index := map[string]int32{}
	var key []byte
	for r := range n {
		key = key[:0]
		for k, c := range p.cols {
			v, err := partitionValue(rec.Column(c), r)
			if err != nil {
				return nil, &stages.ColumnError{Column: rec.ColumnName(c), Msg: fmt.Sprintf("input row %d: %v", first+int64(r), err)}
			}
			name := stages.EscapePathName(rec.ColumnName(c))
			if seg := len(name) + 1 + len(v); seg > maxFolderName {
				return nil, &stages.ColumnError{Column: rec.ColumnName(c), Msg: fmt.Sprintf(
					"input row %d: folder name %.40q... is %d bytes, more than a file system allows (%d)", first+int64(r), name+"="+v, seg, maxFolderName)}
			}
			if k > 0 {
				key = append(key, '/')
			}
			key = append(append(append(key, name...), '='), v...)
		}
		k, ok := index[string(key)]
		if !ok {
			k = int32(len(rt.dirs))
			index[string(key)] = k
			rt.dirs = append(rt.dirs, string(key))
			rt.count = append(rt.count, 0)
			rt.span = append(rt.span, [2]int64{int64(r), 0})
		}
		rt.row[r] = k
		rt.count[k]++
		rt.span[k][1] = int64(r) + 1
	}
	return rt, nil
}

// gather returns the rows of data in folder k, in order, as a record batch
// the caller owns: a zero-copy slice when they are contiguous, else taken.
func (rt *routing) gather(ctx context.Context, data arrow.RecordBatch, k int32, mem memory.Allocator) (arrow.RecordBatch, error) {
	sp := rt.span[k]
	if sp[1]-sp[0] == rt.count[k] {
		return data.NewSlice(sp[0], sp[1]), nil
	}
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.Reserve(int(rt.count[k]))
	for r := sp[0]; r < sp[1]; r++ {
		if rt.row[r] == k {
			b.UnsafeAppend(int32(r))
		}
	}
	idx := b.NewInt32Array()
	defer idx.Release()
	ec := compute.DefaultExecCtx()
	ec.NumParallel = 1
	cctx := compute.WithAllocator(compute.SetExecCtx(ctx, ec), mem)
	cols := make([]arrow.Array, data.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		c, err := compute.TakeArray(cctx, data.Column(i), idx)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", data.ColumnName(i), err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(data.Schema(), cols, rt.count[k]), nil
}

// writer returns dir's writer ready for rows: when it has no file open and
// max_open_files are, the least recently used open file is completed first.
func (p *partitions) writer(ctx context.Context, dir string) (*partition, error) {
	p.tick++
	part := p.byDir[dir]
	if part == nil {
		var err error
		if part, err = p.newPartition(ctx, dir); err != nil {
			return nil, err
		}
	}
	part.used = p.tick
	// Files complete on their own too (max_rows_per_file).
	p.open = slices.DeleteFunc(p.open, func(q *partition) bool { return q.sink.cur == nil })
	if part.sink.cur != nil {
		return part, nil
	}
	if len(p.open) >= p.root.conf.MaxOpenFiles {
		lru := 0
		for i, q := range p.open {
			if q.used < p.open[lru].used {
				lru = i
			}
		}
		if err := p.open[lru].sink.finishFile(); err != nil {
			return nil, err
		}
		p.open = slices.Delete(p.open, lru, lru+1)
	}
	if err := part.sink.openFile(ctx); err != nil {
		return nil, err
	}
	p.open = append(p.open, part)
	return part, nil
}

// newPartition creates dir's writer and its staging folder.
func (p *partitions) newPartition(ctx context.Context, dir string) (*partition, error) {
	root := p.root
	rel := filepath.FromSlash(dir)
	if err := root.prepare(ctx); err != nil {
		return nil, &FileError{Op: "create", Path: root.join(dir), Err: err}
	}
	if root.obj != nil {
		return p.newObjectPartition(dir), nil
	}
	staging := filepath.Join(root.staging, rel)
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, &FileError{Op: "create", Path: filepath.Join(root.dir, rel), Err: err}
	}
	conf := root.conf
	conf.PartitionBy = nil
	sk := &ParquetSink{
		conf: conf, dir: filepath.Join(root.dir, rel), staging: staging, prefix: root.prefix,
		schema: p.schema, mem: root.mem, props: root.props, arrowProps: root.arrowProps,
		holdFinal: true, prepared: true,
		fslCols: fixedSizeListColumns(p.schema), limits: limitsOf(conf, p.schema),
	}
	sk.varCols, sk.fixedRow = rowShape(p.schema)
	part := &partition{dir: dir, sink: sk}
	p.byDir[dir] = part
	return part, nil
}

// newObjectPartition creates dir's writer on object storage, which writes
// straight to the final names.
func (p *partitions) newObjectPartition(dir string) *partition {
	root := p.root
	conf := root.conf
	conf.PartitionBy = nil
	sk := &ParquetSink{
		conf: conf, dir: root.join(dir), prefix: root.prefix,
		obj:    &objectDir{folder: root.obj.folder, creator: root.obj.creator, rel: root.obj.name(dir)},
		schema: p.schema, mem: root.mem, props: root.props, arrowProps: root.arrowProps, prepared: true,
		fslCols: fixedSizeListColumns(p.schema), limits: limitsOf(conf, p.schema),
	}
	sk.varCols, sk.fixedRow = rowShape(p.schema)
	part := &partition{dir: dir, sink: sk}
	p.byDir[dir] = part
	return part
}

// sorted returns the partitions in folder order.
func (p *partitions) sorted() []*partition {
	out := make([]*partition, 0, len(p.byDir))
	for _, part := range p.byDir {
		out = append(out, part)
	}
	slices.SortFunc(out, func(a, b *partition) int { return strings.Compare(a.dir, b.dir) })
	return out
}

// commit completes every partition's file, moves the files to their
// folders, removes the part files of earlier runs this one did not write
// again, and fsyncs the folders. The root sink is prepared.
func (p *partitions) commit(ctx context.Context) error {
	root := p.root
	keep := map[string]bool{}
	for _, part := range p.sorted() {
		if root.obj != nil {
			// Object storage has no folders to make.
		} else if err := mkdirSynced(root, part.sink.dir); err != nil {
			return &FileError{Op: "create", Path: part.sink.dir, Err: err}
		}
		if err := part.sink.Commit(ctx); err != nil {
			return err
		}
		for _, pf := range part.sink.produced {
			keep[path.Join(part.dir, pf.name)] = true
		}
	}
	p.open = nil
	for _, n := range root.old {
		if !keep[filepath.ToSlash(n)] {
			if err := root.removeFile(n); err != nil {
				return err
			}
		}
	}
	if err := root.syncDir(root.dir); err != nil {
		return &FileError{Op: "sync", Path: root.dir, Err: err}
	}
	root.state = stateCommitted
	return nil
}

// mkdirSynced creates dir, inside the root's folder, and fsyncs the folders
// that gained an entry.
func mkdirSynced(root *ParquetSink, dir string) error {
	var made []string
	for d := dir; d != root.dir && !exists(d); d = filepath.Dir(d) {
		made = append(made, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range made {
		if err := root.syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// files returns the final paths of the completed files, in folder order.
func (p *partitions) files() []string {
	var out []string
	for _, part := range p.sorted() {
		out = append(out, part.sink.Files()...)
	}
	return out
}

// outputFiles returns the completed files with their rows, in folder order.
func (p *partitions) outputFiles() []stages.OutputFile {
	var out []stages.OutputFile
	for _, part := range p.sorted() {
		out = append(out, part.sink.OutputFiles()...)
	}
	return out
}

// release discards every partition's open file; the root removes the
// staging folder they live in. A nil p has nothing to release.
func (p *partitions) release() {
	if p == nil {
		return
	}
	for _, part := range p.byDir {
		part.sink.discardFile()
		part.sink.releaseCarry()
		if part.sink.state == stateOpen {
			part.sink.state = stateAborted
		}
	}
	p.open = nil
}

// removeProduced removes the files the partitions completed, for an Abort
// on object storage, where they are under their final names. A nil p has
// none.
func (p *partitions) removeProduced() []error {
	if p == nil {
		return nil
	}
	var errs []error
	for _, part := range p.byDir {
		for _, pf := range part.sink.produced {
			if err := part.sink.removeFile(pf.name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// partitionValue returns row r of column a as an escaped folder value.
func partitionValue(a arrow.Array, r int) (string, error) {
	if a.IsNull(r) {
		return HiveDefaultPartition, nil
	}
	var v string
	switch c := a.(type) {
	case *array.String:
		v = c.Value(r)
	case *array.LargeString:
		v = c.Value(r)
	case *array.StringView:
		v = c.Value(r)
	case *array.Boolean:
		v = strconv.FormatBool(c.Value(r))
	case *array.Date32:
		v = c.Value(r).FormattedString()
	case *array.Int8, *array.Int16, *array.Int32, *array.Int64,
		*array.Uint8, *array.Uint16, *array.Uint32, *array.Uint64:
		v = a.ValueStr(r)
	default:
		return "", fmt.Errorf("type %s cannot name a folder", a.DataType())
	}
	if v == "" {
		return HiveDefaultPartition, nil
	}
	return stages.EscapePathName(v), nil
}

// partitionDir matches a partition folder's name: col=value, col not
// starting with _ or . (which readers skip).
var partitionDir = regexp.MustCompile(`^[^_.=][^=]*=`)

// partitionParts returns old with the part files in the partition folders
// of dir appended (as slash-separated relative paths): with a prefix the
// unit's (prefix-NNNNN.parquet), else every part-*.parquet. Without
// partition_by it returns old.
func partitionParts(conf ParquetConfig, dir, prefix string, old []string) ([]string, error) {
	return partitionPartsIn(conf, localLister(dir), prefix, old)
}

// partitionPartsIn is partitionParts over the folder ls lists.
func partitionPartsIn(conf ParquetConfig, ls lister, prefix string, old []string) ([]string, error) {
	if len(conf.PartitionBy) == 0 {
		return old, nil
	}
	var walk func(rel string, depth int) error
	walk = func(rel string, depth int) error {
		ents, err := ls(rel)
		if err != nil || depth > maxPartitionDepth {
			return err
		}
		for _, e := range ents {
			name := path.Join(rel, e.Name)
			switch {
			case e.Type.IsDir() && partitionDir.MatchString(e.Name):
				if err := walk(name, depth+1); err != nil {
					return err
				}
			case rel != "" && e.Type.IsRegular() && ownPart(e.Name, prefix):
				old = append(old, name)
			}
		}
		return nil
	}
	err := walk("", 0)
	return old, err
}

// ownPart reports whether a file named name is a part file of the sink
// with prefix (any part file without one).
func ownPart(name, prefix string) bool {
	if prefix == "" {
		ok, _ := filepath.Match("part-*.parquet", name)
		return ok
	}
	num, ok := strings.CutPrefix(name, prefix+"-")
	num, ok2 := strings.CutSuffix(num, ".parquet")
	return ok && ok2 && num != "" && strings.Trim(num, "0123456789") == ""
}
