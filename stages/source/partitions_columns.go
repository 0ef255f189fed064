package source

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/stages/transform"
)

// fieldsUpTo returns the columns of the first n keys, typed from the values
// seen so far.
func (h *hiveLayout) fieldsUpTo(n int) []arrow.Field {
	out := make([]arrow.Field, n)
	for i := range out {
		out[i] = arrow.Field{Name: h.keys[i].name, Type: h.keys[i].typ(), Nullable: true}
	}
	return out
}

// prune drops the folders of one level (all at the same depth) where the
// partitions condition is false, when it names only the keys known at
// that depth; it returns the folders kept and a note for each one dropped.
func (h *hiveLayout) prune(dirs []hiveFile) ([]hiveFile, []stages.FileNote, error) {
	if h.conf.Partitions == "" || len(dirs) == 0 || len(dirs[0].vals) == 0 {
		return dirs, nil, nil
	}
	depth := len(dirs[0].vals)
	fields := h.fieldsUpTo(depth)
	// The conditions joined by `and` that name only the keys known so far:
	// when they are not true, the whole cannot be. The others are checked
	// further down; finish reports an expression wrong with every key.
	pr, ok, err := transform.CompilePrefilter(h.conf.Partitions, arrow.NewSchema(fields, nil))
	if err != nil {
		return nil, nil, fmt.Errorf("partitions: %w", err)
	}
	if !ok {
		return dirs, nil, nil
	}
	rows := make([][]partVal, len(dirs))
	names := make([]string, len(dirs))
	for i, d := range dirs {
		rows[i], names[i] = d.vals, d.path
	}
	keep, _, err := evalTuples(pr, fields, rows, names)
	if err != nil {
		return nil, nil, err
	}
	for i := range depth {
		if h.keys[i].used == nil {
			h.keys[i].used = fields[i].Type
		}
	}
	var kept []hiveFile
	var notes []stages.FileNote
	for i, d := range dirs {
		if keep[i] {
			kept = append(kept, d)
		} else {
			notes = append(notes, stages.FileNote{Path: d.path, Reason: "partitions: " + h.conf.Partitions})
		}
	}
	return kept, notes, nil
}

// fixFields sets the partition columns from every value seen. A key whose
// inferred type changed after pruning compared it as another is an error:
// the folders pruned may not be those the condition means.
func (h *hiveLayout) fixFields() error {
	h.fields = h.fieldsUpTo(len(h.keys))
	for i, k := range h.keys {
		if k.used == nil || arrow.TypeEqual(k.used, h.fields[i].Type) {
			continue
		}
		others := append(append([]arrow.Field(nil), h.fields[:i]...), h.fields[i+1:]...)
		if _, err := transform.CompilePredicate(h.conf.Partitions, arrow.NewSchema(others, nil)); err == nil {
			continue // the condition does not name this key
		}
		return fmt.Errorf("partition key %q: the first folders listed made it %s, and partitions compared it as such, but other folders make it %s; declare its type in partition_types",
			k.name, k.used, h.fields[i].Type)
	}
	return nil
}

// buildTuples builds the partition columns' values of each distinct tuple
// and returns whether the partitions condition keeps each one. files and
// rowOf name the first file of a tuple in errors.
func (h *hiveLayout) buildTuples(rows [][]partVal, files []hiveFile, rowOf []int) ([]bool, error) {
	names := make([]string, len(rows))
	for i := len(files) - 1; i >= 0; i-- {
		names[rowOf[i]] = files[i].path
	}
	var pr *transform.Predicate
	if h.conf.Partitions != "" {
		var err error
		if pr, err = transform.CompilePredicate(h.conf.Partitions, arrow.NewSchema(h.fields, nil)); err != nil {
			return nil, fmt.Errorf("partitions: %w (partition columns: %s)", err, h.describe())
		}
	}
	keep, cols, err := evalTuples(pr, h.fields, rows, names)
	if err != nil {
		return nil, err
	}
	h.tuples = cols
	return keep, nil
}

