package apple

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pipe-ml/pipe/bridge"
)

// Domain identifies where a native error came from. The Objective-C shims
// resolve NSError domains to these numbers (their ab_error.domain field), so
// that no Apple string constant has to be known in Go. The values match the
// AB_DOM_* enum in the shims' headers.
type Domain int32

// Error domains reported by the shims.
const (
	DomainNone        Domain = 0 // no error
	DomainCoreML      Domain = 1 // MLModelErrorDomain
	DomainMetal       Domain = 2 // MTLCommandBufferErrorDomain
	DomainCocoa       Domain = 3 // NSCocoaErrorDomain
	DomainPOSIX       Domain = 4 // NSPOSIXErrorDomain
	DomainException   Domain = 5 // an NSException caught by the shim
	DomainTimeout     Domain = 6 // the shim's semaphore wait timed out
	DomainUnavailable Domain = 7 // API needs a newer macOS, no ANE, no Metal device
	DomainOther       Domain = 8 // any other NSError domain
)

var domainNames = map[Domain]string{
	DomainNone: "none", DomainCoreML: "MLModelErrorDomain", DomainMetal: "MTLCommandBufferErrorDomain",
	DomainCocoa: "NSCocoaErrorDomain", DomainPOSIX: "NSPOSIXErrorDomain", DomainException: "NSException",
	DomainTimeout: "timeout", DomainUnavailable: "unavailable", DomainOther: "other",
}

func (d Domain) String() string {
	if n, ok := domainNames[d]; ok {
		return n
	}
	return fmt.Sprintf("domain(%d)", int32(d))
}

// Operations named in errors; [Classify] treats a few codes differently
// while a model is being compiled or loaded than while it runs.
const (
	OpCompile  = "compile"
	OpLoad     = "load"
	OpDescribe = "describe"
	OpPredict  = "predict"
	OpPlan     = "compute plan"
	OpKernel   = "kernel"
)

func loading(op string) bool { return op == OpCompile || op == OpLoad || op == OpDescribe }

// Core ML error codes (MLModelError).
const (
	mlGeneric                 = 0
	mlFeatureType             = 1
	mlIO                      = 3
	mlCustomLayer             = 4
	mlCustomModel             = 5
	mlUpdate                  = 6
	mlParameters              = 7
	mlModelDecryptionKeyFetch = 8
	mlModelDecryption         = 9
	mlModelCollection         = 10
	mlPredictionCancelled     = 11
)

// coreMLClass maps MLModelError codes. Generic and IO depend on the
// operation and are handled in classifyCoreML.
var coreMLClass = map[int64]bridge.Class{
	mlFeatureType:             bridge.ClassInvalidInput,
	mlParameters:              bridge.ClassInvalidInput,
	mlCustomLayer:             bridge.ClassUnsupported,
	mlCustomModel:             bridge.ClassUnsupported,
	mlUpdate:                  bridge.ClassUnsupported,
	mlModelDecryptionKeyFetch: bridge.ClassTransient,
	mlModelCollection:         bridge.ClassTransient,
	mlModelDecryption:         bridge.ClassModelCorrupt,
	mlPredictionCancelled:     bridge.ClassCanceled,
}

// metalClass maps MTLCommandBufferError codes.
var metalClass = map[int64]bridge.Class{
	0:  bridge.ClassUnknown,           // None, yet the buffer failed
	1:  bridge.ClassTransient,         // Internal: retried once by the executor's budget
	2:  bridge.ClassTransient,         // Timeout: split the work and retry
	3:  bridge.ClassUnknown,           // PageFault: our bug (bounds or lifetime)
	4:  bridge.ClassUnavailable,       // AccessRevoked: GPU off for the process lifetime
	7:  bridge.ClassUnavailable,       // NotPermitted
	8:  bridge.ClassResourceExhausted, // OutOfMemory
	9:  bridge.ClassUnknown,           // InvalidResource
	10: bridge.ClassUnknown,           // Memoryless
	11: bridge.ClassUnavailable,       // DeviceRemoved
	12: bridge.ClassUnknown,           // StackOverflow
}

// cocoaClass maps the NSCocoaErrorDomain file codes met when reading models.
var cocoaClass = map[int64]bridge.Class{
	256: bridge.ClassModelCorrupt,      // NSFileReadUnknownError
	257: bridge.ClassModelCorrupt,      // NSFileReadNoPermissionError
	259: bridge.ClassModelCorrupt,      // NSFileReadCorruptFileError
	260: bridge.ClassModelCorrupt,      // NSFileReadNoSuchFileError
	640: bridge.ClassResourceExhausted, // NSFileWriteOutOfSpaceError
}

// posixClass maps darwin errno values.
var posixClass = map[int64]bridge.Class{
	2:  bridge.ClassModelCorrupt,      // ENOENT
	4:  bridge.ClassTransient,         // EINTR
	12: bridge.ClassResourceExhausted, // ENOMEM
	13: bridge.ClassModelCorrupt,      // EACCES
	28: bridge.ClassResourceExhausted, // ENOSPC
	35: bridge.ClassTransient,         // EAGAIN
	60: bridge.ClassTransient,         // ETIMEDOUT
}

