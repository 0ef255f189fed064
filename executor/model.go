package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pipe-ml/pipe/bridge"
)

// RetryPolicy configures retries of transient and resource-exhausted
// errors: attempt n (from 0) waits rand × min(Max, Initial × 2^n) before
// the next ("full jitter"). A zero field takes its value from
// [DefaultRetry].
type RetryPolicy struct {
	// MaxAttempts counts every attempt, the first included; 1 disables
	// retries.
	MaxAttempts int
	// Initial is the backoff cap of the first retry; each retry doubles it.
	Initial time.Duration
	// Max caps the backoff.
	Max time.Duration
}

// DefaultRetry is the retry policy of a model that sets none: 3 attempts,
// backoff caps from 100ms to 5s. The model stage's defaults are these.
var DefaultRetry = RetryPolicy{MaxAttempts: 3, Initial: 100 * time.Millisecond, Max: 5 * time.Second}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if p.Initial <= 0 {
		p.Initial = DefaultRetry.Initial
	}
	if p.Max <= 0 {
		p.Max = DefaultRetry.Max
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	return p
}

// backoff returns the wait before retry n (from 0), given r in [0, 1).
func (p RetryPolicy) backoff(n int, r float64) time.Duration {
	ceiling := p.Max
	if n < 62 {
		if d := p.Initial << n; d > 0 && d < p.Max && d>>n == p.Initial {
			ceiling = d
		}
	}
	return time.Duration(r * float64(ceiling))
}

// ModelSpec says which model a stage runs and how.
type ModelSpec struct {
	Stage string // the stage id, for logs and metric labels
	Path  string // the model file (or .mlpackage folder); empty for a Kernel
	// Kernel names a backend's built-in operation
	// ([bridge.Capabilities.Kernels]) to run instead of a model file: it is
	// placed, admitted, retried and health-tracked like a model, on the
	// backends that list it.
	Kernel string
	// SHA256 optionally pins the content (hex). Without it the first Open
	// of a path pins the file's hash at that moment. Every load checks the
	// bytes it reads against the pin: a mismatch is a [*HashMismatchError]
	// of class model corrupt naming the file.
	SHA256 string
	// Backends is ["auto"] (also the meaning of an empty list) or an
	// explicit preference list; "auto" inside a list expands in place.
	Backends []string
	// Strict turns any fallback into an error: with an explicit list the
	// first backend must run the model; at run time a permanent backend
	// error is returned instead of moving on (an open breaker is waited
	// out).
	Strict  bool
	Session bridge.Options
	Retry   RetryPolicy
	Breaker BreakerPolicy
	// PadTo is the batcher's pad_to: when > 0 the batch dimension reaches
	// the backend at this fixed size, so backends that need static shapes
	// accept a model whose only dynamic dimension is the batch.
	PadTo int
	// Instances is the most calls of this handle that run at once (a
	// stage's `instances`); further calls wait, in submission order, and
	// start as soon as one finishes, from the finishing worker. 0: only
	// the lanes limit them.
	Instances int
}

// Model is a stage's handle on a placed model: an ordered list of
// candidate backends, the first of which is open. It is safe for
// concurrent use.
type Model struct {
	e     *Executor
	spec  ModelSpec
	label string
	sha   string
	size  int64
	retry RetryPolicy
	info  bridge.ModelInfo
	cands []*cand
	out   *outputCost // the admission estimate of a call's outputs

	waits, rejections prometheus.Counter

	can canary // the one-shot comparison with the reference backend

	mu     sync.Mutex
	cur    int // the candidate new calls start on
	reason string
	closed bool
	calls  sync.WaitGroup

	// Calls past spec.Instances (under mu).
	running int
	waiting []*Call
}

// cand is one backend a model may run on.
type cand struct {
	name string
	b    bridge.Backend
	lane *lane
	tr   *track
	met  *laneMetrics
	key  regKey

	openMu sync.Mutex // serialises the lazy open
	ent    *entry     // guarded by openMu; read by calls after a successful open
	failed error      // a permanent failure; guarded by Model.mu
}

// Open places the model of spec on a backend, loading it there (or sharing
// a session already loaded for the same content, backend and options) and
// warming it up. See [ModelSpec] for the selection rules; the choice and
// its reason are logged and returned by [Model.Placement].
func (e *Executor) Open(ctx context.Context, spec ModelSpec) (*Model, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	sha, size, err := e.pinSpec(spec)
	if err != nil {
		return nil, err
	}
	if spec.Strict {
		spec.Session = strictOptions(spec.Session)
	}
	m := &Model{e: e, spec: spec, label: specLabel(spec), sha: sha, size: size, retry: spec.Retry.withDefaults()}
	m.waits = e.met.waits.WithLabelValues(m.label, spec.Stage)
	m.rejections = e.met.rejections.WithLabelValues(m.label, spec.Stage)
	if err := m.place(ctx); err != nil {
		return nil, err
	}
	m.out = newOutputCost(m.info)
	name, reason := m.Placement()
	key := spec.Stage + "\x00" + spec.Path + "\x00" + name
	e.mu.Lock()
	logged := e.placed[key]
	if e.placed == nil {
		e.placed = map[string]bool{}
	}
	e.placed[key] = true
	e.mu.Unlock()
	level := slog.LevelInfo
	if logged {
		level = slog.LevelDebug // the same stage built again for another work unit
	}
	e.log.Log(ctx, level, "model placed", "stage", spec.Stage, "model", spec.Path, "backend", name, "reason", reason)
	return m, nil
}

