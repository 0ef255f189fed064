package pipeline_test

import (
	"errors"

	"github.com/pipe-ml/pipe/pipeline"
)

func asValidation(err error, ve **pipeline.ValidationError) bool { return errors.As(err, ve) }
