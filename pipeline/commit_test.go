package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/stages/sink"
)

// passConf names a file the way a model stage does.
type passConf struct {
	Model stages.Path `yaml:"model" doc:"a file whose contents count in the fingerprint"`
}

type passTransform struct{ schema *arrow.Schema }

// passFailAt, when >= 0, makes every pass stage fail on the batch holding
// that value in its first column: a crash that is not part of the job (so
// the fingerprint stays), for resume tests. Tests that set it do not run in
// parallel.
var passFailAt atomic.Int64

func init() { passFailAt.Store(-1) }

func (p *passTransform) Schema() *arrow.Schema { return p.schema }
func (p *passTransform) Close() error          { return nil }
func (p *passTransform) Process(ctx context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error) {
	if at := passFailAt.Load(); at >= 0 {
		col := in.Column(0).(*array.Int64)
		for i := range col.Len() {
			if col.Value(i) == at {
				return nil, fmt.Errorf("injected failure at %d", at)
			}
		}
	}
	in.Retain()
	return in, nil
}

// integrityRegistry is the fake registry plus parquet_sink and a
// pass-through transform naming a file.
func integrityRegistry(t *testing.T) *stages.Registry {
	t.Helper()
	r := fakeRegistry()
	e, err := stages.Default().Lookup(sink.ParquetSinkType)
	if err != nil {
		t.Fatal(err)
	}
	if err := stages.RegisterEntry(r, e); err != nil {
		t.Fatal(err)
	}
	if err := stages.Register(r, stages.Type[passConf]{
		Name: "pass", Kind: stages.KindTransform, Spec: stages.Spec{Summary: "Passes."},
		New: func(c passConf, env *stages.Env) (stages.Stage, error) {
			return &passTransform{schema: env.Input()}, nil
		},
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

const integrityJob = `version: 1
name: integrity
stages:
  - id: gen
    type: seq
    with: {count: 250, batch_rows: 30}
  - id: model
    type: pass
    inputs: [gen]
    with: {model: weights.bin}
  - id: write
    type: parquet_sink
    inputs: [model]
    with: {path: out, max_rows_per_file: 100}
`

// buildIn builds job text in dir with the integrity registry.
func buildIn(t *testing.T, dir, text string, opts pipeline.BuildOptions) *pipeline.Pipeline {
	t.Helper()
	job, err := pipeline.Load([]byte(text), filepath.Join(dir, "job.yaml"), dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	opts.Registry, opts.Mem = integrityRegistry(t), stagetest.Mem(t)
	p, err := pipeline.Build(job, opts)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return p
}

func fingerprintOf(t *testing.T, dir, text string) string {
	t.Helper()
	p := buildIn(t, dir, text, pipeline.BuildOptions{})
	defer p.Close()
	return p.Fingerprint()
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	weights := filepath.Join(dir, "weights.bin")
	if err := os.WriteFile(weights, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := fingerprintOf(t, dir, integrityJob)
	if len(base) != 64 || base != fingerprintOf(t, dir, integrityJob) {
		t.Fatalf("fingerprint %q is not a stable SHA-256", base)
	}
	tests := []struct {
		name  string
		text  string
		setup func(t *testing.T)
		same  bool
	}{
		{name: "comment and key order", same: true,
			text: strings.Replace(integrityJob, "{count: 250, batch_rows: 30}", "{batch_rows: 30, count: 250} # same", 1)},
		{name: "a setting", text: strings.Replace(integrityJob, "max_rows_per_file: 100", "max_rows_per_file: 101", 1)},
		{name: "the job name", text: strings.Replace(integrityJob, "name: integrity", "name: other", 1)},
		{name: "model contents", text: integrityJob, setup: func(t *testing.T) {
			if err := os.WriteFile(weights, []byte("v2"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			got := fingerprintOf(t, dir, tc.text)
			if (got == base) != tc.same {
				t.Errorf("fingerprint %s, base %s; want same=%v", got, base, tc.same)
			}
		})
	}
}

func TestRunWritesManifest(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	p := buildIn(t, dir, integrityJob, pipeline.BuildOptions{})
	if err := p.CheckOutputs(); err != nil {
		t.Fatalf("CheckOutputs on an empty folder: %v", err)
	}
	fp := p.Fingerprint()
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	m, err := output.VerifyOutput(t.Context(), output.Local(out))
	if err != nil {
		t.Fatal(err)
	}
	if m.Fingerprint != fp || m.Rows != 250 || len(m.Files) != 3 || m.Files[2].Rows != 50 || m.Stage != "write" {
		t.Errorf("manifest %+v: want fingerprint %s, 250 rows in 3 files (the last of 50)", m, fp)
	}
	if _, err := os.Stat(filepath.Join(out, sink.StagingDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging folder left: %v", err)
	}

	t.Run("same job is up to date", func(t *testing.T) {
		p := buildIn(t, dir, integrityJob, pipeline.BuildOptions{})
		defer p.Close()
		if err := p.CheckOutputs(); !errors.Is(err, pipeline.ErrUpToDate) || !strings.Contains(err.Error(), fp) {
			t.Fatalf("CheckOutputs = %v, want ErrUpToDate naming %s", err, fp)
		}
	})
	t.Run("run anyway is refused", func(t *testing.T) {
		p := buildIn(t, dir, integrityJob, pipeline.BuildOptions{})
		before, _ := os.Stat(filepath.Join(out, "part-00000-00000.parquet"))
		_, err := p.Run(context.Background())
		var ce *pipeline.OutputConflictError
		if !errors.As(err, &ce) || ce.Stage != "write" {
			t.Fatalf("Run = %v, want an OutputConflictError for stage write", err)
		}
		after, _ := os.Stat(filepath.Join(out, "part-00000-00000.parquet"))
		if !after.ModTime().Equal(before.ModTime()) {
			t.Error("a refused run touched the output")
		}
	})
	changed := strings.Replace(integrityJob, "count: 250", "count: 260", 1)
	t.Run("another job conflicts", func(t *testing.T) {
		p := buildIn(t, dir, changed, pipeline.BuildOptions{})
		defer p.Close()
		err := p.CheckOutputs()
		var ce *pipeline.OutputConflictError
		if !errors.As(err, &ce) || !errors.Is(err, pipeline.ErrOutputConflict) || ce.Have != fp || ce.Want != p.Fingerprint() || ce.Want == fp {
			t.Fatalf("CheckOutputs = %v, want a conflict naming %s and the new fingerprint", err, fp)
		}
		for _, s := range []string{fp, p.Fingerprint(), "--overwrite"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("message %q does not name %s", err, s)
			}
		}
	})
	t.Run("overwrite replaces", func(t *testing.T) {
		p := buildIn(t, dir, changed, pipeline.BuildOptions{Overwrite: true})
		if err := p.CheckOutputs(); err != nil {
			t.Fatalf("CheckOutputs with Overwrite = %v", err)
		}
		if _, err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		m, err := output.VerifyOutput(t.Context(), output.Local(out))
		if err != nil || m.Rows != 260 || m.Fingerprint != p.Fingerprint() || m.Generation != 2 {
			t.Fatalf("after overwrite: %+v, %v", m, err)
		}
		// The replacement's files are of generation 2, and the first
		// generation's are gone.
		names, _ := filepath.Glob(filepath.Join(out, "part-*.parquet"))
		for i, n := range names {
			if want := fmt.Sprintf("part-00000-g2-%05d.parquet", i); filepath.Base(n) != want || m.Files[i].Name != want {
				t.Errorf("file %d: %s in the folder, %s in the manifest, want %s", i, filepath.Base(n), m.Files[i].Name, want)
			}
		}
	})
	t.Run("tampered output", func(t *testing.T) {
		f := filepath.Join(out, "part-00000-g2-00001.parquet")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 1
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := output.VerifyOutput(t.Context(), output.Local(out)); err == nil || !strings.Contains(err.Error(), "part-00000-g2-00001.parquet") {
			t.Errorf("VerifyOutput after a flipped bit = %v, want an error naming the file", err)
		}
		if err := os.WriteFile(f, b[:10], 0o644); err != nil {
			t.Fatal(err)
		}
		p := buildIn(t, dir, changed, pipeline.BuildOptions{})
		defer p.Close()
		var ce *pipeline.OutputConflictError
		if err := p.CheckOutputs(); !errors.As(err, &ce) || ce.Problem == "" {
			t.Errorf("CheckOutputs over a truncated file = %v, want a conflict saying what differs", err)
		}
	})
}

func TestFailedRunLeavesNoSuccess(t *testing.T) {
	dir := t.TempDir()
	text := strings.Replace(integrityJob, "{count: 250, batch_rows: 30}", "{count: 250, batch_rows: 30, fail_at: 200}", 1)
	p := buildIn(t, dir, text, pipeline.BuildOptions{})
	if _, err := p.Run(context.Background()); err == nil {
		t.Fatal("run succeeded, want the source's error")
	}
	for _, name := range []string{stages.SuccessFile, stages.ManifestFile, "part-00000-00000.parquet"} {
		if _, err := os.Stat(filepath.Join(dir, "out", name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s present after a failed run (%v)", name, err)
		}
	}
	// The rerun starts clean.
	p = buildIn(t, dir, integrityJob, pipeline.BuildOptions{})
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := output.VerifyOutput(t.Context(), output.Local(filepath.Join(dir, "out"))); err != nil {
		t.Fatal(err)
	}
}
