package serve

import (
	"bytes"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := start(t, Options{Registerer: reg}, doubleModel())
	h.do(t, "POST", "/v2/models/double/infer", nil, []byte(okBody))
	h.do(t, "POST", "/v2/models/double/infer", nil, []byte(`{"inputs":[]}`))
	h.do(t, "POST", "/v2/models/whatever/infer", nil, []byte(okBody))
	want := `
# HELP pipe_serve_requests_total Inference requests answered, by model, protocol and outcome.
# TYPE pipe_serve_requests_total counter
pipe_serve_requests_total{model="_unknown",outcome="not_found",protocol="rest"} 1
pipe_serve_requests_total{model="double",outcome="invalid_input",protocol="rest"} 1
pipe_serve_requests_total{model="double",outcome="ok",protocol="rest"} 1
# HELP pipe_serve_rejected_total Inference requests refused before the model ran them, by reason.
# TYPE pipe_serve_rejected_total counter
pipe_serve_rejected_total{model="_unknown",reason="not_found"} 1
pipe_serve_rejected_total{model="double",reason="invalid_input"} 1
# HELP pipe_serve_inflight_requests Inference requests admitted and not yet answered.
# TYPE pipe_serve_inflight_requests gauge
pipe_serve_inflight_requests{model="double"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"pipe_serve_requests_total", "pipe_serve_rejected_total", "pipe_serve_inflight_requests"); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"pipe_serve_request_duration_seconds", "pipe_serve_queue_duration_seconds", "pipe_serve_compute_duration_seconds"} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 1 {
			t.Errorf("%s: %d series, %v; want 1", name, n, err)
		}
	}
	code, _, b := h.do(t, "GET", "/metrics", nil, nil)
	if code != 200 || !strings.Contains(string(b), `pipe_serve_requests_total{model="double",outcome="ok",protocol="rest"} 1`) {
		t.Errorf("/metrics: %d\n%s", code, b)
	}
	problems, err := promlint.New(bytes.NewReader(b)).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}