// ExtraStrict is [bridge.ExtraStrict], set when ModelSpec.Strict is.
const ExtraStrict = bridge.ExtraStrict

// strictOptions returns o with [ExtraStrict] set, on a copy of Extra.
func strictOptions(o bridge.Options) bridge.Options {
	extra := maps.Clone(o.Extra)
	if extra == nil {
		extra = map[string]string{}
	}
	extra[ExtraStrict] = "1"
	o.Extra = extra
	return o
}

// optionsKey is the canonical text of session options, part of the
// registry key.
func optionsKey(o bridge.Options) string {
	spin := "default"
	if o.Spinning != nil {
		spin = fmt.Sprint(*o.Spinning)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "intra=%d inter=%d opt=%s spin=%s", o.IntraOpThreads, o.InterOpThreads, o.GraphOpt, spin)
	for _, k := range slices.Sorted(maps.Keys(o.Extra)) {
		fmt.Fprintf(&b, " %s=%q", k, o.Extra[k])
	}
	return b.String()
}

// place builds the candidate list and opens the first candidate that
// works.
func (m *Model) place(ctx context.Context) error {
	e := m.e
	names, auto := m.requested()
	ext := modelExt(m.spec.Path)
	var reasons []string
	var viable, degraded []*cand
	for i, name := range names {
		c, why := m.candidate(name, ext, auto)
		if c == nil {
			if m.spec.Strict && !auto && i == 0 {
				return &PlacementError{Model: m.spec.Path, Stage: m.spec.Stage, Strict: true, Reasons: []string{why}}
			}
			reasons = append(reasons, why)
			continue
		}
		if auto && (c.tr.h.degraded() || c.tr.br.current() == BreakerOpen) {
			reasons = append(reasons, name+" degraded or breaker open, tried last")
			degraded = append(degraded, c)
			continue
		}
		viable = append(viable, c)
	}
	viable = append(viable, degraded...)

	var lastErr error
	for i, c := range viable {
		ent, err := m.open(ctx, c)
		if err == nil {
			if why := compatible(c, ent.info, m.spec.PadTo); why != "" {
				e.reg.release(ent)
				err = fmt.Errorf("%s", why)
			}
		}
		if err != nil {
			var hm *HashMismatchError
			if ctx.Err() != nil || errors.As(err, &hm) {
				// Another backend would read the same changed file.
				return err
			}
			lastErr = err
			why := fmt.Sprintf("%s failed to open the model: %v", c.name, err)
			if m.spec.Strict && !auto {
				return &PlacementError{Model: m.spec.Path, Stage: m.spec.Stage, Strict: true, Reasons: append(reasons, why), Err: err}
			}
			reasons = append(reasons, why)
			continue
		}
		c.ent = ent
		m.info = ent.info
		m.cands = append(m.cands, c)
		for _, rest := range viable[i+1:] {
			if why := compatible(rest, m.info, m.spec.PadTo); why != "" {
				reasons = append(reasons, why)
				continue
			}
			m.cands = append(m.cands, rest)
		}
		prefix := "explicit " + fmt.Sprint(m.spec.Backends)
		if auto {
			prefix = "auto"
		}
		m.reason = prefix + ": " + strings.Join(append(reasons, c.name), "; ")
		return nil
	}
	return &PlacementError{Model: m.spec.Path, Stage: m.spec.Stage, Reasons: reasons, Err: lastErr}
}

// requested expands the spec's backend list; auto reports whether any of
// it came from "auto".
func (m *Model) requested() (names []string, auto bool) {
	list := m.spec.Backends
	if len(list) == 0 {
		list = []string{"auto"}
	}
	seen := map[string]bool{}
	for _, n := range list {
		more := []string{n}
		if n == "auto" {
			auto = true
			more = m.e.opts.AutoOrder
			if more == nil {
				more = AutoOrder()
			}
		}
		for _, x := range more {
			if !seen[x] {
				seen[x] = true
				names = append(names, x)
			}
		}
	}
	return names, auto
}

