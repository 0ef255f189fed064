package model

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/executor"
)

func TestReportCanary(t *testing.T) {
	r := &Report{Backend: "ane", Flushes: map[string]int64{"full": 2}, Batches: 2, Rows: 8, MeanRows: 4}
	if s := r.String(); strings.Contains(s, "canary") {
		t.Errorf("String() without a canary mentions one: %q", s)
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "canary") {
		t.Errorf("JSON without a canary has the key: %s", js)
	}
	r.Canary = &executor.CanaryReport{Backend: "ane", Reference: "cpu", Rows: 4, MaxAbs: 0.002, MaxRel: 0.0005,
		Outputs: []executor.OutputDiff{{Name: "y", Elements: 16, MaxAbs: 0.002, MaxRel: 0.0005, Mismatches: 9}}}
	if s := r.String(); !strings.Contains(s, "canary ane vs cpu on 4 rows: max abs diff 0.002, max rel diff 0.0005") {
		t.Errorf("String() = %q", s)
	}
	js, err = json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"canary":{"backend":"ane","reference":"cpu","rows":4`) || !strings.Contains(string(js), `"max_rel_diff":0.0005`) {
		t.Errorf("JSON = %s", js)
	}
}
