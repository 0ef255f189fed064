package stages

// FileNote is a file that a source's paths reached but that it does not
// read, with the reason ("extension", "hidden name").
type FileNote struct {
	Path   string
	Reason string
}

// InputLister is implemented by file sources that list which files their
// paths matched (folders and glob patterns expanded) and which files they
// skipped inside the folders, so that `pipe validate` can show them. Both
// lists are in reading order; paths are as expanded.
type InputLister interface {
	InputFiles() (matched []string, skipped []FileNote)
}

// ObjectVersion is the version of one object a source reads (an s3://
// input): what a job's fingerprint counts for it in place of the
// modification time of a file.
type ObjectVersion struct {
	URL  string
	Size int64
	ETag string
}

// ObjectVersioner is implemented by sources that read objects: they list
// the version of each object their paths matched, in reading order, as the
// listing saw it. Sources whose paths name only files list none.
type ObjectVersioner interface {
	ObjectVersions() []ObjectVersion
}
