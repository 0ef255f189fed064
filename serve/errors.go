package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
)

// Sentinel errors. A [Model] may return them (wrapped) from Infer to choose
// the status code; the server returns them for its own checks.
var (
	// ErrInvalidInput: the request does not fit the model (400, INVALID_ARGUMENT).
	ErrInvalidInput = errors.New("invalid input")
	// ErrModelNotFound: no model by that name or version (404, NOT_FOUND).
	ErrModelNotFound = errors.New("model not found")
	// ErrQueueFull: the model has MaxQueue requests unanswered (429 with
	// Retry-After, RESOURCE_EXHAUSTED).
	ErrQueueFull = errors.New("queue full")
	// ErrNotReady: the server or model is not ready, or is draining (503, UNAVAILABLE).
	ErrNotReady = errors.New("not ready")
	// ErrTooLarge: the request is over MaxBodyBytes or MaxElements (413,
	// RESOURCE_EXHAUSTED).
	ErrTooLarge = errors.New("request too large")
	// ErrUnauthorized: the bearer token is missing or wrong (401, UNAUTHENTICATED).
	ErrUnauthorized = errors.New("unauthorized")
)

// InputError says which input of a request is wrong and how. It wraps
// [ErrInvalidInput].
type InputError struct {
	Input    string // the input's name ("" for the request as a whole)
	Expected string // what the model wants, e.g. "datatype FP32"
	Got      string // what the request sent
}

// Error implements error.
func (e *InputError) Error() string {
	if e.Input == "" {
		return fmt.Sprintf("%v: expected %s, got %s", ErrInvalidInput, e.Expected, e.Got)
	}
	return fmt.Sprintf("%v: input %q: expected %s, got %s", ErrInvalidInput, e.Input, e.Expected, e.Got)
}

// Unwrap returns [ErrInvalidInput].
func (e *InputError) Unwrap() error { return ErrInvalidInput }

// inputErr builds an [*InputError].
func inputErr(input, expected, got string, args ...any) *InputError {
	return &InputError{Input: input, Expected: expected, Got: fmt.Sprintf(got, args...)}
}

// outcome is the metrics label and the status codes for one error class.
type outcome struct {
	label string
	http  int
	grpc  codes.Code
}

// outcomes lists the error classes in the order they are matched.
var outcomes = []struct {
	err error
	outcome
}{
	{ErrInvalidInput, outcome{"invalid_input", http.StatusBadRequest, codes.InvalidArgument}},
	{ErrModelNotFound, outcome{"not_found", http.StatusNotFound, codes.NotFound}},
	{ErrQueueFull, outcome{"queue_full", http.StatusTooManyRequests, codes.ResourceExhausted}},
	{ErrNotReady, outcome{"not_ready", http.StatusServiceUnavailable, codes.Unavailable}},
	{ErrTooLarge, outcome{"too_large", http.StatusRequestEntityTooLarge, codes.ResourceExhausted}},
	{ErrUnauthorized, outcome{"unauthorized", http.StatusUnauthorized, codes.Unauthenticated}},
	{context.Canceled, outcome{"canceled", 499, codes.Canceled}},
	{context.DeadlineExceeded, outcome{"deadline", http.StatusGatewayTimeout, codes.DeadlineExceeded}},
}

// classify maps err to its outcome; nil is "ok" and anything unknown is
// "error" (500, INTERNAL).
func classify(err error) outcome {
	if err == nil {
		return outcome{"ok", http.StatusOK, codes.OK}
	}
	for _, o := range outcomes {
		if errors.Is(err, o.err) {
			return o.outcome
		}
	}
	return outcome{"error", http.StatusInternalServerError, codes.Internal}
}
