package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pipe-ml/pipe/internal/units"
	"github.com/pipe-ml/pipe/output"
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
	// TraceID is the run's trace, when it was traced (OTEL_* variables).
	TraceID string `json:"trace_id,omitempty"`
	// Units says how the work was split and what an earlier run had done.
	Units  *UnitsReport  `json:"units,omitempty"`
	Stages []StageReport `json:"stages"`
	// Backends holds the figures of every backend that ran a model.
	Backends []BackendReport `json:"backends,omitempty"`
	// Series holds what every stage did over time, sampled while the run
	// went on; Timeline when each work unit's pass ran.
	Series   *SeriesReport `json:"series"`
	Timeline []UnitSpan    `json:"unit_timeline"`
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
	// BlockedInSeconds is the time the stage waited for input.
	BlockedInSeconds float64 `json:"blocked_in_seconds"`
	Errors           int64   `json:"errors"`
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
	// BatchSizes and BatchLatencies are a model stage's histograms of rows
	// per batch and of batch latency in seconds.
	BatchSizes     *HistogramReport `json:"batch_size_histogram,omitempty"`
	BatchLatencies *HistogramReport `json:"batch_latency_histogram,omitempty"`
	summary        string
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
			BlockedSeconds: s.Blocked().Seconds(), BlockedInSeconds: s.BlockedIn().Seconds(), Errors: s.Errors.Load(),
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
		if b := s.Batches; b != nil {
			sr.BatchSizes, sr.BatchLatencies = histogramReport(b.Size), histogramReport(b.Latency)
		}
		r.Stages = append(r.Stages, sr)
	}
	r.Fingerprint = p.Fingerprint()
	r.Backends = backendReports(p)
	if r.Series == nil { // a run refused before it started
		r.Series = &SeriesReport{IntervalSeconds: seriesEvery.Seconds(), TSeconds: []float64{}, Stages: []StageSeries{}}
	}
	if r.Timeline == nil {
		r.Timeline = []UnitSpan{}
	}
}

// WriteTable prints the per-stage figures as an aligned table, then the
// notes: stage summaries, rejected rows, work units and the outcome.
func (r *Report) WriteTable(w io.Writer) error {
	if err := r.writeStageRows(w); err != nil {
		return err
	}
	for _, s := range r.Stages {
		if s.summary != "" {
			fmt.Fprintf(w, "%s: %s\n", s.ID, s.summary)
		}
		if line := emptyLine(s); line != "" && r.Status == "succeeded" {
			fmt.Fprintln(w, line)
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

// writeStageRows writes the table proper: one row per stage. A sink's
// bytes are those written to its files; a busy time longer than the run
// (summed over instances running at once) is marked and explained below.
func (r *Report) writeStageRows(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\ttype\trows in\trows out\tbatches\tbytes out\tbusy\twait in\twait out\trows/s\t")
	over := false
	for _, s := range r.Stages {
		batches := s.BatchesOut
		if s.Kind == stages.KindSink.String() {
			batches = s.BatchesIn
		}
		busy := roundDur(s.BusySeconds)
		if r.Seconds > 0 && s.BusySeconds > r.Seconds*1.01 {
			busy, over = busy+"*", true
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", s.ID, s.Type, s.RowsIn, s.RowsOut, batches,
			humanBytes(s.BytesOut), busy, roundDur(s.BlockedInSeconds), roundDur(s.BlockedSeconds), humanRate(s.RowsPerSecond))
	}
	fmt.Fprintf(tw, "\t\t\t\t\t\t\t\t\t\t\n")
	if err := tw.Flush(); err != nil {
		return err
	}
	if over {
		fmt.Fprintln(w, busyNote(r.Timeline))
	}
	return nil
}

// busyNote explains a busy time longer than the run.
func busyNote(spans []UnitSpan) string {
	note := "* busy is summed over the stage's instances running at once, so it can exceed the run's wall time"
	if n := maxOverlap(spans); n > 1 {
		note += fmt.Sprintf(": up to %d work units ran together", n)
	}
	return note
}

// Rerun says what running the job again will do after this run: resume,
// keeping the work units committed so far, or start over.
func (r *Report) Rerun() string {
	u := r.Units
	if u == nil || u.Skipped+u.Ran == 0 {
		return "a rerun starts over: no work unit is committed"
	}
	done := u.Skipped + u.Ran
	if !u.Resumable {
		return fmt.Sprintf("a rerun starts over: %d of %d work units are committed, but this job does not resume (its sinks write no folder, or it overwrites)", done, u.Assigned)
	}
	if done == u.Assigned && r.Status == "succeeded" {
		return "a rerun does nothing: the output is complete"
	}
	return fmt.Sprintf("a rerun resumes: %d of %d work units are committed", done, u.Assigned)
}

// emptyLine says when a stage passed no rows on: a sink that wrote none, or
// a stage that received rows and emitted none (a filter that dropped them
// all); "" otherwise.
func emptyLine(s StageReport) string {
	switch {
	case s.Kind == stages.KindSink.String() && s.RowsOut == 0:
		return fmt.Sprintf("%s: wrote 0 rows", s.ID)
	case s.Kind != stages.KindSource.String() && s.Kind != stages.KindSink.String() && s.RowsIn > 0 && s.RowsOut == 0:
		return fmt.Sprintf("%s: dropped every row (%d in, 0 out)", s.ID, s.RowsIn)
	}
	return ""
}

// humanBytes, humanRate and roundDur are the run table's figures; see
// package units. The table is read at a glance, so rates go to thousands
// from 1000 up.
func humanBytes(n int64) string { return units.Bytes(n) }

func humanRate(r float64) string { return units.Rate(r, 1e3) }

func roundDur(sec float64) string { return units.Seconds(sec) }

// ReportFile is the run report [Pipeline.Run] writes into each sink's
// output folder.
const ReportFile = output.ReportFile

// HTMLReportFile is the page drawn from the run report, written beside it.
const HTMLReportFile = output.HTMLReportFile

// writeReports writes metrics.json and report.html into the output folder
// of every sink that has one, atomically. After a failed or stopped run
// (ok false) it writes only into the folders that exist, and nothing else:
// no manifest, no success marker.
func (p *Pipeline) writeReports(r *Report, ok bool) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	var page bytes.Buffer
	if err := r.WriteHTML(&page); err != nil {
		return err
	}
	for _, n := range p.nodes {
		od, isDir := n.stage.(stages.OutputDirer)
		if !isDir || od.OutputDir() == "" {
			continue
		}
		if _, serr := os.Stat(od.OutputDir()); !ok && serr != nil {
			continue
		}
		f := folderAt(od.OutputDir())
		name, page1 := ReportFile, HTMLReportFile
		if p.shard.count() > 1 {
			// Every shard reports beside its manifest.
			base := strings.TrimSuffix(path.Base(output.ShardManifestName(p.shard.outputShard())), ".json")
			name, page1 = path.Join(stages.ShardsDir, "metrics-"+base+".json"), path.Join(stages.ShardsDir, "report-"+base+".html")
		}
		for _, file := range []struct {
			name string
			data []byte
		}{{name, data}, {page1, page.Bytes()}} {
			if err := f.WriteFileAtomic(context.Background(), file.name, file.data); err != nil {
				return &StageError{Stage: n.def.ID, Err: fmt.Errorf("write %s: %w", f.Path(file.name), err)}
			}
		}
	}
	return nil
}
