package tracing

import (
	"errors"
	"fmt"
)

// ErrConfig is the category of every configuration error from [Setup]:
// an OTEL_* variable with a value this build does not accept.
var ErrConfig = errors.New("tracing config")

// ConfigError names the variable and value that [Setup] rejected. It
// unwraps to [ErrConfig].
type ConfigError struct {
	Var   string // environment variable, e.g. OTEL_EXPORTER_OTLP_PROTOCOL
	Value string // the value found
	Msg   string // what is wrong and what is accepted
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("%v: %s=%q: %s", ErrConfig, e.Var, e.Value, e.Msg)
}

// Unwrap returns [ErrConfig].
func (e *ConfigError) Unwrap() error { return ErrConfig }
