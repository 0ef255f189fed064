package jobmodel

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// registerer returns the Registerer an endpoint's graphs register into:
// o.Registerer with the endpoint's name as a label, or nil.
func (o Options) registerer(endpoint string) prometheus.Registerer {
	if o.Registerer == nil {
		return nil
	}
	return prometheus.WrapRegistererWith(prometheus.Labels{"endpoint": endpoint}, o.Registerer)
}

// swapRegisterer remembers what a graph registered, so that the graph
// built after a failure can register the same metrics again.
type swapRegisterer struct {
	parent prometheus.Registerer // nil: nothing is exported
	mu     sync.Mutex
	cs     []prometheus.Collector
}

// Register implements prometheus.Registerer.
func (r *swapRegisterer) Register(c prometheus.Collector) error {
	if r.parent == nil {
		return nil
	}
	if err := r.parent.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	r.cs = append(r.cs, c)
	r.mu.Unlock()
	return nil
}

// MustRegister implements prometheus.Registerer.
func (r *swapRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// Unregister implements prometheus.Registerer.
func (r *swapRegisterer) Unregister(c prometheus.Collector) bool {
	if r.parent == nil {
		return false
	}
	return r.parent.Unregister(c)
}

// reset unregisters everything registered so far.
func (r *swapRegisterer) reset() {
	r.mu.Lock()
	cs := r.cs
	r.cs = nil
	r.mu.Unlock()
	for _, c := range cs {
		r.parent.Unregister(c)
	}
}
