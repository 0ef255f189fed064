package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// load is one load run's settings.
type load struct {
	url      string        // the infer endpoint
	clients  int           // closed loop: requests in flight, each sent when the last one answered
	rate     int           // open loop (when > 0): requests per second, whatever the answers
	duration time.Duration // how long requests are sent
	timeout  time.Duration // one request's limit
	bodies   [][]byte      // request bodies, used in turn
}

// bodies returns n KServe v2 JSON bodies of one row each: one FP32 [1,
// width] input named input, values from a fixed-seed generator.
func bodies(n, width int, input string) [][]byte {
	rng := rand.New(rand.NewPCG(7, 11))
	out := make([][]byte, n)
	for i := range out {
		var b strings.Builder
		fmt.Fprintf(&b, `{"inputs":[{"name":%q,"datatype":"FP32","shape":[1,%d],"data":[`, input, width)
		for j := range width {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(rng.NormFloat64(), 'f', 4, 32))
		}
		b.WriteString("]}]}")
		out[i] = []byte(b.String())
	}
	return out
}

// attack runs l with vegeta's attacker and returns every request's
// outcome. Closed loop: rate 0 (vegeta's "as fast as possible") with
// exactly l.clients workers, so each worker is a client sending its next
// request when the last one answered. Open loop: a constant pacer at
// l.rate, with as many workers as it takes to keep the rate. Cancelling
// ctx stops sending; attack returns once every request in flight is done.
func attack(ctx context.Context, l load) []sample {
	tr := &http.Transport{MaxIdleConnsPerHost: max(l.clients, 1024), DisableCompression: true}
	defer tr.CloseIdleConnections()
	opts := []func(*vegeta.Attacker){vegeta.Client(&http.Client{Transport: tr, Timeout: l.timeout}), vegeta.MaxBody(1 << 20)}
	pacer := vegeta.ConstantPacer{Freq: l.rate, Per: time.Second}
	if l.rate <= 0 {
		pacer = vegeta.ConstantPacer{}
		opts = append(opts, vegeta.Workers(uint64(l.clients)), vegeta.MaxWorkers(uint64(l.clients)))
	}
	a := vegeta.NewAttacker(opts...)
	hdr := http.Header{"Content-Type": []string{"application/json"}}
	targets := make([]vegeta.Target, len(l.bodies))
	for i, b := range l.bodies {
		targets[i] = vegeta.Target{Method: http.MethodPost, URL: l.url, Body: b, Header: hdr}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
			a.Stop()
		case <-done:
		}
	})
	defer wg.Wait()
	defer close(done)
	var out []sample
	// The attacker closes the channel after its last worker returned.
	for r := range a.Attack(vegeta.NewStaticTargeter(targets...), pacer, l.duration, "serveload") {
		out = append(out, sample{start: r.Timestamp, latency: r.Latency, code: int(r.Code),
			badBody: r.Code == http.StatusOK && !bytes.Contains(r.Body, []byte(`"outputs"`))})
	}
	return out
}

// waitReady polls base/v2/health/ready until it answers 200 or timeout
// passes.
func waitReady(ctx context.Context, base string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: time.Second}
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/health/ready", nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s not ready after %s (last: %s)", ErrNotReady, base, timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
