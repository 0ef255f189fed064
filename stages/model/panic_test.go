package model_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/internal/backendtest"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// TestBackendPanicIsAnError makes the backend panic inside Run, through the
// executor: the stage's Run returns an error that says so, and the test
// process (which would die of an unrecovered panic in any goroutine)
// survives.
func TestBackendPanicIsAnError(t *testing.T) {
	const k = 4
	path := filepath.Join(t.TempDir(), "m.fake")
	if err := os.WriteFile(path, []byte("fake"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := "panicfake"
	fb := backendtest.New(backendtest.Config{Name: name, K: k}).Register(t)
	mem := stagetest.Mem(t)
	ex := newExecutor(t, executor.Options{})
	with := fmt.Sprintf("model: %s\nbackends: [%s]\ninputs: {x: x}\noutputs: {y: y}\nkeep: [id]\nbatch: {max_rows: 4, max_delay: 1ms}\n", path, name)
	s := buildRejecting(t, mem, nil, ex, with, vectors(memory.DefaultAllocator, "x", 0, 1, k, 1).Schema())
	fb.PanicAlways("injected backend panic")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := make(chan arrow.RecordBatch, 1)
	in <- vectors(mem, "x", 0, 4, k, 2)
	close(in)
	err := s.Run(ctx, []<-chan arrow.RecordBatch{in}, func(_ context.Context, rec arrow.RecordBatch) error {
		rec.Release()
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), "injected backend panic") {
		t.Fatalf("Run with a panicking backend = %v, want an error reporting the panic", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
