package ort

import (
	"errors"
	"strings"

	"github.com/pipe-ml/pipe/bridge"
)

// ONNX Runtime's OrtErrorCode values, as kept in [bridge.Error.Code].
const (
	codeOK               = 0
	codeFail             = 1
	codeInvalidArgument  = 2
	codeNoSuchFile       = 3
	codeNoModel          = 4
	codeEngineError      = 5
	codeRuntimeException = 6
	codeInvalidProtobuf  = 7
	codeModelLoaded      = 8
	codeNotImplemented   = 9
	codeInvalidGraph     = 10
	codeEPFail           = 11
)

// Operations named in [bridge.Error.Op].
const (
	opLoadLibrary = "load library"
	opOptions     = "session options"
	opLoad        = "load"
	opInfo        = "model info"
	opInput       = "create input"
	opRun         = "run"
	opOutput      = "read output"
)

// ErrInvalidOption is wrapped by errors about a session option pipe cannot
// apply, such as an unknown graph optimization level.
var ErrInvalidOption = errors.New("invalid onnxruntime option")

// classify maps an ONNX Runtime failure to a [bridge.Class] from the
// operation, the OrtErrorCode and the message. It is a pure function so that
// its table can be tested without the library.
func classify(op string, code int, msg string) bridge.Class {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "terminate flag"):
		return bridge.ClassCanceled
	case strings.Contains(m, "bad_alloc"), strings.Contains(m, "failed to allocate"),
		strings.Contains(m, "out of memory"), strings.Contains(m, "cannot allocate memory"):
		return bridge.ClassResourceExhausted
	}
	if op == opLoadLibrary {
		return bridge.ClassUnavailable
	}
	switch code {
	case codeNotImplemented, codeEPFail:
		return bridge.ClassUnsupported
	case codeNoSuchFile, codeNoModel, codeInvalidProtobuf, codeInvalidGraph:
		if op == opRun || op == opInput {
			return bridge.ClassInvalidInput
		}
		return bridge.ClassModelCorrupt
	case codeInvalidArgument:
		switch op {
		case opRun, opInput:
			return bridge.ClassInvalidInput
		case opLoad:
			return bridge.ClassModelCorrupt
		case opOptions:
			return bridge.ClassUnsupported
		}
	case codeFail:
		switch op {
		case opLoad:
			if unsupportedModel(m) {
				return bridge.ClassUnsupported
			}
			return bridge.ClassModelCorrupt
		case opOptions:
			return bridge.ClassUnsupported
		}
	}
	if op == opLoad && unsupportedModel(m) {
		return bridge.ClassUnsupported
	}
	return bridge.ClassUnknown
}

// unsupportedModel reports whether a load failure says the model is valid but
// newer than, or outside, what this runtime implements.
func unsupportedModel(lowerMsg string) bool {
	for _, s := range []string{"unsupported model ir version", "opset", "could not find an implementation",
		"not supported", "unsupported",
		// session.disable_cpu_ep_fallback: a node would need the CPU provider.
		"fallback to cpu ep has been explicitly disabled"} {
		if strings.Contains(lowerMsg, s) {
			return true
		}
	}
	return false
}

// newError builds the [*bridge.Error] for an ONNX Runtime failure.
func newError(backend, op string, code int, msg string) *bridge.Error {
	return &bridge.Error{Backend: backend, Op: op, Code: code, Class: classify(op, code, msg), Msg: msg}
}

// inputError is a [bridge.ClassInvalidInput] error found by pipe's own
// checks before the call into ONNX Runtime.
func inputError(backend, msg string) *bridge.Error {
	return &bridge.Error{Backend: backend, Op: opInput, Class: bridge.ClassInvalidInput, Msg: msg}
}
