package executor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pipe-ml/pipe/bridge"
)

// ErrClosed is returned by calls on a closed [Executor] or [Model].
var ErrClosed = errors.New("executor closed")

// ErrNoBackend is wrapped by [*PlacementError] when no backend can run a
// model.
var ErrNoBackend = errors.New("no backend can run the model")

// errAdmissionTimeout is the internal signal of an admission wait that ran
// out; callers see a [*bridge.Error] of class resource exhausted.
var errAdmissionTimeout = errors.New("admission timeout")

// errBreakerOpen marks a backend skipped because its circuit breaker is
// open.
var errBreakerOpen = errors.New("circuit breaker open")

// PlacementError says why a model could not be placed on any backend (or,
// with Strict, on the first one asked for). Reasons holds one line per
// backend considered.
type PlacementError struct {
	Model   string   // the model file
	Stage   string   // the stage id
	Strict  bool     // a strict placement refused a fallback
	Reasons []string // "ane unavailable (not macOS)", ...
	Err     error    // the last backend error, if any
}

// Error leads with the cause when a backend failed to open the model: the
// runtime's own message ("model FILE: CAUSE"), once, then the backends
// tried, whose reasons no longer repeat it. Without one it names the stage
// and model, then the reasons.
func (e *PlacementError) Error() string {
	what := "no backend can run it"
	if e.Strict {
		what = "strict placement refused a fallback"
	}
	if cause, raw := e.cause(); cause != "" {
		reasons := make([]string, len(e.Reasons))
		for i, r := range e.Reasons {
			reasons[i] = strings.ReplaceAll(r, ": "+raw, "")
		}
		return fmt.Sprintf("model %s: %s; %s; backends tried: %s", e.Model, cause, what, strings.Join(reasons, "; "))
	}
	return fmt.Sprintf("stage %q: model %s: %s: %s", e.Stage, e.Model, what, strings.Join(e.Reasons, "; "))
}

// cause returns the native message of the backend error that failed to
// open the model, without the model's path it may start with, and that
// message as the reasons hold it; "" when there is none.
func (e *PlacementError) cause() (cause, raw string) {
	var be *bridge.Error
	if !errors.As(e.Err, &be) || be.Msg == "" {
		return "", ""
	}
	cause = strings.TrimPrefix(be.Msg, e.Model+": ")
	return strings.TrimSuffix(cause, "."), be.Msg
}

// Unwrap returns ErrNoBackend and the last backend error.
func (e *PlacementError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrNoBackend}
	}
	return []error{ErrNoBackend, e.Err}
}

// HashMismatchError is returned by [Executor.Open] when a model file's
// SHA-256 differs from the pinned one. errors.Is(err,
// bridge.ErrModelCorrupt) holds, so its class is model corrupt.
type HashMismatchError struct {
	Path string
	Want string // the pin, hex
	Got  string // the file's hash, hex
}

func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("model %s: sha256 mismatch: file has %s, pinned %s", e.Path, e.Got, e.Want)
}

// Is matches [bridge.ErrModelCorrupt].
func (e *HashMismatchError) Is(target error) bool { return target == bridge.ErrModelCorrupt }

// FallbackError is returned by a call whose backend failed permanently
// when the model is strict (or has no other backend left): it names the
// backend and wraps its error, so bridge.ClassOf still sees the class.
type FallbackError struct {
	Stage   string
	Backend string
	Strict  bool
	Err     error
}

func (e *FallbackError) Error() string {
	if e.Strict {
		return fmt.Sprintf("stage %q: backend %s failed and strict placement forbids a fallback: %v", e.Stage, e.Backend, e.Err)
	}
	return fmt.Sprintf("stage %q: backend %s failed and no other backend is left: %v", e.Stage, e.Backend, e.Err)
}

// Unwrap returns the backend error.
func (e *FallbackError) Unwrap() error { return e.Err }
