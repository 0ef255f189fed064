//go:build !cgo

package ort

import (
	"errors"
	"fmt"

	"github.com/pipe-ml/pipe/bridge"
)

// errNoCgo is why every ONNX Runtime backend is unavailable in this build.
var errNoCgo = errors.New("pipe was built without cgo (CGO_ENABLED=0), so it cannot load ONNX Runtime; rebuild with CGO_ENABLED=1 and a C compiler")

func (b *backend) probe() error {
	return &bridge.Error{Backend: b.name, Op: opLoadLibrary, Class: bridge.ClassUnavailable, Err: errNoCgo}
}

func (b *backend) open(string, []byte, bridge.Options) (bridge.Session, error) {
	return nil, b.probe()
}

// LibraryVersion returns the version of the loaded ONNX Runtime library; in
// a build without cgo it always fails.
func LibraryVersion() (string, error) {
	return "", fmt.Errorf("%w: %w", bridge.ErrUnavailable, errNoCgo)
}

// LiveObjects is a test hook: the number of ONNX Runtime sessions and values
// created and not yet released. Without cgo there are none.
func LiveObjects() (sessions, values int64) { return 0, 0 }
