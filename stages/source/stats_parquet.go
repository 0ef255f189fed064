package source

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/pipe-ml/pipe/internal/units"
)

// ColumnStats is what a Parquet file's column-chunk statistics say about
// one leaf column, merged over its row groups.
type ColumnStats struct {
	// Column is the leaf's path: the column's name, or a dotted path for a
	// nested column ("vec.list.element").
	Column string
	Nulls  int64
	// Min and Max are the values as text (a timestamp in RFC 3339, a
	// string as written, binary as its length); empty when every value is
	// null.
	Min, Max string
}

// ParquetStatistics returns the column-chunk statistics of every leaf
// column of the Parquet files at paths, merged over their row groups,
// reading only their footers. The files must have the same leaf columns.
// ok is false when some chunk has no statistics (or no null count), or a
// column's type has no order pipe renders: then the figures must be
// computed by reading.
func ParquetStatistics(paths ...string) (stats []ColumnStats, ok bool, err error) {
	var merged []metadata.TypedStatistics
	var descrs []*schema.Column
	for _, path := range paths {
		f, err := openParquetMeta(path, nil, memory.DefaultAllocator, nil, defaultParquetLimits)
		if err != nil {
			return nil, false, err
		}
		err = guard(func() error {
			if stats == nil {
				stats, merged, descrs = newColumnStats(f.meta.Schema)
			}
			ok, err = mergeChunkStats(f.meta, stats, merged)
			return err
		})
		if err != nil {
			return nil, false, fileErr(path, err)
		}
		if !ok {
			return nil, false, nil
		}
	}
	for c := range stats {
		if merged[c].HasMinMax() {
			if stats[c].Min, stats[c].Max, ok = statText(descrs[c], merged[c]); !ok {
				return nil, false, nil
			}
		}
	}
	return stats, true, nil
}

// newColumnStats returns the empty figures of every leaf column of sc.
func newColumnStats(sc *schema.Schema) ([]ColumnStats, []metadata.TypedStatistics, []*schema.Column) {
	n := sc.NumColumns()
	stats, merged, descrs := make([]ColumnStats, n), make([]metadata.TypedStatistics, n), make([]*schema.Column, n)
	for c := range n {
		descrs[c] = sc.Column(c)
		stats[c].Column = descrs[c].ColumnPath().String()
		merged[c] = metadata.NewStatistics(descrs[c], memory.DefaultAllocator)
	}
	return stats, merged, descrs
}

// mergeChunkStats adds the statistics of each leaf column's chunks in one
// file to stats and merged; false when a chunk has none, or the file's
// columns are not those of stats.
func mergeChunkStats(meta *metadata.FileMetaData, stats []ColumnStats, merged []metadata.TypedStatistics) (bool, error) {
	sc := meta.Schema
	if sc.NumColumns() != len(stats) {
		return false, fmt.Errorf("%d leaf columns, the first file has %d", sc.NumColumns(), len(stats))
	}
	for c := range stats {
		if p := sc.Column(c).ColumnPath().String(); p != stats[c].Column || sc.Column(c).PhysicalType() != merged[c].Type() {
			return false, fmt.Errorf("leaf column %d is %s, in the first file %s", c, p, stats[c].Column)
		}
		for rg := range meta.NumRowGroups() {
			cc, err := meta.RowGroup(rg).ColumnChunk(c)
			if err != nil {
				return false, err
			}
			if set, _ := cc.StatsSet(); !set {
				return false, nil
			}
			st, err := cc.Statistics()
			if err != nil || st == nil || !st.HasNullCount() {
				return false, err
			}
			stats[c].Nulls += st.NullCount()
			switch {
			case st.HasMinMax():
				merged[c].Merge(st)
			case st.NullCount() < cc.NumValues():
				return false, nil // values without a min and max
			}
		}
	}
	return true, nil
}

// statText renders a merged statistic's min and max for the leaf's type;
// ok is false for a type it does not render (INT96, decimals).
func statText(descr *schema.Column, st metadata.TypedStatistics) (lo, hi string, ok bool) {
	lt := descr.LogicalType()
	if _, dec := lt.(schema.DecimalLogicalType); dec {
		return "", "", false
	}
	switch s := st.(type) {
	case *metadata.BooleanStatistics:
		return strconv.FormatBool(s.Min()), strconv.FormatBool(s.Max()), true
	case *metadata.Int32Statistics:
		if _, date := lt.(schema.DateLogicalType); date {
			day := func(d int32) string { return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly) }
			return day(s.Min()), day(s.Max()), true
		}
		return strconv.FormatInt(int64(s.Min()), 10), strconv.FormatInt(int64(s.Max()), 10), true
	case *metadata.Int64Statistics:
		if ts, isTS := lt.(schema.TimestampLogicalType); isTS {
			return stampText(s.Min(), ts.TimeUnit()), stampText(s.Max(), ts.TimeUnit()), true
		}
		return strconv.FormatInt(s.Min(), 10), strconv.FormatInt(s.Max(), 10), true
	case *metadata.Float32Statistics:
		return floatText(float64(s.Min()), 32), floatText(float64(s.Max()), 32), true
	case *metadata.Float64Statistics:
		return floatText(s.Min(), 64), floatText(s.Max(), 64), true
	case *metadata.ByteArrayStatistics:
		if _, str := lt.(schema.StringLogicalType); str {
			return string(s.Min()), string(s.Max()), true
		}
		return "<binary " + units.Bytes(int64(len(s.Min()))) + ">", "<binary " + units.Bytes(int64(len(s.Max()))) + ">", true
	}
	return "", "", false
}

// stampText renders a timestamp of unit u in RFC 3339, in UTC.
func stampText(v int64, u schema.TimeUnitType) string {
	var t time.Time
	switch u {
	case schema.TimeUnitMillis:
		t = time.UnixMilli(v)
	case schema.TimeUnitMicros:
		t = time.UnixMicro(v)
	default:
		t = time.Unix(0, v)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// floatText renders a float in its shortest form of bits precision.
func floatText(v float64, bits int) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, bits)
}
