package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/pipe-ml/pipe/stages"
)

// Version is the version of pipe recorded in reports; the binary sets it at
// link time.
var Version = "dev"

// Report is what a run leaves behind: its outcome and the figures of every
// stage. It is written as metrics.json next to every sink's output.
type Report struct {
	Job      string    `json:"job"`
	File     string    `json:"file"`
	Status   string    `json:"status"` // succeeded, failed, interrupted
	Error    string    `json:"error,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Seconds  float64   `json:"duration_seconds"`
	Versions Versions  `json:"versions"`
	// Fingerprint identifies the job, its models and its inputs (see
	// [Pipeline.Fingerprint]).
	Fingerprint string `json:"fingerprint"`
	// Units says how the work was split and what an earlier run had done.
	Units  *UnitsReport  `json:"units,omitempty"`
	Stages []StageReport `json:"stages"`
	// Backends holds the figures of every backend that ran a model.
	Backends []BackendReport `json:"backends,omitempty"`
}

// Versions records what produced a report.
type Versions struct {
	Pipe string `json:"pipe"`
	Go   string `json:"go"`
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

// StageReport holds one stage's final figures.
type StageReport struct {
	ID             string  `json:"id"`
	Type           string  `json:"type"`
	Kind           string  `json:"kind"`
	RowsIn         int64   `json:"rows_in"`
	RowsOut        int64   `json:"rows_out"`
	BatchesIn      int64   `json:"batches_in"`
	BatchesOut     int64   `json:"batches_out"`
	BytesOut       int64   `json:"bytes_out"`
	BusySeconds    float64 `json:"busy_seconds"`
	BlockedSeconds float64 `json:"blocked_seconds"`
	Errors         int64   `json:"errors"`
	// RejectedRows counts rows set aside by on_error skip or dead_letter.
	RejectedRows int64 `json:"rejected_rows,omitempty"`
	// DeadLetter is the folder the rejected rows went to.
	DeadLetter string `json:"dead_letter,omitempty"`
	// RowsPerSecond is rows out (rows in for sinks) per second of the run.
	RowsPerSecond float64 `json:"rows_per_second"`
	// Details holds figures of the stage's own (a model stage's placement
	// and batching), when it has any.
	Details any `json:"details,omitempty"`
	// Latency is the distribution of the stage's batch latencies, for
	// stages that time their batches (model stages).
	Latency *LatencyReport `json:"batch_latency,omitempty"`
	summary string
}

func (r *Report) fill(p *Pipeline, err error) {
	r.Seconds = r.Finished.Sub(r.Started).Seconds()
	r.Versions = Versions{Pipe: Version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	switch {
	case err == nil:
		r.Status = "succeeded"
	case p.isStopped():
		r.Status = "interrupted"
		r.Error = err.Error()
	default:
		r.Status = "failed"
		r.Error = err.Error()
	}
	for _, n := range p.nodes {
		s := n.stats
		sr := StageReport{
			ID: s.ID, Type: s.Type, Kind: s.Kind,
			RowsIn: s.RowsIn.Load(), RowsOut: s.RowsOut.Load(),
			BatchesIn: s.BatchesIn.Load(), BatchesOut: s.BatchesOut.Load(),
			BytesOut: s.BytesOut.Load(), BusySeconds: s.Busy().Seconds(),
			BlockedSeconds: s.Blocked().Seconds(), Errors: s.Errors.Load(),
			RejectedRows: s.Rejected.Load(),
		}
		if n.policy != nil && n.policy.dir != "" {
			sr.DeadLetter = n.policy.dir
		}
		rows := sr.RowsOut
		if n.entry.Kind == stages.KindSink {
			rows = sr.RowsIn
		}
		if r.Seconds > 0 {
			sr.RowsPerSecond = float64(rows) / r.Seconds
		}
		if d, ok := n.details.(fmt.Stringer); ok && d != nil {
			sr.Details, sr.summary = d, d.String()
		}
		lat := batchLatency(s.Batches)
		sr.Latency = lat.report()
		r.Stages = append(r.Stages, sr)
	}
	r.Fingerprint = p.Fingerprint()
	r.Backends = backendReports(p)
}

// WriteTable prints the per-stage figures as an aligned table.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\ttype\trows in\trows out\tbatches\tbytes out\tbusy\tblocked\trows/s\t")
	for _, s := range r.Stages {
		batches := s.BatchesOut
		if s.Kind == stages.KindSink.String() {
			batches = s.BatchesIn
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t\n", s.ID, s.Type, s.RowsIn, s.RowsOut, batches,
			humanBytes(s.BytesOut), roundDur(s.BusySeconds), roundDur(s.BlockedSeconds), humanRate(s.RowsPerSecond))
	}
	fmt.Fprintf(tw, "\t\t\t\t\t\t\t\t\t\n")
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Stages {
		if s.summary != "" {
			fmt.Fprintf(w, "%s: %s\n", s.ID, s.summary)
		}
		if s.RejectedRows > 0 {
			where := "skipped"
			if s.DeadLetter != "" {
				where = "written to " + s.DeadLetter
			}
			fmt.Fprintf(w, "%s: %d rows failed and were %s\n", s.ID, s.RejectedRows, where)
		}
	}
	if u := r.Units; u != nil && (u.Total > 1 || u.Shard != "0/1" || u.Skipped > 0) {
		line := fmt.Sprintf("work units: %d of %d in shard %s; %d computed, %d already committed", u.Assigned, u.Total, u.Shard, u.Ran, u.Skipped)
		switch {
		case u.Committed:
			line += "; output marked complete"
		case len(u.Waiting) > 0:
			line += fmt.Sprintf("; waiting for shards %v before the output is marked complete", u.Waiting)
		}
		fmt.Fprintln(w, line)
	}
	_, err := fmt.Fprintf(w, "%s in %s\n", r.Status, roundDur(r.Seconds))
	return err
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func roundDur(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// ReportFile is the run report [Pipeline.Run] writes into each sink's
// output folder.
const ReportFile = "metrics.json"

// writeReports writes metrics.json into the output folder of every sink
// that has one, atomically.
func (p *Pipeline) writeReports(r *Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	for _, n := range p.nodes {
		od, ok := n.stage.(stages.OutputDirer)
		if !ok || od.OutputDir() == "" {
			continue
		}
		path := filepath.Join(od.OutputDir(), ReportFile)
		if p.shard.count() > 1 {
			// Every shard reports beside its manifest.
			path = filepath.Join(od.OutputDir(), stages.ShardsDir, "metrics-"+filepath.Base(shardManifestPath(od.OutputDir(), p.shard)))
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return &StageError{Stage: n.def.ID, Err: fmt.Errorf("write %s: %w", path, err)}
		}
		if err := writeFileAtomic(path, data); err != nil {
			return &StageError{Stage: n.def.ID, Err: fmt.Errorf("write %s: %w", path, err)}
		}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it into place.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
