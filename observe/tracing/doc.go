// Package tracing sets up OpenTelemetry tracing for pipe from the standard
// OTEL_* environment variables and holds the span names, attribute keys
// and small helpers that `pipe run` and `pipe serve` use.
//
// # Configuration
//
// [Setup] decides from the environment; nothing is configured in job YAML.
//
//   - OTEL_TRACES_EXPORTER: otlp or none. Unset, tracing is on only when
//     OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
//     set (the specification's default is otlp; pipe stays off unless
//     pointed somewhere). OTEL_SDK_DISABLED=true turns it off.
//   - OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: grpc
//     or http/protobuf (default http/protobuf, as the specification says;
//     the Go exporter has no http/json). Read by [Setup], the per-signal
//     variable winning.
//   - OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT, _INSECURE,
//     _COMPRESSION, _CERTIFICATE and the client-certificate pair: read by the
//     OTLP exporters themselves. An http:// endpoint means no TLS.
//   - OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG (always_on, always_off,
//     traceidratio, parentbased_*; default parentbased_always_on): read by
//     the SDK's tracer provider. [Setup] only validates them, because the
//     SDK would log a bad value and sample everything.
//   - OTEL_BSP_* (batch span processor queue, delay, export size): SDK.
//   - OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: resource attributes,
//     overriding the service name and version given to [Setup].
//
// Disabled, [Setup] starts nothing and [Tracing.Tracer] is a no-op tracer
// (go.opentelemetry.io/otel/trace/noop): starting a span records nothing and
// costs one small context allocation (about 50 bytes), and
// [AddModelBatch] returns at once. Setup never
// sets OpenTelemetry's global tracer provider or propagator: the tracer
// is passed explicitly, like the Prometheus registerer.
//
// # Spans pipe creates
//
// A batch run (`pipe run`):
//
//	pipe.run                       attrs: pipe.job
//	└── pipe.unit  (per work unit) attrs: pipe.unit.id
//	    └── pipe.stage (per stage) attrs: pipe.stage.id, pipe.stage.type
//	        · event model.batch    attrs: pipe.model, pipe.backend, pipe.rows, pipe.latency_seconds
//
// Model calls are events on the stage span ([AddModelBatch]), never a span
// per row. [TraceID] of the run context goes into the run report and the
// logs ([NewLogHandler] adds trace_id and span_id to every record logged
// with a span's context).
//
// Serving (`pipe serve`), per request:
//
//	pipe.infer (server kind; continues the client's W3C traceparent)
//	├── pipe.queue       waiting for a batch
//	└── pipe.batch       the batch it joined: pipe.batch.size, pipe.batch.id, pipe.model, pipe.backend
//	    └── pipe.backend.run   the backend call
//
// HTTP handlers start pipe.infer from [ExtractHTTP](r.Context(), r.Header),
// gRPC handlers from [ExtractGRPC](ctx). The names are the Span* and Attr*
// constants; wiring code uses them so tests and dashboards agree.
//
// # Why no contrib instrumentation
//
// otelhttp and otelgrpc would add semantic-convention attributes and
// their own metrics for each request, at the price of two more modules
// and spans whose names pipe does not choose. Extracting a traceparent is
// three lines with [Propagator], so pipe uses plain propagation.
//
// # Ownership and concurrency
//
// An enabled [Tracing] owns the batch span processor's goroutine and the
// exporter's connection from [Setup] until [Tracing.Shutdown], which
// flushes pending spans and waits (bounded by its ctx). Call Shutdown on
// every path out of the command. All methods and helpers are safe for
// concurrent use; a nil *Tracing behaves as a disabled one.
//
// # Errors
//
// Configuration errors are [*ConfigError] values naming the variable and
// value, wrapping [ErrConfig]; they come from [Setup] before any work
// starts. Export failures (collector down) never fail a run: the SDK drops
// the spans and reports to OpenTelemetry's error handler.
package tracing
