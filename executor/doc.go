// Package executor runs model calls on the backends of package bridge: it
// places each model on a backend, shares loaded models between stages,
// bounds the work in flight, and retries, trips breakers and falls back
// when backends fail.
//
// A model stage opens its model with [Executor.Open], submits batches
// with [Model.Submit] and reads each [Call]'s result after its Done channel
// closes. The executor never imports a concrete backend: backends register
// themselves with bridge.Register.
//
// # Placement
//
// `backends: [auto]` considers the registered backends in the order of
// their bridge.Capabilities.AutoRank, ane, mps and cpu ([AutoOrder];
// Options.AutoOrder overrides it; metal, which opens no model format, has
// no rank), and keeps those that are registered, available, open
// the model's file format, take its element types and, for backends that
// need static shapes, see only static shapes (the batch dimension counts as
// static when ModelSpec.PadTo is set). Backends whose (model, backend)
// health is degraded or whose breaker is open go last while an alternative
// exists. An explicit list is tried in its order. The first candidate that
// loads the model is chosen; the others stay in order as fallbacks and are
// opened only when needed. [Model.Placement] and the log say which backend
// was chosen and why the others were not. Strict makes any fallback an
// error, and reaches the backend as Options.Extra "strict" = "1"
// ([ExtraStrict]): ane and mps then refuse a .onnx model that would
// partly run on ONNX Runtime's CPU fallback.
//
// # Canary
//
// A model placed on a backend other than Options.CanaryBackend (cpu)
// runs its first real batch there too, once, in the same worker before the
// call completes; [Model.Canary] reports the largest absolute and relative
// difference per output (the Neural Engine computes in float16), and the
// log has one line per output. A reference that cannot run the model is
// reported, never an error of the call.
//
// # System health
//
// Options.Health, when set, is read every Options.HealthInterval on the
// executor's clock. Each [HealthReading] scales the concurrency of the
// subpools of accelerators, the backends whose capabilities say
// Accelerator (ane, mps and metal; pond Resize; the binary maps serious
// heat to one half and critical heat to one worker) and, under memory
// pressure, closes every cached model no Model references. The poller
// stops at the first reading that wraps [ErrNoHealthSignals] (off macOS).
// The executor imports
// no concrete bridge: the binary adapts the Apple bridge's readings
// (internal/applehealth). [Executor.SystemHealth] returns the last reading.
//
// # Model registry
//
// A model is loaded once per (content SHA-256, backend, session options),
// reference counted, and shared by every stage and instance that asks for
// it. Before the first real batch each new session runs once on zeros of
// batch 1 synthesised from its description (skipped, with a logged reason,
// when shapes cannot be synthesised). Unreferenced sessions stay cached
// and are evicted least recently used first when the sum of model sizes
// exceeds Options.ModelMemory; a referenced session is never evicted.
//
// # Model content
//
// A path stands for one content during the executor's life: the first
// Open of a path pins its SHA-256 (ModelSpec.SHA256 when given, which is
// how a job passes the hash its fingerprint counted), and later Opens of
// that path share sessions by that hash without reading the file again.
// Every session is created from bytes checked against the pin: a backend
// that loads from memory (bridge.MemoryOpener; ONNX Runtime) gets the
// bytes the executor read and hashed; any other backend, and any folder
// model (.mlpackage), gets a private copy hashed as it is written, made
// once per content in a folder of the system's temporary folder (mode
// 0700) that Close removes. A file that no longer matches its pin when a
// session must be created fails with a [*HashMismatchError] naming it,
// so output is never computed by a model other than the one pinned.
//
// # Admission and pools
//
// Submit first waits for admission: at most Options.MaxInFlight calls and
// Options.MemoryBudget bytes of model tensors in flight, released when a
// call completes. A call counts its input tensors and its outputs as the
// model declares them (rows × the bytes of one row of each output whose
// dimensions after the batch are fixed); an output whose size the model
// leaves open counts the largest bytes per row measured on the model's
// earlier calls. A call whose bytes alone exceed the budget is refused at
// once with a [*BudgetError], never run: callers split their batches to
// fit (the model stage does). Waiting longer than Options.AdmissionTimeout
// fails with a *bridge.Error of class resource exhausted. The call then queues on its
// backend's pond subpool, which runs at most MaxConcurrency calls of that
// backend at once behind a bounded queue; Submit blocks while the queue is
// full. That is the backpressure a stage feels.
//
// # Failures
//
// Errors are classified with bridge.ClassOf before anything is done:
//
//   - transient and resource exhausted: retried on the same backend with
//     exponential backoff and full jitter, rand × min(Max, Initial × 2^n),
//     up to RetryPolicy.MaxAttempts attempts in all;
//   - unavailable, unsupported, model corrupt and unknown: the call moves to
//     the model's next backend (opened lazily), counted as a fallback; a
//     failure to open, unavailable or model corrupt also moves new calls;
//   - invalid input: returned as is, never retried nor moved (the stage
//     isolates the bad rows);
//   - cancellation: returned at once.
//
// Each (model, backend) has a circuit breaker: Failures consecutive backend
// failures open it, after OpenFor it lets HalfOpenProbes calls through, a
// probe's success closes it and a failure opens it again. A call meeting
// an open breaker moves to the next backend; when every remaining breaker
// is open it waits for the first to half-open instead of failing rows.
//
// # Ownership
//
// Submit borrows the input tensors until the call is done: their Data must
// stay valid and unchanged until Done is closed. Output tensors are
// allocated from the allocator given to Submit and belong to the caller,
// who frees their Data with it. The executor keeps no tensor after a call.
//
// # Concurrency
//
// Executor, Model and Call are safe for concurrent use. Every goroutine the
// executor starts (pond workers, a helper that requeues a call on a full
// lane, the health poller) is waited for by [Executor.Close], which first
// stops the poller, then waits for every admitted call to complete:
// cancel their contexts for a hard stop. [Model.Close] waits for that model's calls. Tasks check their context
// before loading a model and before each run; a running backend call is
// interrupted through its context.
//
// ModelSpec.Instances bounds the calls of one handle that run at once; the
// calls submitted past it wait in order and the worker that finishes a
// call starts the next one, so a stage can queue a batch behind its
// running calls without running more of them. The worker runs that next
// call itself when no other task waits for its lane (else the call goes
// to the back of the lane's queue), so consecutive calls follow each other
// on one goroutine without a trip through the Go scheduler.
//
// # Metrics
//
// [New] creates Prometheus collectors named pipe_backend_* (runs, errors,
// latency, in-flight runs, retries, fallbacks, admission waits and
// rejections, breaker state and transitions, bytes and calls in flight),
// labelled by backend, model (file base name) and stage, and registers them
// on Options.Registerer only. [Executor.Backends] reports per backend its
// capabilities and, per model, EWMA latency, throughput, error rate,
// degradation and breaker state.
package executor
