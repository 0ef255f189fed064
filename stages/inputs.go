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
