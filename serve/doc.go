// Package serve answers the Open Inference Protocol (KServe v2) over REST
// and gRPC for a set of [Model]s: the server layer of `pipe serve`.
//
// # Protocol
//
// [Server.Handler] serves GET /v2, /v2/health/live, /v2/health/ready,
// /v2/models/{name}[/versions/{v}], …/ready and POST …/infer, plus
// GET /metrics. Request tensor data may be JSON, flat or nested row-major,
// or use the binary tensor data extension: an Inference-Header-Content-Length
// header gives the length of the JSON part, inputs with a binary_data_size
// parameter take that many bytes of what follows, in order, little-endian,
// BYTES elements each a 4-byte little-endian length then the bytes. Outputs
// come back binary when the request output has "binary_data": true or the
// request has "binary_data_output": true. Errors are {"error": "..."} with
// the status of the sentinel they wrap: [ErrInvalidInput] 400,
// [ErrUnauthorized] 401, [ErrModelNotFound] 404, [ErrTooLarge] 413,
// [ErrQueueFull] 429 with Retry-After, [ErrNotReady] 503, anything else
// 500. Readiness endpoints answer 503 with "ready": false when not ready so
// that they work as Kubernetes probes.
//
// [Server.RegisterGRPC] registers inference.GRPCInferenceService (package
// [github.com/pipe-ml/pipe/serve/inferpb]) with the codes INVALID_ARGUMENT,
// UNAUTHENTICATED, NOT_FOUND, RESOURCE_EXHAUSTED (queue full, too large),
// UNAVAILABLE and INTERNAL. ModelInfer answers in raw_output_contents when
// the request used raw_input_contents or binary_data_output, else in typed
// contents.
//
// FP16 and BF16 tensors are refused with a message asking for FP32.
//
// # Validation and limits
//
// Before a [Model] sees a request the server checks it against the model's
// [ModelMetadata]: every declared input present once, same datatype, same
// rank, fixed dimensions equal (-1 accepts any), data length equal to the
// product of the shape, requested outputs declared. Errors are
// [*InputError]s naming the input. Shapes are multiplied with overflow
// checks against [Options.MaxElements] before any tensor is allocated, JSON
// data never allocates more elements than the body has bytes, and bodies
// are capped at [Options.MaxBodyBytes]. A model's outputs are checked the
// same way (datatype, Go type and length) before they are encoded.
//
// # Admission and metrics
//
// Each model admits at most [Options.MaxQueue] requests that are not yet
// answered; the next is refused at once with [ErrQueueFull], never queued.
// /metrics serves pipe_serve_requests_total{model,protocol,outcome} (errors
// are outcomes other than "ok"), pipe_serve_rejected_total{model,reason}
// (refused before the model ran), pipe_serve_request_duration_seconds,
// pipe_serve_inflight_requests, and, when a model fills
// [InferResponse.Timing], pipe_serve_queue_duration_seconds and
// pipe_serve_compute_duration_seconds. Requests for unknown models are
// labelled "_unknown".
//
// # Ownership, concurrency and cancellation
//
// A [Server] is safe for concurrent use. Models must be too. The
// [InferRequest] passed to Infer is the model's only for the call; the
// returned [InferResponse] belongs to the server. The ctx passed to Infer
// is cancelled when the client goes away, its deadline passes, or a drain
// times out.
//
// [Server.Serve] owns its goroutines and returns after all of them and all
// admitted requests are done. On shutdown it sets readiness false, refuses
// new requests with [ErrNotReady], stops accepting connections, waits up to
// [Options.DrainTimeout] for in-flight requests, then cancels them and
// reports how many were cut off ([ErrCutOff]).
package serve
