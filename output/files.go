package output

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
)

// writeJSON writes v as indented JSON to name, atomically (see
// [Folder.WriteFileAtomic]).
func writeJSON(ctx context.Context, f Folder, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return f.WriteFileAtomic(ctx, name, append(data, '\n'))
}

// readJSON reads name's JSON into a new T; a decoding error names the file.
func readJSON[T any](ctx context.Context, f Folder, name string) (*T, error) {
	data, err := f.ReadFile(ctx, name)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path(name), err)
	}
	return v, nil
}

// fileSHA256Size returns a file's SHA-256 in hex and its size.
func fileSHA256Size(ctx context.Context, f Folder, name string) (string, int64, error) {
	r, err := f.Open(ctx, name)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	_, err = io.Copy(h, r)
	r.Close()
	if err != nil {
		return "", 0, err
	}
	size, err := f.Size(ctx, name)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// checkSize returns an error unless name holds size bytes: a file whose
// digest its sink computed while writing it is not read again, but a size
// that differs from what the sink wrote means something else wrote to it.
func checkSize(ctx context.Context, f Folder, name string, size int64) error {
	got, err := f.Size(ctx, name)
	if err != nil {
		return err
	}
	if got != size {
		return fmt.Errorf("%s has %d bytes; its sink wrote %d", f.Path(name), got, size)
	}
	return nil
}

// matching returns the names of the entries of folder dir that match
// pattern ([path.Match]), sorted, as dir/name. Like a glob it ignores a
// folder it cannot list.
func matching(ctx context.Context, f Folder, dir, pattern string) []string {
	ents, _ := f.List(ctx, dir)
	var out []string
	for _, e := range ents {
		if ok, _ := path.Match(pattern, e.Name); ok {
			out = append(out, path.Join(dir, e.Name))
		}
	}
	return out
}
