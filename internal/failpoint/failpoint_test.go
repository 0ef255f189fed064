package failpoint

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		spec    string
		wantErr string
		hits    map[string][]Action // actions returned by successive hits
	}{
		{spec: "", hits: map[string][]Action{"a": {ActionNone, ActionNone}}},
		{spec: "a=kill", hits: map[string][]Action{"a": {ActionKill, ActionNone}, "b": {ActionNone}}},
		{spec: " a = error@3 ; b=panic ;", hits: map[string][]Action{
			"a": {ActionNone, ActionNone, ActionError, ActionNone},
			"b": {ActionPanic},
		}},
		{spec: "a", wantErr: `entry "a" is not name=action`},
		{spec: "=kill", wantErr: "is not name=action"},
		{spec: "a=explode", wantErr: `unknown action "explode"`},
		{spec: "a=kill@0", wantErr: "not a positive integer"},
		{spec: "a=kill@x", wantErr: "not a positive integer"},
		{spec: "a=kill;a=error", wantErr: `"a" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := Parse(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.hits {
				for i, w := range want {
					if got := s.Hit(name); got != w {
						t.Errorf("hit %d of %q = %q, want %q", i+1, name, got, w)
					}
				}
			}
		})
	}
}

func TestInjectDisabled(t *testing.T) {
	if Enabled {
		t.Skip("SKIPPED: built with -tags failpoints; the disabled path is tested without the tag")
	}
	t.Setenv(EnvVar, "x=error")
	if err := Inject("x"); err != nil {
		t.Fatalf("Inject without the build tag = %v, want nil", err)
	}
}
