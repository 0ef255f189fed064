package executor

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/alitto/pond/v2"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pipe-ml/pipe/bridge"
)

// Options configure an [Executor]. The zero value is usable.
type Options struct {
	// MemoryBudget is the admission byte budget: bytes of model input
	// tensors and (estimated) output tensors in flight across all models.
	// 0: [DefaultMemoryBudget]. A call larger than the budget is refused
	// with a [*BudgetError]; the model stage splits batches to fit.
	MemoryBudget int64
	// MaxInFlight is the admission semaphore: calls admitted and not yet
	// completed across all models. 0: 64.
	MaxInFlight int
	// MaxConcurrency is the number of runs each backend executes at once,
	// by backend name. Defaults come from the backend's capabilities: a
	// backend with bridge.Capabilities.HostCores (cpu) gets GOMAXPROCS /
	// CPUThreadsPerRun (at least 1), any other its DefaultConcurrency (ane,
	// mps and metal: 2), else 1.
	MaxConcurrency map[string]int
	// CPUThreadsPerRun is the number of cores one run of a HostCores
	// backend (cpu) is expected to keep busy (the model stage's
	// intra_op_threads); it sizes that default above. 0: 1.
	CPUThreadsPerRun int
	// QueueSize is the bounded queue of each backend's subpool: runs
	// waiting for a free slot. Submit blocks when it is full. 0: twice the
	// backend's concurrency.
	QueueSize int
	// ModelMemory is the budget for loaded models, using the sum of model
	// file sizes as a proxy. Unreferenced models are evicted least recently
	// used first while the loaded total exceeds it; referenced ones never
	// are. 0: 2 GiB; negative: unreferenced models are closed at once.
	ModelMemory int64
	// AdmissionTimeout bounds the wait for admission; waiting longer is a
	// *bridge.Error of class resource exhausted (transient). 0: 1 minute.
	AdmissionTimeout time.Duration
	// AutoOrder is the preference of `backends: [auto]`. nil: the
	// registered backends by their bridge.Capabilities.AutoRank (see
	// [AutoOrder]): ane, mps, cpu.
	AutoOrder []string
	// Registerer receives the executor's metrics; nil: none are exported.
	// Never the global registry: pass the job's own.
	Registerer prometheus.Registerer
	Log        *slog.Logger
	// Clock is the source of time (latency, breaker, backoff, admission);
	// nil: real time.
	Clock Clock
	// Rand returns numbers in [0, 1) for retry jitter; nil: math/rand/v2.
	Rand func() float64
	// Health reads the system's health signals (thermal state, memory
	// pressure) every HealthInterval: serious heat halves the concurrency
	// of the accelerator lanes (bridge.Capabilities.Accelerator: ane, mps,
	// metal), critical heat drops them to 1, and memory pressure evicts
	// unused models. nil: no polling. A reader that returns an error
	// wrapping ErrNoHealthSignals stops the poller.
	Health func() (HealthReading, error)
	// HealthInterval is the time between readings of Health, on Clock.
	// 0: DefaultHealthInterval; negative: no polling.
	HealthInterval time.Duration
	// CanaryBackend is the reference of the canary: a model placed on any
	// other backend runs its first real batch there too, once, and
	// [Model.Canary] reports the differences. "": DefaultCanaryBackend
	// (cpu); "none": no canary.
	CanaryBackend string
}

// AutoOrder returns the preference of `backends: [auto]` when
// Options.AutoOrder is nil: the registered backends whose capabilities give
// a positive AutoRank, by ascending rank, ties by name. With every bridge
// linked in it is ane, mps, cpu; metal, which opens no model format, has
// no rank.
func AutoOrder() []string {
	type ranked struct {
		name string
		rank int
	}
	var rs []ranked
	for _, name := range bridge.Names() {
		b, err := bridge.Lookup(name)
		if err != nil {
			continue // unregistered meanwhile
		}
		if r := b.Capabilities().AutoRank; r > 0 {
			rs = append(rs, ranked{name, r})
		}
	}
	// bridge.Names is sorted, so a stable sort keeps ties by name.
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].rank < rs[j].rank })
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.name
	}
	return out
}

