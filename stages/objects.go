package stages

import "strings"

// IsObjectURL reports whether a [Path] names an object in a bucket
// (s3://bucket/key) rather than a file: such a path is not resolved
// against the job's folder.
func IsObjectURL(p string) bool { return strings.HasPrefix(p, "s3://") }
