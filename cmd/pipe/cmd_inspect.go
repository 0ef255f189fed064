package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/cobra"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/onnx"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages/source"
)

// inspectFlags are the flags of `pipe inspect`.
type inspectFlags struct {
	backend string
	head    int
	stats   bool
	json    bool
}

func newInspectCmd(g *globals) *cobra.Command {
	var f inspectFlags
	c := &cobra.Command{
		Use:   "inspect PATH",
		Short: "Describe a data file, an output folder, or a model (inputs, outputs, opset)",
		Long: `Describe a data file: its format (Parquet, Arrow IPC file or stream, CSV,
JSON lines), its schema, and a line "rows: N" with its row count (from the
footer for Parquet, by reading for the others).

For an output folder (one a parquet_sink wrote): whether it is complete and,
if not, why (no manifest, work units committed N of M, a run holding its
lock now), its files with rows and bytes, the total rows, the schema, the
job's fingerprint, which job (name and file) made it and when, and the
manifest's generation. --json prints the same as JSON.

--head N prints the first N rows of a data file, or of an output folder's
files in order, as a table: long values end in "…", lists show their first
items and length, binary values their size. --stats prints per column the
nulls, min and max: from the Parquet column-chunk statistics when every
chunk has them (only the footers are read: "from statistics"), else by
reading every row ("computed"). Both read one batch at a time.

For a model (.onnx): its inputs and outputs with element types and shapes
(symbolic dimensions by name), opset, producer and metadata, as the backend
loads it.

With --backend ane or mps (macOS 14.4+, Apple silicon), also where Core ML
expects to run each operation (Neural Engine, GPU or CPU) and the share per
device, for .mlpackage, .mlmodel and .mlmodelc models; elsewhere the
command fails saying why the backend is unavailable.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.Context(), g.stdout, args[0], f)
		},
	}
	c.Flags().StringVar(&f.backend, "backend", "cpu", "backend that loads the model")
	c.Flags().IntVar(&f.head, "head", 0, "print the first N rows as a table")
	c.Flags().BoolVar(&f.stats, "stats", false, "print per column the nulls, min and max")
	c.Flags().BoolVar(&f.json, "json", false, "print an output folder's description as JSON")
	return c
}

// runInspect describes path as its kind and the flags ask.
func runInspect(ctx context.Context, w io.Writer, path string, f inspectFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if f.head < 0 {
		return usage("--head: want a positive number of rows, got %d", f.head)
	}
	if f.json && (f.head > 0 || f.stats) {
		return usage("--json: prints an output folder's description; it does not go with --head or --stats")
	}
	if output.Scheme(path) != "" {
		return inspectOutput(ctx, w, path, f) // a bucket's folder
	}
	st, err := os.Stat(path)
	if err == nil && st.IsDir() && !isCoreMLModel(path) {
		return inspectOutput(ctx, w, path, f)
	}
	data := f.head > 0 || f.stats
	if f.json {
		return usage("--json: %s is not an output folder", path)
	}
	if units, ok := coreMLUnits(f.backend); ok && !data && (isCoreMLModel(path) || strings.EqualFold(filepath.Ext(path), ".onnx")) {
		return inspectPlacement(ctx, w, path, f.backend, units)
	}
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		if data {
			return usage("--head and --stats read data files and output folders, not models")
		}
		return inspectModel(ctx, w, path, f.backend)
	}
	if data {
		return inspectRows(ctx, w, []string{path}, f)
	}
	info, err := source.Inspect(path)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(w, info.String())
	return err
}

// inspectOutput describes an output folder, or prints the head or the
// stats of its files.
func inspectOutput(ctx context.Context, w io.Writer, dir string, f inspectFlags) error {
	r, err := inspectFolder(ctx, dir)
	if err != nil {
		return err
	}
	switch {
	case f.json:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case f.head > 0 || f.stats:
		if len(r.Files) == 0 {
			return fmt.Errorf("%s: no data files to read (%s)", dir, strings.Join(r.Why, "; "))
		}
		return inspectRows(ctx, w, r.dataFiles(), f)
	}
	return writeFolder(w, r)
}

// inspectRows prints the head and the stats of files, as the flags ask.
func inspectRows(ctx context.Context, w io.Writer, files []string, f inspectFlags) error {
	if f.head > 0 {
		if err := writeHead(ctx, w, memory.DefaultAllocator, files, f.head); err != nil {
			return err
		}
	}
	if f.stats {
		return writeStats(ctx, w, memory.DefaultAllocator, files)
	}
	return nil
}

func inspectModel(ctx context.Context, w io.Writer, path, backend string) error {
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
