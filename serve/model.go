package serve

import (
	"context"
	"time"
)

// Tensor is one named input or output in the Open Inference Protocol's terms.
//
// Data holds the elements in row-major order as the typed slice that matches
// Datatype (see [Datatypes]): []bool for BOOL, []uint8 … []uint64,
// []int8 … []int64, []float32 for FP32, []float64 for FP64 and [][]byte for
// BYTES. Its length is the product of Shape. FP16 is refused at the edge of
// the server, so a [Model] never sees it.
type Tensor struct {
	Name       string
	Datatype   string
	Shape      []int64
	Data       any
	Parameters map[string]any
}

// RequestedOutput names one output a client asked for. Binary is true when
// the client asked for it in the binary tensor data extension (REST); the
// server handles the encoding, so a [Model] may ignore it.
type RequestedOutput struct {
	Name   string
	Binary bool
}

// InferRequest is one inference request after decoding and validation: every
// input the model declares is present once, with the declared datatype, a
// shape that fits the declared one and len(Data) equal to the product of the
// shape. Outputs is empty when the client wants every output.
type InferRequest struct {
	ID         string
	Inputs     []Tensor
	Outputs    []RequestedOutput
	Parameters map[string]any
}

// InferResponse is a model's answer. The server fills ModelName and ID when
// they are empty and keeps only the requested outputs, in the requested
// order. Timing is optional: when a model reports where the time went the
// server exports it as metrics.
type InferResponse struct {
	ModelName    string
	ModelVersion string
	ID           string
	Outputs      []Tensor
	Parameters   map[string]any
	Timing       Timing
}

// Timing says how long a request waited for a batch slot (Queue) and how
// long its batch ran (Compute). Zero fields are not observed.
type Timing struct {
	Queue   time.Duration
	Compute time.Duration
}

// TensorMetadata describes one input or output of a model. A dimension of
// -1 in Shape accepts any size.
type TensorMetadata struct {
	Name     string
	Datatype string
	Shape    []int64
}

// ModelMetadata describes a model as the metadata endpoints report it.
// Name must be unique within a [Server].
type ModelMetadata struct {
	Name     string
	Versions []string
	Platform string
	Inputs   []TensorMetadata
	Outputs  []TensorMetadata
}

// Model is what the server answers for; implementations are safe for
// concurrent use.
type Model interface {
	// Metadata describes the model. The server reads it once, in [New].
	Metadata() ModelMetadata
	// Ready reports whether the model can run requests now.
	Ready() bool
	// Infer runs one request. ctx is cancelled when the client disconnects
	// or its deadline passes; an implementation drops the request's rows
	// before they run when it can. req is valid against Metadata and must
	// not be kept after Infer returns; the response's tensors belong to the
	// server once returned.
	Infer(ctx context.Context, req *InferRequest) (*InferResponse, error)
}
