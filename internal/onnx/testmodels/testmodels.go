package testmodels

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pipe-ml/pipe/internal/onnx"
)

// File is one generated model file.
type File struct {
	Name string
	Data []byte
}

// Files builds every model, checks it (structure with [onnx.Validate],
// shapes and values with the reference interpreter where it implements the
// model's operators, a lossless decode and re-encode), and returns the encoded files in a fixed order, with
// corrupt.onnx last.
func Files() ([]File, error) { return build(true) }

// build is [Files], with the reference run optional (tests that only compare
// bytes skip it).
func build(withCheck bool) ([]File, error) {
	var files []File
	var mlpBytes []byte
	for _, s := range specs {
		m := s.build()
		if err := onnx.Validate(m); err != nil {
			return nil, fmt.Errorf("%s: %w", s.file, err)
		}
		if withCheck && s.noRef == "" {
			if err := check(m); err != nil {
				return nil, fmt.Errorf("%s: %w", s.file, err)
			}
		}
		b := m.Marshal()
		back, err := onnx.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("%s: decode: %w", s.file, err)
		}
		if !bytes.Equal(back.Marshal(), b) {
			return nil, fmt.Errorf("%s: does not survive a decode and encode", s.file)
		}
		if s.file == "mlp.onnx" {
			mlpBytes = b
		}
		files = append(files, File{s.file, b})
	}
	bad := corrupt(mlpBytes)
	if _, err := onnx.Decode(bad); err == nil {
		return nil, errors.New("corrupt.onnx decodes without error")
	}
	return append(files, File{"corrupt.onnx", bad}), nil
}

// Write builds the files and writes them into dir, creating it if needed.
func Write(dir string) error {
	files, err := Files()
	if err != nil {
		return err
	}
	return writeFiles(dir, files)
}

func writeFiles(dir string, files []File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
