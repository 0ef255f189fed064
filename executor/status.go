package executor

import (
	"slices"
	"sort"

	"github.com/pipe-ml/pipe/bridge"
)

// BackendStatus describes one registered backend for `pipe backends`.
type BackendStatus struct {
	Name         string
	Available    bool
	Reason       string // why not available; "" when it is
	Formats      []string
	Kernels      []string // built-in operations it runs without a model file
	ElemTypes    []string
	Devices      []bridge.Device
	StaticShapes bool
	// MaxConcurrency and QueueSize are the backend's subpool settings.
	MaxConcurrency int
	QueueSize      int
	// Models holds the health of every model this executor ran on the
	// backend, sorted by model then hash.
	Models []ModelHealth
}

// ModelHealth is the health of one (model, backend).
type ModelHealth struct {
	Model   string // file base name
	SHA256  string
	Breaker BreakerState
	HealthSnapshot
}

// Backends describes every registered backend, sorted by name, with the
// health of the models run on it.
func (e *Executor) Backends() []BackendStatus {
	e.mu.Lock()
	byBackend := map[string][]ModelHealth{}
	for _, t := range e.tracks {
		byBackend[t.backend] = append(byBackend[t.backend], ModelHealth{
			Model: t.model, SHA256: t.sha, Breaker: t.br.current(), HealthSnapshot: t.h.snapshot(),
		})
	}
	e.mu.Unlock()

	var out []BackendStatus
	for _, name := range bridge.Names() {
		b, err := bridge.Lookup(name)
		if err != nil {
			continue // unregistered meanwhile
		}
		caps := b.Capabilities()
		st := BackendStatus{
			Name: name, Available: true, Formats: slices.Clone(caps.Formats), Kernels: slices.Clone(caps.Kernels),
			Devices: slices.Clone(caps.Devices), StaticShapes: caps.StaticShapes,
			MaxConcurrency: e.opts.concurrency(name),
		}
		st.QueueSize = e.opts.QueueSize
		if st.QueueSize == 0 {
			st.QueueSize = 2 * st.MaxConcurrency
		}
		if err := b.Available(); err != nil {
			st.Available, st.Reason = false, err.Error()
		}
		for _, t := range caps.ElemTypes {
			st.ElemTypes = append(st.ElemTypes, t.String())
		}
		st.Models = byBackend[name]
		sort.Slice(st.Models, func(i, j int) bool {
			a, b := st.Models[i], st.Models[j]
			if a.Model != b.Model {
				return a.Model < b.Model
			}
			return a.SHA256 < b.SHA256
		})
		out = append(out, st)
	}
	return out
}
