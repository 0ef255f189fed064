package vector

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests (a Metal session
// must not leave any behind).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
