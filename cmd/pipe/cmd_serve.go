package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/pipe-ml/pipe/internal/mempool"
	"github.com/pipe-ml/pipe/observe/tracing"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/serve"
	"github.com/pipe-ml/pipe/serve/jobmodel"
	"github.com/pipe-ml/pipe/stages"
)

// serveLong is the help text of pipe serve.
const serveLong = `Serve a job's graph over the Open Inference Protocol (KServe v2), REST and
gRPC, so that clients send rows and get the job's answers for them.

The job's input stage (its only source, or --input) is replaced by the
requests: a request carries one tensor per column of that stage's output,
named like the column (numbers: [rows]; fixed_size_list<T>[n]: [rows, n];
strings and binaries: BYTES [rows]). The input stage is built once, as
written, to learn those columns. The answer holds the columns of the output
stage (what the job's only sink reads, or --output) as tensors. The job's
sinks are not run.

The whole graph answers as one model named after the job; with --models
(the default) every model stage is also a model of its own, named after the
stage. Requests of many clients are joined into the model stages' batches
(batch.max_rows, max_delay, adaptive), and each client gets its own rows.
A served graph may not drop or reorder rows: filter, merge and on_error
other than fail are refused.

Endpoints: REST /v2, /v2/health/live, /v2/health/ready, /v2/models/NAME,
/v2/models/NAME/ready, /v2/models/NAME/infer (JSON, and the binary tensor
data extension), /metrics; gRPC inference.GRPCInferenceService.

Admission: each model admits --max-queue requests unanswered; one more is
refused at once (HTTP 429 with Retry-After, gRPC RESOURCE_EXHAUSTED).

Models load and run one request of zeros (when the request is all numbers)
before readiness turns true. SIGINT or SIGTERM turns readiness false, stops
accepting, lets the requests in flight finish within --drain-timeout, and
exits 0. Both listeners bind the loopback interface unless an address names
a host (0.0.0.0 for every interface). PIPE_SERVE_TOKEN, when set, is the
bearer token every request but the health checks and /metrics must carry.`

// serveFlags are the flags of pipe serve.
type serveFlags struct {
	set          []string
	httpAddr     string
	grpcAddr     string
	input        string
	output       string
	models       bool
	maxQueue     int
	maxBody      string
	maxElements  int64
	drainTimeout time.Duration
	tlsCert      string
	tlsKey       string
}

func newServeCmd(g *globals) *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve JOB",
		Short: "Answer requests with a job's graph (KServe v2 REST and gRPC)",
		Long:  serveLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return serveJob(cmd.Context(), g, args[0], &f)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&f.set, "set", nil, "override a stage setting: ID.KEY=VALUE (repeatable; KEY may be dotted)")
	fl.StringVar(&f.httpAddr, "http", "127.0.0.1:8000", "REST address (host:port; no host means loopback; \"off\" disables)")
	fl.StringVar(&f.grpcAddr, "grpc", "127.0.0.1:8001", "gRPC address (host:port; no host means loopback; \"off\" disables)")
	fl.StringVar(&f.input, "input", "", "the stage whose output requests replace (default: the job's only source)")
	fl.StringVar(&f.output, "output", "", "the stage whose output answers (default: what the job's only sink reads)")
	fl.BoolVar(&f.models, "models", true, "also serve every model stage as a model of its own")
	fl.IntVar(&f.maxQueue, "max-queue", 256, "requests one model admits unanswered; more are refused with 429 / RESOURCE_EXHAUSTED")
	fl.StringVar(&f.maxBody, "max-body", "64MiB", "largest request body (REST) or message (gRPC)")
	fl.Int64Var(&f.maxElements, "max-elements", serve.DefaultMaxElements, "most tensor elements in one request")
	fl.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "how long requests in flight may finish after SIGTERM")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve TLS with this certificate (PEM; with --tls-key)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "the key of --tls-cert (PEM)")
	return c
}

