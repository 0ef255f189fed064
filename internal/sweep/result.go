package sweep

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/pipe-ml/pipe/internal/units"
)

// Measurement is one timed pass of the data through the stage.
type Measurement struct {
	Rows    int64
	Elapsed time.Duration
}

// Result is the summary of one combination.
type Result struct {
	Combination
	// Error is why the combination could not be measured (a backend that
	// is unavailable, a model that rejects the batch size).
	Error string `json:"error,omitempty"`
	// RowsPerSecond is the median over the repeats; Min and Max the spread.
	RowsPerSecond float64 `json:"rows_per_second"`
	Min           float64 `json:"rows_per_second_min"`
	Max           float64 `json:"rows_per_second_max"`
	Repeats       int     `json:"repeats"`
	// Latency percentiles of single batches over all repeats, in seconds.
	P50     float64 `json:"latency_p50_seconds"`
	P99     float64 `json:"latency_p99_seconds"`
	Batches int     `json:"batches"`
	Best    bool    `json:"best"`
	// WithinNoise marks results whose spread overlaps the best one's: the
	// difference may be noise.
	WithinNoise bool `json:"within_noise_of_best"`
}

// Summarize turns repeated measurements and per-batch latencies into a
// result.
func Summarize(c Combination, runs []Measurement, latencies []time.Duration) Result {
	r := Result{Combination: c, Repeats: len(runs), Batches: len(latencies)}
	if len(runs) == 0 {
		return r
	}
	rates := make([]float64, len(runs))
	for i, m := range runs {
		if m.Elapsed > 0 {
			rates[i] = float64(m.Rows) / m.Elapsed.Seconds()
		}
	}
	slices.Sort(rates)
	r.Min, r.Max = rates[0], rates[len(rates)-1]
	r.RowsPerSecond = median(rates)
	lat := make([]float64, len(latencies))
	for i, d := range latencies {
		lat[i] = d.Seconds()
	}
	slices.Sort(lat)
	r.P50, r.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return r
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// percentile returns the nearest-rank percentile of sorted values.
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// MarkBest marks the result with the highest median throughput, and the
// results whose spread overlaps it. It returns the index of the best, or
// -1 when no combination could be measured.
func MarkBest(rs []Result) int {
	best := -1
	for i, r := range rs {
		rs[i].Best, rs[i].WithinNoise = false, false
		if r.Error == "" && r.Repeats > 0 && (best < 0 || r.RowsPerSecond > rs[best].RowsPerSecond) {
			best = i
		}
	}
	if best < 0 {
		return -1
	}
	rs[best].Best = true
	for i, r := range rs {
		if i != best && r.Error == "" && r.Repeats > 0 && r.Max >= rs[best].Min {
			rs[i].WithinNoise = true
		}
	}
	return best
}

// Report is everything `pipe bench` measured.
type Report struct {
	Job     string    `json:"job"`
	Stage   string    `json:"stage"`
	Model   string    `json:"model"`
	Rows    int64     `json:"rows"`
	Warmup  int       `json:"warmup_runs"`
	Repeats int       `json:"repeats"`
	Started time.Time `json:"started"`
	// Machine names what the sweep ran on (see [Machine]).
	Machine string   `json:"machine"`
	Results []Result `json:"results"`
}

// Best returns the best result, if any.
func (r *Report) Best() (Result, bool) {
	for _, x := range r.Results {
		if x.Best {
			return x, true
		}
	}
	return Result{}, false
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable prints one line per combination: throughput (median and
// spread) and latency percentiles, the best marked with '*' and results
// within its noise with '~'.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tbackend\tbatch\tinstances\tthreads\trows/s\tspread\tp50\tp99\t")
	for _, x := range r.Results {
		mark := ""
		switch {
		case x.Best:
			mark = "*"
		case x.WithinNoise:
			mark = "~"
		}
		if x.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t-\t-\t-\t-\t%s\n", mark, x.Backend, x.Batch, x.Instances, x.Threads, x.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t\n", mark, x.Backend, x.Batch, x.Instances, x.Threads,
			units.Rate(x.RowsPerSecond, kilo), spread(x), units.Seconds(x.P50), units.Seconds(x.P99))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d rows, %d warm-up and %d measured runs per combination; * best (median rows/s), ~ spread overlaps the best (may be noise)\n",
		r.Rows, r.Warmup, r.Repeats)
	return err
}

func spread(x Result) string {
	if x.RowsPerSecond <= 0 {
		return "-"
	}
	return fmt.Sprintf("-%.1f%%/+%.1f%%", 100*(x.RowsPerSecond-x.Min)/x.RowsPerSecond, 100*(x.Max-x.RowsPerSecond)/x.RowsPerSecond)
}

// kilo is where the tables start writing rates in thousands: combinations
// often differ by a few percent, so rates below 10k keep all their digits.
const kilo = 1e4