// candidate checks what can be checked before loading: the backend is
// registered, available and opens this file format. It returns the
// candidate, or nil and the reason.
func (m *Model) candidate(name, ext string, auto bool) (*cand, string) {
	b, err := bridge.Lookup(name)
	if err != nil {
		return nil, name + " not registered"
	}
	if err := b.Available(); err != nil {
		return nil, fmt.Sprintf("%s unavailable (%v)", name, err)
	}
	caps := b.Capabilities()
	switch {
	case m.spec.Kernel != "" && !slices.Contains(caps.Kernels, m.spec.Kernel):
		return nil, fmt.Sprintf("%s has no kernel %s (kernels %v)", name, m.spec.Kernel, caps.Kernels)
	case m.spec.Kernel == "" && !slices.Contains(caps.Formats, ext):
		return nil, fmt.Sprintf("%s cannot open %s (formats %v)", name, ext, caps.Formats)
	}
	l, err := m.e.laneFor(name)
	if err != nil {
		return nil, fmt.Sprintf("%s: %v", name, err)
	}
	return &cand{
		name: name, b: b, lane: l,
		tr:  m.e.trackFor(m.sha, m.label, name, m.spec.Breaker),
		met: m.e.met.lane(name, m.label, m.spec.Stage),
		key: makeKey(m.sha + "\x00" + name + "\x00" + optionsKey(m.spec.Session)),
	}, ""
}

// compatible checks a backend's capabilities against the model's
// description: element types, and static shapes for backends that need
// them. It returns "" or the reason.
func compatible(c *cand, info bridge.ModelInfo, padTo int) string {
	caps := c.b.Capabilities()
	for _, t := range slices.Concat(info.Inputs, info.Outputs) {
		if t.Type != bridge.Undefined && !slices.Contains(caps.ElemTypes, t.Type) {
			return fmt.Sprintf("%s does not take %s tensors (%s)", c.name, t.Type, t.Name)
		}
	}
	if caps.StaticShapes {
		for _, t := range info.Inputs {
			for i, d := range t.Shape {
				if d.Dynamic() && (i != 0 || padTo <= 0) {
					return fmt.Sprintf("%s needs static shapes; input %s is %v", c.name, t.Name, t.Shape)
				}
			}
		}
	}
	return ""
}

// open loads the model on c (shared through the registry) and warms it up
// once.
func (m *Model) open(ctx context.Context, c *cand) (*entry, error) {
	e := m.e
	return e.reg.acquire(ctx, c.key, c.name, m.size, c.tr, func(ctx context.Context) (bridge.Session, error) {
		var s bridge.Session
		var err error
		if m.spec.Kernel != "" {
			s, err = c.b.Open(ctx, m.spec.Kernel, m.spec.Session)
		} else {
			s, err = e.loadSession(ctx, c.b, m.spec.Path, m.sha, m.spec.Session)
		}
		if err != nil {
			return nil, err
		}
		if err := e.warmUp(ctx, s, m.spec.Stage, c.name); err != nil {
			_ = s.Close()
			return nil, err
		}
		return s, nil
	})
}

// entryFor returns candidate i's session, opening it on first use. A
// permanent failure is remembered so later calls skip the candidate.
func (m *Model) entryFor(ctx context.Context, i int) (*entry, error) {
	c := m.cands[i]
	c.openMu.Lock()
	defer c.openMu.Unlock()
	if c.ent != nil {
		return c.ent, nil
	}
	m.mu.Lock()
	failed := c.failed
	m.mu.Unlock()
	if failed != nil {
		return nil, failed
	}
	ent, err := m.open(ctx, c)
	if err != nil {
		return nil, err
	}
	c.ent = ent
	return ent, nil
}

// Info describes the model's inputs and outputs, as the first backend that
// opened it reported them.
func (m *Model) Info() bridge.ModelInfo { return m.info }

// Placement returns the backend new calls go to and why it was chosen,
// such as "auto: ane not registered; mps not registered; metal not
// registered; cpu". Permanent failures at run time move it and append to
// the reason.
func (m *Model) Placement() (backend string, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cands[m.cur].name, m.reason
}

// current returns the index new calls start on.
func (m *Model) current() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

// markFailed records a permanent failure of candidate i and moves new
// calls past it.
func (m *Model) markFailed(i, next int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cands[i].failed != nil {
		return
	}
	m.cands[i].failed = err
	if m.cur == i && next > i {
		m.cur = next
		m.reason += fmt.Sprintf("; %s failed (%v): fell back to %s", m.cands[i].name, err, m.cands[next].name)
		m.e.log.Warn("backend fallback", "stage", m.spec.Stage, "model", m.spec.Path, "from", m.cands[i].name, "to", m.cands[next].name, "err", err)
	}
}

// Close waits for the model's calls to complete and releases its sessions;
// they stay cached for other users until evicted or [Executor.Close]. It is
// idempotent.
func (m *Model) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.calls.Wait()
	for _, c := range m.cands {
		c.openMu.Lock()
		if c.ent != nil {
			m.e.reg.release(c.ent)
			c.ent = nil
		}
		c.openMu.Unlock()
	}
	return nil
}
