package pipeline

import (
	"fmt"
	"slices"
	"sort"

	"github.com/pipe-ml/pipe/stages"
)

// placer is implemented by stages that run on a backend (model stages).
type placer interface {
	Placement() (backend, reason string)
}

// LatencyReport summarises a latency distribution: the number of batches
// and percentiles in seconds, interpolated within histogram buckets.
type LatencyReport struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_seconds"`
	P95   float64 `json:"p95_seconds"`
	P99   float64 `json:"p99_seconds"`
}

// BackendReport holds the figures of one backend over a run.
type BackendReport struct {
	Backend string `json:"backend"`
	// Stages are the model stages placed on the backend.
	Stages []string `json:"stages"`
	// Latency is the batch latency of those stages together.
	Latency *LatencyReport `json:"batch_latency,omitempty"`
	// Models holds the executor's health of each model run on the backend.
	Models []ModelReport `json:"models,omitempty"`
}

// ModelReport is the executor's view of one (model, backend).
type ModelReport struct {
	Model  string `json:"model"`
	SHA256 string `json:"sha256"`
	Runs   int64  `json:"runs"`
	Errors int64  `json:"errors"`
	// ErrorRate and the latency and throughput are moving averages.
	ErrorRate      float64 `json:"error_rate"`
	LatencySeconds float64 `json:"latency_ewma_seconds"`
	RowsPerSecond  float64 `json:"rows_per_second_ewma"`
	Breaker        string  `json:"breaker"`
	Degraded       bool    `json:"degraded"`
}

// collectReport takes the report of the stage instance in place, after
// its pass, merging it with those of the earlier units' instances.
func (p *Pipeline) collectReport(n *node, st stages.Stage) {
	p.reportMu.Lock()
	defer p.reportMu.Unlock()
	if r, ok := st.(stages.Reporter); ok {
		d := r.Report()
		if m, ok := d.(stages.ReportMerger); ok {
			if prev, ok := n.details.(fmt.Stringer); ok && prev != nil {
				d = m.Merge(prev)
			}
		}
		n.details = d
	}
}

// batchLatency returns the batch latencies recorded in b (nil: none).
func batchLatency(b *BatchStats) latencyHist {
	if b == nil {
		return latencyHist{}
	}
	upper, counts, _, _ := b.Latency.Snapshot()
	return latencyHist{upper: upper, counts: counts}
}

// latencyHist is a latency histogram summed over several stages with the
// same bucket bounds.
type latencyHist struct {
	upper  []float64 // bucket upper bounds, seconds
	counts []int64
}

// add sums a histogram in; one with other bounds is left out.
func (h *latencyHist) add(upper []float64, counts []int64) {
	switch {
	case upper == nil:
	case h.upper == nil:
		h.upper, h.counts = upper, slices.Clone(counts)
	case slices.Equal(h.upper, upper):
		for i, c := range counts {
			h.counts[i] += c
		}
	}
}

// report computes percentiles; nil when empty.
func (h *latencyHist) report() *LatencyReport {
	upper, counts := h.upper, h.counts
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(upper) != len(counts) {
		return nil
	}
	return &LatencyReport{Count: total, P50: quantile(upper, counts, total, 0.50),
		P95: quantile(upper, counts, total, 0.95), P99: quantile(upper, counts, total, 0.99)}
}

// quantile interpolates linearly inside the bucket holding the q-th
// observation.
func quantile(upper []float64, counts []int64, total int64, q float64) float64 {
	rank := q * float64(total)
	var seen int64
	for i, c := range counts {
		if c == 0 || float64(seen+c) < rank {
			seen += c
			continue
		}
		lo := 0.0
		if i > 0 {
			lo = upper[i-1]
		}
		return lo + (upper[i]-lo)*(rank-float64(seen))/float64(c)
	}
	return upper[len(upper)-1]
}

// backendReports gathers per-backend figures: stage latencies merged by
// the backend each model stage was placed on, and the executor's health.
func backendReports(p *Pipeline) []BackendReport {
	type acc struct {
		stages []string
		lat    latencyHist
	}
	by := map[string]*acc{}
	for _, n := range p.nodes {
		pl, ok := n.stage.(placer)
		if !ok {
			continue
		}
		backend, _ := pl.Placement()
		a := by[backend]
		if a == nil {
			a = &acc{}
			by[backend] = a
		}
		a.stages = append(a.stages, n.def.ID)
		lat := batchLatency(n.stats.Batches)
		a.lat.add(lat.upper, lat.counts)
	}
	models := map[string][]ModelReport{}
	if p.exec != nil {
		for _, b := range p.exec.Backends() {
			for _, m := range b.Models {
				models[b.Name] = append(models[b.Name], ModelReport{
					Model: m.Model, SHA256: m.SHA256, Runs: m.Runs, Errors: m.Errors, ErrorRate: m.ErrorRate,
					LatencySeconds: m.Latency.Seconds(), RowsPerSecond: m.Throughput,
					Breaker: m.Breaker.String(), Degraded: m.Degraded,
				})
			}
			if _, ok := by[b.Name]; !ok && len(b.Models) > 0 {
				by[b.Name] = &acc{} // ran as a fallback only
			}
		}
	}
	var out []BackendReport
	for name, a := range by {
		out = append(out, BackendReport{Backend: name, Stages: a.stages, Latency: a.lat.report(), Models: models[name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Backend < out[j].Backend })
	return out
}
