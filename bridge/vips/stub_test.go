//go:build !cgo

package vips

import (
	"errors"
	"strings"
	"testing"
)

// TestStub: without cgo every call fails with ErrUnavailable, saying why.
func TestStub(t *testing.T) {
	_, err := DecodeJPEG([]byte{0xff, 0xd8}, 1)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("error %v", err)
	}
}
