package executor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/backendtest"
)

// BenchmarkAdmission is the hot path of every call: admit and release
// with capacity free. Target: < 100 ns/op, 0 allocs.
func BenchmarkAdmission(b *testing.B) {
	a := newAdmission(64, 1<<30, realClock{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.acquire(ctx, 4096, time.Minute); err != nil {
			b.Fatal(err)
		}
		a.release(4096)
	}
}

// BenchmarkRegistryLookup finds a loaded model by its precomputed key
// among 32. Target: < 20 ns/op, 0 allocs.
func BenchmarkRegistryLookup(b *testing.B) {
	r := newRegistry(1 << 40)
	var keys []regKey
	r.mu.Lock()
	for i := range 32 {
		k := makeKey(fmt.Sprintf("%064x\x00cpu\x00intra=%d inter=0 opt= spin=default", i, i))
		r.insertLocked(&entry{key: k.s, hash: k.h, loaded: true})
		keys = append(keys, k)
	}
	r.mu.Unlock()
	k := keys[17]
	b.ReportAllocs()
	for b.Loop() {
		if r.lookup(k) == nil {
			b.Fatal("not found")
		}
	}
}

// BenchmarkEWMA is one health update. Target: < 10 ns/op, 0 allocs.
func BenchmarkEWMA(b *testing.B) {
	e := ewma{alpha: 0.2}
	x := 0.0
	b.ReportAllocs()
	for b.Loop() {
		x += 0.001
		e.add(x)
	}
	if e.value == 0 {
		b.Fatal("no value")
	}
}

// BenchmarkSubmit is a whole call through admission, the fake backend's
// lane and back, for reference.
func BenchmarkSubmit(b *testing.B) {
	e, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	fb := backendtest.New(backendtest.Config{Name: "bench"})
	bridge.Register(fb)
	defer bridge.Unregister("bench")
	path := b.TempDir() + "/m.fake"
	if err := writeFile(path, "bench"); err != nil {
		b.Fatal(err)
	}
	m, err := e.Open(context.Background(), ModelSpec{Stage: "b", Path: path, Backends: []string{"bench"}})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	mem := memoryForBench()
	in := backendtest.Input(mem, 16, 4)
	ins := []bridge.Tensor{in}
	b.ReportAllocs()
	for b.Loop() {
		c, err := m.Submit(context.Background(), ins, mem)
		if err != nil {
			b.Fatal(err)
		}
		out, err := c.Result()
		if err != nil {
			b.Fatal(err)
		}
		backendtest.Free(mem, out)
	}
}