func (o Options) withDefaults() Options {
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.CPUThreadsPerRun <= 0 {
		o.CPUThreadsPerRun = 1
	}
	if o.ModelMemory == 0 {
		o.ModelMemory = 2 << 30
	}
	if o.AdmissionTimeout <= 0 {
		o.AdmissionTimeout = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	return o
}

// concurrency returns the number of runs backend name executes at once:
// Options.MaxConcurrency, else what its capabilities say (an unregistered
// backend: 1).
func (o *Options) concurrency(name string) int {
	if n, ok := o.MaxConcurrency[name]; ok && n > 0 {
		return n
	}
	b, err := bridge.Lookup(name)
	if err != nil {
		return 1
	}
	return defaultConcurrency(b.Capabilities(), o.CPUThreadsPerRun)
}

// defaultConcurrency is the concurrency caps give a backend, with
// threadsPerRun the cores one run of a HostCores backend keeps busy.
func defaultConcurrency(caps bridge.Capabilities, threadsPerRun int) int {
	switch {
	case caps.HostCores:
		return max(1, runtime.GOMAXPROCS(0)/max(1, threadsPerRun))
	case caps.DefaultConcurrency > 0:
		return caps.DefaultConcurrency
	}
	return 1
}

// accelerated reports whether backend name runs on the GPU or the Neural
// Engine (bridge.Capabilities.Accelerator), whose concurrency the thermal
// state scales. An unregistered backend is not.
func accelerated(name string) bool {
	b, err := bridge.Lookup(name)
	return err == nil && b.Capabilities().Accelerator
}

// Executor runs model calls on backends. See the package documentation.
type Executor struct {
	opts    Options
	log     *slog.Logger
	clock   Clock
	adm     *admission
	reg     *registry
	met     *metrics
	mem     memory.Allocator // warm-up tensors
	root    pond.Pool
	sig     *signals       // the health poller; nil when off
	calls   sync.WaitGroup // admitted calls not yet completed
	helpers sync.WaitGroup // goroutines resubmitting a call to a full lane

	// Private, checked copies of models for backends that do not load
	// from memory (see privateCopy).
	copyMu  sync.Mutex
	copyDir string            // created on first use; removed by Close
	copies  map[string]string // content hash -> copy
	// copiesGone is set by Close: no copy is made afterwards.
	copiesGone bool

	mu     sync.Mutex
	closed bool
	lanes  map[string]*lane
	tracks map[string]*track // by content hash + "/" + backend
	// pins holds the content each model path stands for, pinned by its
	// first Open (see pinModel): a job builds its model stages once per
	// work unit, and every unit must run the same model.
	pins map[string]hashed
	// placed holds the (stage, model, backend) placements already logged.
	placed map[string]bool
}

// hashed is a model's pinned content: its hash and size.
type hashed struct {
	sum  string
	size int64
}

// lane is a backend's subpool.
type lane struct {
	name  string
	pool  pond.Pool
	conc  int
	queue int
}

// track is the shared state of one (model content, backend): its breaker
// and health, whichever stages and options use it.
type track struct {
	backend string
	model   string // file base name, the metrics label
	sha     string
	br      *breaker
	h       *health
}

// New returns an executor. Its collectors are registered on
// opts.Registerer; an error there (say, a second executor on the same
// registry) is returned.
func New(opts Options) (*Executor, error) {
	opts = opts.withDefaults()
	for name, n := range opts.MaxConcurrency {
		if n < 0 {
			return nil, fmt.Errorf("executor: max concurrency of backend %q is %d; want >= 1", name, n)
		}
	}
	if opts.QueueSize < 0 {
		return nil, fmt.Errorf("executor: queue size %d; want >= 0", opts.QueueSize)
	}
	e := &Executor{
		opts:   opts,
		log:    opts.Log,
		clock:  opts.Clock,
		adm:    newAdmission(opts.MaxInFlight, opts.MemoryBudget, opts.Clock),
		reg:    newRegistry(opts.ModelMemory),
		met:    newMetrics(),
		mem:    memory.NewGoAllocator(),
		lanes:  map[string]*lane{},
		tracks: map[string]*track{},
	}
	if opts.Registerer != nil {
		if err := e.met.register(opts.Registerer, newLaneCollector(e)); err != nil {
			return nil, fmt.Errorf("executor: registering metrics: %w", err)
		}
	}
	// The root pool only hosts the subpools' workers: each subpool bounds
	// its backend's concurrency, so the root needs no limit of its own. Its
	// queue is bounded all the same (pond's default is unbounded) and stays
	// empty since the root never reaches its limit.
	e.root = pond.NewPool(0, pond.WithQueueSize(1))
	if e.sig = newSignals(e); e.sig != nil {
		e.sig.start()
	}
	return e, nil
}

// laneFor returns the subpool of backend name, creating it on first use.
func (e *Executor) laneFor(name string) (*lane, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if l, ok := e.lanes[name]; ok {
		return l, nil
	}
	conc := e.opts.concurrency(name)
	q := e.opts.QueueSize
	if q == 0 {
		q = 2 * conc
	}
	l := &lane{name: name, conc: conc, queue: q, pool: e.root.NewSubpool(e.sig.laneConcurrency(name, conc), pond.WithQueueSize(q))}
	e.lanes[name] = l
	return l, nil
}

// trackFor returns the shared state of (model content, backend).
func (e *Executor) trackFor(sha, model, backend string, p BreakerPolicy) *track {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := sha + "/" + backend
	if t, ok := e.tracks[k]; ok {
		return t
	}
	t := &track{backend: backend, model: model, sha: sha, h: newHealth()}
	g := e.met.breaker.WithLabelValues(backend, model)
	tr := e.met.transitions.WithLabelValues(backend, model)
	g.Set(0)
	t.br = newBreaker(p, func(from, to BreakerState) {
		g.Set(float64(to))
		tr.Inc()
		e.log.Warn("circuit breaker", "model", model, "backend", backend, "from", from.String(), "to", to.String())
	})
	e.tracks[k] = t
	return t
}

// begin registers an admitted call, or fails once Close has begun.
func (e *Executor) begin() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.calls.Add(1)
	return nil
}

// Close waits for every admitted call to complete, stops the pools and
// closes every session, referenced or not. Models opened from e are
// unusable afterwards. Cancel the calls' contexts first for a hard stop.
func (e *Executor) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()

	if e.sig != nil {
		e.sig.close()
	}
	e.calls.Wait()
	e.helpers.Wait()
	for _, l := range e.lanes {
		l.pool.StopAndWait()
	}
	e.root.StopAndWait()
	var errs []error
	if err := e.reg.closeAll(); err != nil {
		errs = append(errs, err)
	}
	if err := e.removeCopies(); err != nil {
		errs = append(errs, fmt.Errorf("executor: removing private model copies: %w", err))
	}
	return errors.Join(errs...)
}
