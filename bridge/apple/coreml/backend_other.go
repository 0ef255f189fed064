//go:build !(darwin && cgo)

package coreml

import (
	"context"
	"fmt"
	"runtime"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
)

// platform is empty where Core ML cannot run.
type platform struct{}

func (b *backend) reason() string {
	if runtime.GOOS != "darwin" {
		return "not macOS"
	}
	return "built without cgo"
}

// Available reports why the backend cannot run in this build.
func (b *backend) Available() error {
	return fmt.Errorf("%w: %s backend: %s", bridge.ErrUnavailable, b.name, b.reason())
}

// Open fails: Core ML needs darwin and cgo.
func (b *backend) Open(ctx context.Context, path string, opts bridge.Options) (bridge.Session, error) {
	return nil, &bridge.Error{Backend: b.name, Op: apple.OpLoad, Class: bridge.ClassUnavailable, Msg: b.reason()}
}

// ComputePlan reports Core ML's expected device per operation. It needs
// darwin, cgo and macOS 14.4; this build returns an error wrapping
// [bridge.ErrUnavailable].
func ComputePlan(ctx context.Context, path string, units apple.ComputeUnits) (Placement, error) {
	b := backend{name: "coreml"}
	return Placement{}, b.Available()
}
