package faultproxy

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Faults are the probabilities, per request, of each fault; at most one
// fault hits a request. The zero value injects none.
type Faults struct {
	// Seed seeds the draws.
	Seed uint64
	// Refuse answers 503 SlowDown without forwarding the request.
	Refuse float64
	// Reset closes the connection without an answer, after reading the
	// request.
	Reset float64
	// Truncate forwards the request and cuts the connection after half of
	// the answer's body (answers with a body of 2 bytes or more).
	Truncate float64
	// Slow forwards the request after Delay.
	Slow  float64
	Delay time.Duration
	// Only, when set, limits faults to the requests it accepts.
	Only func(*http.Request) bool
}

// Kind names a fault.
type Kind int

// The faults.
const (
	Refused Kind = iota
	ResetConn
	Truncated
	Slowed
	kinds
)

func (k Kind) String() string {
	return [...]string{"refused", "reset", "truncated", "slowed"}[k]
}

// Proxy forwards requests to a target server, injecting faults.
type Proxy struct {
	// URL is the proxy's address: http://127.0.0.1:PORT.
	URL    string
	target string
	srv    *httptest.Server

	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand

	counts   [kinds]atomic.Int64
	requests atomic.Int64
}

// Start starts a proxy to target (http://HOST:PORT) with faults f; it is
// closed when the test ends.
func Start(t testing.TB, target string, f Faults) *Proxy {
	t.Helper()
	p := &Proxy{target: target}
	p.SetFaults(f)
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// SetFaults replaces the faults (and reseeds the draws).
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults, p.rng = f, rand.New(rand.NewPCG(f.Seed, 0x5eed))
}

// Count returns how many requests fault k hit.
func (p *Proxy) Count(k Kind) int64 { return p.counts[k].Load() }

// Requests returns how many requests the proxy received.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// draw picks the fault for r: a Kind, or -1 for none.
func (p *Proxy) draw(r *http.Request) (Kind, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.faults
	if f.Only != nil && !f.Only(r) {
		return -1, 0
	}
	x := p.rng.Float64()
	for k, pr := range [kinds]float64{f.Refuse, f.Reset, f.Truncate, f.Slow} {
		if x < pr {
			return Kind(k), f.Delay
		}
		x -= pr
	}
	return -1, 0
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	kind, delay := p.draw(r)
	if kind >= 0 {
		p.counts[kind].Add(1)
	}
	switch kind {
	case Refused:
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		return
	case ResetConn:
		_, _ = io.Copy(io.Discard, r.Body)
		hangUp(w)
		return
	case Slowed:
		time.Sleep(delay)
	}
	p.forward(w, r, kind == Truncated)
}

// forward sends r to the target and copies the answer back; with cut, only
// the first half of a body of 2 bytes or more, then the connection drops.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, cut bool) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host // the signature covers the Host the client used
	out.ContentLength = r.ContentLength
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	var body io.Reader = resp.Body
	size := resp.ContentLength
	if cut && size < 0 {
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			hangUp(w)
			return
		}
		body, size = bytes.NewReader(data), int64(len(data))
	}
	if cut && size >= 2 {
		w.Header().Del("Transfer-Encoding")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.CopyN(w, body, size/2)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		hangUp(w)
		return
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, body)
}

// hangUp closes the client's connection at once.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: the server cannot hijack connections")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	flushBuffered(buf)
	_ = conn.Close()
}

// flushBuffered writes what the hijacked connection's buffer still holds.
func flushBuffered(buf *bufio.ReadWriter) {
	if buf != nil {
		_ = buf.Flush()
	}
}
