package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestLogHandler(t *testing.T) {
	withSpan := trace.ContextWithSpanContext(context.Background(), remoteSpanContext(t))
	tests := []struct {
		name   string
		ctx    context.Context
		logger func(*slog.Logger) *slog.Logger
		want   map[string]any // top-level keys expected; nil value means absent
	}{
		{"span", withSpan, nil, map[string]any{LogTraceID: remoteTrace, LogSpanID: remoteSpan}},
		{"no span", context.Background(), nil, map[string]any{LogTraceID: nil, LogSpanID: nil}},
		{"with attrs", withSpan, func(l *slog.Logger) *slog.Logger { return l.With("stage", "embed") },
			map[string]any{LogTraceID: remoteTrace, "stage": "embed"}},
		{"with group", withSpan, func(l *slog.Logger) *slog.Logger { return l.WithGroup("g") },
			map[string]any{"g": map[string]any{LogTraceID: remoteTrace, LogSpanID: remoteSpan}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil)))
			if tc.logger != nil {
				l = tc.logger(l)
			}
			l.InfoContext(tc.ctx, "hello")
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			for k, v := range tc.want {
				got, ok := rec[k]
				if v == nil && ok || v != nil && !equalJSON(got, v) {
					t.Errorf("%s = %v (present %v), want %v; line %s", k, got, ok, v, buf.String())
				}
			}
		})
	}
}

// equalJSON compares decoded JSON values by their encoding.
func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestLogAttrsAndTraceID(t *testing.T) {
	ctx := trace.ContextWithSpanContext(context.Background(), remoteSpanContext(t))
	attrs := LogAttrs(ctx)
	if len(attrs) != 2 || attrs[0].Value.String() != remoteTrace || attrs[1].Value.String() != remoteSpan {
		t.Errorf("LogAttrs = %v", attrs)
	}
	if TraceID(ctx) != remoteTrace {
		t.Errorf("TraceID = %q", TraceID(ctx))
	}
	if LogAttrs(context.Background()) != nil || TraceID(context.Background()) != "" {
		t.Error("no span: want no attributes and no trace id")
	}
}