// Classify turns a native error reported by a shim into a [*bridge.Error]
// for backend and op. The native code is kept in Code and the domain is
// written in front of the message.
func Classify(backend, op string, d Domain, code int64, msg string) *bridge.Error {
	c := bridge.ClassUnknown
	switch d {
	case DomainCoreML:
		c = classifyCoreML(op, code, msg)
	case DomainMetal:
		c = lookupClass(metalClass, code)
	case DomainCocoa:
		c = lookupClass(cocoaClass, code)
		if c == bridge.ClassModelCorrupt && !loading(op) {
			c = bridge.ClassUnknown
		}
	case DomainPOSIX:
		c = lookupClass(posixClass, code)
		if c == bridge.ClassModelCorrupt && !loading(op) {
			c = bridge.ClassUnknown
		}
	case DomainTimeout:
		// The first timeout is usually ANECompilerService being busy; the
		// executor's retry budget turns repeats into a fail-over.
		c = bridge.ClassTransient
	case DomainUnavailable:
		c = bridge.ClassUnavailable
	case DomainException, DomainOther, DomainNone:
		c = bridge.ClassUnknown
	}
	if c == bridge.ClassUnknown && outOfMemory(msg) {
		c = bridge.ClassResourceExhausted
	}
	m := d.String()
	if msg != "" {
		m += ": " + msg
	}
	return &bridge.Error{Backend: backend, Op: op, Code: int(code), Class: c, Msg: m}
}

func classifyCoreML(op string, code int64, msg string) bridge.Class {
	switch code {
	case mlGeneric:
		if loading(op) {
			// An ANE or GPU compile failure: another backend may take it.
			return bridge.ClassUnsupported
		}
		return bridge.ClassUnknown
	case mlIO:
		if noSpace(msg) {
			return bridge.ClassResourceExhausted
		}
		if loading(op) {
			return bridge.ClassModelCorrupt
		}
		return bridge.ClassUnknown
	}
	return lookupClass(coreMLClass, code)
}

func lookupClass(m map[int64]bridge.Class, code int64) bridge.Class {
	if c, ok := m[code]; ok {
		return c
	}
	return bridge.ClassUnknown
}

func noSpace(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "enospc") || strings.Contains(m, "no space left")
}

func outOfMemory(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "out of memory") || strings.Contains(m, "insufficient memory") ||
		strings.Contains(m, "failed to allocate") || strings.Contains(m, "bad_alloc")
}

// ortRule maps a fragment of an ONNX Runtime message to a class. The first
// rule whose fragment occurs (case-insensitively) wins.
type ortRule struct {
	fragment string
	class    bridge.Class
}

// ortRules follow the design brief §10; ONNX Runtime wrappers often keep
// only the message text, so classification is by message.
var ortRules = []ortRule{
	{"does not have apple neural engine", bridge.ClassUnavailable},
	{"does not support coreml", bridge.ClassUnavailable},
	{"unknown option", bridge.ClassUnsupported},
	{"unable to compute the prediction", bridge.ClassUnsupported},
	{"coremlexecutionprovider", bridge.ClassUnsupported},
	{"ep_fail", bridge.ClassUnsupported},
	{"not_implemented", bridge.ClassUnsupported},
	{"failed to allocate", bridge.ClassResourceExhausted},
	{"out of memory", bridge.ClassResourceExhausted},
	{"bad_alloc", bridge.ClassResourceExhausted},
	{"no_suchfile", bridge.ClassModelCorrupt},
	{"no such file", bridge.ClassModelCorrupt},
	{"invalid_protobuf", bridge.ClassModelCorrupt},
	{"protobuf parsing failed", bridge.ClassModelCorrupt},
	{"invalid_graph", bridge.ClassModelCorrupt},
	{"invalid input name", bridge.ClassInvalidInput},
	{"got invalid dimensions", bridge.ClassInvalidInput},
	{"unexpected input data type", bridge.ClassInvalidInput},
	{"invalid_argument", bridge.ClassInvalidInput},
}

// ClassifyORT classifies an ONNX Runtime failure of the CoreML execution
// provider by its message text.
func ClassifyORT(backend, op, msg string) *bridge.Error {
	m := strings.ToLower(msg)
	c := bridge.ClassUnknown
	for _, r := range ortRules {
		if strings.Contains(m, r.fragment) {
			c = r.class
			break
		}
	}
	return &bridge.Error{Backend: backend, Op: op, Class: c, Msg: msg}
}

// Reclassify refines err, returned by the ONNX Runtime backend on behalf of
// an Apple backend: an error whose class is unknown gets the class its
// message implies. Other errors are returned unchanged.
func Reclassify(err error) error {
	var be *bridge.Error
	if err == nil || !errors.As(err, &be) || be.Class != bridge.ClassUnknown {
		return err
	}
	c := ClassifyORT(be.Backend, be.Op, be.Msg+" "+errString(be.Err)).Class
	if c == bridge.ClassUnknown {
		return err
	}
	out := *be
	out.Class = c
	return &out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
