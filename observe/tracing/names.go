package tracing

// Span names that pipe creates. The wiring in pipeline and serve uses these
// constants so that dashboards and tests agree on one spelling.
const (
	// SpanRun is the root span of one `pipe run`.
	SpanRun = "pipe.run"
	// SpanUnit is one work unit of a run (child of [SpanRun]).
	SpanUnit = "pipe.unit"
	// SpanStage is one stage working on one unit (child of [SpanUnit]).
	SpanStage = "pipe.stage"
	// EventModelBatch is the event a model stage adds to its [SpanStage]
	// span for every batch it sends to a backend. Model calls are events,
	// never spans per row.
	EventModelBatch = "model.batch"

	// SpanInfer is the server span of one `pipe serve` request. It
	// continues the client's trace when the request carries a W3C
	// traceparent.
	SpanInfer = "pipe.infer"
	// SpanQueue covers the time a request waits for a batch (child of
	// [SpanInfer]).
	SpanQueue = "pipe.queue"
	// SpanBatch is the batch a request joined (child of [SpanInfer]).
	SpanBatch = "pipe.batch"
	// SpanBackendRun is the backend call that ran the batch (child of
	// [SpanBatch]).
	SpanBackendRun = "pipe.backend.run"
)

// Attribute keys on pipe's spans and events.
const (
	// AttrJob is the job name of a run.
	AttrJob = "pipe.job"
	// AttrUnit is the id of a work unit.
	AttrUnit = "pipe.unit.id"
	// AttrStageID is the id of a stage in the job's DAG.
	AttrStageID = "pipe.stage.id"
	// AttrStageType is the registered type name of a stage.
	AttrStageType = "pipe.stage.type"
	// AttrModel is the model name.
	AttrModel = "pipe.model"
	// AttrBackend is the backend that ran a batch (cpu, onnx, coreml, ...).
	AttrBackend = "pipe.backend"
	// AttrBatchSize is the number of rows (or requests) in a batch.
	AttrBatchSize = "pipe.batch.size"
	// AttrBatchID is an id shared by the spans of every request that
	// joined the same serving batch.
	AttrBatchID = "pipe.batch.id"
	// AttrFlushReason says why a batch was flushed (full, deadline, end).
	AttrFlushReason = "pipe.batch.flush_reason"
	// AttrRows is a row count.
	AttrRows = "pipe.rows"
	// AttrLatency is a duration in seconds (float).
	AttrLatency = "pipe.latency_seconds"
)

// Log attribute keys added by [LogAttrs] and [NewLogHandler].
const (
	LogTraceID = "trace_id"
	LogSpanID  = "span_id"
)
