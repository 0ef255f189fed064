package model_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/stages/model"
)

// newExecutor returns a new executor built with opts, as pipeline.Build
// gives one to a job's model stages; it is closed when t ends, after the
// stages built with it (built later, their cleanups run first).
func newExecutor(t testing.TB, opts executor.Options) *executor.Executor {
	t.Helper()
	ex, err := executor.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	return ex
}

// buildEnv builds a model stage from a YAML `with:` body (paths relative
// to models) with env carrying mem, rej (nil: on_error fail) and ex (nil:
// a new executor with default options). Decoding and
// construction errors are returned; the stage is closed when t ends.
func buildEnv(t testing.TB, mem memory.Allocator, rej stages.Rejecter, ex *executor.Executor, with string, in ...*arrow.Schema) (*model.Stage, error) {
	t.Helper()
	if ex == nil {
		ex = newExecutor(t, executor.Options{})
	}
	env := &stages.Env{ID: "test", Inputs: in, Mem: mem, Log: slog.New(slog.DiscardHandler), JobDir: models,
		Reject: rej, Executor: ex}
	s, err := stagetest.BuildEnv(t, nil, "model", with, env)
	if err != nil {
		return nil, err
	}
	return s.(*model.Stage), nil
}

// build is stagetest.Build for the model stage, through an executor (see
// buildEnv).
func build(t testing.TB, mem memory.Allocator, with string, in ...*arrow.Schema) (stages.Stage, error) {
	t.Helper()
	s, err := buildEnv(t, mem, nil, nil, with, in...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// mustBuild is build that fails the test on error.
func mustBuild(t testing.TB, mem memory.Allocator, with string, in ...*arrow.Schema) stages.Stage {
	t.Helper()
	s, err := build(t, mem, with, in...)
	if err != nil {
		t.Fatalf("build model: %v", err)
	}
	return s
}

// buildRejecting builds a model stage from a YAML `with:` body whose env
// carries rej (nil: on_error fail) and services (see buildEnv); the stage
// is closed when t ends.
func buildRejecting(t *testing.T, mem memory.Allocator, rej stages.Rejecter, ex *executor.Executor, with string, in *arrow.Schema) *model.Stage {
	t.Helper()
	s, err := buildEnv(t, mem, rej, ex, with, in)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// buildStage builds a model stage from a YAML `with:` body, through ex
// (see buildEnv), returning the error; the stage is closed when t ends.
func buildStage(t *testing.T, with string, in *arrow.Schema, ex *executor.Executor) (*model.Stage, error) {
	t.Helper()
	return buildEnv(t, memory.DefaultAllocator, nil, ex, with, in)
}

// TestNoExecutorFails: a stage built without the job's executor fails with
// ErrNoExecutor and a message that says the runtime must provide one,
// instead of running the model some other way.
func TestNoExecutorFails(t *testing.T) {
	in := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.FixedSizeListOf(32, arrow.PrimitiveTypes.Float32)}}, nil)
	e, err := stages.Default().Lookup("model")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("model: mlp.onnx\ninputs: {x: x}\n"), &doc); err != nil {
		t.Fatal(err)
	}
	conf, errs := e.Decode(doc.Content[0], models)
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	for name, env := range map[string]*stages.Env{
		"no executor":   {},
		"only a pinset": {Files: stages.NewFilePins()},
	} {
		t.Run(name, func(t *testing.T) {
			env.ID, env.Inputs, env.Mem, env.Log, env.JobDir = "test", []*arrow.Schema{in}, memory.DefaultAllocator, slog.New(slog.DiscardHandler), models
			s, err := e.Build(conf, env)
			if err == nil {
				_ = s.Close()
				t.Fatal("a model stage was built without an executor")
			}
			if !errors.Is(err, model.ErrNoExecutor) || !strings.Contains(err.Error(), "the runtime must provide one") || !strings.Contains(err.Error(), "mlp.onnx") {
				t.Fatalf("got %v, want ErrNoExecutor saying the runtime must provide one for mlp.onnx", err)
			}
		})
	}
}
