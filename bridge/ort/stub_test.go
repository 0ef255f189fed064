//go:build !cgo

package ort

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

func TestStubUnavailable(t *testing.T) {
	b, err := bridge.Lookup("cpu")
	if err != nil {
		t.Fatal(err)
	}
	err = b.Available()
	if !errors.Is(err, bridge.ErrUnavailable) || !strings.Contains(err.Error(), "without cgo") {
		t.Fatalf("Available() = %v, want an unavailable error about cgo", err)
	}
	if _, err := b.Open(context.Background(), "m.onnx", bridge.Options{}); !errors.Is(err, bridge.ErrUnavailable) {
		t.Fatalf("Open() = %v, want an unavailable error", err)
	}
	if _, err := LibraryVersion(); !errors.Is(err, bridge.ErrUnavailable) {
		t.Fatalf("LibraryVersion() = %v, want an unavailable error", err)
	}
}
