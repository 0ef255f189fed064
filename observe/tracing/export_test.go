package tracing

import (
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/otlptest"
)

func TestExportSpanTree(t *testing.T) {
	tests := []struct {
		name      string
		protocol  string // "" leaves OTEL_EXPORTER_OTLP_PROTOCOL unset
		perSignal bool   // use the _TRACES_ variables
		wantProto string
		wantVia   string // transport the receiver saw
	}{
		{"grpc", ProtocolGRPC, false, ProtocolGRPC, "grpc"},
		{"http/protobuf", ProtocolHTTP, false, ProtocolHTTP, "http"},
		{"default is http/protobuf", "", false, ProtocolHTTP, "http"},
		{"per-signal grpc", ProtocolGRPC, true, ProtocolGRPC, "grpc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			r := otlptest.Start(t)
			addr, endpointVar, protoVar := r.HTTPEndpoint(), envEndpoint, envProtocol
			if tc.wantVia == "grpc" {
				addr = r.Endpoint()
			}
			if tc.perSignal {
				endpointVar, protoVar = envTracesEndpoint, envTracesProtocol
				t.Setenv(envProtocol, "http/protobuf") // the per-signal one must win
			}
			t.Setenv(endpointVar, "http://"+addr)
			if tc.protocol != "" {
				t.Setenv(protoVar, tc.protocol)
			}
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
			tr := setup(t)
			if !tr.Enabled() || tr.Protocol() != tc.wantProto {
				t.Fatalf("Enabled() = %v, Protocol() = %q; want %q", tr.Enabled(), tr.Protocol(), tc.wantProto)
			}
			makeTree(tr)
			shutdown(t, tr)
			spans := r.WaitFor(t, otlptest.HasSpan(SpanRun, SpanUnit, SpanStage), 5*time.Second)
			checkTree(t, spans, tc.wantVia)
		})
	}
}

// checkTree checks what makeTree created, as received.
func checkTree(t *testing.T, spans []otlptest.Span, via string) {
	t.Helper()
	if len(spans) != 3 {
		t.Fatalf("got %d spans, want 3", len(spans))
	}
	run, unit, stage := otlptest.ByName(spans, SpanRun), otlptest.ByName(spans, SpanUnit), otlptest.ByName(spans, SpanStage)
	if run.ParentSpanID != "" || unit.ParentSpanID != run.SpanID || stage.ParentSpanID != unit.SpanID {
		t.Errorf("parents: run %q, unit %q (run %s), stage %q (unit %s)",
			run.ParentSpanID, unit.ParentSpanID, run.SpanID, stage.ParentSpanID, unit.SpanID)
	}
	for _, s := range spans {
		if s.TraceID != run.TraceID || s.Protocol != via || s.Scope != ScopeName {
			t.Errorf("%s: trace %s (want %s), via %s (want %s), scope %q", s.Name, s.TraceID, run.TraceID, s.Protocol, via, s.Scope)
		}
		if s.Resource["service.name"] != "pipe" || s.Resource["service.version"] != "1.2.3" ||
			s.Resource["deployment.environment"] != "test" {
			t.Errorf("%s: resource %v", s.Name, s.Resource)
		}
	}
	if run.Attributes[AttrJob] != "embed" || unit.Attributes[AttrUnit] != "part-0001" ||
		stage.Attributes[AttrStageID] != "embed" || stage.Attributes[AttrStageType] != "model" {
		t.Errorf("attributes: run %v, unit %v, stage %v", run.Attributes, unit.Attributes, stage.Attributes)
	}
	if stage.StatusCode != "STATUS_CODE_ERROR" || stage.StatusMsg != "boom" || unit.StatusCode != "STATUS_CODE_UNSET" {
		t.Errorf("status: stage %s %q, unit %s", stage.StatusCode, stage.StatusMsg, unit.StatusCode)
	}
	var batch *otlptest.Event
	for i := range stage.Events {
		if stage.Events[i].Name == EventModelBatch {
			batch = &stage.Events[i]
		}
	}
	if batch == nil {
		t.Fatalf("stage events %v: no %s", stage.Events, EventModelBatch)
	}
	want := map[string]any{AttrModel: "minilm", AttrBackend: "cpu", AttrRows: int64(64), AttrLatency: 1.5}
	for k, v := range want {
		if batch.Attributes[k] != v {
			t.Errorf("%s event %s = %#v, want %#v", EventModelBatch, k, batch.Attributes[k], v)
		}
	}
}

func TestServiceNameFromEnv(t *testing.T) {
	clearEnv(t)
	r := otlptest.Start(t)
	t.Setenv(envEndpoint, "http://"+r.Endpoint())
	t.Setenv(envProtocol, ProtocolGRPC)
	t.Setenv("OTEL_SERVICE_NAME", "pipe-serve-eu")
	tr := setup(t)
	makeTree(tr)
	shutdown(t, tr)
	spans := r.WaitFor(t, otlptest.HasSpan(SpanRun), 5*time.Second)
	if got := spans[0].Resource["service.name"]; got != "pipe-serve-eu" {
		t.Errorf("service.name = %v, want OTEL_SERVICE_NAME's pipe-serve-eu", got)
	}
}

func TestSamplerFromEnv(t *testing.T) {
	tests := []struct {
		sampler, arg string
		want         int
	}{
		{"traceidratio", "0", 0},
		{"traceidratio", "1", 3},
		{"always_off", "", 0},
		{"parentbased_traceidratio", "0", 0},
		{"", "", 3},
	}
	for _, tc := range tests {
		t.Run(tc.sampler+"="+tc.arg, func(t *testing.T) {
			clearEnv(t)
			r := otlptest.Start(t)
			t.Setenv(envEndpoint, "http://"+r.Endpoint())
			t.Setenv(envProtocol, ProtocolGRPC)
			t.Setenv(envTracesSampler, tc.sampler)
			t.Setenv(envTracesSamplerArg, tc.arg)
			tr := setup(t)
			makeTree(tr)
			shutdown(t, tr)
			// Shutdown has flushed synchronously: what is not here now never comes.
			if got := len(r.Spans()); got != tc.want {
				t.Errorf("received %d spans, want %d", got, tc.want)
			}
		})
	}
}
