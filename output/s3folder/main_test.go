package s3folder_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine of an upload or a lock's renewal
// outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
