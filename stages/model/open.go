package model

import (
	"context"

	"github.com/pipe-ml/pipe/bridge"
)

// ServiceOpener is the key of [stages.Env.Services] under which a job
// provides an [Opener]: the executor, shared by every model stage.
const ServiceOpener = "model.opener"

// OpenRequest is what a model stage asks the job's executor for.
type OpenRequest struct {
	Stage   string
	Config  Config
	Options bridge.Options
}

// Opener opens a model for a stage through the job's executor.
type Opener func(ctx context.Context, req OpenRequest) (Runner, error)
