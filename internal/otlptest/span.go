package otlptest

import (
	"encoding/hex"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Span is one received span, flattened out of its resource and scope.
// Ids are lower-case hex; ParentSpanID is "" for a root span.
type Span struct {
	Name         string
	Kind         string // e.g. SPAN_KIND_SERVER
	TraceID      string
	SpanID       string
	ParentSpanID string
	Start, End   time.Time
	Attributes   map[string]any // string, bool, int64, float64, []byte, []any, map[string]any
	Events       []Event
	StatusCode   string // STATUS_CODE_UNSET, STATUS_CODE_OK or STATUS_CODE_ERROR
	StatusMsg    string
	Resource     map[string]any
	Scope        string
	Protocol     string // "grpc" or "http": how the span arrived
}

// Event is one span event.
type Event struct {
	Name       string
	Time       time.Time
	Attributes map[string]any
}

// flatten turns the spans of one export request into [Span] values.
func flatten(rss []*tracepb.ResourceSpans, protocol string) []Span {
	var out []Span
	for _, rs := range rss {
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				out = append(out, Span{
					Name:         s.GetName(),
					Kind:         s.GetKind().String(),
					TraceID:      hex.EncodeToString(s.GetTraceId()),
					SpanID:       hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
					Start:        unixNano(s.GetStartTimeUnixNano()),
					End:          unixNano(s.GetEndTimeUnixNano()),
					Attributes:   attrs(s.GetAttributes()),
					Events:       events(s.GetEvents()),
					StatusCode:   s.GetStatus().GetCode().String(),
					StatusMsg:    s.GetStatus().GetMessage(),
					Resource:     res,
					Scope:        ss.GetScope().GetName(),
					Protocol:     protocol,
				})
			}
		}
	}
	return out
}

// events flattens span events.
func events(evs []*tracepb.Span_Event) []Event {
	var out []Event
	for _, e := range evs {
		out = append(out, Event{Name: e.GetName(), Time: unixNano(e.GetTimeUnixNano()), Attributes: attrs(e.GetAttributes())})
	}
	return out
}

// attrs turns OTLP key-values into a map; never nil.
func attrs(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = value(kv.GetValue())
	}
	return m
}

// value converts one OTLP AnyValue to a Go value.
func value(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return x.BytesValue
	case *commonpb.AnyValue_ArrayValue:
		var out []any
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, value(e))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		return attrs(x.KvlistValue.GetValues())
	default:
		return nil
	}
}

// unixNano converts an OTLP timestamp; 0 stays the zero time.
func unixNano(ns uint64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns))
}

// HasSpan returns a [Receiver.WaitFor] condition true once a span with
// each of the given names has arrived.
func HasSpan(names ...string) func([]Span) bool {
	return func(spans []Span) bool {
		for _, n := range names {
			if ByName(spans, n) == nil {
				return false
			}
		}
		return true
	}
}

// ByName returns the first span called name, or nil.
func ByName(spans []Span, name string) *Span {
	for i := range spans {
		if spans[i].Name == name {
			return &spans[i]
		}
	}
	return nil
}
