package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

// captureInput computes the batches arriving at stage def: it runs the
// job cut down to def's upstream stages, with a Parquet sink in a
// temporary folder in place of def, and reads the result back into memory.
// At most limit rows are kept (0: all). The batches returned are owned by
// the caller.
func captureInput(ctx context.Context, job *pipeline.Job, def *pipeline.StageDef, set []string, limit int64,
	mem memory.Allocator, log *slog.Logger) ([]arrow.RecordBatch, *arrow.Schema, error) {
	tmp, err := os.MkdirTemp("", "pipe-bench-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	keep := upstream(job, def)
	src, err := cutJob(job.Source, keep, def.Inputs[0], tmp)
	if err != nil {
		return nil, nil, err
	}
	var kept []string
	for _, s := range set {
		if id, _, _ := strings.Cut(s, "."); keep[id] {
			kept = append(kept, s)
		}
	}
	cut, err := pipeline.Load(src, job.File, job.Dir, pipeline.LoadOptions{Set: kept})
	if err != nil {
		return nil, nil, err
	}
	p, err := pipeline.Build(cut, pipeline.BuildOptions{Mem: mem, Log: log})
	if err != nil {
		return nil, nil, err
	}
	if _, err := p.Run(ctx); err != nil {
		return nil, nil, err
	}
	return readParquet(ctx, tmp, limit, mem)
}

// upstream returns the ids of the stages that def depends on.
func upstream(job *pipeline.Job, def *pipeline.StageDef) map[string]bool {
	byID := map[string]*pipeline.StageDef{}
	for _, s := range job.Stages {
		byID[s.ID] = s
	}
	keep := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		if keep[id] {
			return
		}
		keep[id] = true
		if s := byID[id]; s != nil {
			for _, in := range s.Inputs {
				visit(in)
			}
		}
	}
	for _, in := range def.Inputs {
		visit(in)
	}
	return keep
}

// captureID names the sink that collects the benchmarked stage's input.
const captureID = "pipe_bench_capture"

// cutJob returns the job file src keeping only the stages in keep, plus a
// Parquet sink reading from input and writing into dir.
func cutJob(src []byte, keep map[string]bool, input, dir string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty job")
	}
	list := mapValue(doc.Content[0], "stages")
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, errors.New("no stages list")
	}
	var stagesKept []*yaml.Node
	for _, s := range list.Content {
		if id := mapValue(s, "id"); id != nil && keep[id.Value] {
			stagesKept = append(stagesKept, s)
		}
	}
	var sink yaml.Node
	text := fmt.Sprintf("{id: %s, type: parquet_sink, inputs: [%s], with: {path: %q, overwrite: true, compression: none}}", captureID, input, dir)
	if err := yaml.Unmarshal([]byte(text), &sink); err != nil {
		return nil, err
	}
	list.Content = append(stagesKept, sink.Content[0])
	return yaml.Marshal(&doc)
}

// readParquet reads the Parquet files in dir into memory, keeping at most
// limit rows (0: all).
func readParquet(ctx context.Context, dir string, limit int64, mem memory.Allocator) ([]arrow.RecordBatch, *arrow.Schema, error) {
	entry, err := stages.Default().Lookup("parquet_source")
	if err != nil {
		return nil, nil, err
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(fmt.Sprintf("{paths: [%q]}", dir)), &node); err != nil {
		return nil, nil, err
	}
	conf, errs := entry.Decode(node.Content[0], dir)
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	st, err := entry.Build(conf, &stages.Env{ID: "input", Mem: mem, JobDir: dir})
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	src := st.(stages.Source)
	var out []arrow.RecordBatch
	var rows int64
	for limit == 0 || rows < limit {
		rec, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			releaseAll(out)
			return nil, nil, err
		}
		if limit > 0 && rows+rec.NumRows() > limit {
			cut := rec.NewSlice(0, limit-rows)
			rec.Release()
			rec = cut
		}
		rows += rec.NumRows()
		out = append(out, rec)
	}
	return out, st.Schema(), nil
}
