package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

// fakeModelConf mirrors the keys the PIPE_* variables set on model stages.
type fakeModelConf struct {
	Backends  []string `yaml:"backends" doc:"backends"`
	Threads   int      `yaml:"threads" doc:"threads"`
	Instances int      `yaml:"instances" doc:"instances"`
	Batch     struct {
		MaxRows  int             `yaml:"max_rows" doc:"rows"`
		MaxDelay stages.Duration `yaml:"max_delay" doc:"delay"`
	} `yaml:"batch" doc:"batching"`
}

type passThrough struct{ schema *arrow.Schema }

func (p *passThrough) Schema() *arrow.Schema { return p.schema }
func (p *passThrough) Close() error          { return nil }
func (p *passThrough) Process(_ context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error) {
	in.Retain()
	return in, nil
}

func settingsRegistry() *stages.Registry {
	r := fakeRegistry()
	err := stages.Register(r, stages.Type[fakeModelConf]{
		Name: "model", Kind: stages.KindTransform, Spec: stages.Spec{Summary: "Fake."},
		Defaults: func() fakeModelConf {
			c := fakeModelConf{Backends: []string{"auto"}, Threads: 0, Instances: 1}
			c.Batch.MaxRows = 512
			return c
		},
		New: func(c fakeModelConf, env *stages.Env) (stages.Stage, error) {
			return &passThrough{schema: env.Input()}, nil
		},
		// The variables the real model stage declares (stages/all is
		// imported by example_test.go).
		EnvVars: realModel().EnvVars,
	})
	if err != nil {
		panic(err)
	}
	return r
}

// realModel returns the registered model stage type.
func realModel() *stages.Entry {
	e, err := stages.Default().Lookup("model")
	if err != nil {
		panic(err)
	}
	return e
}

const layeredJob = `version: 1
defaults:
  model:
    threads: 3
    instances: 2
    batch: {max_rows: 128, max_delay: 5ms}
stages:
  - {id: src, type: seq, with: {count: 10}}
  - id: m
    type: model
    inputs: [src]
    with:
      instances: 4
      batch: {max_rows: 64}
  - {id: out, type: collect, inputs: [m]}
`

// TestSettingsPrecedence checks built-in default < job defaults < stage <
// PIPE_* variables < --set, and that --explain names each origin.
func TestSettingsPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		set  []string
		want map[string]string // key -> "value # origin prefix"
	}{
		{"file only", nil, nil, map[string]string{
			"backends":        "[auto] # built-in default",
			"threads":         "3 # job defaults",
			"instances":       "4 # stage",
			"batch.max_rows":  "64 # stage",
			"batch.max_delay": "5ms # job defaults",
		}},
		{"env over file", map[string]string{"PIPE_THREADS": "8", "PIPE_BATCH_MAX_ROWS": "32", "PIPE_BACKENDS": "cpu,ane"}, nil, map[string]string{
			"backends":       "[cpu, ane] # env PIPE_BACKENDS",
			"threads":        "8 # env PIPE_THREADS",
			"batch.max_rows": "32 # env PIPE_BATCH_MAX_ROWS",
			"instances":      "4 # stage",
		}},
		{"set over env", map[string]string{"PIPE_THREADS": "8"}, []string{"m.threads=16", "m.batch.max_delay=1ms"}, map[string]string{
			"threads":         "16 # --set",
			"batch.max_delay": "1ms # --set",
			"batch.max_rows":  "64 # stage",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := settingsRegistry()
			job, err := pipeline.Load([]byte(layeredJob), "job.yaml", t.TempDir(), pipeline.LoadOptions{Env: envMap(tc.env), Set: tc.set, Registry: reg})
			if err != nil {
				t.Fatal(err)
			}
			p, err := pipeline.Build(job, pipeline.BuildOptions{Registry: reg, Mem: stagetest.Mem(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			settings, err := p.Explain("m")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, s := range settings {
				got[s.Key] = s.Value + " # " + s.Origin
			}
			for k, want := range tc.want {
				if !strings.HasPrefix(got[k], want) {
					t.Errorf("%s: got %q, want prefix %q", k, got[k], want)
				}
			}
			if _, err := p.Explain("mm"); err == nil || !strings.Contains(err.Error(), `did you mean "m"`) {
				t.Errorf("explain of unknown stage: %v", err)
			}
		})
	}
}

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestResourcesBlock(t *testing.T) {
	text := "version: 1\nresources: {max_bytes_in_flight: lots}\nstages:\n  - {id: src, type: seq, with: {count: 1}}\n  - {id: out, type: collect, inputs: [src]}\n"
	job, err := pipeline.Load([]byte(text), "job.yaml", t.TempDir(), pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = pipeline.Build(job, pipeline.BuildOptions{Registry: fakeRegistry(), Mem: stagetest.Mem(t)})
	var ve *pipeline.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), `job.yaml:2:34: resources.max_bytes_in_flight: expected a size`) {
		t.Fatalf("got %v", err)
	}
}
