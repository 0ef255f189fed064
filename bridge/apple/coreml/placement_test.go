package coreml

import (
	"reflect"
	"testing"
)

func TestPlacement(t *testing.T) {
	js := `{"ops": [
	 {"name": "ios17.conv", "preferred": "ane", "supported": ["ane", "gpu", "cpu"], "cost": 0.6},
	 {"name": "ios17.relu", "preferred": "ane", "supported": ["ane", "cpu"], "cost": 0.1},
	 {"name": "ios17.gather", "preferred": "cpu", "supported": ["cpu"], "cost": 0.3},
	 {"name": "const", "preferred": "", "supported": [], "cost": -1}]}`
	p, err := parsePlacement([]byte(js))
	if err != nil {
		t.Fatalf("parsePlacement: %v", err)
	}
	if got := p.Fraction("ane"); got != 0.5 {
		t.Errorf("Fraction(ane) = %v, want 0.5", got)
	}
	want := []string{"ane 2 (50.0%)", "none 1 (25.0%)", "cpu 1 (25.0%)"}
	got := p.Summary()
	// Ties sort by device key: "" (none) before "cpu".
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Summary = %v, want %v", got, want)
	}
	if (Placement{}).Fraction("ane") != 0 {
		t.Errorf("empty plan fraction != 0")
	}
	for _, bad := range []string{`{"ops": [{"name": "x", "preferred": "tpu"}]}`, `[`} {
		if _, err := parsePlacement([]byte(bad)); err == nil {
			t.Errorf("parsePlacement accepted %s", bad)
		}
	}
}