// evalTuples builds the columns of fields from rows (names[i] is the file
// or folder of row i, for errors) and evaluates pr on them; every row is
// kept when pr is nil. The columns come from the Go allocator: they live as
// long as the source.
func evalTuples(pr *transform.Predicate, fields []arrow.Field, rows [][]partVal, names []string) ([]bool, []arrow.Array, error) {
	cols := make([]arrow.Array, len(fields))
	for k, f := range fields {
		b := array.NewBuilder(memory.DefaultAllocator, f.Type)
		for r, vals := range rows {
			if err := appendPartValue(b, vals[k]); err != nil {
				b.Release()
				return nil, nil, fmt.Errorf("%s: partition key %q: %w", names[r], f.Name, err)
			}
		}
		cols[k] = b.NewArray()
		b.Release()
	}
	keep := make([]bool, len(rows))
	if pr == nil {
		for i := range keep {
			keep[i] = true
		}
		return keep, cols, nil
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(rows)))
	defer rec.Release()
	return pr.Keep(rec), cols, nil
}

// appendPartValue appends one folder value to b, parsed as b's type.
func appendPartValue(b array.Builder, v partVal) error {
	if v.null {
		b.AppendNull()
		return nil
	}
	bad := func() error { return &ValueError{Value: truncate(v.val), Type: b.Type().String()} }
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(v.val)
		return nil
	case *array.Date32Builder:
		t, err := time.Parse(time.DateOnly, v.val)
		if err != nil {
			return &ValueError{Value: truncate(v.val), Type: "date32", Hint: "expected a date such as 2026-12-07"}
		}
		b.Append(arrow.Date32FromTime(t))
		return nil
	}
	if v.val == array.NullValueStr {
		return bad()
	}
	if err := b.AppendValueFromString(v.val); err != nil {
		return bad()
	}
	return nil
}

// bind sets the schema of the source's batches: the file columns, then
// the partition columns. A file column named as a partition key is an
// error.
func (h *hiveLayout) bind(file *arrow.Schema) error {
	fields := append([]arrow.Field(nil), file.Fields()...)
	for _, f := range h.fields {
		if file.HasField(f.Name) {
			return &stages.ColumnError{Column: f.Name, Msg: "is both a column of the files and a partition key (partitioning hive)"}
		}
		fields = append(fields, f)
	}
	md := file.Metadata()
	h.schema = arrow.NewSchema(fields, &md)
	return nil
}

// partCache holds the partition columns a source built last, for the file
// and row count they were built for: the next batch of that file and
// length shares them (arrays are immutable) instead of building its own.
// Each source (and shard) has its own; Close releases it.
type partCache struct {
	path string
	n    int
	cols []arrow.Array
}

// release drops the columns held.
func (c *partCache) release() {
	for _, a := range c.cols {
		a.Release()
	}
	*c = partCache{}
}

// extend appends the partition columns of the file path to rec, each the
// file's value repeated, built once per file and batch length (see
// partCache); it takes ownership of rec. A nil layout returns rec.
func (h *hiveLayout) extend(rec arrow.RecordBatch, path string, mem memory.Allocator, cache *partCache) (arrow.RecordBatch, error) {
	if h == nil {
		return rec, nil
	}
	defer rec.Release()
	n := int(rec.NumRows())
	if cache.cols == nil || cache.path != path || cache.n != n {
		cache.release()
		row := h.byFile[path]
		for k := range h.fields {
			sc, err := scalar.GetScalar(h.tuples[k], row)
			if err != nil {
				cache.release()
				return nil, err
			}
			a, err := scalar.MakeArrayFromScalar(sc, n, mem)
			if err != nil {
				cache.release()
				return nil, err
			}
			cache.cols = append(cache.cols, a)
		}
		cache.path, cache.n = path, n
	}
	cols := append(make([]arrow.Array, 0, len(h.schema.Fields())), rec.Columns()...)
	return array.NewRecordBatch(h.schema, append(cols, cache.cols...), int64(n)), nil
}

// outSchema is the schema of a source's batches: s, or with the partition
// columns when there is a layout.
func (h *hiveLayout) outSchema(s *arrow.Schema) *arrow.Schema {
	if h == nil {
		return s
	}
	return h.schema
}
