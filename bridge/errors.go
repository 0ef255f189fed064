package bridge

import (
	"errors"
	"fmt"
)

// Class says what kind of failure a backend error is, and so what the
// executor does about it.
type Class int

// Error classes.
const (
	// ClassUnknown is an error the backend could not classify; it is
	// treated as permanent for the batch.
	ClassUnknown Class = iota
	// ClassTransient may succeed if retried (a device briefly busy).
	ClassTransient
	// ClassResourceExhausted is out of memory or admission capacity; retried
	// after a backoff.
	ClassResourceExhausted
	// ClassUnsupported means the backend cannot run this model or shape; the
	// work moves to the next backend.
	ClassUnsupported
	// ClassInvalidInput means the rows themselves are wrong; never retried.
	ClassInvalidInput
	// ClassModelCorrupt means the model file cannot be loaded.
	ClassModelCorrupt
	// ClassUnavailable means the backend cannot run here at all.
	ClassUnavailable
	// ClassCanceled means the call was interrupted by its context.
	ClassCanceled
)

var classNames = [...]string{"unknown", "transient", "resource_exhausted", "unsupported",
	"invalid_input", "model_corrupt", "unavailable", "canceled"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Retryable reports whether the executor retries errors of this class.
func (c Class) Retryable() bool { return c == ClassTransient || c == ClassResourceExhausted }

// Sentinels matched by errors.Is against an [*Error] of the same class.
var (
	ErrTransient         = errors.New("transient backend error")
	ErrResourceExhausted = errors.New("backend resources exhausted")
	ErrUnsupported       = errors.New("unsupported by backend")
	ErrInvalidInput      = errors.New("invalid model input")
	ErrModelCorrupt      = errors.New("model corrupt")
	ErrUnavailable       = errors.New("backend unavailable")
)

var classSentinel = map[Class]error{
	ClassTransient:         ErrTransient,
	ClassResourceExhausted: ErrResourceExhausted,
	ClassUnsupported:       ErrUnsupported,
	ClassInvalidInput:      ErrInvalidInput,
	ClassModelCorrupt:      ErrModelCorrupt,
	ClassUnavailable:       ErrUnavailable,
}

// Error is a failure reported by a backend. It keeps the native status code
// so that nothing the runtime said is lost.
type Error struct {
	Backend string // "cpu", "ane", ...
	Op      string // what was being done: "load", "run", "create tensor"
	Code    int    // the native status code (ORT OrtErrorCode, Core ML error code, ...)
	Class   Class
	Msg     string // the native message
	Err     error  // an underlying Go error, if any (context.Canceled, ...)
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s backend: %s: %s", e.Backend, e.Op, e.Class)
	if e.Code != 0 {
		s += fmt.Sprintf(" (code %d)", e.Code)
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying Go error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of the error's class.
func (e *Error) Is(target error) bool {
	s, ok := classSentinel[e.Class]
	return ok && s == target
}

// ClassOf returns the class of err: the class of the first [*Error] in its
// chain, ClassCanceled for context errors, ClassUnknown otherwise.
func ClassOf(err error) Class {
	var be *Error
	if errors.As(err, &be) {
		return be.Class
	}
	for c, s := range classSentinel {
		if errors.Is(err, s) {
			return c
		}
	}
	if isContextErr(err) {
		return ClassCanceled
	}
	return ClassUnknown
}
