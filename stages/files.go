package stages

import (
	"os"
	"sync"

	"github.com/pipe-ml/pipe/internal/contentsum"
)

// FilePin is the content a file (or folder) stands for during a run.
type FilePin struct {
	SHA256 string // hex SHA-256 of the content (internal/contentsum)
	Size   int64  // bytes; the sum of the files' sizes for a folder
	Dir    bool   // the path is a folder, such as an .mlpackage
}

// FilePins holds the content of every file that the job's stages read at
// build time (models, matrices: their [Path] settings): the first use of a
// path pins its SHA-256, the job's fingerprint counts that hash, and every
// later read of the path must find the same content. The runtime builds the
// stages once per work unit, so this is what makes every unit run on the
// content the fingerprint names. A file that changed fails the read with an
// error naming it (wrapping contentsum.ErrChanged).
//
// A nil *FilePins pins nothing: Pin hashes the file each time and ReadFile
// reads it. FilePins is safe for concurrent use.
type FilePins struct {
	mu   sync.Mutex
	pins map[string]FilePin
}

// NewFilePins returns an empty set of pins.
func NewFilePins() *FilePins { return &FilePins{pins: map[string]FilePin{}} }

// Pin returns the pin of path, hashing the file on its first use.
func (f *FilePins) Pin(path string) (FilePin, error) {
	if p, ok := f.lookup(path); ok {
		return p, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return FilePin{}, err
	}
	sum, size, err := contentsum.Sum(path)
	if err != nil {
		return FilePin{}, err
	}
	return f.store(path, FilePin{SHA256: sum, Size: size, Dir: fi.IsDir()}), nil
}

// ReadFile reads the regular file at path: on the path's first use it pins
// the bytes read; later it returns the bytes only when they match the pin,
// else an error naming the file that wraps contentsum.ErrChanged.
func (f *FilePins) ReadFile(path string) ([]byte, error) {
	p, pinned := f.lookup(path)
	b, sum, err := contentsum.ReadFile(path, p.SHA256)
	if err != nil {
		return nil, err
	}
	if !pinned {
		if got := f.store(path, FilePin{SHA256: sum, Size: int64(len(b))}); got.SHA256 != sum {
			return nil, contentsum.Check(path, got.SHA256, sum)
		}
	}
	return b, nil
}

func (f *FilePins) lookup(path string) (FilePin, bool) {
	if f == nil {
		return FilePin{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[path]
	return p, ok
}

// store pins p unless path was pinned meanwhile, and returns the pin.
func (f *FilePins) store(path string, p FilePin) FilePin {
	if f == nil {
		return p
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if q, ok := f.pins[path]; ok {
		return q
	}
	f.pins[path] = p
	return p
}

// PinAs pins path (an s3:// URL, say) to the content of the local file
// that holds it, hashing local on path's first use, and returns path's
// pin: later calls return the first pin, whatever local holds now.
func (f *FilePins) PinAs(path, local string) (FilePin, error) {
	if p, ok := f.lookup(path); ok {
		return p, nil
	}
	p, err := f.Pin(local)
	if err != nil {
		return FilePin{}, err
	}
	return f.store(path, p), nil
}
