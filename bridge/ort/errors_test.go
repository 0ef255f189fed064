package ort

import (
	"context"
	"errors"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		op   string
		code int
		msg  string
		want bridge.Class
	}{
		{"invalid argument at run", opRun, codeInvalidArgument, "Got invalid dimensions for input: x", bridge.ClassInvalidInput},
		{"invalid argument creating input", opInput, codeInvalidArgument, "shape mismatch", bridge.ClassInvalidInput},
		{"invalid argument at load", opLoad, codeInvalidArgument, "bad model", bridge.ClassModelCorrupt},
		{"invalid argument in options", opOptions, codeInvalidArgument, "Unknown provider name", bridge.ClassUnsupported},
		{"no such file at load", opLoad, codeNoSuchFile, "Load model from m.onnx failed: File doesn't exist", bridge.ClassModelCorrupt},
		{"invalid protobuf at load", opLoad, codeInvalidProtobuf, "Protobuf parsing failed", bridge.ClassModelCorrupt},
		{"invalid graph at load", opLoad, codeInvalidGraph, "Type Error: x", bridge.ClassModelCorrupt},
		{"no model at load", opLoad, codeNoModel, "no model", bridge.ClassModelCorrupt},
		{"not implemented at load", opLoad, codeNotImplemented, "Could not find an implementation for Foo(99) node", bridge.ClassUnsupported},
		{"not implemented at run", opRun, codeNotImplemented, "kernel missing", bridge.ClassUnsupported},
		{"ep failure", opOptions, codeEPFail, "CoreML EP failed", bridge.ClassUnsupported},
		{"ep failure at run", opRun, codeEPFail, "device lost", bridge.ClassUnsupported},
		{"fail at load, ir version", opLoad, codeFail, "Unsupported model IR version: 12, max supported IR version: 10", bridge.ClassUnsupported},
		{"fail at load", opLoad, codeFail, "Load model failed", bridge.ClassModelCorrupt},
		{"fail in options", opOptions, codeFail, "provider not in this build", bridge.ClassUnsupported},
		{"terminate", opRun, codeFail, "Exiting due to terminate flag being set to true.", bridge.ClassCanceled},
		{"bad alloc", opRun, codeRuntimeException, "std::bad_alloc", bridge.ClassResourceExhausted},
		{"failed to allocate", opRun, codeFail, "Failed to allocate memory for requested buffer of size 1", bridge.ClassResourceExhausted},
		{"library load", opLoadLibrary, codeFail, "cannot open shared object file", bridge.ClassUnavailable},
		{"runtime exception at run", opRun, codeRuntimeException, "Non-zero status code returned while running Add node", bridge.ClassUnknown},
		{"engine error at run", opRun, codeEngineError, "engine", bridge.ClassUnknown},
		{"model loaded", opLoad, codeModelLoaded, "already loaded", bridge.ClassUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.op, tt.code, tt.msg); got != tt.want {
				t.Fatalf("classify(%q, %d, %q) = %v, want %v", tt.op, tt.code, tt.msg, got, tt.want)
			}
		})
	}
}

func TestNewErrorKeepsCodeAndMatchesSentinel(t *testing.T) {
	err := newError("cpu", opLoad, codeInvalidProtobuf, "Protobuf parsing failed")
	if err.Code != codeInvalidProtobuf || err.Op != opLoad || err.Backend != "cpu" {
		t.Fatalf("error fields = %+v", err)
	}
	if !errors.Is(err, bridge.ErrModelCorrupt) {
		t.Fatalf("errors.Is(%v, ErrModelCorrupt) = false", err)
	}
	if got := bridge.ClassOf(err); got != bridge.ClassModelCorrupt {
		t.Fatalf("ClassOf = %v", got)
	}
	canceled := &bridge.Error{Backend: "cpu", Op: opRun, Class: bridge.ClassCanceled, Err: context.Canceled}
	if !errors.Is(canceled, context.Canceled) {
		t.Fatalf("canceled error does not wrap context.Canceled")
	}
}
