package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/serve/inferpb"
)

// serveJobFile writes the quickstart's graph over 40 generated rows.
func serveJobFile(t *testing.T) string {
	t.Helper()
	return writeJob(t, serveJobText(t))
}

// serveJobText is the job of serveJobFile.
func serveJobText(t *testing.T) string {
	t.Helper()
	models, err := filepath.Abs("../../testdata/models")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`version: 1
name: scores
stages:
  - id: gen
    type: generate
    with:
      count: 40
      seed: 7
      columns:
        - {name: id, type: int64}
        - {name: x, type: vector, dims: 32, distribution: normal}
  - id: mlp
    type: model
    inputs: [gen]
    with:
      model: %[1]s/mlp.onnx
      inputs: {x: x}
      outputs: {probs: probs}
      batch: {max_rows: 16, max_delay: 20ms}
  - id: head
    type: model
    inputs: [mlp]
    with:
      model: %[1]s/head.onnx
      inputs: {h: probs}
      outputs: {score: score}
  - id: write
    type: parquet_sink
    inputs: [head]
    with: {path: out}
`, models)
}

// servedRow is one row of the batch run's output.
type servedRow struct {
	id    int64
	x     []float32
	score float32
}

// runForReference runs the job with pipe run and returns its rows.
func runForReference(t *testing.T, job string) []servedRow {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", "-q", job}, &stdout, &stderr); code != 0 {
		t.Fatalf("pipe run: exit %d\n%s", code, stderr.String())
	}
	parts, _ := filepath.Glob(filepath.Join(filepath.Dir(job), "out", "part-*.parquet"))
	var rows []servedRow
	for _, p := range parts {
		tbl := readPartTable(t, p)
		rr := array.NewTableReader(tbl, 1024)
		for rr.Next() {
			rec := rr.RecordBatch()
			s := rec.Schema()
			ids := rec.Column(s.FieldIndices("id")[0]).(*array.Int64)
			xs := rec.Column(s.FieldIndices("x")[0]).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
			scores := rec.Column(s.FieldIndices("score")[0]).(*array.Float32)
			for i := range int(rec.NumRows()) {
				rows = append(rows, servedRow{id: ids.Value(i), x: append([]float32(nil), xs[i*32:(i+1)*32]...), score: scores.Value(i)})
			}
		}
		rr.Release()
		tbl.Release()
	}
	if len(rows) != 40 {
		t.Fatalf("pipe run wrote %d rows, want 40", len(rows))
	}
	return rows
}

