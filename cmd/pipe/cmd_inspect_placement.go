package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
	"github.com/pipe-ml/pipe/bridge/apple/coreml"
)

// coreMLUnits returns the compute units of a Core ML backend (ane, mps);
// ok is false for any other backend.
func coreMLUnits(backend string) (units apple.ComputeUnits, ok bool) {
	switch backend {
	case apple.BackendANE:
		return apple.CPUAndNeuralEngine, true
	case apple.BackendMPS:
		return apple.CPUAndGPU, true
	}
	return 0, false
}

// isCoreMLModel reports whether path is a Core ML model.
func isCoreMLModel(path string) bool {
	switch strings.ToLower(filepath.Ext(strings.TrimRight(path, `/\`))) {
	case ".mlpackage", ".mlmodel", ".mlmodelc":
		return true
	}
	return false
}

// inspectPlacement is `pipe inspect --backend ane|mps MODEL`: the model's
// description as the backend loads it, then where Core ML expects to run
// each operation (MLComputePlan, macOS 14.4+). A backend that cannot run
// here is an error naming it and why (off macOS: "not macOS").
func inspectPlacement(ctx context.Context, w io.Writer, path, backend string, units apple.ComputeUnits) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b, err := bridge.Lookup(backend)
	if err != nil {
		return err
	}
	if err := b.Available(); err != nil {
		return fmt.Errorf("inspect %s on %s: %w", path, backend, err)
	}
	if isCoreMLModel(path) {
		if err := describeCoreML(ctx, w, b, path); err != nil {
			return err
		}
	} else if err := inspectModel(ctx, w, path, backend); err != nil {
		return err
	}
	plan, err := coreml.ComputePlan(ctx, path, units)
	if err != nil {
		if errors.Is(err, bridge.ErrUnavailable) || isCoreMLModel(path) {
			return fmt.Errorf("inspect %s: compute plan on %s: %w", path, backend, err)
		}
		// .onnx runs through ONNX Runtime's CoreML provider, which builds
		// its Core ML model inside the session: say so, the description
		// above stands.
		fmt.Fprintf(w, "placement (%s): not available: %v\n", units, err)
		return nil
	}
	writePlacement(w, plan, units)
	return nil
}

// describeCoreML prints a Core ML model's inputs and outputs as the backend
// loads it.
func describeCoreML(ctx context.Context, w io.Writer, b bridge.Backend, path string) error {
	sess, err := b.Open(ctx, path, bridge.Options{})
	if err != nil {
		return err
	}
	defer sess.Close()
	info := sess.Info()
	fmt.Fprintf(w, "path: %s\nformat: %s\nbackend: %s\n", path, info.Format, b.Name())
	if info.Description != "" {
		fmt.Fprintf(w, "description: %s\n", info.Description)
	}
	writeTensors(w, "inputs", info.Inputs)
	writeTensors(w, "outputs", info.Outputs)
	return nil
}

// writePlacement prints the share of operations per device, then one line
// per operation.
func writePlacement(w io.Writer, p coreml.Placement, units apple.ComputeUnits) {
	fmt.Fprintf(w, "placement (%s, %d operations): %s\n", units, len(p.Ops), strings.Join(p.Summary(), ", "))
	if units == apple.CPUAndNeuralEngine && len(p.Ops) > 0 && p.Fraction("ane") == 0 {
		fmt.Fprintln(w, "  warning: no operation prefers the Neural Engine; the model will run on the CPU")
	}
	for _, o := range p.Ops {
		dev := o.Preferred
		if dev == "" {
			dev = "none"
		}
		cost := ""
		if o.Cost >= 0 {
			cost = fmt.Sprintf(" cost %.3f", o.Cost)
		}
		fmt.Fprintf(w, "  %s: %s (supported: %s)%s\n", o.Name, dev, strings.Join(o.Supported, ", "), cost)
	}
}
