package output

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/stages"
)

// TestDescribeFiles checks that the manifest takes a digest a sink computed
// while writing, computes the missing ones from the file, and refuses a
// file whose size is not what its sink wrote.
func TestDescribeFiles(t *testing.T) {
	dir := t.TempDir()
	data := []byte("parquet bytes")
	path := filepath.Join(dir, "part-00000.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	raw := sha256.Sum256(data)
	real := hex.EncodeToString(raw[:])
	const given = "0123" // a digest that is not the file's: DescribeFiles must not recompute it
	tests := []struct {
		name    string
		in      stages.OutputFile
		want    string
		wantErr string
	}{
		{"computed", stages.OutputFile{Path: path, Rows: 3}, real, ""},
		{"from the sink", stages.OutputFile{Path: path, Rows: 3, Bytes: int64(len(data)), SHA256: given}, given, ""},
		{"size differs", stages.OutputFile{Path: path, Rows: 3, Bytes: 5, SHA256: given}, "", "its sink wrote 5"},
		{"missing", stages.OutputFile{Path: filepath.Join(dir, "part-00001.parquet"), Rows: 3, Bytes: 5, SHA256: given}, "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rows, err := DescribeFiles(context.Background(), Local(dir), []stages.OutputFile{tc.in})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("DescribeFiles = %v, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || rows != 3 || got[0].SHA256 != tc.want || got[0].Bytes != int64(len(data)) || got[0].Name != "part-00000.parquet" {
				t.Errorf("DescribeFiles = %+v, %d rows; want part-00000.parquet, %d bytes, sha256 %s, 3 rows", got, rows, len(data), tc.want)
			}
		})
	}
}
