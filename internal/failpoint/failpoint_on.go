//go:build failpoints

package failpoint

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// Enabled reports whether the binary was built with `-tags failpoints`.
const Enabled = true

var (
	envOnce sync.Once
	envSet  *Set
	envErr  error
)

// Inject marks a named step and performs the action PIPE_FAILPOINTS gives
// for it, if any: kill (SIGKILL to this process), panic, or error (returns
// [ErrInjected]), or stop (SIGSTOP to this process; Inject returns nil
// once it is continued).
func Inject(name string) error {
	envOnce.Do(func() { envSet, envErr = Parse(os.Getenv(EnvVar)) })
	if envErr != nil {
		panic(envErr)
	}
	switch envSet.Hit(name) {
	case ActionKill:
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way; never return
	case ActionStop:
		_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP) // returns once continued
	case ActionPanic:
		panic(fmt.Sprintf("failpoint %s", name))
	case ActionError:
		return fmt.Errorf("%s: %w", name, ErrInjected)
	}
	return nil
}
