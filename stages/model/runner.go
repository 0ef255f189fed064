package model

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/stages"
)

// ErrNoExecutor is the error of [New] for an env without an executor
// ([stages.Env.Executor]): the stage runs every model call through the
// job's executor and has no other way to run one.
var ErrNoExecutor = errors.New("no executor")

// Runner is what the stage needs from what runs the model: the job's
// executor's model (shared pools, admission, retries, fallback).
type Runner interface {
	Info() bridge.ModelInfo
	Placement() (backend, reason string)
	// Submit starts one model call; in is borrowed until the call is done.
	Submit(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) (Call, error)
	Close() error
}

// Call is one model call in flight.
type Call interface {
	Done() <-chan struct{}
	// Result is valid after Done; outputs are owned by the caller.
	Result() ([]bridge.Tensor, error)
	// Ran is valid after Done: how long a backend worked on the call,
	// from the start of its first attempt to its end (retries included,
	// the wait in the queue not).
	Ran() time.Duration
}

// executorOf returns the job's executor from env, or an error wrapping
// [ErrNoExecutor] when the runtime provides none.
func executorOf(env *stages.Env) (*executor.Executor, error) {
	if env.Executor == nil {
		return nil, fmt.Errorf("%w: the runtime must provide one in the stage's Env (pipeline.Build does for stage types that set NeedsExecutor)", ErrNoExecutor)
	}
	return env.Executor, nil
}

// openRunner opens the model through the job's executor, which places it
// (backend order, strictness, fallbacks). sum is the content the executor
// must load (see checkModelFile).
func openRunner(ctx context.Context, ex *executor.Executor, conf Config, sum string, env *stages.Env, opts bridge.Options) (Runner, error) {
	m, err := ex.Open(ctx, executor.ModelSpec{
		Stage:     env.ID,
		Path:      string(conf.Model),
		SHA256:    sum,
		Backends:  conf.Backends,
		Strict:    conf.Strict,
		Session:   opts,
		Retry:     executor.RetryPolicy{MaxAttempts: conf.Retry.MaxAttempts, Initial: conf.Retry.Initial.D(), Max: conf.Retry.Max.D()},
		Breaker:   executor.BreakerPolicy{Failures: conf.Breaker.Failures, OpenFor: conf.Breaker.OpenFor.D(), HalfOpenProbes: conf.Breaker.HalfOpenProbes},
		PadTo:     conf.Batch.PadTo,
		Instances: conf.Instances,
	})
	if err != nil {
		return nil, err
	}
	return executorRunner{m}, nil
}

// executorRunner adapts an executor model to [Runner].
type executorRunner struct{ m *executor.Model }

func (r executorRunner) Info() bridge.ModelInfo      { return r.m.Info() }
func (r executorRunner) Placement() (string, string) { return r.m.Placement() }
func (r executorRunner) Close() error                { return r.m.Close() }
func (r executorRunner) Submit(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) (Call, error) {
	c, err := r.m.Submit(ctx, in, mem)
	if err != nil {
		return nil, err
	}
	return c, nil
}
