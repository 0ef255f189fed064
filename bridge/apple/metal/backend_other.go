//go:build !(darwin && cgo)

package metal

import (
	"context"
	"fmt"
	"runtime"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
)

type platform struct{}

func reason() string {
	if runtime.GOOS != "darwin" {
		return "not macOS"
	}
	return "built without cgo"
}

// Available reports why Metal cannot run in this build.
func (b *backend) Available() error {
	return fmt.Errorf("%w: metal backend: %s", bridge.ErrUnavailable, reason())
}

// Open checks the kernel request, then fails: Metal needs darwin and cgo.
func (b *backend) Open(ctx context.Context, path string, opts bridge.Options) (bridge.Session, error) {
	if _, err := parseSpec(path, opts); err != nil {
		return nil, err
	}
	return nil, &bridge.Error{Backend: apple.BackendMetal, Op: apple.OpLoad, Class: bridge.ClassUnavailable, Msg: reason()}
}
