package stages_test

import (
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/stages"
)

type envVarConf struct {
	Threads int `yaml:"threads" doc:"threads"`
	Batch   struct {
		MaxRows int `yaml:"max_rows" doc:"rows"`
	} `yaml:"batch" doc:"batching"`
}

// TestRegisterEnvVars: a stage type's PIPE_* variables must be named
// PIPE_* and set a key its config has, nested keys included; the entry
// keeps them for the loader.
func TestRegisterEnvVars(t *testing.T) {
	for _, tc := range []struct {
		name    string
		vars    []stages.EnvVar
		wantErr string
	}{
		{"top-level and nested keys", []stages.EnvVar{{Name: "PIPE_T", Key: "threads"}, {Name: "PIPE_R", Key: "batch.max_rows"}}, ""},
		{"unknown key", []stages.EnvVar{{Name: "PIPE_T", Key: "thread"}}, `no config key "thread"`},
		{"unknown nested key", []stages.EnvVar{{Name: "PIPE_R", Key: "batch.rows"}}, `no config key "batch.rows"`},
		{"key below a scalar", []stages.EnvVar{{Name: "PIPE_R", Key: "threads.x"}}, `no config key "threads.x"`},
		{"not PIPE_", []stages.EnvVar{{Name: "THREADS", Key: "threads"}}, "must be PIPE_"},
		{"lower case", []stages.EnvVar{{Name: "PIPE_threads", Key: "threads"}}, "upper case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := stages.NewRegistry()
			err := stages.Register(r, stages.Type[envVarConf]{Name: "x", Kind: stages.KindTransform, EnvVars: tc.vars,
				New: func(envVarConf, *stages.Env) (stages.Stage, error) { return nil, nil }})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				e, err := r.Lookup("x")
				if err != nil || len(e.EnvVars) != len(tc.vars) {
					t.Fatalf("entry %+v, %v: want the %d variables kept", e, err, len(tc.vars))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
