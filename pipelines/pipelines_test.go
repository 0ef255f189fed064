// Package pipelines_test runs the example jobs of this folder: every job
// must validate, and the model jobs' outputs are compared with the pure-Go
// reference forward pass over the same weights.
package pipelines_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	_ "github.com/pipe-ml/pipe/bridge/ort"
	"github.com/pipe-ml/pipe/internal/onnxref"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/pipeline"
	_ "github.com/pipe-ml/pipe/stages/all"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// runJob runs a job file with variables and overrides, under a checked
// allocator.
func runJob(t *testing.T, path string, vars map[string]string, set ...string) *pipeline.Report {
	t.Helper()
	job, err := pipeline.LoadFile(path, pipeline.LoadOptions{Env: env(vars), Set: set})
	if err != nil {
		t.Fatal(err)
	}
	return mustRun(t, mustBuild(t, job))
}

// buildText builds a job given as YAML text, as if from dir/job.yaml,
// under a checked allocator.
func buildText(t *testing.T, dir, text string) *pipeline.Pipeline {
	t.Helper()
	job, err := pipeline.Load([]byte(text), filepath.Join(dir, "job.yaml"), dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return mustBuild(t, job)
}

func mustBuild(t *testing.T, job *pipeline.Job) *pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.Build(job, pipeline.BuildOptions{Mem: stagetest.Mem(t)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRun(t *testing.T, p *pipeline.Pipeline) *pipeline.Report {
	t.Helper()
	rep, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestEveryJobValidates(t *testing.T) {
	stagetest.NeedORT(t)
	files, _ := filepath.Glob("*.yaml")
	more, _ := filepath.Glob("bench/*.yaml")
	files = append(files, more...)
	if len(files) < 6 {
		t.Fatalf("only %d jobs", len(files))
	}
	tokenizers, ocr := needTokenizers(t), needOCRModels(t)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			job, err := pipeline.LoadFile(f, pipeline.LoadOptions{Env: env(map[string]string{"ROWS": "10", "OUT": t.TempDir(), "IN": smallInput(t, f),
				"PIPE_TOKENIZERS_DIR": tokenizers, "PIPE_OCR_MODELS_DIR": ocr})})
			if err != nil {
				t.Fatal(err)
			}
			p := mustBuild(t, job)
			if w := p.Warnings(); len(w) > 0 {
				t.Errorf("warnings: %v", w)
			}
			p.Close()
		})
	}
}

// TestBenchJobsRun runs every benchmark job end to end on a few rows, so
// that `make bench` cannot rot unnoticed.
func TestBenchJobsRun(t *testing.T) {
	stagetest.NeedORT(t)
	for _, f := range []string{"bench/copy-input.yaml", "bench/copy.yaml", "bench/mlp-input.yaml", "bench/mlp.yaml", "bench/mlp-vectorize.yaml", "bench/mlp-daily.yaml", "bench/jsonl-mlp.yaml", "bench/jsonl-vec-mlp.yaml"} {
		t.Run(f, func(t *testing.T) {
			out := t.TempDir()
			rep := runJob(t, f, map[string]string{"ROWS": "300", "OUT": out, "IN": smallInput(t, f), "MAX_ROWS": "16"})
			want := int64(300)
			switch {
			case strings.Contains(f, "jsonl"):
				want = 40
			case strings.Contains(f, "daily"):
				want = 600 // two days of 300
			}
			if got := rep.Stages[len(rep.Stages)-1].RowsIn; got != want {
				t.Fatalf("sink got %d rows, want %d", got, want)
			}
		})
	}
}

// TestJSONLLayoutsAgree: the batching benchmark's two layouts of the same
// rows (32 scalar fields packed by vectorize, and one JSON array read as a
// vector column) give the same ids and model outputs, value for value.
func TestJSONLLayoutsAgree(t *testing.T) {
	stagetest.NeedORT(t)
	outputs := map[string]string{}
	for _, f := range []string{"bench/jsonl-mlp.yaml", "bench/jsonl-vec-mlp.yaml"} {
		out := t.TempDir()
		runJob(t, f, map[string]string{"OUT": out, "IN": smallInput(t, f), "MAX_ROWS": "16"})
		var b strings.Builder
		eachChunk(t, out, func(column string, chunk arrow.Array) {
			for i := range chunk.Len() {
				fmt.Fprintf(&b, "%s=%s\n", column, chunk.ValueStr(i))
			}
		})
		outputs[f] = b.String()
	}
	a, v := outputs["bench/jsonl-mlp.yaml"], outputs["bench/jsonl-vec-mlp.yaml"]
	if strings.Count(a, "probs=") != 40 || a != v {
		t.Fatalf("the two layouts disagree or are not 40 rows:\n%s\nvs\n%s", a, v)
	}
}

// smallInput makes the input file a benchmark job reads (named by its IN
// variable), at a few rows; "" for jobs without input.
func smallInput(t *testing.T, job string) string {
	t.Helper()
	dir := t.TempDir()
	switch filepath.Base(job) {
	case "copy.yaml", "mlp.yaml", "mlp-vectorize.yaml":
		gen := "bench/mlp-input.yaml"
		if filepath.Base(job) == "copy.yaml" {
			gen = "bench/copy-input.yaml"
		}
		runJob(t, gen, map[string]string{"ROWS": "300", "OUT": dir})
		return filepath.Join(dir, "part-00000-00000.parquet")
	case "mlp-daily.yaml":
		// Two daily partitions, as scripts/bench.sh incremental lays out.
		for _, day := range []string{"dt=day-0001", "dt=day-0002"} {
			runJob(t, "bench/mlp-input.yaml", map[string]string{"ROWS": "300", "OUT": filepath.Join(dir, day)})
		}
		return dir
	case "jsonl-mlp.yaml", "jsonl-vec-mlp.yaml":
		// The same 40 rows in both layouts; the values are exact in
		// float32, so both read them alike.
		vector := filepath.Base(job) == "jsonl-vec-mlp.yaml"
		var b strings.Builder
		for i := 0; i < 40; i++ {
			fmt.Fprintf(&b, `{"id":%d`, i)
			if vector {
				b.WriteString(`,"x":[`)
			}
			for j := 0; j < 32; j++ {
				v := float64(i*j%7)/8 - 0.5
				switch {
				case !vector:
					fmt.Fprintf(&b, `,"f%d":%g`, j, v)
				case j > 0:
					fmt.Fprintf(&b, `,%g`, v)
				default:
					fmt.Fprintf(&b, `%g`, v)
				}
			}
			if vector {
				b.WriteString("]")
			}
			b.WriteString("}\n")
		}
		p := filepath.Join(dir, "rows.jsonl")
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	case "embed-text.yaml", "tokenize.yaml", "text-copy.yaml":
		return textInput(t, dir, 200)
	case "ocr.yaml", "images.yaml":
		return imageInput(t, dir)
	}
	return ""
}

// readDir reads every part file of a sink's output folder into one table's
// worth of columns by name.
func readDir(t *testing.T, dir string) map[string][]arrow.Array {
	t.Helper()
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	if len(parts) == 0 {
		t.Fatalf("no part files in %s", dir)
	}
	cols := map[string][]arrow.Array{}
	for _, p := range parts {
		rdr, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < int(tbl.NumCols()); i++ {
			c := tbl.Column(i)
			for _, ch := range c.Data().Chunks() {
				ch.Retain()
				cols[c.Name()] = append(cols[c.Name()], ch)
			}
		}
		tbl.Release()
		rdr.Close()
	}
	return cols
}

// floats flattens float32 or fixed_size_list<float32> chunks.
func floats(chunks []arrow.Array) []float32 {
	var out []float32
	for _, c := range chunks {
		switch a := c.(type) {
		case *array.Float32:
			out = append(out, a.Float32Values()...)
		case *array.FixedSizeList:
			k := int(a.DataType().(*arrow.FixedSizeListType).Len())
			v := a.ListValues().(*array.Float32).Float32Values()
			out = append(out, v[a.Offset()*k:(a.Offset()+a.Len())*k]...)
		}
	}
	return out
}

func ints(chunks []arrow.Array) []int64 {
	var out []int64
	for _, c := range chunks {
		out = append(out, c.(*array.Int64).Int64Values()...)
	}
	return out
}

func close32(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		// numpy.allclose: relative 1e-5, plus 1e-6 absolute for values near
		// zero, where float32 sums that cancel differ in their last bits.
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > 1e-6+1e-5*math.Abs(float64(want[i])) {
			t.Fatalf("%s[%d]: got %g want %g", what, i, got[i], want[i])
		}
	}
}

