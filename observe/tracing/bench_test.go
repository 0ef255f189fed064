package tracing

import (
	"context"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/otlptest"
)

// BenchmarkStageSpan measures what the batch-run wiring pays per stage
// span with one model.batch event, disabled and enabled (exporting to an
// in-process receiver).
func BenchmarkStageSpan(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "disabled"
		if on {
			name = "enabled"
		}
		b.Run(name, func(b *testing.B) {
			for _, k := range []string{envTracesExporter, envEndpoint, envTracesEndpoint, envProtocol, envTracesSampler, envSDKDisabled} {
				b.Setenv(k, "")
			}
			if on {
				r := otlptest.Start(b)
				b.Setenv(envEndpoint, "http://"+r.Endpoint())
				b.Setenv(envProtocol, ProtocolGRPC)
			}
			tr, err := Setup(context.Background(), "pipe", "bench")
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = tr.Shutdown(context.Background()) }()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, span := tr.Tracer().Start(ctx, SpanStage)
				AddModelBatch(span, ModelBatch{Model: "m", Backend: "cpu", Rows: 64, Latency: time.Millisecond})
				span.End()
			}
		})
	}
}
