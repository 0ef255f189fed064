package pipeline

import (
	"context"
	"testing"
)

// TestEdgeAdmission checks how many batches of one size an edge queues
// before it blocks the producer, and that they leave in order.
func TestEdgeAdmission(t *testing.T) {
	tests := []struct {
		name     string
		maxBytes int64
		size     int64
		want     int
	}{
		{"large batches: edgeBatches", 256 << 20, 2 << 20, edgeBatches},
		{"tiny batches run ahead", 256 << 20, 100, smallEdgeBatches},
		{"small batches up to smallEdgeBytes", 256 << 20, 64 << 10, smallEdgeBytes / (64 << 10)},
		{"budget binds before the count", 3 << 20, 2 << 20, 1},
		{"budget binds tiny batches too", 1000, 100, 10},
		{"an empty edge takes a batch over budget", 10, 100, 1},
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(tt.maxBytes)
			n := 0
			for ; n < 10*smallEdgeBatches; n++ {
				// A cancelled context: send returns its error instead of
				// waiting when the edge does not admit the batch.
				if err := e.send(canceled, nil, tt.size); err != nil {
					break
				}
			}
			if n != tt.want {
				t.Fatalf("queued %d batches of %d bytes, want %d", n, tt.size, tt.want)
			}
			if _, ok, err := e.recv(context.Background()); !ok || err != nil {
				t.Fatalf("recv: %v %v", ok, err)
			}
			if err := e.send(canceled, nil, tt.size); err != nil {
				t.Fatalf("after one recv the edge does not admit a batch again: %v", err)
			}
			e.close()
			got := 0
			for {
				_, ok, err := e.recv(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				got++
			}
			if got != tt.want {
				t.Fatalf("received %d batches after close, want %d", got, tt.want)
			}
		})
	}
}
