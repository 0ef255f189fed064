package tracing

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of every span pipe creates.
const ScopeName = "github.com/pipe-ml/pipe"

// Tracing is the tracer of one pipe process. The zero value and a nil
// *Tracing are valid and disabled: [Tracing.Tracer] returns a no-op tracer.
type Tracing struct {
	provider *sdktrace.TracerProvider // nil when disabled
	tracer   trace.Tracer
	protocol string
}

// Setup configures tracing from the standard OTEL_* environment variables.
// service and version name the process (OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override them).
//
// Tracing is enabled when OTEL_TRACES_EXPORTER is otlp, or when it is unset
// and OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set. Disabled, Setup starts nothing and the returned tracer is a no-op.
// Enabled, spans go through a batch span processor to an OTLP exporter
// speaking OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL (grpc or http/protobuf,
// default http/protobuf); call [Tracing.Shutdown] to flush them.
//
// Setup fails with a [*ConfigError] on a value it cannot honour. It does
// not dial the collector: an unreachable endpoint shows up as export
// errors on the OpenTelemetry error handler, not here.
func Setup(ctx context.Context, service, version string) (*Tracing, error) {
	cfg, err := configFromEnv()
	if err != nil {
		return nil, err
	}
	if !cfg.enabled {
		return &Tracing{tracer: noop.NewTracerProvider().Tracer(ScopeName)}, nil
	}
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(
			attribute.String("service.name", service),
			attribute.String("service.version", version),
		),
		resource.WithFromEnv(), // after ours, so OTEL_SERVICE_NAME wins
	)
	if err != nil {
		return nil, fmt.Errorf("%w: resource from OTEL_RESOURCE_ATTRIBUTES/OTEL_SERVICE_NAME: %w", ErrConfig, err)
	}
	exp, err := newExporter(ctx, cfg.protocol)
	if err != nil {
		return nil, fmt.Errorf("tracing: otlp %s exporter: %w", cfg.protocol, err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER(_ARG), read by sdktrace
	// (validated in configFromEnv); batching from OTEL_BSP_*.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{
		provider: tp,
		tracer:   tp.Tracer(ScopeName, trace.WithInstrumentationVersion(version)),
		protocol: cfg.protocol,
	}, nil
}

// newExporter builds the OTLP exporter for protocol; it reads endpoint,
// headers, timeout, TLS and compression from OTEL_EXPORTER_OTLP_*.
func newExporter(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
	if protocol == ProtocolGRPC {
		return otlptracegrpc.New(ctx)
	}
	return otlptracehttp.New(ctx)
}

// Enabled reports whether spans are exported.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// Protocol returns the OTLP protocol in use, or "" when disabled.
func (t *Tracing) Protocol() string {
	if !t.Enabled() {
		return ""
	}
	return t.protocol
}

// Tracer returns the tracer for pipe's spans: a no-op tracer when
// tracing is disabled, so callers never check [Tracing.Enabled].
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil || t.tracer == nil {
		return noop.NewTracerProvider().Tracer(ScopeName)
	}
	return t.tracer
}

// TracerProvider returns the provider behind [Tracing.Tracer], for
// libraries that take one. It is a no-op provider when disabled.
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if !t.Enabled() {
		return noop.NewTracerProvider()
	}
	return t.provider
}

// Shutdown flushes the spans not yet exported and stops the exporter,
// waiting at most until ctx is done. It is a no-op when disabled; calling
// it twice is harmless.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("tracing: shutdown: %w", err)
	} else if err != nil {
		return fmt.Errorf("tracing: shutdown cancelled: %w", err)
	}
	return nil
}
