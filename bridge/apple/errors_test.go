package apple

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		op   string
		dom  Domain
		code int64
		msg  string
		want bridge.Class
	}{
		{"coreml feature type", OpPredict, DomainCoreML, 1, "", bridge.ClassInvalidInput},
		{"coreml parameters", OpPredict, DomainCoreML, 7, "", bridge.ClassInvalidInput},
		{"coreml io at load", OpLoad, DomainCoreML, 3, "cannot read", bridge.ClassModelCorrupt},
		{"coreml io no space", OpCompile, DomainCoreML, 3, "write failed: No space left on device", bridge.ClassResourceExhausted},
		{"coreml io at predict", OpPredict, DomainCoreML, 3, "", bridge.ClassUnknown},
		{"coreml custom layer", OpLoad, DomainCoreML, 4, "", bridge.ClassUnsupported},
		{"coreml custom model", OpLoad, DomainCoreML, 5, "", bridge.ClassUnsupported},
		{"coreml key fetch", OpLoad, DomainCoreML, 8, "", bridge.ClassTransient},
		{"coreml decryption", OpLoad, DomainCoreML, 9, "", bridge.ClassModelCorrupt},
		{"coreml collection", OpLoad, DomainCoreML, 10, "", bridge.ClassTransient},
		{"coreml cancelled", OpPredict, DomainCoreML, 11, "", bridge.ClassCanceled},
		{"coreml generic at predict", OpPredict, DomainCoreML, 0, "", bridge.ClassUnknown},
		{"coreml generic at load", OpLoad, DomainCoreML, 0, "ANE compile failed", bridge.ClassUnsupported},
		{"coreml unknown code", OpPredict, DomainCoreML, 99, "", bridge.ClassUnknown},
		{"metal internal", OpKernel, DomainMetal, 1, "", bridge.ClassTransient},
		{"metal timeout", OpKernel, DomainMetal, 2, "", bridge.ClassTransient},
		{"metal page fault", OpKernel, DomainMetal, 3, "", bridge.ClassUnknown},
		{"metal access revoked", OpKernel, DomainMetal, 4, "", bridge.ClassUnavailable},
		{"metal not permitted", OpKernel, DomainMetal, 7, "", bridge.ClassUnavailable},
		{"metal out of memory", OpKernel, DomainMetal, 8, "", bridge.ClassResourceExhausted},
		{"metal invalid resource", OpKernel, DomainMetal, 9, "", bridge.ClassUnknown},
		{"metal device removed", OpKernel, DomainMetal, 11, "", bridge.ClassUnavailable},
		{"metal stack overflow", OpKernel, DomainMetal, 12, "", bridge.ClassUnknown},
		{"cocoa no such file at load", OpLoad, DomainCocoa, 260, "", bridge.ClassModelCorrupt},
		{"cocoa no such file at predict", OpPredict, DomainCocoa, 260, "", bridge.ClassUnknown},
		{"cocoa out of space", OpCompile, DomainCocoa, 640, "", bridge.ClassResourceExhausted},
		{"posix enomem", OpPredict, DomainPOSIX, 12, "", bridge.ClassResourceExhausted},
		{"posix enoent at load", OpLoad, DomainPOSIX, 2, "", bridge.ClassModelCorrupt},
		{"posix eagain", OpPredict, DomainPOSIX, 35, "", bridge.ClassTransient},
		{"timeout", OpCompile, DomainTimeout, 0, "compile took over 300s", bridge.ClassTransient},
		{"unavailable", OpLoad, DomainUnavailable, 0, "needs macOS 13", bridge.ClassUnavailable},
		{"exception", OpPredict, DomainException, 0, "index out of range", bridge.ClassUnknown},
		{"other with oom text", OpPredict, DomainOther, 5, "Insufficient memory for the request", bridge.ClassResourceExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Classify("ane", tt.op, tt.dom, tt.code, tt.msg)
			if e.Class != tt.want {
				t.Errorf("class = %s, want %s", e.Class, tt.want)
			}
			if e.Code != int(tt.code) || e.Backend != "ane" || e.Op != tt.op {
				t.Errorf("error fields = %+v", e)
			}
			if !strings.HasPrefix(e.Msg, tt.dom.String()) || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("msg = %q, want domain %s and %q", e.Msg, tt.dom, tt.msg)
			}
		})
	}
}

func TestClassifyORT(t *testing.T) {
	tests := []struct {
		msg  string
		want bridge.Class
	}{
		{"The current system does not have Apple Neural Engine.", bridge.ClassUnavailable},
		{"Your platform or onnxruntime library does not support CoreML", bridge.ClassUnavailable},
		{"Unknown option: ModelFormatt", bridge.ClassUnsupported},
		{"Non-zero status code returned while running CoreMLExecutionProvider_CoreML_123 node", bridge.ClassUnsupported},
		{"Error: Unable to compute the prediction using a neural network model (error code: -1)", bridge.ClassUnsupported},
		{"Failed to allocate memory for requested buffer", bridge.ClassResourceExhausted},
		{"Load model from m.onnx failed: NO_SUCHFILE", bridge.ClassModelCorrupt},
		{"Protobuf parsing failed.", bridge.ClassModelCorrupt},
		{"Invalid input name: y", bridge.ClassInvalidInput},
		{"Got invalid dimensions for input: x for the following indices", bridge.ClassInvalidInput},
		{"something else", bridge.ClassUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			e := ClassifyORT("mps", "run", tt.msg)
			if e.Class != tt.want || e.Msg != tt.msg {
				t.Errorf("ClassifyORT = %s %q, want %s", e.Class, e.Msg, tt.want)
			}
		})
	}
}

func TestReclassify(t *testing.T) {
	unknown := &bridge.Error{Backend: "ane", Op: "run", Class: bridge.ClassUnknown, Msg: "Unable to compute the prediction"}
	got := Reclassify(fmt.Errorf("stage x: %w", unknown))
	if !errors.Is(got, bridge.ErrUnsupported) {
		t.Errorf("Reclassify(unknown ORT error) = %v, want unsupported", got)
	}
	if unknown.Class != bridge.ClassUnknown {
		t.Errorf("Reclassify modified its input")
	}
	known := &bridge.Error{Backend: "ane", Class: bridge.ClassInvalidInput, Msg: "Unable to compute the prediction"}
	if got := Reclassify(known); got != error(known) {
		t.Errorf("Reclassify changed a classified error: %v", got)
	}
	plain := errors.New("plain")
	if got := Reclassify(plain); got != plain {
		t.Errorf("Reclassify changed a plain error")
	}
	if Reclassify(nil) != nil {
		t.Errorf("Reclassify(nil) != nil")
	}
}

func TestDomainString(t *testing.T) {
	if got := DomainCoreML.String(); got != "MLModelErrorDomain" {
		t.Errorf("DomainCoreML = %q", got)
	}
	if got := Domain(42).String(); got != "domain(42)" {
		t.Errorf("Domain(42) = %q", got)
	}
}
