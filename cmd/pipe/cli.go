package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	_ "github.com/pipe-ml/pipe/bridge/apple/coreml" // ane and mps (Core ML; unavailable off macOS)
	_ "github.com/pipe-ml/pipe/bridge/apple/metal"  // metal (unavailable off macOS)
	_ "github.com/pipe-ml/pipe/bridge/ort"          // cpu (ONNX Runtime)
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/pipeline"
	_ "github.com/pipe-ml/pipe/stages/all" // every stage type
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the job ran and failed
	exitUsage  = 2 // bad flags or an invalid job: nothing ran
)

// usageError marks errors that exit with status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usage(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// globals are the flags every command shares.
type globals struct {
	logLevel  string
	logFormat string
	stdout    io.Writer
	stderr    io.Writer
}

func (g *globals) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, usage("--log-level: %q is not one of debug, info, warn, error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	}
	return nil, usage("--log-format: %q is not one of text, json", g.logFormat)
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "pipe",
		Short: "Batch ML inference over datasets",
		Long: `pipe streams Apache Arrow record batches from datasets (Parquet, CSV, JSON lines,
Arrow IPC) through a YAML-defined graph of stages and models, and writes Parquet.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		newRunCmd(g),
		newValidateCmd(g),
		newGraphCmd(g),
		newInspectCmd(g),
		newDocsCmd(g),
		newVersionCmd(g),
		newBackendsCmd(g),
		newBenchCmd(g),
		newK8sCmd(g),
		newCommitCmd(g),
		newServeCmd(g),
	)
	return root
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ve *pipeline.ValidationError
	switch {
	case errors.As(err, &ve):
		fmt.Fprintln(stderr, err)
		fmt.Fprintf(stderr, "%d problem(s); nothing ran\n", len(ve.Problems))
		return exitUsage
	case errors.Is(err, pipeline.ErrInvalidJob), errors.Is(err, output.ErrLocked):
		fmt.Fprintln(stderr, "error:", err)
		return exitUsage
	}
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintln(stderr, "error:", err)
		return exitUsage
	}
	fmt.Fprintln(stderr, "error:", err)
	return exitFailed
}

// isCobraUsage recognises cobra's own argument and command errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, s := range []string{"unknown command", "accepts ", "requires at least", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// loadJob loads and builds a job file, printing warnings.
func loadJob(g *globals, path string, set []string, opts pipeline.BuildOptions) (*pipeline.Pipeline, error) {
	job, err := pipeline.LoadFile(path, pipeline.LoadOptions{Set: set})
	if job == nil {
		return nil, err
	}
	p, berr := pipeline.Build(job, opts)
	if berr != nil {
		return nil, berr
	}
	if err != nil { // Build reports load problems too; this is a safety net.
		p.Close()
		return nil, err
	}
	for _, w := range p.Warnings() {
		fmt.Fprintln(g.stderr, "warning:", w.String())
	}
	return p, nil
}
