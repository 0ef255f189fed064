package tracing

import (
	"os"
	"strconv"
	"strings"
)

// Environment variables read by [Setup] itself. The exporters read the
// endpoint, headers, timeout, TLS and compression variables; sdktrace
// reads the sampler and batch-processor variables.
const (
	envSDKDisabled      = "OTEL_SDK_DISABLED"
	envTracesExporter   = "OTEL_TRACES_EXPORTER"
	envEndpoint         = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint   = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol         = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol   = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envTracesSampler    = "OTEL_TRACES_SAMPLER"
	envTracesSamplerArg = "OTEL_TRACES_SAMPLER_ARG"
)

// Protocols of the OTLP exporter, spelled as in OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// config is what [Setup] decides from the environment.
type config struct {
	enabled  bool
	protocol string // ProtocolGRPC or ProtocolHTTP when enabled
}

// configFromEnv reads and checks the variables that decide whether and how
// spans are exported. It fails on values the SDK would silently ignore.
func configFromEnv() (config, error) {
	if v := env(envSDKDisabled); strings.EqualFold(v, "true") {
		return config{}, nil
	}
	on, err := exporterFromEnv()
	if err != nil || !on {
		return config{}, err
	}
	proto, err := protocolFromEnv()
	if err != nil {
		return config{}, err
	}
	if err := checkSamplerEnv(); err != nil {
		return config{}, err
	}
	return config{enabled: true, protocol: proto}, nil
}

// exporterFromEnv reports whether OTEL_TRACES_EXPORTER asks for OTLP. Unset,
// it is otlp only when an OTLP endpoint is configured, so that tracing is
// off (and costless) unless someone points it somewhere.
func exporterFromEnv() (bool, error) {
	v := env(envTracesExporter)
	if v == "" {
		return env(envEndpoint) != "" || env(envTracesEndpoint) != "", nil
	}
	on := false
	for _, name := range strings.Split(v, ",") {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "otlp":
			on = true
		case "none":
		default:
			return false, &ConfigError{Var: envTracesExporter, Value: v, Msg: "supported exporters are otlp and none"}
		}
	}
	return on, nil
}

// protocolFromEnv returns the OTLP protocol for traces: the per-signal
// variable wins over the general one, and the default is http/protobuf as
// the OTLP exporter specification says.
func protocolFromEnv() (string, error) {
	name, v := envTracesProtocol, env(envTracesProtocol)
	if v == "" {
		name, v = envProtocol, env(envProtocol)
	}
	switch v {
	case "":
		return ProtocolHTTP, nil
	case ProtocolGRPC, ProtocolHTTP:
		return v, nil
	case "http/json":
		return "", &ConfigError{Var: name, Value: v, Msg: "the Go OTLP exporter does not support http/json; use grpc or http/protobuf"}
	default:
		return "", &ConfigError{Var: name, Value: v, Msg: "supported protocols are grpc and http/protobuf"}
	}
}

// checkSamplerEnv validates OTEL_TRACES_SAMPLER and its argument. sdktrace
// reads both itself, but on a bad value it only reports to the global
// error handler and samples everything; pipe fails instead.
func checkSamplerEnv() error {
	s := strings.ToLower(env(envTracesSampler))
	switch s {
	case "", "always_on", "always_off", "parentbased_always_on", "parentbased_always_off":
		return nil
	case "traceidratio", "parentbased_traceidratio":
	default:
		return &ConfigError{Var: envTracesSampler, Value: s, Msg: "supported samplers are always_on, always_off, traceidratio " +
			"and their parentbased_ forms"}
	}
	arg := env(envTracesSamplerArg)
	if arg == "" {
		return nil
	}
	r, err := strconv.ParseFloat(arg, 64)
	if err != nil || !(r >= 0 && r <= 1) { // also rejects NaN
		return &ConfigError{Var: envTracesSamplerArg, Value: arg, Msg: "want a sampling ratio between 0 and 1"}
	}
	return nil
}

// env returns the trimmed value of an environment variable.
func env(name string) string { return strings.TrimSpace(os.Getenv(name)) }
