package tracing

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/otlptest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

// clearEnv unsets (for this test) every variable that could leak in from
// the developer's shell.
func clearEnv(t *testing.T) {
	for _, k := range []string{
		envSDKDisabled, envTracesExporter, envEndpoint, envTracesEndpoint, envProtocol, envTracesProtocol,
		envTracesSampler, envTracesSamplerArg, "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_COMPRESSION",
	} {
		t.Setenv(k, "")
	}
}

// setup calls Setup and shuts tracing down when the test ends.
func setup(t *testing.T) *Tracing {
	t.Helper()
	tr, err := Setup(context.Background(), "pipe", "1.2.3")
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}

// shutdown flushes tr, failing the test on error.
func shutdown(t *testing.T, tr *Tracing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestSetupDisabled(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string // endpoint is always the live receiver
	}{
		{"no endpoint", map[string]string{}},
		{"exporter none", map[string]string{envEndpoint: "receiver", envTracesExporter: "none"}},
		{"sdk disabled", map[string]string{envEndpoint: "receiver", envSDKDisabled: "true"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			r := otlptest.Start(t)
			t.Setenv(envProtocol, ProtocolGRPC)
			for k, v := range tc.env {
				if v == "receiver" {
					v = "http://" + r.Endpoint()
				}
				t.Setenv(k, v)
			}
			before := goleak.IgnoreCurrent()
			tr, err := Setup(context.Background(), "pipe", "1.2.3")
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			// Nothing started: no goroutine even before Shutdown.
			goleak.VerifyNone(t, before)
			if tr.Enabled() || tr.Protocol() != "" {
				t.Errorf("Enabled() = %v, Protocol() = %q; want disabled", tr.Enabled(), tr.Protocol())
			}
			ctx, span := tr.Tracer().Start(context.Background(), SpanRun)
			AddModelBatch(span, ModelBatch{Model: "m", Rows: 3})
			span.End()
			if span.IsRecording() || span.SpanContext().IsValid() || TraceID(ctx) != "" {
				t.Errorf("disabled tracer made a real span: recording %v, valid %v", span.IsRecording(), span.SpanContext().IsValid())
			}
			shutdown(t, tr)
			if n := r.Requests(); n != 0 {
				t.Errorf("receiver got %d export requests while disabled", n)
			}
		})
	}
}

func TestNilTracingIsDisabled(t *testing.T) {
	var tr *Tracing
	_, span := tr.Tracer().Start(context.Background(), SpanRun)
	if tr.Enabled() || span.IsRecording() || tr.Shutdown(context.Background()) != nil {
		t.Error("nil *Tracing is not a quiet no-op")
	}
	if _, ok := tr.TracerProvider().(trace.TracerProvider); !ok {
		t.Error("nil *Tracing has no TracerProvider")
	}
}

func TestSetupConfigErrors(t *testing.T) {
	tests := []struct {
		name, key, value, wantVar string
	}{
		{"unknown exporter", envTracesExporter, "zipkin", envTracesExporter},
		{"json protocol", envProtocol, "http/json", envProtocol},
		{"unknown protocol", envProtocol, "udp", envProtocol},
		{"unknown traces protocol", envTracesProtocol, "h2", envTracesProtocol},
		{"unknown sampler", envTracesSampler, "sometimes", envTracesSampler},
		{"ratio above 1", envTracesSamplerArg, "2", envTracesSamplerArg},
		{"ratio not a number", envTracesSamplerArg, "half", envTracesSamplerArg},
		{"ratio NaN", envTracesSamplerArg, "NaN", envTracesSamplerArg},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(envEndpoint, "http://127.0.0.1:1")
			t.Setenv(envTracesSampler, "traceidratio")
			t.Setenv(tc.key, tc.value)
			tr, err := Setup(context.Background(), "pipe", "1")
			if err == nil {
				_ = tr.Shutdown(context.Background())
				t.Fatalf("Setup accepted %s=%q", tc.key, tc.value)
			}
			var ce *ConfigError
			if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) || ce.Var != tc.wantVar {
				t.Fatalf("error %v: want a *ConfigError for %s", err, tc.wantVar)
			}
			if !strings.Contains(err.Error(), tc.value) {
				t.Errorf("error %q does not quote the value %q", err, tc.value)
			}
		})
	}
}

// makeTree creates pipe.run > pipe.unit > pipe.stage, the stage with a
// model.batch event and an error.
func makeTree(tr *Tracing) {
	ctx, run := tr.Tracer().Start(context.Background(), SpanRun, trace.WithAttributes(attribute.String(AttrJob, "embed")))
	uctx, unit := tr.Tracer().Start(ctx, SpanUnit, trace.WithAttributes(attribute.String(AttrUnit, "part-0001")))
	_, stage := tr.Tracer().Start(uctx, SpanStage, trace.WithAttributes(
		attribute.String(AttrStageID, "embed"), attribute.String(AttrStageType, "model")))
	AddModelBatch(stage, ModelBatch{Model: "minilm", Backend: "cpu", Rows: 64, Latency: 1500 * time.Millisecond})
	End(stage, errors.New("boom"))
	End(unit, nil)
	run.End()
}
