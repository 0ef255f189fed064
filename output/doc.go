// Package output is pipe's output protocol: how a run turns the files its
// sinks wrote into committed output that a reader may trust, and how a
// rerun, a replacement, a shard or a crash leaves it.
//
// # What a reader may rely on
//
// A folder's committed output is `_SUCCESS`, `_manifest.json` ([Manifest])
// and exactly the files the manifest lists, with the rows, sizes and
// SHA-256 it gives. Trust a folder only when `_SUCCESS` is there, and take
// its files from the manifest, never from a listing: while a run writes,
// the folder also holds that run's files, which no manifest lists yet
// ([Unlisted]). [VerifyOutput] checks all of it. No file under a final name
// is ever partial.
//
// # The steps
//
// Sinks write each file as `_pipe_staging/part-UUUUU/NAME.inprogress`,
// fsync it and rename it to its final name (stages/sink). After every sink
// committed a work unit, the run records the unit in `_pipe_units/unit-UUUUU.json`
// ([UnitRecord]: the unit's files with rows, bytes and SHA-256, and the
// job's fingerprint); a rerun skips a unit whose record has its
// fingerprint and whose files are intact ([UnitDone]). When a shard has
// recorded all its units it writes `_pipe_shards/shard-IIIII-of-NNNNN.json`
// ([ShardManifest]); when every shard of one job has, the folder is
// committed ([CommitFolder], or `pipe commit` through [CommitOutput]): the
// manifest is written to a temporary name, fsynced and renamed, part files
// it does not list are removed, then `_SUCCESS` is written and fsynced.
// Writing the manifest is the one switch from one output to the next.
//
// # Generations
//
// A run replacing committed output writes its files under names the
// committed manifest cannot hold, so that the old output stays whole until
// the new manifest replaces it:
//
//	part-UUUUU-NNNNN.parquet       generation 1 (the first output)
//	part-UUUUU-gG-NNNNN.parquet    generation G >= 2
//
// A manifest of generation G lists files of generations up to G; a run
// over it writes generation G+1 ([NextGeneration], [PartPrefix]) and never
// writes, renames over or removes a file of generation G or lower before
// its own manifest is in place. Then it removes the part files its
// manifest does not list. A clean-up cut short leaves files of generation
// <= G that no manifest lists; the next run on the folder removes them
// first ([RemoveStale]).
//
// # Incremental jobs
//
// Every manifest carries a ledger ([Manifest.Units], [LedgerUnit]): each
// unit's key, the fingerprint its record carried, the generation that
// computed it, the input files it read ([InputFile]) and its files; and a
// history of what each generation scored, kept and dropped
// ([GenerationNote]). A unit of an incremental job carries a fingerprint of
// the job (models included, input files not), its key and its inputs'
// stamps. The next run over the folder finds, in the committed ledger, the
// units whose key and fingerprint it computes again, writes their records
// under their new indexes ([CarriedRecord]: the same files, of their
// generation), computes the others in the next generation, and commits a
// manifest listing both. The part files of units it did not keep are
// removed after that manifest is in place, like any unlisted file. A
// record may therefore list part files of another unit index and an
// earlier generation than the run's; its Generation field says which.
//
// # One writer per folder
//
// A run holds an advisory lock (flock(2)) on `_pipe_lock/folder` inside
// every folder it writes ([LockFolders]), from before it looks at the
// folder until it has committed or given up:
//
//   - an unsharded run holds it exclusively, so a second run on the folder
//     fails at once with [ErrLocked] and touches nothing;
//   - each shard of a sharded run holds it shared, plus its own
//     `_pipe_lock/shard-IIIII-of-NNNNN` exclusively: shards of one run do
//     not block each other, the same shard started twice does, and a run
//     split into another number of shards is refused while one of them
//     holds its lock;
//   - committing a folder (the last shard, `pipe commit`) also holds
//     `_pipe_lock/commit` exclusively, so two committers take turns.
//
// The kernel releases a process's locks when it exits, however it exits: a
// lock is never stale on a local filesystem, and a rerun after a crash or
// a SIGKILL takes it over by simply taking it. On NFS (v4, or v3 with
// lockd) flock is a byte-range lock held by the client; the server
// releases the locks of a client that vanished when its lease expires (90
// seconds by default), so a pod that died on another node is taken over by
// waiting that long. The lock file holds who holds it ([LockHolder]) for
// the message a refused run prints.
//
// # The storage seam
//
// The protocol reaches storage only through [Folder]: list, stat, read a
// small file, open a file to hash it, write a small file atomically,
// create the empty marker, remove, make folders, sync. [LocalDir]
// implements it for local directories; [Locker], found by type assertion,
// adds the locks; [Creator] adds streamed writes for stores without
// rename. The failpoints of internal/failpoint (`commit/*`) mark the steps
// above for the crash tests of cmd/pipe.
//
// Every caller turns an output location into a Folder with [Open]: a path
// is a [LocalDir]; a URL goes to the [Opener] its scheme registered with
// [RegisterScheme] (output/s3folder registers "s3" in its init, and a
// binary gets S3 outputs by importing it, as stages/sink does). An unknown
// scheme or a malformed URL is an error naming the location.
//
// # On object storage
//
// On a bucket (output/s3folder) the same steps run in the same order, with
// what stands in for rename and flock:
//
//   - a sink uploads each part file straight to its final key with a
//     streaming multipart upload ([Creator]); the object appears only when
//     the upload is completed, after the whole file is written and its
//     SHA-256 computed, and the upload is aborted on failure. There is no
//     staging file: `_pipe_staging/PREFIX` is an empty marker object that
//     says a unit is being written;
//   - unit records, shard manifests and `_SUCCESS` are single puts, which
//     S3 applies whole; the manifest is a conditional put (If-Match on the
//     ETag read, If-None-Match: * for the first), the one switch;
//   - a rerun reads the unit records back and skips committed units, as
//     locally; part objects no manifest lists (a failed attempt's) are
//     removed by the commit, found by listing;
//   - a run that is killed leaves its open multipart uploads behind: they
//     never appear as objects, and the store drops them by its lifecycle
//     rule (AbortIncompleteMultipartUpload, which a bucket for pipe
//     outputs should have).
//
// The locks are lease objects under `_pipe_lock/`, created with a
// conditional put (If-None-Match: *) and holding their holder
// ([LockHolder], with Expires): NAME for an exclusive holder,
// NAME.shared/ID for each shared one. An exclusive taker creates NAME and
// then gives up if a live shared holder exists; a shared taker creates its
// object and then gives up if NAME is held; with S3's strong consistency
// two takers never both win (both may lose, and are refused). The holder
// renews its lease every 15 seconds; a lock object whose lease has expired
// (60 s, s3folder.LeaseTTL), or whose holder is a process of this host
// that is gone, is stale and is taken over with a put conditional on its
// ETag. To break a stale lock sooner, delete the objects under
// `OUTPUT/_pipe_lock/`, which the refusal ([LockedError]) names.
//
// An implementation over an object store (a bucket and a key prefix) must
// provide:
//
//   - WriteFileAtomic as a single put that replaces the object whole; for
//     `_manifest.json` it must be conditional (if-match on the version it
//     read, or if-none-match for the first), because a bucket has no flock
//     to keep two committers apart and the manifest write is the switch;
//   - List with a delimiter, so that `_pipe_units/` and the other folders
//     are entries of type [fs.ModeDir], sorted by name, and strongly
//     consistent after a write (as S3 is);
//   - Remove of a missing key as [fs.ErrNotExist] (a HEAD first, since
//     DELETE succeeds on missing keys), and MkdirAll and Sync as no-ops;
//   - Path as the object's URL, so that messages name it.
//
// Without [Locker] no lock is taken: one writer per folder is then the
// implementation's business (a lease object written with a conditional
// put, as output/s3folder does), and it should implement Locker over that
// lease. The contract every implementation must pass is output/foldertest's
// Run.
package output
