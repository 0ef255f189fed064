package units

import "testing"

func TestBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1<<20 - 1, "1024.0 KiB"},
		{1 << 20, "1.0 MiB"},
		{5 << 30, "5.0 GiB"},
		{1 << 62, "4.0 EiB"},
	}
	for _, tt := range tests {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		v, kilo float64
		want    string
	}{
		{0, 1e3, "0"},
		{999.4, 1e3, "999"},
		{1000, 1e3, "1.0k"},
		{1500, 1e3, "1.5k"},
		{1500, 1e4, "1500"},
		{9999, 1e4, "9999"},
		{10000, 1e4, "10.0k"},
		{123456, 1e3, "123.5k"},
		{1e6, 1e4, "1.00M"},
		{1234567, 1e3, "1.23M"},
	}
	for _, tt := range tests {
		if got := Rate(tt.v, tt.kilo); got != tt.want {
			t.Errorf("Rate(%v, %v) = %q, want %q", tt.v, tt.kilo, got, tt.want)
		}
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		sec  float64
		want string
	}{
		{0, "0s"},
		{0.0000012, "1µs"},
		{0.000999, "999µs"},
		{0.00123456, "1.23ms"},
		{0.5, "500ms"},
		{1.23456, "1.235s"},
		{75, "1m15s"},
	}
	for _, tt := range tests {
		if got := Seconds(tt.sec); got != tt.want {
			t.Errorf("Seconds(%v) = %q, want %q", tt.sec, got, tt.want)
		}
	}
}
