package transform

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"

	"github.com/pipe-ml/pipe/stages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recJSON builds a batch of schema from a JSON array of row objects; the
// caller releases it.
func recJSON(t testing.TB, mem memory.Allocator, schema *arrow.Schema, js string) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(js))
	if err != nil {
		t.Fatalf("record from json: %v", err)
	}
	return rec
}

// dump renders a batch as "col=value col=value; ..." for comparisons.
func dump(rec arrow.RecordBatch) string {
	if rec == nil {
		return "<nil>"
	}
	var rows []string
	for r := range int(rec.NumRows()) {
		var cells []string
		for c, f := range rec.Schema().Fields() {
			cells = append(cells, f.Name+"="+rec.Column(c).ValueStr(r))
		}
		rows = append(rows, strings.Join(cells, " "))
	}
	return strings.Join(rows, "; ")
}

// schemaString renders field names and types.
func schemaString(s *arrow.Schema) string {
	var parts []string
	for _, f := range s.Fields() {
		p := f.Name + ":" + f.Type.String()
		if !f.Nullable {
			p += "!"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// wantErr checks that err is non-nil and contains every fragment.
func wantErr(t *testing.T, err error, frags ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got nil", frags)
	}
	for _, f := range frags {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

// wantColumnError checks that err is a *stages.ColumnError for column.
func wantColumnError(t *testing.T, err error, column string) {
	t.Helper()
	var ce *stages.ColumnError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *stages.ColumnError, got %T: %v", err, err)
	}
	if ce.Column != column {
		t.Errorf("column error names %q, want %q", ce.Column, column)
	}
}

func field(name string, dt arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: dt, Nullable: true}
}

var (
	i64 = arrow.PrimitiveTypes.Int64
	f64 = arrow.PrimitiveTypes.Float64
	f32 = arrow.PrimitiveTypes.Float32
	str = arrow.BinaryTypes.String
)

func arrowFromJSON(t *testing.T, mem memory.Allocator, dt arrow.DataType, js string) (arrow.Array, error) {
	t.Helper()
	arr, _, err := array.FromJSON(mem, dt, strings.NewReader(js))
	if err != nil {
		t.Fatalf("array from json: %v", err)
	}
	return arr, nil
}

func int64Array(mem memory.Allocator, vals []int64) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func newBatch(schema *arrow.Schema, cols ...arrow.Array) arrow.RecordBatch {
	return array.NewRecordBatch(schema, cols, int64(cols[0].Len()))
}

// dumpCol renders one column of rec as dump does.
func dumpCol(rec arrow.RecordBatch, name string) string {
	i := rec.Schema().FieldIndices(name)[0]
	var rows []string
	for r := range int(rec.NumRows()) {
		rows = append(rows, name+"="+rec.Column(i).ValueStr(r))
	}
	return strings.Join(rows, "; ")
}
