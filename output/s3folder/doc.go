// Package s3folder implements the output protocol's storage seam
// ([output.Folder]) over an S3 bucket and key prefix, `s3://bucket/prefix`,
// with the AWS SDK for Go v2.
//
// The package is not called s3 so that it does not shadow the SDK's s3
// package, which it and its callers import beside it.
//
// A name maps to the key PREFIX/NAME. Folders are common key prefixes:
// List lists with the delimiter "/", and a name with keys under NAME/ is a
// folder. There are no empty folders and no symbolic links; MkdirAll and
// Sync do nothing, since a put is durable and strongly consistent when it
// returns. Importing the package registers the scheme "s3" with
// [output.Open] ([OpenEnv]: settings from the environment).
//
// # Streamed files
//
// [Folder.Create] ([output.Creator]) writes a file as a streaming
// multipart upload: parts of the given size (default 8 MiB, at least
// 5 MiB) are sent while the next fills, at most [DefaultMaxInFlight] at
// once, so an upload holds at most three parts in memory. Commit sends the
// last part and completes the upload: only then does the object exist.
// Abort (also after a failure or a cancelled context) aborts it. A file
// smaller than a part is one PutObject at Commit.
//
// # Locks
//
// [Folder] implements [output.Locker] with lease objects: Lock creates the
// lock object with If-None-Match: * (shared holders each create
// NAME.shared/ID), holding [output.LockHolder] with an expiry that a
// goroutine of the lock renews every LeaseTTL/4; Unlock stops it and
// deletes the object. A lock object whose lease expired ([LeaseTTL]), or
// whose holder was a process on this host that no longer exists, is stale:
// the next taker replaces it with a put conditional on its ETag, so that
// of two takers one wins. A holder that is stopped (SIGSTOP, a paused VM)
// longer than LeaseTTL loses its lock to the next run. To break a stale
// lock at once, delete the objects under OUTPUT/_pipe_lock/.
//
// WriteFileAtomic is one PutObject, which S3 applies whole. For the names
// in [Options.Conditional] (by default `_manifest.json`, the protocol's
// switch) the put is conditional: If-Match on the ETag this Folder last saw
// for the name, or If-None-Match: * where it saw none; a put that loses the
// race fails with [ErrConditionFailed].
//
// Credentials come from the SDK's standard chain (environment, shared
// files, web identity, instance roles), never from the job file.
//
// # Errors
//
// Transient failures (5xx, throttling such as SlowDown, timeouts and
// connection resets) are retried by the SDK's standard retryer: at most
// [MaxAttempts] attempts per request, with jittered exponential backoff
// capped at 20 s. Answers cut off mid-body are retried too, and bodies
// read by Open are resumed where they were cut. A write retried after it
// had in fact succeeded is checked against the object: a
// CompleteMultipartUpload answered NoSuchUpload succeeded if the object
// has the size and part count sent, a conditional put answered 412 if the
// object holds exactly the bytes put, and the uploads a retried
// CreateMultipartUpload opened are aborted when the file ends. Permanent
// ones (403, 404, NoSuchBucket) are not retried: they surface at once as
// an [fs.PathError] naming the operation and the object's URL, matching
// [fs.ErrPermission], [fs.ErrNotExist] or [ErrNoSuchBucket]. A sink lists
// its folder when it is built, so a missing bucket or refused credentials
// fail the run before any data moves.
package s3folder
