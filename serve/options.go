package serve

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Defaults for the zero fields of [Options].
const (
	DefaultMaxQueue      = 64
	DefaultMaxBodyBytes  = 64 << 20
	DefaultMaxElements   = 16 << 20
	DefaultDrainTimeout  = 30 * time.Second
	DefaultServerName    = "pipe"
	defaultRetryAfterSec = "1"
)

// Options configures a [Server]. Zero fields take the defaults above.
type Options struct {
	// MaxQueue is how many requests one model may have admitted but not
	// yet answered; one more is refused at once with [ErrQueueFull].
	MaxQueue int
	// MaxBodyBytes caps a REST body and a gRPC message received by the
	// server [Server.Serve] starts.
	MaxBodyBytes int64
	// MaxElements caps the tensor elements of one request, all inputs
	// together; shapes over it are refused before anything is allocated.
	MaxElements int64
	// Token, when set, is the bearer token every endpoint but
	// /v2/health/* and /metrics (REST) and ServerLive/ServerReady (gRPC)
	// requires: "Authorization: Bearer <Token>" or gRPC metadata
	// "authorization" with the same value.
	Token string
	// Registerer receives the server's metrics; nil: a private registry.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves; nil: Registerer when it is also a
	// Gatherer (a *prometheus.Registry), else the private registry.
	Gatherer prometheus.Gatherer
	// Logger logs internal errors and the drain; nil discards.
	Logger *slog.Logger
	// ServerName and ServerVersion answer server metadata.
	ServerName    string
	ServerVersion string
	// DrainTimeout bounds how long [Server.Serve] waits for in-flight
	// requests after its context is done before it cancels them.
	DrainTimeout time.Duration
	// TLS, when set, serves both listeners of [Server.Serve] over TLS.
	TLS *tls.Config
	// Tracer records a server span (tracing.SpanInfer) per inference
	// request, continuing the client's trace when it sends a W3C
	// traceparent; the Model gets its context. Nil records none.
	Tracer trace.Tracer
}

// withDefaults returns o with its zero fields set.
func (o Options) withDefaults() Options {
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxElements <= 0 {
		o.MaxElements = DefaultMaxElements
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.ServerName == "" {
		o.ServerName = DefaultServerName
	}
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider().Tracer("")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
