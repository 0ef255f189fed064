package executor

import (
	"context"
	"fmt"

	"github.com/pipe-ml/pipe/bridge"
)

// warmUp runs s once on zeros of batch 1 synthesised from its description,
// so that the first real batch does not pay for lazy initialisation. When
// the inputs cannot be synthesised (a dynamic dimension other than the
// first, a non-tensor input, an unknown element type) it logs why and
// skips. An invalid-input error is logged and ignored (the zeros may not
// suit the model); any other error is returned and the load fails.
func (e *Executor) warmUp(ctx context.Context, s bridge.Session, stage, backend string) error {
	info := s.Info()
	in, why := zeros(info)
	if why != "" {
		e.log.Info("warm-up skipped", "stage", stage, "backend", backend, "reason", why)
		return nil
	}
	out, err := s.Run(ctx, in, e.mem)
	for _, t := range out {
		if t.Data != nil {
			e.mem.Free(t.Data)
		}
	}
	if err != nil {
		if bridge.ClassOf(err) == bridge.ClassInvalidInput {
			e.log.Warn("warm-up rejected its zero inputs; continuing", "stage", stage, "backend", backend, "err", err)
			return nil
		}
		return fmt.Errorf("warm-up: %w", err)
	}
	e.log.Debug("warmed up", "stage", stage, "backend", backend)
	return nil
}

// zeros builds one zero tensor per model input with the batch dimension
// (the first, when dynamic) set to 1, or returns why it cannot.
func zeros(info bridge.ModelInfo) ([]bridge.Tensor, string) {
	if len(info.Inputs) == 0 {
		return nil, "the model declares no inputs"
	}
	in := make([]bridge.Tensor, 0, len(info.Inputs))
	for _, ti := range info.Inputs {
		if ti.Kind != "" && ti.Kind != "tensor" {
			return nil, fmt.Sprintf("input %s is a %s", ti.Name, ti.Kind)
		}
		t := bridge.Tensor{Type: ti.Type, Shape: make([]int64, len(ti.Shape))}
		n := int64(1)
		for i, d := range ti.Shape {
			switch {
			case !d.Dynamic():
				t.Shape[i] = d.Size
			case i == 0:
				t.Shape[i] = 1
			default:
				return nil, fmt.Sprintf("input %s has the dynamic dimension %v at axis %d", ti.Name, d, i)
			}
			n *= t.Shape[i]
		}
		switch {
		case ti.Type == bridge.String:
			t.Strings = make([]string, n)
		case ti.Type.Size() > 0:
			t.Data = make([]byte, n*int64(ti.Type.Size()))
		default:
			return nil, fmt.Sprintf("input %s has element type %s", ti.Name, ti.Type)
		}
		in = append(in, t)
	}
	return in, ""
}
