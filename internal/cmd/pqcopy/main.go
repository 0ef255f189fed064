// Command pqcopy is the baseline of the Parquet copy benchmark: a plain
// arrow-go loop that reads a Parquet file with pqarrow and writes it back
// with the writer settings of parquet_sink's defaults. `make bench` runs it
// beside the equivalent pipe job and reports the ratio.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/stages/sink"
)

func main() {
	in := flag.String("in", "", "input Parquet file")
	out := flag.String("out", "", "output Parquet file")
	batch := flag.Int64("batch", 65536, "rows per batch read")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: pqcopy -in FILE -out FILE")
		os.Exit(2)
	}
	start := time.Now()
	rows, err := copyFile(*in, *out, *batch)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pqcopy:", err)
		os.Exit(1)
	}
	sec := time.Since(start).Seconds()
	fmt.Printf("rows=%d seconds=%.3f rows_per_second=%.0f\n", rows, sec, float64(rows)/sec)
}

func copyFile(in, out string, batch int64) (int64, error) {
	mem := memory.NewGoAllocator()
	rdr, err := file.OpenParquetFile(in, false)
	if err != nil {
		return 0, err
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: batch, Parallel: false}, mem)
	if err != nil {
		return 0, err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	conf := sink.DefaultParquetConfig()
	conf.Path = stages.Path(out) // validated, not used: this loop writes out itself
	props, arrowProps, err := sink.ParquetWriterProperties(conf, mem)
	if err != nil {
		return 0, err
	}
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	w, err := pqarrow.NewFileWriter(rr.Schema(), f, props, arrowProps)
	if err != nil {
		return 0, err
	}
	var rows int64
	for rr.Next() {
		rec := rr.RecordBatch()
		if err := w.WriteBuffered(rec); err != nil {
			return rows, err
		}
		rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return rows, err
	}
	// Close writes the footer and closes f; fsync through a new descriptor,
	// as parquet_sink does before its rename.
	if err := w.Close(); err != nil {
		return rows, err
	}
	g, err := os.Open(out)
	if err != nil {
		return rows, err
	}
	defer g.Close()
	return rows, g.Sync()
}
