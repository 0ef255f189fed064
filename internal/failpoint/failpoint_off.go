//go:build !failpoints

package failpoint

// Enabled reports whether the binary was built with `-tags failpoints`.
const Enabled = false

// Inject marks a named step. Without the failpoints build tag it does
// nothing and returns nil.
func Inject(name string) error { return nil }
