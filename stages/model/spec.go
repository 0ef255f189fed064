package model

import "github.com/pipe-ml/pipe/stages"

var spec = stages.Spec{
	Summary: "Run a model over the rows: batch them, feed columns as tensors, append the outputs as columns.",
	Description: `Runs an ONNX model (or, on a Mac, a Core ML model) over every row of its input and appends the
model's outputs as columns. Rows are grouped into batches (` + "`batch`" + `), which run on the first usable
backend of ` + "`backends`" + ` (` + "`cpu`" + ` is ONNX Runtime's CPU provider); output rows keep the input order
whatever ` + "`instances`" + ` is.

**Columns to tensors.** A ` + "`fixed_size_list<float32>[k]`" + ` column (see ` + "`vectorize`" + `) feeds a model input
` + "`[N, k]`" + `, or ` + "`[N, d1, d2, ...]`" + ` when the model's dimensions multiply to k; when the model leaves dimensions
open (images with dynamic height and width), the long form ` + "`{column: img, shape: [3, 48, 192]}`" + ` gives
the shape of one row. A scalar column feeds ` + "`[N]`" + ` or ` + "`[N, 1]`" + `. Values whose type is the model's are
passed without copying; float16, float64, int32, int64 and bool columns are converted when the model
wants another type. A null in an input column is an error naming the column and the row.

**Tensors to columns.** An output ` + "`[N]`" + ` or ` + "`[N, 1]`" + ` becomes a scalar column; ` + "`[N, k, ...]`" + ` a
` + "`fixed_size_list`" + ` column of its k values per row, or k scalar columns when mapped to a list of names.
Outputs that are not tensors (the sequence of maps scikit-learn classifiers export) are refused when
the job is validated.

**Checked before any data moves.** ` + "`pipe validate`" + ` opens the model and checks every mapping against its
declared inputs and outputs (names, element types, shapes) and the input schema. A missing or corrupt
model file, or one whose SHA-256 differs from ` + "`sha256`" + `, is an error naming the file.

**Static batch dimension.** When the model fixes its batch size, ` + "`batch.pad_to`" + ` is set to it: the last
batch is padded, run, and the padding rows dropped.`,
	Example: `- id: score
  type: model
  inputs: [features]
  with:
    model: models/fraud.onnx
    backends: [auto]
    inputs: {x: features}
    outputs: {probs: fraud_probs}
    keep: [id]
    batch: {max_rows: 512, max_delay: 2ms}
    instances: 2`,
}

// envVars are the PIPE_* variables that override a key of every model
// stage of a job, above its `with:` and below --set.
var envVars = []stages.EnvVar{
	{Name: "PIPE_BACKENDS", Key: "backends", Doc: "backend preference of every model stage (comma-separated or a YAML list)"},
	{Name: "PIPE_THREADS", Key: "threads", Doc: "threads per model call"},
	{Name: "PIPE_INSTANCES", Key: "instances", Doc: "batches run at once per model stage"},
	{Name: "PIPE_BATCH_MAX_ROWS", Key: "batch.max_rows", Doc: "largest batch of every model stage"},
	{Name: "PIPE_BATCH_MAX_DELAY", Key: "batch.max_delay", Doc: "longest wait for a batch to fill"},
}
