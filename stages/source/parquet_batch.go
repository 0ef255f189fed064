package source

import (
	"fmt"
	"math/bits"

	"github.com/apache/arrow-go/v18/parquet"

	"github.com/pipe-ml/pipe/stages"
)

// Bounds and default target of the batch size a Parquet source chooses
// when batch_rows is 0 (see chooseBatchRows).
//
// Measured on the model benchmark (Parquet -> vectorize -> MLP -> Parquet,
// 2M rows of 132 bytes in 1Mi-row row groups) and the copy benchmark (rows
// of about 156 bytes): batches of 4096-8192 rows (0.5-1 MiB) took 25-35%
// less CPU than 65536-row batches (8.6 MiB), and 330 MiB peak RSS instead
// of 730 MiB. Every stage between source and sink then works on data that
// stays in the caches, and the buffers the allocator pool recycles stay
// small enough to be kept; larger batches are faulted in afresh. Below a
// few hundred KiB the per-batch costs (channel hops, one model call's
// bookkeeping, one sink write) start to show. Rows of more than 16 KiB
// (images, documents) get 64-row batches at least, whatever their size:
// 64 rows of 1 MiB stay well under max_batch_bytes.
const (
	defaultParquetBatchBytes = 1 << 20
	minAutoBatchRows         = 64
	maxAutoBatchRows         = 65536
)

// BatchChoice is how a Parquet source's batch size was set: by the job
// (batch_rows), or chosen from the footers when batch_rows is 0. It is
// part of the stage's run report and of `pipe validate`'s note.
type BatchChoice struct {
	Rows       int    `json:"batch_rows"`
	Auto       bool   `json:"auto"`                  // chosen, batch_rows was 0
	RowBytes   int64  `json:"row_bytes,omitempty"`   // estimated bytes of one row as read
	BatchBytes int64  `json:"batch_bytes,omitempty"` // the target (batch_bytes)
	MaxGroup   int64  `json:"max_row_group_rows"`    // rows of the largest row group
	Reason     string `json:"reason"`
}

// String says the choice in one line.
func (c BatchChoice) String() string {
	return fmt.Sprintf("batch_rows %d: %s", c.Rows, c.Reason)
}

// chooseBatchRows returns the batch size of a source reading files with
// batch_rows set (its value) or 0 (choose). The choice is the power of two
// nearest batchBytes divided by the width of a row as read (estimated from
// the footers: fixed-width values at their width, byte arrays at their
// average uncompressed size plus a 4-byte offset), within [64, 65536],
// and never above the largest row group, as a batch never spans two. A
// power of two keeps batches whole multiples of a model stage's max_rows,
// so the model batches are slices of them rather than copies.
func chooseBatchRows(files []parquetFile, batchRows int, batchBytes int64) BatchChoice {
	var maxGroup, rows, bytes int64
	for _, f := range files {
		for rg := range f.meta.NumRowGroups() {
			rgm := f.meta.RowGroup(rg)
			n := rgm.NumRows()
			maxGroup = max(maxGroup, n)
			rows += n
			bytes += rowGroupBytes(f, rg)
		}
	}
	c := BatchChoice{Rows: batchRows, MaxGroup: maxGroup}
	if batchRows > 0 {
		c.Reason = "set by the job"
		return c
	}
	c.Auto, c.BatchBytes, c.RowBytes = true, batchBytes, 1
	if rows > 0 {
		c.RowBytes = max(1, (bytes+rows-1)/rows)
	}
	n := nearestPow2(max(1, batchBytes/c.RowBytes))
	c.Rows = int(min(max(n, minAutoBatchRows), maxAutoBatchRows))
	c.Reason = fmt.Sprintf("chosen: rows of about %d B as read, the power of two nearest batch_bytes (%s) / row size, within %d..%d",
		c.RowBytes, stages.ByteSize(batchBytes), minAutoBatchRows, maxAutoBatchRows)
	if maxGroup > 0 && int64(c.Rows) > maxGroup {
		c.Rows = int(maxGroup)
		c.Reason += fmt.Sprintf(", cut to the largest row group (%d rows)", maxGroup)
	}
	return c
}

// rowGroupBytes estimates the bytes row group rg of f takes as Arrow
// arrays, over the leaf columns read.
func rowGroupBytes(f parquetFile, rg int) int64 {
	rgm := f.meta.RowGroup(rg)
	n := rgm.NumRows()
	var total int64
	for _, leaf := range f.leaves {
		col := f.meta.Schema.Column(leaf)
		switch col.PhysicalType() {
		case parquet.Types.Boolean:
			total += (n + 7) / 8
		case parquet.Types.Int32, parquet.Types.Float:
			total += 4 * n
		case parquet.Types.Int64, parquet.Types.Double, parquet.Types.Int96:
			total += 8 * n
		case parquet.Types.FixedLenByteArray:
			total += int64(col.TypeLength()) * n
		default: // byte arrays: the values as stored, and offsets
			total += 4 * n
			if cc, err := rgm.ColumnChunk(leaf); err == nil {
				total += max(cc.TotalUncompressedSize(), 0)
			}
		}
	}
	return total
}

// nearestPow2 returns the power of two nearest n (n >= 1) on a log scale:
// lo, the largest power of two <= n, when n < lo*sqrt(2), else 2*lo. n is
// capped first so that n*n cannot overflow.
func nearestPow2(n int64) int64 {
	n = min(max(n, 1), 1<<30)
	lo := int64(1) << (63 - bits.LeadingZeros64(uint64(n)))
	if n*n < 2*lo*lo {
		return lo
	}
	return 2 * lo
}

// Report returns the source's figures for the run report: how its batch
// size was set ([BatchChoice]).
func (p *Parquet) Report() fmt.Stringer {
	c := p.choice
	return &c
}

// Estimate says, for `pipe validate`, the batch size and why: the size
// the source reads a batch at, chosen or set.
func (p *Parquet) Estimate() (note, warning string) {
	c := p.choice
	if c.RowBytes > 0 {
		return fmt.Sprintf("batches of %d rows, about %s each (%s)", c.Rows, sizeText(int64(c.Rows)*c.RowBytes), c.String()), ""
	}
	return fmt.Sprintf("batches of %d rows (%s)", c.Rows, c.String()), ""
}
