package executor

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// hashModel returns the hex SHA-256 of the model at path and its size in
// bytes. A folder (a .mlpackage) hashes the relative path and content of
// every regular file in it, in sorted order, and its size is their sum.
func hashModel(path string) (sum string, size int64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", 0, fmt.Errorf("model %s: %w", path, err)
	}
	h := sha256.New()
	if !fi.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return "", 0, fmt.Errorf("model %s: %w", path, err)
		}
		defer f.Close()
		n, err := io.Copy(h, f)
		if err != nil {
			return "", 0, fmt.Errorf("model %s: reading: %w", path, err)
		}
		return hex.EncodeToString(h.Sum(nil)), n, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", 0, fmt.Errorf("model %s: %w", path, err)
	}
	sort.Strings(files)
	for _, p := range files {
		rel, _ := filepath.Rel(path, p)
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		f, err := os.Open(p)
		if err != nil {
			return "", 0, fmt.Errorf("model %s: %w", path, err)
		}
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", 0, fmt.Errorf("model %s: reading %s: %w", path, rel, err)
		}
		size += n
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// modelLabel is the metrics label of a model: its file base name.
func modelLabel(path string) string { return filepath.Base(filepath.Clean(path)) }

// modelExt returns the model's format extension, lower case (".onnx",
// ".mlpackage").
func modelExt(path string) string {
	return strings.ToLower(filepath.Ext(strings.TrimRight(path, "/")))
}
