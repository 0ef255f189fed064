//go:build failpoints

package failpoint

import (
	"errors"
	"testing"
)

func TestInjectEnabled(t *testing.T) {
	// Inject reads the variable once per process: this is the only test
	// that sets it.
	t.Setenv(EnvVar, "x=error@2")
	if err := Inject("x"); err != nil {
		t.Fatalf("first hit = %v, want nil", err)
	}
	if err := Inject("x"); !errors.Is(err, ErrInjected) {
		t.Fatalf("second hit = %v, want ErrInjected", err)
	}
	if err := Inject("y"); err != nil {
		t.Fatalf("unnamed failpoint = %v, want nil", err)
	}
}
