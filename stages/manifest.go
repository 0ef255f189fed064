package stages

import "os"

// Names of the files that mark a sink's output folder. The runtime writes
// them after every sink committed: the manifest first (to a temporary name,
// fsynced, renamed), then the empty success marker, fsynced. Consumers trust
// a folder only when [SuccessFile] is present, and take the list of its
// files from [ManifestFile], not from a directory listing.
const (
	// SuccessFile marks an output folder whose files are complete.
	SuccessFile = "_SUCCESS"
	// ManifestFile lists the files of an output folder with their rows and
	// SHA-256, and the job's fingerprint.
	ManifestFile = "_manifest.json"
	// UnitsDir holds one record per committed work unit (its files, rows,
	// SHA-256 and the job's fingerprint): the journal a rerun resumes from.
	UnitsDir = "_pipe_units"
	// ShardsDir holds one manifest per completed shard of a sharded run.
	ShardsDir = "_pipe_shards"
	// StagingDir holds the files sinks are writing; nothing in it is output.
	StagingDir = "_pipe_staging"
)

// OutputFile is one file a sink committed.
type OutputFile struct {
	// Path is the file's final path.
	Path string
	// Rows is the number of rows in the file.
	Rows int64
	// Bytes and SHA256 (hex) describe the file's contents when the sink
	// computed them while writing it; SHA256 is empty otherwise, and the
	// runtime reads the file to compute them.
	Bytes  int64
	SHA256 string
}

// FileLister is implemented by sinks that write files into an output
// folder, so that the runtime can write the folder's manifest and success
// marker after Commit.
type FileLister interface {
	OutputDirer
	// OutputFiles returns every file the run committed, in order. The
	// runtime calls it after Commit returned nil.
	OutputFiles() []OutputFile
	// ReplacesOutput reports whether the sink may replace the complete
	// output of an earlier run found in its folder (its overwrite setting,
	// or [Env.Overwrite]).
	ReplacesOutput() bool
}

// SyncDir fsyncs a folder, so that the entries created, renamed or removed
// in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
