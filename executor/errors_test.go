package executor

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

// TestPlacementErrorLeadsWithCause checks the message of a failed
// placement: the native cause of a failed open first and once, even when
// two backends failed on it, then the backends tried; without a native
// cause, the stage, model and reasons as before.
func TestPlacementErrorLeadsWithCause(t *testing.T) {
	const model = "/m/bad.onnx"
	corrupt := func(backend string) *bridge.Error {
		return &bridge.Error{Backend: backend, Op: "load", Code: 7, Class: bridge.ClassModelCorrupt, Msg: model + ": Protobuf parsing failed."}
	}
	why := func(err error) string {
		return fmt.Sprintf("%s failed to open the model: %v", err.(*bridge.Error).Backend, err)
	}
	tests := []struct {
		name string
		err  *PlacementError
		want string
	}{
		{"one backend", &PlacementError{Model: model, Stage: "mlp", Reasons: []string{"ane unavailable (not macOS)", why(corrupt("cpu"))}, Err: corrupt("cpu")},
			"model /m/bad.onnx: Protobuf parsing failed; no backend can run it; backends tried: ane unavailable (not macOS); cpu failed to open the model: cpu backend: load: model_corrupt (code 7)"},
		{"two backends, one cause", &PlacementError{Model: model, Stage: "mlp", Reasons: []string{why(corrupt("cpu")), why(corrupt("cuda"))}, Err: corrupt("cuda")},
			"model /m/bad.onnx: Protobuf parsing failed; no backend can run it; backends tried: cpu failed to open the model: cpu backend: load: model_corrupt (code 7); cuda failed to open the model: cuda backend: load: model_corrupt (code 7)"},
		{"no native cause", &PlacementError{Model: model, Stage: "mlp", Reasons: []string{"t-cpu not registered"}, Err: errors.New("boom")},
			`stage "mlp": model /m/bad.onnx: no backend can run it: t-cpu not registered`},
		{"strict", &PlacementError{Model: model, Stage: "mlp", Strict: true, Reasons: []string{"ane unavailable"}},
			`stage "mlp": model /m/bad.onnx: strict placement refused a fallback: ane unavailable`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.err.Error()
			if got != tc.want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, tc.want)
			}
			if n := strings.Count(got, "Protobuf"); n > 1 {
				t.Errorf("the cause appears %d times", n)
			}
		})
	}
}
