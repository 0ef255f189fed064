package batcher

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		keys []string // keys of the expected PolicyErrors, in order
	}{
		{"minimal", Policy{MaxRows: 1}, nil},
		{"full", Policy{MaxRows: 512, MaxDelay: 2 * time.Millisecond, PreferredRows: []int{256, 64}, PadTo: 512}, nil},
		{"adaptive defaults", Policy{MaxRows: 512, Adaptive: &Adaptive{TargetLatency: time.Millisecond}}, nil},
		{"adaptive range", Policy{MaxRows: 512, Adaptive: &Adaptive{TargetLatency: time.Millisecond, MinRows: 8, MaxRows: 256}}, nil},
		{"zero max_rows", Policy{}, []string{"max_rows"}},
		{"negative delay", Policy{MaxRows: 4, MaxDelay: -1}, []string{"max_delay"}},
		{"preferred out of range", Policy{MaxRows: 4, PreferredRows: []int{0, 5, 2, 2}}, []string{"preferred_rows[0]", "preferred_rows[1]", "preferred_rows[3]"}},
		{"pad below max", Policy{MaxRows: 8, PadTo: 4}, []string{"pad_to"}},
		{"negative pad", Policy{MaxRows: 8, PadTo: -1}, []string{"pad_to"}},
		{"adaptive with pad", Policy{MaxRows: 8, PadTo: 8, Adaptive: &Adaptive{TargetLatency: time.Millisecond}}, []string{"adaptive"}},
		{"adaptive no latency", Policy{MaxRows: 8, Adaptive: &Adaptive{}}, []string{"adaptive.target_latency"}},
		{"adaptive max above", Policy{MaxRows: 8, Adaptive: &Adaptive{TargetLatency: 1, MaxRows: 9}}, []string{"adaptive.max_rows"}},
		{"adaptive min above max", Policy{MaxRows: 8, Adaptive: &Adaptive{TargetLatency: 1, MinRows: 6, MaxRows: 4}}, []string{"adaptive.min_rows"}},
		{"adaptive min above policy max", Policy{MaxRows: 8, Adaptive: &Adaptive{TargetLatency: 1, MinRows: 9}}, []string{"adaptive.min_rows"}},
		{"adaptive negatives", Policy{MaxRows: 8, Adaptive: &Adaptive{TargetLatency: 1, MinRows: -1, MaxRows: -1}}, []string{"adaptive.min_rows", "adaptive.max_rows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			var keys []string
			if err != nil {
				if !errors.Is(err, ErrInvalidPolicy) {
					t.Errorf("error %v does not wrap ErrInvalidPolicy", err)
				}
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var pe *PolicyError
					if !errors.As(e, &pe) {
						t.Fatalf("error %v is not a *PolicyError", e)
					}
					keys = append(keys, pe.Key)
				}
			}
			if !slices.Equal(keys, tt.keys) {
				t.Errorf("keys = %q, want %q (error: %v)", keys, tt.keys, err)
			}
			if _, nerr := New(tt.p, memAlloc(t)); (nerr == nil) != (tt.keys == nil) {
				t.Errorf("New error = %v, want error %v", nerr, tt.keys != nil)
			}
		})
	}
}

func TestPolicyErrorMessage(t *testing.T) {
	err := Policy{MaxRows: 8, PadTo: 4}.Validate()
	const want = "batch policy: pad_to: 4 is below max_rows (8): a batch could not be padded to it"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
