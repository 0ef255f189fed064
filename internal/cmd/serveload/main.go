// Command serveload is the load generator of the serving benchmark
// (`scripts/bench.sh serve`): it sends one-row KServe v2 JSON requests to
// `pipe serve` on loopback for a fixed time and prints one line: counts by
// outcome, the accepted requests' throughput and p50/p90/p99/max latency,
// and the p50/p99 latency of the requests refused with 429.
//
//	serveload -url http://127.0.0.1:8000 -model bench-serve-deep -clients 64 -duration 10s
//	serveload -url ... -rate 4000 -duration 10s   # open loop
//
// Closed loop (-clients N, -rate 0): N clients each send their next
// request as soon as the last one answered. Open loop (-rate R): R
// requests per second whatever the answers, the way overload arrives.
//
// The attacker is vegeta's (github.com/tsenart/vegeta/v12/lib): its
// constant pacer and worker pool give the open loop without coordinated
// omission, and rate 0 with a fixed worker count is the closed loop. Its
// metrics are not used: they mix every status in one latency distribution
// and estimate quantiles with a t-digest, while this benchmark needs the
// accepted and the rejected requests apart, with exact (nearest-rank)
// percentiles over every sample (stats.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

var (
	// ErrUsage marks a bad command line.
	ErrUsage = errors.New("usage")
	// ErrNotReady is returned when the server does not turn ready in time.
	ErrNotReady = errors.New("server not ready")
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(1)
	}
}

// options are the command line's settings.
type options struct {
	base, model, input string
	width, clients     int
	rate, bodies       int
	duration, warmup   time.Duration
	timeout, wait      time.Duration
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("serveload", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.base, "url", "http://127.0.0.1:8000", "the server's base URL")
	fs.StringVar(&o.model, "model", "", "the model to call (required)")
	fs.StringVar(&o.input, "input", "x", "the request tensor's name (the job's request column)")
	fs.IntVar(&o.width, "width", 32, "values in the one row (FP32 [1, width])")
	fs.IntVar(&o.clients, "clients", 64, "closed loop: concurrent clients")
	fs.IntVar(&o.rate, "rate", 0, "open loop: requests per second (0: closed loop)")
	fs.IntVar(&o.bodies, "bodies", 16, "distinct request bodies, sent in turn")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send requests")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "a run of the same load whose results are dropped, first")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "one request's limit")
	fs.DurationVar(&o.wait, "wait", time.Minute, "how long to wait for the server to turn ready")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	switch {
	case o.model == "":
		return o, fmt.Errorf("%w: -model is required", ErrUsage)
	case o.rate < 0 || o.width <= 0 || o.bodies <= 0 || o.duration <= 0:
		return o, fmt.Errorf("%w: -rate must be >= 0, -width, -bodies and -duration > 0", ErrUsage)
	case o.rate == 0 && o.clients <= 0:
		return o, fmt.Errorf("%w: -clients must be > 0 in a closed loop", ErrUsage)
	}
	o.base = strings.TrimRight(o.base, "/")
	return o, nil
}

// run waits for the server, warms it up, runs the load and prints the
// summary line to w.
func run(ctx context.Context, args []string, w io.Writer) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, o.base, o.wait); err != nil {
		return err
	}
	l := load{url: o.base + "/v2/models/" + o.model + "/infer", clients: o.clients, rate: o.rate,
		duration: o.warmup, timeout: o.timeout, bodies: bodies(o.bodies, o.width, o.input)}
	if o.warmup > 0 {
		attack(ctx, l)
	}
	l.duration = o.duration
	s := summarize(attack(ctx, l))
	settings := fmt.Sprintf("mode=closed clients=%d", o.clients)
	if o.rate > 0 {
		settings = fmt.Sprintf("mode=open rate=%d", o.rate)
	}
	if _, err := fmt.Fprintln(w, s.line(settings)); err != nil {
		return err
	}
	if s.OK == 0 {
		return fmt.Errorf("no request of %d answered 200 with outputs (codes %v, %d errors)", s.Requests, s.Codes, s.Errors)
	}
	return ctx.Err()
}
