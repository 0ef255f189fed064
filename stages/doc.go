// Package stages is the contract between the pipe runtime and the stages of a
// job: sources that read data, transforms that reshape it, operators that own
// their own loop (model stages, zip, merge), and sinks that write it.
//
// Implementations live in sub-packages (stages/source, stages/transform,
// stages/sink, stages/model) and register themselves by YAML type name into
// the default [Registry] from init functions; the binary selects them with a
// blank import of stages/all. The runtime (package pipeline) never imports a
// concrete stage.
//
// # Building a stage
//
// Every stage type registers an [Entry]: its name, a [Spec] (summary,
// description, example) and a constructor that receives a typed config
// struct, already decoded strictly from the job's `with:` block and
// defaulted, plus the [Env] of the stage: its id, the schemas arriving on its
// inputs, an allocator, a logger. The config struct's `yaml` tags name the
// keys, its `doc` tags document them; [Spec.Fields] is derived from the struct
// by reflection, so the reference that `pipe docs` prints and the keys that the
// loader accepts cannot drift apart.
//
// Constructors check their config and the input schemas and return an error
// naming the column and what is wrong; the loader adds the stage id, file and
// position. Constructors may read file metadata (a Parquet footer, a model's
// signature) but must not read data.
//
// # Ownership
//
// Arrow's reference-counting convention holds throughout:
//
//   - A batch passed into a stage (Transform.Process, Sink.Write, the channels
//     of Operator.Run) is borrowed for the call. A stage that keeps it past the
//     call must Retain it; returning it unchanged means Retain first.
//   - A batch returned by a stage (Source.Next, Transform.Process) or handed to
//     an [Emit] function belongs to the receiver, which releases it.
//   - Batches received from an Operator's input channels belong to the
//     operator, which releases them.
//
// Every buffer is allocated from [Env.Mem]; tests run with a checked
// allocator and fail if any byte is left allocated when the run ends.
//
// # Concurrency and cancellation
//
// The runtime calls each stage from one goroutine at a time. Blocking methods
// take a context first; when it is cancelled they return promptly with its
// error. A stage that starts goroutines owns them and waits for them before
// its Run or Close returns.
//
// # Optional interfaces
//
// A good stage implements, where they apply: [Flusher] (a transform that
// holds rows back until end of input), [RowCounter] (a source that knows its
// row count from metadata, for progress and ETA), [Aborter] (a sink that
// can discard what it has written when the run fails), [OutputDirer] (a sink
// writing into a folder, where the run report goes), [Reporter] (figures
// of its own for the run report) with [ReportMerger] (figures that add up
// across work units), [Sharder] (a source whose input splits into work
// units, for resume and shards), [InputLister] (a file source listing the
// files its paths matched and skipped, for `pipe validate`) and
// [FileLister] (a sink listing the files it committed; it must honour
// [Env.PartPrefix]). Operators that isolate
// rows they cannot process set RejectsRows and hand them to [Env.Reject].
package stages
