package sweep

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseAndValidate(t *testing.T) {
	tests := []struct {
		name    string
		batch   string
		wantErr string
		empty   bool
	}{
		{name: "ok", batch: "1, 64,256"},
		{name: "empty", batch: " ", wantErr: "--batch: empty sweep", empty: true},
		{name: "not a number", batch: "64,x", wantErr: `"x" is not an integer`},
		{name: "zero", batch: "0", wantErr: "--batch: 0 is below 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseInts("batch", tt.batch)
			if err == nil {
				err = Grid{Batch: b, Instances: []int{1}, Threads: []int{0}, Backends: []string{"cpu"}}.Validate()
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if tt.empty != errors.Is(err, ErrEmptySweep) {
				t.Errorf("errors.Is(ErrEmptySweep) = %v, want %v", !tt.empty, tt.empty)
			}
		})
	}
	if err := (Grid{Batch: []int{1}, Instances: []int{1}, Threads: []int{0}}).Validate(); !errors.Is(err, ErrEmptySweep) {
		t.Errorf("no backends: %v, want ErrEmptySweep", err)
	}
	big := Grid{Batch: make([]int, 100), Instances: make([]int, 10), Threads: []int{0}, Backends: []string{"cpu"}}
	for i := range big.Batch {
		big.Batch[i] = i + 1
	}
	for i := range big.Instances {
		big.Instances[i] = i + 1
	}
	if err := big.Validate(); err == nil || !strings.Contains(err.Error(), "1000 combinations") {
		t.Errorf("1000 combinations: %v", err)
	}
}

func TestCombinations(t *testing.T) {
	g := Grid{Batch: []int{8, 64}, Instances: []int{1, 2}, Threads: []int{0}, Backends: []string{"cpu", "ane"}}
	cs := g.Combinations()
	if len(cs) != 8 {
		t.Fatalf("%d combinations, want 8", len(cs))
	}
	if cs[0] != (Combination{Backend: "cpu", Batch: 8, Instances: 1}) || cs[7] != (Combination{Backend: "ane", Batch: 64, Instances: 2}) {
		t.Errorf("order: first %v, last %v", cs[0], cs[7])
	}
}

func TestSummarizeAndBest(t *testing.T) {
	ms := func(rows int64, ds ...time.Duration) []Measurement {
		var out []Measurement
		for _, d := range ds {
			out = append(out, Measurement{Rows: rows, Elapsed: d})
		}
		return out
	}
	lat := []time.Duration{1 * time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 100 * time.Millisecond}
	rs := []Result{
		Summarize(Combination{Backend: "cpu", Batch: 1}, ms(1000, time.Second, 2*time.Second, 4*time.Second), lat),
		Summarize(Combination{Backend: "cpu", Batch: 2}, ms(1000, 500*time.Millisecond, 400*time.Millisecond, 250*time.Millisecond), lat),
		Summarize(Combination{Backend: "cpu", Batch: 4}, ms(1000, 450*time.Millisecond, 400*time.Millisecond, 350*time.Millisecond), lat),
		{Combination: Combination{Backend: "ane", Batch: 1}, Error: "unavailable"},
	}
	if r := rs[0]; r.RowsPerSecond != 500 || r.Min != 250 || r.Max != 1000 || r.P50 != 0.002 || r.P99 != 0.1 || r.Batches != 4 {
		t.Errorf("summary %+v", r)
	}
	if best := MarkBest(rs); best != 1 {
		t.Fatalf("best %d, want 1", best)
	}
	if !rs[1].Best || rs[0].Best || !rs[2].WithinNoise || rs[0].WithinNoise || rs[3].WithinNoise {
		t.Errorf("marks: %+v", rs)
	}
	if MarkBest([]Result{{Error: "x"}}) != -1 {
		t.Error("nothing measured, yet a best")
	}
	rep := &Report{Job: "j.yaml", Stage: "m", Rows: 1000, Repeats: 3, Results: rs}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if !strings.HasPrefix(strings.TrimSpace(lines[2]), "*") || !strings.HasPrefix(strings.TrimSpace(lines[3]), "~") || !strings.Contains(lines[4], "unavailable") {
		t.Errorf("table:\n%s", buf.String())
	}
	buf.Reset()
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Results) != 4 || !back.Results[1].Best {
		t.Errorf("JSON round trip: %v %+v", err, back)
	}
}

