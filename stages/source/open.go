package source

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// OpenFile opens the data file at path to read its rows, in the format
// [Inspect] detects and with the settings Inspect reads it with (a CSV
// file has a header line and "," as delimiter, ";" or tab for .tsv; the
// schema of CSV and JSON lines is inferred from the first 1000 records).
// Batches hold at most batchRows rows, from mem, and are owned by the
// caller; the memory limits are the sources' defaults, so reading is
// bounded as a job's is. The caller closes the source.
func OpenFile(path string, mem memory.Allocator, batchRows int) (stages.Source, Format, error) {
	format, err := detectFormat(path)
	if err != nil {
		return nil, "", err
	}
	paths := []stages.Path{stages.Path(path)}
	var src stages.Source
	switch format {
	case FormatParquet:
		src, err = NewParquet(ParquetConfig{Paths: paths, BatchRows: batchRows}, mem)
	case FormatIPCFile, FormatIPCStream:
		src, err = NewIPC(IPCConfig{Paths: paths, BatchRows: batchRows, MaxBatchBytes: defaultMaxBatchBytes}, mem)
	case FormatCSV:
		delim := ","
		if _, plain := compressionOf(path); strings.HasSuffix(strings.ToLower(plain), ".tsv") {
			delim = "\t"
		}
		src, err = NewCSV(CSVConfig{Paths: paths, Header: true, Delimiter: delim, InferRows: 1000,
			NullValues: []string{"", "NA", "NULL", "null"}, BatchRows: batchRows}, mem)
	default:
		src, err = NewJSONL(JSONLConfig{Paths: paths, InferRows: 1000, BatchRows: batchRows}, mem)
	}
	if err != nil {
		return nil, "", err
	}
	return src, format, nil
}
