// Command deepmlp writes the deep MLP of the serving benchmark
// (`scripts/bench.sh serve`): an ONNX model x [N, 32] -> 2048 -> 2048 ->
// 2048 -> probs [N, 8], about 34 MB of deterministic weights, built by
// [testmodels.DeepMLP]. The file is generated at bench time and never
// committed.
//
//	go run ./internal/cmd/deepmlp -out testdata/bench/deep_mlp.onnx
//
// -dims changes the widths (the test writes a small one).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pipe-ml/pipe/internal/onnx/testmodels"
)

// ErrUsage marks a bad command line.
var ErrUsage = errors.New("usage")

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "deepmlp:", err)
		os.Exit(1)
	}
}

// run parses args, builds the model and writes it, printing one line with
// the path, the widths and the size to w.
func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("deepmlp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "the model file to write (required)")
	dimsFlag := fs.String("dims", joinDims(testmodels.DeepDims), "layer widths, input first, comma-separated")
	seed := fs.Uint64("seed", 1, "seed of the weights")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if *out == "" {
		return fmt.Errorf("%w: -out is required", ErrUsage)
	}
	dims, err := parseDims(*dimsFlag)
	if err != nil {
		return err
	}
	b, err := testmodels.DeepMLP(dims, *seed)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "wrote %s: dims %s, %d bytes\n", *out, joinDims(dims), len(b))
	return err
}

// parseDims parses "32,2048,8".
func parseDims(s string) ([]int64, error) {
	var dims []int64
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: -dims %q: %q is not a number", ErrUsage, s, f)
		}
		dims = append(dims, d)
	}
	return dims, nil
}

func joinDims(dims []int64) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = strconv.FormatInt(d, 10)
	}
	return strings.Join(s, ",")
}
