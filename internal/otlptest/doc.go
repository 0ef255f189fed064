// Package otlptest is an in-process OpenTelemetry collector for tests: it
// receives OTLP trace exports over gRPC and over HTTP (protobuf on
// /v1/traces) and keeps the spans, flattened, for assertions.
//
// # Use
//
//	r := otlptest.Start(t)
//	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+r.Endpoint())
//	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
//	... create spans, shut the tracer provider down ...
//	spans := r.WaitFor(t, otlptest.HasSpan("pipe.run"), 5*time.Second)
//
// [Receiver.HTTPEndpoint] is the address for the http/protobuf protocol.
//
// # Concurrency
//
// A [Receiver] owns a gRPC serving goroutine and an httptest server from
// [Start] until the test's cleanup, which stops both and waits for them.
// Its methods are safe for concurrent use.
package otlptest
