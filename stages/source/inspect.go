package source

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Format names a data file format.
type Format string

// The formats [Inspect] recognises.
const (
	FormatParquet   Format = "parquet"
	FormatIPCFile   Format = "arrow-ipc-file"
	FormatIPCStream Format = "arrow-ipc-stream"
	FormatCSV       Format = "csv"
	FormatJSONL     Format = "jsonl"
)

// Info describes one data file.
type Info struct {
	Path   string
	Format Format
	Schema *arrow.Schema
	// Rows is the row count: from the footer for Parquet, from the message
	// headers for Arrow IPC, by reading the file for CSV and JSON lines.
	Rows int64
	// RowGroups lists a Parquet file's row groups; nil for other formats.
	RowGroups []RowGroup
	// Batches is the number of record batches of an Arrow IPC file.
	Batches int
	// Compression is the body compression of an Arrow IPC file ("lz4",
	// "zstd" or empty), or how a CSV or JSON lines file is compressed
	// ("gzip", "zstd" or empty).
	Compression string
	// CreatedBy is the writer recorded in a Parquet footer.
	CreatedBy string
}

// String renders the description `pipe inspect` prints: one "key: value"
// per line, then the schema.
func (i *Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "path: %s\nformat: %s\nrows: %d\n", i.Path, i.Format, i.Rows)
	if i.Format == FormatParquet {
		fmt.Fprintf(&b, "row_groups: %d\n", len(i.RowGroups))
		if i.CreatedBy != "" {
			fmt.Fprintf(&b, "created_by: %s\n", i.CreatedBy)
		}
	}
	if i.Format == FormatIPCFile || i.Format == FormatIPCStream {
		fmt.Fprintf(&b, "batches: %d\n", i.Batches)
	}
	if i.Compression != "" {
		fmt.Fprintf(&b, "compression: %s\n", i.Compression)
	}
	b.WriteString("schema:\n")
	if i.Schema != nil {
		for _, f := range i.Schema.Fields() {
			null := ""
			if !f.Nullable {
				null = " not null"
			}
			fmt.Fprintf(&b, "  %s: %s%s\n", f.Name, f.Type, null)
		}
	}
	return b.String()
}

// Inspect detects the format of the file at path (from its magic bytes,
// then its extension) and returns its format, schema and row count. CSV and
// JSON lines files may be compressed (x.csv.gz, x.jsonl.zst). CSV files
// are read with a header line and "," (";" or tab for .tsv) as delimiter;
// their schema and that of JSON lines files is inferred from the first 1000
// records.
func Inspect(path string) (*Info, error) {
	format, err := detectFormat(path)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatParquet:
		return describeParquet(path)
	case FormatIPCFile, FormatIPCStream:
		return describeIPC(path)
	case FormatCSV:
		return describeCSV(path)
	default:
		return describeJSONL(path)
	}
}

// detectFormat looks at the first bytes of path, then at its extension.
func detectFormat(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 8)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fileErr(path, err)
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		return FormatParquet, nil
	case bytes.HasPrefix(head, []byte(ipcMagic)):
		return FormatIPCFile, nil
	case bytes.HasPrefix(head, []byte{0xff, 0xff, 0xff, 0xff}):
		return FormatIPCStream, nil
	}
	comp, name := compressionOf(path)
	ext := strings.ToLower(filepath.Ext(name))
	if comp != compNone {
		return textFormat(path, ext)
	}
	switch ext {
	case ".parquet", ".parq", ".pq":
		return FormatParquet, nil
	case ".arrow", ".feather", ".arrow_file", ".ipc":
		return FormatIPCFile, nil
	case ".arrows", ".stream":
		return FormatIPCStream, nil
	}
	if bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("{")) {
		if f, err := textFormat(path, ext); err == nil {
			return f, nil
		}
		return FormatJSONL, nil
	}
	return textFormat(path, ext)
}

// textFormat is the text format that ext (of a name without its
// compressed ending) names.
func textFormat(path, ext string) (Format, error) {
	switch ext {
	case ".csv", ".tsv", ".txt":
		return FormatCSV, nil
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL, nil
	}
	return "", fileErr(path, fmt.Errorf("unknown format: not Parquet or Arrow IPC, and extension %q is not .csv, .tsv, .jsonl, .ndjson or .json (optionally followed by .gz or .zst)", ext))
}
