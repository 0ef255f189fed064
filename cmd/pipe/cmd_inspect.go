package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/onnx"
	"github.com/pipe-ml/pipe/stages/source"
)

func newInspectCmd(g *globals) *cobra.Command {
	var backend string
	c := &cobra.Command{
		Use:   "inspect PATH",
		Short: "Describe a data file (format, schema, rows) or a model (inputs, outputs, opset)",
		Long: `Describe a data file: its format (Parquet, Arrow IPC file or stream, CSV,
JSON lines), its schema, and a line "rows: N" with its row count (from the
footer for Parquet, by reading for the others).

For a model (.onnx): its inputs and outputs with element types and shapes
(symbolic dimensions by name), opset, producer and metadata, as the backend
loads it.

With --backend ane or mps (macOS 14.4+, Apple silicon), also where Core ML
expects to run each operation (Neural Engine, GPU or CPU) and the share per
device, for .mlpackage, .mlmodel and .mlmodelc models; elsewhere the
command fails saying why the backend is unavailable.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if units, ok := coreMLUnits(backend); ok && (isCoreMLModel(path) || strings.EqualFold(filepath.Ext(path), ".onnx")) {
				return inspectPlacement(cmd.Context(), g.stdout, path, backend, units)
			}
			if strings.EqualFold(filepath.Ext(path), ".onnx") {
				return inspectModel(cmd.Context(), g.stdout, path, backend)
			}
			info, err := source.Inspect(path)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(g.stdout, info.String())
			return err
		},
	}
	c.Flags().StringVar(&backend, "backend", "cpu", "backend that loads the model")
	return c
}

func inspectModel(ctx context.Context, w io.Writer, path, backend string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	opset, err := onnx.ReadOpset(path)
	if err != nil {
		return fmt.Errorf("model %s: %w", path, err)
	}
	b, err := bridge.Lookup(backend)
	if err != nil {
		return err
	}
	if err := b.Available(); err != nil {
		return err
	}
	sess, err := b.Open(ctx, path, bridge.Options{})
	if err != nil {
		return err
	}
	defer sess.Close()
	info := sess.Info()
	fmt.Fprintf(w, "path: %s\nformat: onnx\nbackend: %s\nopset: %d\n", path, backend, opset)
	if info.Producer != "" {
		fmt.Fprintf(w, "producer: %s\n", info.Producer)
	}
	if info.Domain != "" {
		fmt.Fprintf(w, "domain: %s\n", info.Domain)
	}
	if info.Description != "" {
		fmt.Fprintf(w, "description: %s\n", info.Description)
	}
	writeTensors(w, "inputs", info.Inputs)
	writeTensors(w, "outputs", info.Outputs)
	if len(info.Metadata) > 0 {
		fmt.Fprintln(w, "metadata:")
		keys := make([]string, 0, len(info.Metadata))
		for k := range info.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, info.Metadata[k])
		}
	}
	return nil
}

func writeTensors(w io.Writer, title string, ts []bridge.TensorInfo) {
	fmt.Fprintf(w, "%s:\n", title)
	for _, t := range ts {
		if t.Kind != "" && t.Kind != "tensor" {
			fmt.Fprintf(w, "  %s: %s (not a tensor: cannot become a column)\n", t.Name, t.Kind)
			continue
		}
		fmt.Fprintf(w, "  %s: %s %s\n", t.Name, t.Type, t.Shape)
	}
}