// TestHTMLChartPerBackend parses the report as XML and counts the charts.
func TestHTMLChartPerBackend(t *testing.T) {
	var rs []Result
	for _, b := range []string{"cpu", "ane", "mps"} {
		for _, in := range []int{1, 2} {
			for _, bs := range []int{16, 64, 256} {
				d := time.Duration(bs*in) * time.Millisecond
				rs = append(rs, Summarize(Combination{Backend: b, Batch: bs, Instances: in},
					[]Measurement{{Rows: 1000, Elapsed: d}, {Rows: 1000, Elapsed: d + time.Millisecond}}, []time.Duration{d / 10}))
			}
		}
	}
	rs = append(rs, Result{Combination: Combination{Backend: "metal", Batch: 16, Instances: 1}, Error: "backend unavailable: <not macOS>"})
	MarkBest(rs)
	rep := &Report{Job: "job & co.yaml", Stage: "m", Model: "m.onnx", Rows: 1000, Repeats: 2, Results: rs}
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, banned := range []string{"<script", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(text, `xmlns="http://www.w3.org/2000/svg"`, ""), banned) {
			t.Errorf("report contains %q: not self-contained", banned)
		}
	}
	dec := xml.NewDecoder(strings.NewReader(strings.TrimPrefix(text, "<!DOCTYPE html>\n")))
	charts := map[string]map[string]int{} // class -> backend -> count
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("report is not well-formed: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "svg" {
			continue
		}
		var class, backend string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "class":
				class = a.Value
			case "data-backend":
				backend = a.Value
			}
		}
		if charts[class] == nil {
			charts[class] = map[string]int{}
		}
		charts[class][backend]++
	}
	for _, class := range []string{"chart throughput", "chart latency"} {
		for _, b := range []string{"cpu", "ane", "mps", "metal"} {
			if n := charts[class][b]; n != 1 {
				t.Errorf("%d %q charts for backend %s, want 1", n, class, b)
			}
		}
		if len(charts[class]) != 4 {
			t.Errorf("%q charts for %v, want the 4 swept backends", class, charts[class])
		}
	}
}

// TestTableFigures checks the figures the table writes: rates below 10k
// keep all their digits, where the run summary would round them to k.
func TestTableFigures(t *testing.T) {
	tests := []struct {
		rows    int64
		elapsed time.Duration
		want    string
	}{
		{rows: 2500, elapsed: time.Second, want: "2500"},
		{rows: 12345, elapsed: time.Second, want: "12.3k"},
		{rows: 2_500_000, elapsed: time.Second, want: "2.50M"},
	}
	for _, tt := range tests {
		r := Summarize(Combination{Backend: "cpu", Batch: 1}, []Measurement{{Rows: tt.rows, Elapsed: tt.elapsed}}, []time.Duration{1500 * time.Microsecond})
		var buf bytes.Buffer
		if err := (&Report{Rows: tt.rows, Repeats: 1, Results: []Result{r}}).WriteTable(&buf); err != nil {
			t.Fatal(err)
		}
		line := strings.Fields(strings.Split(buf.String(), "\n")[1])
		if len(line) < 8 || line[4] != tt.want || line[6] != "1.5ms" {
			t.Errorf("%d rows in %v: table line %q, want rate %s and p50 1.5ms", tt.rows, tt.elapsed, line, tt.want)
		}
	}
}

func TestMachine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, cpuinfo, want string
	}{
		{"x86", "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7R13 Processor\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7R13 Processor\n", "AMD EPYC 7R13 Processor, 8 cores, linux/amd64"},
		{"arm without a model name", "processor\t: 0\nBogoMIPS\t: 50.00\nHardware\t: BCM2835\n", "BCM2835, 8 cores, linux/amd64"},
		{"nothing known", "processor\t: 0\n", "unknown CPU, 8 cores, linux/amd64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := machineFrom(cpuModel(write(tc.name, tc.cpuinfo)), 8, "linux", "amd64")
			if got != tc.want {
				t.Fatalf("machine = %q, want %q", got, tc.want)
			}
		})
	}
	if got := cpuModel(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("cpuModel of a missing file = %q", got)
	}
}

// TestHTMLLatencyLogScale checks the latency chart is on a log axis with
// labelled decades and the machine is named.
func TestHTMLLatencyLogScale(t *testing.T) {
	rs := []Result{
		Summarize(Combination{Backend: "cpu", Batch: 1, Instances: 1}, []Measurement{{Rows: 10, Elapsed: time.Millisecond}}, []time.Duration{200 * time.Microsecond}),
		Summarize(Combination{Backend: "cpu", Batch: 512, Instances: 1}, []Measurement{{Rows: 10, Elapsed: time.Second}}, []time.Duration{900 * time.Millisecond}),
	}
	rep := &Report{Job: "j", Stage: "m", Machine: "Test CPU, 4 cores, linux/arm64", Results: rs}
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	start := strings.Index(text, `class="chart latency"`)
	if start < 0 {
		t.Fatal("no latency chart")
	}
	chart := text[start : start+strings.Index(text[start:], "</svg>")]
	for _, want := range []string{"log scale", ">0.1<", ">1<", ">10<", ">100<", ">1k<"} {
		if !strings.Contains(chart, want) {
			t.Errorf("latency chart lacks %q", want)
		}
	}
	if !strings.Contains(text, "Machine: Test CPU, 4 cores, linux/arm64.") {
		t.Error("the page does not name the machine")
	}
}
