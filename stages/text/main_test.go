package text

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no tokenizing goroutine outlives a call.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