func ref(t *testing.T, name string, in map[string]onnxref.Tensor) map[string]onnxref.Tensor {
	t.Helper()
	r, err := onnxref.Load(filepath.Join("..", "testdata", "models", name))
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestQuickstartChainedModels runs the quickstart (mlp then head) and
// checks both models' outputs against the reference.
func TestQuickstartChainedModels(t *testing.T) {
	stagetest.NeedORT(t)
	out := t.TempDir()
	const rows = 800
	rep := runJob(t, "quickstart.yaml", map[string]string{"ROWS": "800", "OUT": out}, "mlp.keep=[id, segment, x]")
	if rep.Stages[len(rep.Stages)-1].RowsIn != rows {
		t.Fatalf("report: %+v", rep.Stages)
	}
	cols := readDir(t, out)
	if _, err := os.Stat(filepath.Join(out, "metrics.json")); err != nil {
		t.Fatal(err)
	}
	ids := ints(cols["id"])
	for i, id := range ids {
		if id != int64(i) {
			t.Fatalf("row %d has id %d: order lost", i, id)
		}
	}
	x := floats(cols["x"])
	probs := ref(t, "mlp.onnx", map[string]onnxref.Tensor{"x": {Shape: []int64{rows, 32}, F32: x}})["probs"]
	close32(t, "probs", floats(cols["probs"]), probs.F32)
	score := ref(t, "head.onnx", map[string]onnxref.Tensor{"h": {Shape: []int64{rows, 8}, F32: probs.F32}})["score"]
	close32(t, "score", floats(cols["score"]), score.F32)
}

// TestTwoModelsZip runs two models on the same rows in parallel branches
// joined by zip, and checks every output against the reference.
func TestTwoModelsZip(t *testing.T) {
	stagetest.NeedORT(t)
	out := t.TempDir()
	const rows = 700
	runJob(t, "two-models.yaml", map[string]string{"ROWS": "700", "OUT": out}, "mlp.keep=[id, x, a, b]")
	cols := readDir(t, out)
	for _, c := range []string{"id", "x", "a", "b", "probs", "ab_sum", "p0", "p1"} {
		if cols[c] == nil {
			t.Fatalf("column %s missing; have %v", c, keys(cols))
		}
	}
	if len(cols) != 8 {
		t.Fatalf("columns %v", keys(cols))
	}
	a, b := floats(cols["a"]), floats(cols["b"])
	close32(t, "probs", floats(cols["probs"]), ref(t, "mlp.onnx", map[string]onnxref.Tensor{"x": {Shape: []int64{rows, 32}, F32: floats(cols["x"])}})["probs"].F32)
	want := ref(t, "two_io.onnx", map[string]onnxref.Tensor{"a": {Shape: []int64{rows, 4}, F32: a}, "b": {Shape: []int64{rows, 4}, F32: b}})
	close32(t, "ab_sum", floats(cols["ab_sum"]), want["sum"].F32)
	p0, p1 := floats(cols["p0"]), floats(cols["p1"])
	proj := make([]float32, 0, 2*rows)
	for i := range p0 {
		proj = append(proj, p0[i], p1[i])
	}
	close32(t, "proj", proj, want["proj"].F32)
}

func keys(m map[string][]arrow.Array) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