// serveJob is pipe serve: load the job, open its endpoints, listen, serve
// until a signal, drain.
func serveJob(ctx context.Context, g *globals, path string, f *serveFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	log, err := g.logger()
	if err != nil {
		return err
	}
	opts, err := f.serverOptions()
	if err != nil {
		return err
	}
	job, err := pipeline.LoadFile(path, pipeline.LoadOptions{Set: f.set})
	if err != nil {
		return err
	}
	tr, err := tracing.Setup(ctx, "pipe", pipeline.Version)
	if err != nil {
		return usage("%v", err)
	}
	defer shutdownTracing(tr, log)
	log = slog.New(tracing.NewLogHandler(log.Handler()))
	httpLn, grpcLn, err := f.listen()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	opts.Registerer, opts.Logger, opts.Tracer = reg, log, tr.Tracer()
	eps, err := jobmodel.Open(ctx, job, jobmodel.Ends{Input: f.input, Output: f.output},
		jobmodel.Options{Log: log, Mem: mempool.New(), Registerer: reg, Models: f.models, QueueLen: 2 * opts.MaxQueue, Tracer: tr.Tracer()})
	if err != nil {
		closeListeners(httpLn, grpcLn)
		return err
	}
	models := make([]serve.Model, len(eps))
	for i, e := range eps {
		models[i] = e
	}
	srv, err := serve.New(models, opts)
	if err != nil {
		closeListeners(httpLn, grpcLn)
		return errors.Join(err, closeEndpoints(eps, f.drainTimeout))
	}
	printServing(g, eps, httpLn, grpcLn)
	sctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv.SetReady(true)
	err = srv.Serve(sctx, httpLn, grpcLn)
	cerr := closeEndpoints(eps, f.drainTimeout)
	log.Info("stopped", "err", errors.Join(err, cerr))
	return errors.Join(err, cerr)
}

// shutdownTracing flushes the spans not yet exported, for at most 5 seconds.
func shutdownTracing(tr *tracing.Tracing, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		log.Warn("tracing: flush at exit", "err", err)
	}
}

// closeEndpoints lets each endpoint's graph finish within timeout.
func closeEndpoints(eps []*jobmodel.Endpoint, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for _, e := range eps {
		errs = append(errs, e.Close(ctx))
	}
	return errors.Join(errs...)
}

func printServing(g *globals, eps []*jobmodel.Endpoint, httpLn, grpcLn net.Listener) {
	names := make([]string, len(eps))
	for i, e := range eps {
		names[i] = e.Name()
	}
	fmt.Fprintf(g.stderr, "serving %s\n", strings.Join(names, ", "))
	if httpLn != nil {
		fmt.Fprintf(g.stderr, "  REST  http://%s/v2/models/%s/infer\n", httpLn.Addr(), names[0])
	}
	if grpcLn != nil {
		fmt.Fprintf(g.stderr, "  gRPC  %s (inference.GRPCInferenceService)\n", grpcLn.Addr())
	}
}

// serverOptions turns the flags into the server's options.
func (f *serveFlags) serverOptions() (serve.Options, error) {
	body, err := stages.ParseByteSize(f.maxBody)
	if err != nil {
		return serve.Options{}, usage("--max-body: %v", err)
	}
	if f.maxQueue <= 0 {
		return serve.Options{}, usage("--max-queue: %d is not a positive number", f.maxQueue)
	}
	o := serve.Options{MaxQueue: f.maxQueue, MaxBodyBytes: int64(body), MaxElements: f.maxElements,
		DrainTimeout: f.drainTimeout, Token: os.Getenv("PIPE_SERVE_TOKEN"), ServerName: "pipe", ServerVersion: pipeline.Version}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return o, usage("--tls-cert and --tls-key go together")
	}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return o, usage("--tls-cert/--tls-key: %v", err)
		}
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	}
	return o, nil
}

// listen binds the REST and gRPC addresses (nil for "off").
func (f *serveFlags) listen() (httpLn, grpcLn net.Listener, err error) {
	if httpLn, err = listenAddr("--http", f.httpAddr); err != nil {
		return nil, nil, err
	}
	if grpcLn, err = listenAddr("--grpc", f.grpcAddr); err != nil {
		closeListeners(httpLn)
		return nil, nil, err
	}
	if httpLn == nil && grpcLn == nil {
		return nil, nil, usage("--http and --grpc are both off: nothing to serve on")
	}
	return httpLn, grpcLn, nil
}

// listenAddr binds addr, the loopback interface when it names no host.
func listenAddr(flag, addr string) (net.Listener, error) {
	if addr == "off" || addr == "" {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usage("%s: %q: %v", flag, addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return ln, nil
}

func closeListeners(lns ...net.Listener) {
	for _, l := range lns {
		if l != nil {
			_ = l.Close()
		}
	}
}
