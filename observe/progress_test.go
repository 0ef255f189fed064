package observe

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

// syncBuffer is a bytes.Buffer safe for the progress goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func fakeStats() []*pipeline.StageStats {
	src := &pipeline.StageStats{ID: "read", Type: "parquet_source", Kind: "source"}
	src.TotalRows.Store(1000)
	sink := &pipeline.StageStats{ID: "write", Type: "parquet_sink", Kind: "sink"}
	sink.TotalRows.Store(-1)
	return []*pipeline.StageStats{src, sink}
}

func TestProgressLogLines(t *testing.T) {
	stats := fakeStats()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	p := StartProgress(nil, stats, ProgressOptions{Log: log, Interval: 10 * time.Millisecond})
	stats[0].RowsOut.Store(400)
	time.Sleep(60 * time.Millisecond)
	stats[0].RowsOut.Store(1000)
	stats[0].Done.Store(true)
	stats[1].RowsOut.Store(1000)
	stats[1].Done.Store(true)
	p.Stop()
	p.Stop() // twice is fine
	out := buf.String()
	for _, want := range []string{"stage=read rows=400", "eta=", "stage=read rows=1000", "stage=write rows=1000", "done=true"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "stage=write rows=1000 rows_per_second="); n != 1 {
		t.Errorf("done line of write logged %d times, want once:\n%s", n, out)
	}
}

func TestProgressBars(t *testing.T) {
	stats := fakeStats()
	var buf syncBuffer
	p := StartProgress(&buf, stats, ProgressOptions{Bars: true, Interval: 10 * time.Millisecond})
	stats[0].RowsOut.Store(500)
	time.Sleep(50 * time.Millisecond)
	stats[0].RowsOut.Store(1000)
	stats[0].Done.Store(true)
	p.Stop() // write never finishes: its bar is aborted
	out := buf.String()
	for _, want := range []string{"read", "write", "rows/s", "1000 rows"} {
		if !strings.Contains(out, want) {
			t.Errorf("bars lack %q:\n%s", want, out)
		}
	}
}

func TestEstimate(t *testing.T) {
	s := &pipeline.StageStats{}
	s.TotalRows.Store(1000)
	s.RowsOut.Store(400)
	tests := []struct {
		rate   float64
		want   time.Duration
		wantOK bool
	}{
		{rate: 100, want: 6 * time.Second, wantOK: true},
		{rate: 0, wantOK: false},
	}
	for _, tt := range tests {
		got, ok := estimate(s, tt.rate)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("estimate at %v rows/s = %v, %v; want %v, %v", tt.rate, got, ok, tt.want, tt.wantOK)
		}
	}
	s.TotalRows.Store(-1)
	if _, ok := estimate(s, 100); ok {
		t.Error("estimate without a total: ok")
	}
}

func TestLogLinesAboveBars(t *testing.T) {
	stats := fakeStats()
	var out, direct syncBuffer
	lw := NewLogWriter(&direct)
	log := slog.New(slog.NewTextHandler(lw, nil))
	p := StartProgress(&out, stats, ProgressOptions{Bars: true, Interval: 10 * time.Millisecond, LogWriter: lw})
	log.Info("while the bars run")
	stats[0].Done.Store(true)
	stats[1].Done.Store(true)
	p.Stop()
	log.Info("after the bars")
	if !strings.Contains(out.String(), "while the bars run") || strings.Contains(direct.String(), "while the bars run") {
		t.Errorf("log line during bars: bars %q, direct %q", out.String(), direct.String())
	}
	if !strings.Contains(direct.String(), "after the bars") {
		t.Errorf("log line after bars not written directly: %q", direct.String())
	}
}

// modelStats is a source of 10 units of 100 rows and a model stage.
func modelStats() []*pipeline.StageStats {
	src := &pipeline.StageStats{ID: "read", Type: "parquet_source", Kind: "source"}
	src.TotalRows.Store(1000)
	src.UnitsTotal.Store(10)
	m := &pipeline.StageStats{ID: "embed", Type: "model", Kind: "operator", Batches: pipeline.NewBatchStats()}
	m.TotalRows.Store(-1)
	return []*pipeline.StageStats{src, m}
}

func TestProgressModelAndOverallLines(t *testing.T) {
	stats := modelStats()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	p := StartProgress(nil, stats, ProgressOptions{Log: log, Interval: 20 * time.Millisecond})
	for range 4 {
		stats[1].Batches.ObserveBatch("embed", stages.BatchEvent{Rows: 32, Latency: 12 * time.Millisecond})
	}
	stats[0].RowsOut.Store(300)
	stats[0].UnitsDone.Store(3)
	time.Sleep(80 * time.Millisecond)
	p.Stop()
	out := buf.String()
	for _, want := range []string{"stage=embed", "batch_rows=32", "latency_p50=1", "units_done=3 units_total=10", "eta="} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestProgressBarsShowBatchesAndUnits(t *testing.T) {
	stats := modelStats()
	var buf syncBuffer
	p := StartProgress(&buf, stats, ProgressOptions{Bars: true, Interval: 10 * time.Millisecond})
	stats[1].Batches.ObserveBatch("embed", stages.BatchEvent{Rows: 16, Latency: 3 * time.Millisecond})
	stats[0].RowsOut.Store(500)
	stats[0].UnitsDone.Store(5)
	time.Sleep(60 * time.Millisecond)
	p.Stop()
	out := buf.String()
	for _, want := range []string{"batch 16  p50 ", "all", "5/10 units", "ETA"} {
		if !strings.Contains(out, want) {
			t.Errorf("bars lack %q:\n%s", want, out)
		}
	}
}

func TestOverallProgress(t *testing.T) {
	tests := []struct {
		name      string
		totalRows int64
		bytes     [2]int64 // total, read
		rate      float64
		done      int64
		elapsed   time.Duration
		want      string
	}{
		{"rows known: from the rate", 1000, [2]int64{}, 100, 4, 10 * time.Second, "4/10 units  ETA 6s"},
		{"rows unknown: from the units' pace", -1, [2]int64{}, 0, 4, 8 * time.Second, "4/10 units  ETA 12s"},
		{"rows unknown, no unit done yet", -1, [2]int64{}, 0, 0, 8 * time.Second, "0/10 units"},
		{"rows unknown, bytes known: from the bytes read", -1, [2]int64{4000, 1000}, 0, 0, 8 * time.Second, "0/10 units  ETA 24s"},
		{"bytes read ahead past the total", -1, [2]int64{4000, 5000}, 0, 9, 8 * time.Second, "9/10 units  ETA 0s"},
		{"all done", 1000, [2]int64{}, 100, 10, 8 * time.Second, "10/10 units"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stats := modelStats()
			stats[0].TotalRows.Store(tc.totalRows)
			stats[0].RowsOut.Store(400)
			stats[0].UnitsDone.Store(tc.done)
			stats[0].BytesTotal.Store(tc.bytes[0])
			stats[0].BytesRead.Store(tc.bytes[1])
			o, ok := overallProgress(stats, []float64{tc.rate, 0}, tc.elapsed)
			if !ok || o.String() != tc.want {
				t.Fatalf("overall = %q, %v; want %q", o.String(), ok, tc.want)
			}
		})
	}
	if _, ok := overallProgress(fakeStats(), []float64{0, 0}, time.Second); ok {
		t.Error("overall before the units are planned: ok")
	}
}
