package image

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no decoding goroutine outlives a call.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
