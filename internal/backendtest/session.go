package backendtest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

// session is a model "loaded" by the fake backend: y = 2x + 1.
type session struct {
	b    *Backend
	info bridge.ModelInfo
}

// Info describes x [N, k] -> y [N, k], both float32.
func (s *session) Info() bridge.ModelInfo { return s.info }

// Close counts the close.
func (s *session) Close() error {
	s.b.closes.Add(1)
	return nil
}

// Run applies the injected faults, then computes y = 2x + 1 into a tensor
// allocated from mem.
func (s *session) Run(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) ([]bridge.Tensor, error) {
	b := s.b
	b.calls.Add(1)
	cur := b.running.Add(1)
	defer b.running.Add(-1)
	for {
		p := b.peak.Load()
		if cur <= p || b.peak.CompareAndSwap(p, cur) {
			break
		}
	}

	b.mu.Lock()
	rows := -1
	if len(in) > 0 && len(in[0].Shape) > 0 {
		rows = int(in[0].Shape[0])
	}
	b.rows = append(b.rows, rows)
	var fail *bridge.Class
	if b.failFirst > 0 {
		b.failFirst--
		c := b.failClass
		fail = &c
	} else if b.failAll != nil {
		c := *b.failAll
		fail = &c
	}
	latency, gate, panicMsg := b.latency, b.gate, b.panicMsg
	b.mu.Unlock()
	if panicMsg != "" {
		panic(panicMsg)
	}

	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, s.canceled(ctx)
		}
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, s.canceled(ctx)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, s.canceled(ctx)
	}
	if fail != nil {
		return nil, b.injected("run", *fail)
	}
	if err := s.check(in); err != nil {
		return nil, err
	}

	x := in[0]
	out := bridge.Tensor{Type: bridge.Float32, Shape: []int64{x.Shape[0], x.Shape[1]}, Data: mem.Allocate(len(x.Data))}
	for i := 0; i+4 <= len(x.Data); i += 4 {
		v := math.Float32frombits(binary.LittleEndian.Uint32(x.Data[i:]))
		binary.LittleEndian.PutUint32(out.Data[i:], math.Float32bits(2*v+1))
	}
	return []bridge.Tensor{out}, nil
}

func (s *session) canceled(ctx context.Context) error {
	return &bridge.Error{Backend: s.b.cfg.Name, Op: "run", Class: bridge.ClassCanceled, Err: ctx.Err()}
}

// check validates the input against x [N, k] and rejects rows holding the
// marker value.
func (s *session) check(in []bridge.Tensor) error {
	bad := func(format string, args ...any) error {
		return &bridge.Error{Backend: s.b.cfg.Name, Op: "run", Class: bridge.ClassInvalidInput, Msg: fmt.Sprintf(format, args...)}
	}
	if len(in) != 1 {
		return bad("want 1 input tensor (x), got %d", len(in))
	}
	x := in[0]
	k := int64(s.b.cfg.K)
	if x.Type != bridge.Float32 {
		return bad("input x: want float32, got %s", x.Type)
	}
	if len(x.Shape) != 2 || x.Shape[1] != k || x.Shape[0] < 0 {
		return bad("input x: want shape [N, %d], got %v", k, x.Shape)
	}
	if n := s.b.cfg.StaticBatch; n > 0 && x.Shape[0] != n {
		return bad("input x: want %d rows (static batch), got %d", n, x.Shape[0])
	}
	if int64(len(x.Data)) != x.Shape[0]*k*4 {
		return bad("input x: shape %v needs %d bytes, got %d", x.Shape, x.Shape[0]*k*4, len(x.Data))
	}
	for i := 0; i+4 <= len(x.Data); i += 4 {
		v := math.Float32frombits(binary.LittleEndian.Uint32(x.Data[i:]))
		if s.b.isMarker(v) {
			return bad("input x: row %d holds the marker value %v", int64(i/4)/k, v)
		}
	}
	return nil
}
