package pipeline

import (
	"context"
	"io"

	"github.com/pipe-ml/pipe/output"
)

// folderAt returns the output folder a sink names by dir (a local path or
// a URL such as s3://bucket/prefix, see [output.Open]), through which every
// step of the output protocol reaches it. A location that cannot be opened
// gives a folder whose every call fails with the reason; the sink that
// names it has already refused it when it was built.
func folderAt(dir string) output.Folder {
	f, err := output.Open(context.Background(), dir)
	if err != nil {
		return brokenFolder{dir: dir, err: err}
	}
	return f
}

// brokenFolder is an output folder that could not be opened.
type brokenFolder struct {
	dir string
	err error
}

func (b brokenFolder) Path(name string) string {
	if name == "" {
		return b.dir
	}
	return b.dir + "/" + name
}
func (b brokenFolder) List(context.Context, string) ([]output.Entry, error) { return nil, b.err }
func (b brokenFolder) Stat(context.Context, string) (output.Entry, error) {
	return output.Entry{}, b.err
}
func (b brokenFolder) Size(context.Context, string) (int64, error)         { return 0, b.err }
func (b brokenFolder) ReadFile(context.Context, string) ([]byte, error)    { return nil, b.err }
func (b brokenFolder) Open(context.Context, string) (io.ReadCloser, error) { return nil, b.err }
func (b brokenFolder) WriteFileAtomic(context.Context, string, []byte) error {
	return b.err
}
func (b brokenFolder) WriteMarker(context.Context, string) error { return b.err }
func (b brokenFolder) Remove(context.Context, string) error      { return b.err }
func (b brokenFolder) RemoveAll(context.Context, string) error   { return b.err }
func (b brokenFolder) MkdirAll(context.Context, string) error    { return b.err }
func (b brokenFolder) Sync(context.Context, string) error        { return b.err }
