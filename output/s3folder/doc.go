// Package s3folder implements the output protocol's storage seam
// ([output.Folder]) over an S3 bucket and key prefix, `s3://bucket/prefix`,
// with the AWS SDK for Go v2.
//
// The package is not called s3 so that it does not shadow the SDK's s3
// package, which it and its callers import beside it.
//
// A name maps to the key PREFIX/NAME. Folders are common key prefixes:
// List lists with the delimiter "/", and a name with keys under NAME/ is a
// folder. There are no empty folders, no symbolic links and no locks
// ([output.Locker] is not implemented: see [Folder]); MkdirAll and Sync do
// nothing, since a put is durable and strongly consistent when it returns.
//
// WriteFileAtomic is one PutObject, which S3 applies whole. For the names
// in [Options.Conditional] (by default `_manifest.json`, the protocol's
// switch) the put is conditional: If-Match on the ETag this Folder last saw
// for the name, or If-None-Match: * where it saw none; a put that loses the
// race fails with [ErrConditionFailed].
//
// Credentials come from the SDK's standard chain (environment, shared
// files, web identity, instance roles), never from the job file. Transient
// failures are retried by the SDK's standard retryer.
package s3folder