// startServe runs this test binary as `pipe serve` on free ports and
// returns its REST and gRPC addresses once it prints them.
func startServe(t *testing.T, job string, args ...string) (cmd *exec.Cmd, rest, grpcAddr string, stderr *lockedBuffer) {
	t.Helper()
	cmd = exec.Command(os.Args[0], append([]string{"serve", job, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "PIPE_TEST_AS_PIPE=1")
	pr, pw := io.Pipe()
	stderr = &lockedBuffer{}
	cmd.Stderr = io.MultiWriter(pw, stderr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan [2]string, 1)
	go func() {
		restRE, grpcRE := regexp.MustCompile(`REST  http://([0-9.:]+)/`), regexp.MustCompile(`gRPC  ([0-9.:]+) `)
		var r string
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := restRE.FindStringSubmatch(sc.Text()); m != nil {
				r = m[1]
			}
			if m := grpcRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- [2]string{r, m[1]}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		_ = pw.Close()
	})
	select {
	case a := <-found:
		return cmd, a[0], a[1], stderr
	case <-time.After(60 * time.Second):
		t.Fatalf("pipe serve never printed its addresses:\n%s", stderr.String())
	}
	return nil, "", "", nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeAnswersLikeRun serves the job and sends each of the batch run's
// rows from its own client, half over REST (JSON, and the binary tensor
// extension) and half over gRPC (raw contents): every answer equals what
// pipe run wrote for that row. Then SIGTERM drains and pipe exits 0.
func TestServeAnswersLikeRun(t *testing.T) {
	stagetest.NeedORT(t)
	job := serveJobFile(t)
	rows := runForReference(t, job)
	cmd, rest, grpcAddr, stderr := startServe(t, job)
	if code := httpGet(t, "http://"+rest+"/v2/health/ready"); code != 200 {
		t.Fatalf("ready: %d", code)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := inferpb.NewGRPCInferenceServiceClient(conn)
	var wg sync.WaitGroup
	errs := make(chan error, len(rows))
	for i, r := range rows {
		wg.Go(func() {
			var got float32
			var err error
			switch i % 3 {
			case 0:
				got, err = inferREST(rest, r, false)
			case 1:
				got, err = inferREST(rest, r, true)
			default:
				got, err = inferGRPC(client, r)
			}
			if err == nil && math.Abs(float64(got-r.score)) > 1e-6 {
				err = fmt.Errorf("score %g, pipe run wrote %g", got, r.score)
			}
			if err != nil {
				errs <- fmt.Errorf("row %d (id %d): %w", i, r.id, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 0 {
		t.Fatalf("after SIGTERM: exit %d\n%s", code, stderr.String())
	}
}

func httpGet(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// inferREST sends one row to the job's endpoint as JSON, or with x as
// binary tensor data, and returns the score.
func inferREST(addr string, r servedRow, binaryX bool) (float32, error) {
	type tensor struct {
		Name       string         `json:"name"`
		Datatype   string         `json:"datatype"`
		Shape      []int64        `json:"shape"`
		Data       any            `json:"data,omitempty"`
		Parameters map[string]any `json:"parameters,omitempty"`
	}
	req := struct {
		Inputs []tensor `json:"inputs"`
	}{Inputs: []tensor{{Name: "id", Datatype: "INT64", Shape: []int64{1}, Data: []int64{r.id}}}}
	var raw []byte
	x := tensor{Name: "x", Datatype: "FP32", Shape: []int64{1, 32}, Data: r.x}
	if binaryX {
		raw = nil
		for _, v := range r.x {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
		x.Data, x.Parameters = nil, map[string]any{"binary_data_size": len(raw)}
	}
	req.Inputs = append(req.Inputs, x)
	head, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	hreq, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v2/models/scores/infer", bytes.NewReader(append(head, raw...)))
	if err != nil {
		return 0, err
	}
	if binaryX {
		hreq.Header.Set("Inference-Header-Content-Length", fmt.Sprint(len(head)))
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	var out struct {
		Outputs []struct {
			Name string    `json:"name"`
			Data []float32 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, fmt.Errorf("%v: %s", err, body)
	}
	for _, o := range out.Outputs {
		if o.Name == "score" && len(o.Data) == 1 {
			return o.Data[0], nil
		}
	}
	return 0, fmt.Errorf("no score in %s", body)
}

// inferGRPC sends one row over gRPC with raw input contents.
func inferGRPC(c inferpb.GRPCInferenceServiceClient, r servedRow) (float32, error) {
	var x []byte
	for _, v := range r.x {
		x = binary.LittleEndian.AppendUint32(x, math.Float32bits(v))
	}
	id := binary.LittleEndian.AppendUint64(nil, uint64(r.id))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.ModelInfer(ctx, &inferpb.ModelInferRequest{
		ModelName: "scores",
		Inputs: []*inferpb.ModelInferRequest_InferInputTensor{
			{Name: "id", Datatype: "INT64", Shape: []int64{1}},
			{Name: "x", Datatype: "FP32", Shape: []int64{1, 32}},
		},
		RawInputContents: [][]byte{id, x},
	})
	if err != nil {
		return 0, err
	}
	for i, o := range resp.GetOutputs() {
		if o.GetName() != "score" {
			continue
		}
		if len(resp.GetRawOutputContents()) > i {
			return math.Float32frombits(binary.LittleEndian.Uint32(resp.GetRawOutputContents()[i])), nil
		}
		if v := o.GetContents().GetFp32Contents(); len(v) == 1 {
			return v[0], nil
		}
	}
	return 0, fmt.Errorf("no score in %v", strings.TrimSpace(resp.String()))
}
