// Package stagetest builds stages from YAML snippets for tests, with a
// checked allocator that fails the test if any Arrow buffer is left
// allocated when it ends.
package stagetest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/mempool"
	"github.com/pipe-ml/pipe/stages"
)

// Mem returns a checked allocator that is asserted empty when t ends. It
// allocates from a poisoning pool, the allocator pipelines use by default
// (internal/mempool), so that a buffer used after it was freed reads as
// garbage and fails the test that compares its values.
func Mem(t testing.TB) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(mempool.New(mempool.WithPoison()))
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// Build decodes with (the YAML body of a `with:` block) for the named type
// of reg (nil: the default registry) and builds the stage with the given
// input schemas. Relative paths resolve against dir. The stage is closed when
// t ends. Decoding and construction errors are returned joined.
func Build(t testing.TB, reg *stages.Registry, mem memory.Allocator, typ, with, dir string, inputs ...*arrow.Schema) (stages.Stage, error) {
	t.Helper()
	return BuildEnv(t, reg, typ, with, &stages.Env{ID: "test", Inputs: inputs, Mem: mem, Log: slog.New(slog.DiscardHandler), JobDir: dir})
}

// BuildEnv is Build with the stage's whole [stages.Env] given, for stages
// that take an executor, observer or rejecter; relative paths resolve against
// env.JobDir.
func BuildEnv(t testing.TB, reg *stages.Registry, typ, with string, env *stages.Env) (stages.Stage, error) {
	t.Helper()
	if reg == nil {
		reg = stages.Default()
	}
	e, err := reg.Lookup(typ)
	if err != nil {
		return nil, err
	}
	var node *yaml.Node
	if with != "" {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(with), &doc); err != nil {
			return nil, err
		}
		if len(doc.Content) > 0 {
			node = doc.Content[0]
		}
	}
	conf, errs := e.Decode(node, env.JobDir)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s, err := e.Build(conf, env)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, nil
}

// MustBuild is Build that fails the test on error.
func MustBuild(t testing.TB, reg *stages.Registry, mem memory.Allocator, typ, with, dir string, inputs ...*arrow.Schema) stages.Stage {
	t.Helper()
	s, err := Build(t, reg, mem, typ, with, dir, inputs...)
	if err != nil {
		t.Fatalf("build %s: %v", typ, err)
	}
	return s
}

// Drain reads a source to the end and returns its batches; the caller
// releases them (see Release).
func Drain(ctx context.Context, src stages.Source) ([]arrow.RecordBatch, error) {
	var out []arrow.RecordBatch
	for {
		rec, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

// Release releases every batch.
func Release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		if r != nil {
			r.Release()
		}
	}
}

// Rows sums the row counts of recs.
func Rows(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	return n
}

// NeedORT fails the test unless ONNX Runtime's CPU backend can be loaded
// (the caller's package registers it by importing bridge/ort). With
// PIPE_TEST_NO_ORT=1 it skips instead, saying so: nothing skips silently.
func NeedORT(t testing.TB) {
	t.Helper()
	b, err := bridge.Lookup("cpu")
	if err == nil {
		err = b.Available()
	}
	if err == nil {
		return
	}
	if os.Getenv("PIPE_TEST_NO_ORT") == "1" {
		t.Skipf("SKIPPED: ONNX Runtime unavailable and PIPE_TEST_NO_ORT=1: %v", err)
	}
	t.Fatalf("ONNX Runtime is needed (install it with make ort, or set PIPE_TEST_NO_ORT=1): %v", err)
}
