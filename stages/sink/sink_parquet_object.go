package sink

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/output"
	_ "github.com/pipe-ml/pipe/output/s3folder" // s3:// paths
	"github.com/pipe-ml/pipe/stages"
)

// DefaultPartSize is the default part_size: the parts of a part file's
// multipart upload to object storage.
const DefaultPartSize = 8 << 20

// minPartSize is the smallest part_size, S3's smallest part.
const minPartSize = 5 << 20

// objectBufferBytes sizes the buffer between the Parquet writer and an
// upload, which copies into its part buffer anyway.
const objectBufferBytes = 64 << 10

// stagingMarker is the object an object-store sink keeps in the staging
// folder while it writes (`_pipe_staging/PREFIX`, or `_pipe_staging/run`
// without a part prefix), as a local sink keeps its staging folder: so
// that the files of a run that crashed are known for pipe's (a bucket has
// no empty folders).
func (s *ParquetSink) stagingMarker() string {
	if s.prefix == "" {
		return StagingDir + "/run"
	}
	return StagingDir + "/" + s.prefix
}

// objectDir is where a sink on object storage (path: s3://bucket/prefix)
// writes: the output folder, opened with [output.Open], and the sink's own
// folder in it. Such a sink writes each part file straight to its final
// name through an [output.Upload], which makes the object appear only when
// the file is complete; there is no staging file and no rename.
type objectDir struct {
	folder  output.Folder
	creator output.Creator
	rel     string // the sink's folder in the output folder: "" or a partition's "dt=x/region=y"
}

// name returns the name of the sink's file n in the output folder.
func (o *objectDir) name(n string) string { return path.Join(o.rel, n) }

// lister lists a folder relative to the sink's output folder ("" for the
// folder itself) as [output.Entry] values; a missing folder is empty.
type lister func(rel string) ([]output.Entry, error)

// folderLister lists through an output folder.
func folderLister(ctx context.Context, f output.Folder) lister {
	return func(rel string) ([]output.Entry, error) {
		ents, err := f.List(ctx, rel)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return ents, err
	}
}

// newObjectParquet is [NewParquet] for a path on object storage. Listing
// the folder is its first request: a missing bucket or refused credentials
// fail here, naming the URL, before any data moves.
func newObjectParquet(conf ParquetConfig, env *stages.Env, props *parquet.WriterProperties, arrowProps pqarrow.ArrowWriterProperties) (*ParquetSink, error) {
	ctx := context.Background()
	f, err := output.Open(ctx, string(conf.Path))
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	cr, ok := f.(output.Creator)
	if !ok {
		return nil, fmt.Errorf("path: %s: this storage cannot take streamed files", f.Path(""))
	}
	obj := &objectDir{folder: f, creator: cr}
	dir := strings.TrimSuffix(f.Path(""), "/")
	ls := folderLister(ctx, f)
	prefix := env.PartPrefix
	var old []string
	if prefix != "" {
		old, err = unitPartsIn(ls, prefix)
	} else {
		old, err = partsIn(ls, "part-*.parquet")
	}
	if err == nil {
		old, err = partitionPartsIn(conf, ls, prefix, old)
	}
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	complete, crashed := false, false
	if prefix == "" {
		has := func(name string) bool { _, err := f.Stat(ctx, name); return err == nil }
		complete = has(stages.SuccessFile)
		crashed = !complete && (has(StagingDir) || has(stages.ManifestFile) || has(stages.UnitsDir))
		if len(old) > 0 && !conf.Overwrite && !env.Overwrite && !complete && !crashed {
			return nil, fmt.Errorf("%w: %s holds %d (%s ...); set overwrite: true to replace them", ErrOutputExists, dir, len(old), old[0])
		}
	}
	overwrite := conf.Overwrite || env.Overwrite || prefix != ""
	sk, err := newParquetSink(conf, env, dir, "", prefix, old, overwrite, complete, crashed, props, arrowProps)
	if err != nil {
		return nil, err
	}
	sk.obj, sk.holdFinal = obj, false
	return sk, nil
}

// prepareObject is prepare on object storage: without a part prefix it
// removes the success marker of the output it replaces (a unit's sink
// finds it removed by the runtime); then it writes the staging marker.
func (s *ParquetSink) prepareObject(ctx context.Context) error {
	f := s.obj.folder
	if s.prefix == "" {
		err := f.Remove(ctx, stages.SuccessFile)
		switch {
		case err == nil:
			s.removedSuccess = true
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
	}
	if err := f.WriteMarker(ctx, s.stagingMarker()); err != nil {
		return err
	}
	if sw, ok := f.(uploadSweeper); ok {
		// Uploads a killed attempt left of this sink's files (the unit's,
		// or every part file's) never appear; abort them so that they
		// take no space.
		prefix := s.prefix
		if _, err := sw.AbortUploads(ctx, func(name string) bool { return ownPart(path.Base(name), prefix) }); err != nil {
			return err
		}
	}
	s.prepared = true
	return nil
}

// uploadSweeper is implemented by an object-store folder that can abort
// the multipart uploads a killed run left open (output/s3folder).
type uploadSweeper interface {
	AbortUploads(ctx context.Context, match func(name string) bool) (int, error)
}

// removeStaging removes the sink's staging marker: without a part prefix
// the whole staging folder, as a local sink removes its own.
func (s *ParquetSink) removeStaging(ctx context.Context) error {
	var err error
	if s.prefix == "" {
		err = s.obj.folder.RemoveAll(ctx, StagingDir)
	} else if err = s.obj.folder.Remove(ctx, s.stagingMarker()); errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return &FileError{Op: "remove", Path: s.join(s.stagingMarker()), Err: err}
	}
	return nil
}

// openObject starts the upload of part file name.
func (s *ParquetSink) openObject(ctx context.Context, name string) error {
	final := s.join(name)
	up, err := s.obj.creator.Create(ctx, s.obj.name(name), output.CreateOptions{PartSize: int64(s.conf.PartSize)})
	if err != nil {
		return &FileError{Op: "create", Path: final, Err: err}
	}
	dg := &digestWriter{w: up, sum: sha256.New()}
	bw := bufio.NewWriterSize(dg, objectBufferBytes)
	fw, err := pqarrow.NewFileWriter(s.schema, bw, s.props, s.arrowProps)
	if err != nil {
		_ = up.Abort()
		return &FileError{Op: "create", Path: final, Err: err}
	}
	s.next++
	s.cur = &partFile{name: name, up: up, dg: dg, bw: bw, fw: fw}
	return nil
}

// finishObject completes the current file's upload, whose footer is
// written and flushed: only now does the object appear under its name.
func (s *ParquetSink) finishObject() error {
	f := s.cur
	if err := failpoint.Inject("sink/beforeSync"); err != nil {
		return s.fail("sync", err)
	}
	if err := failpoint.Inject("sink/beforeRename"); err != nil {
		return s.fail("upload", err)
	}
	if err := f.up.Commit(); err != nil {
		return s.fail("upload", err)
	}
	sum, size := f.dg.digest()
	s.produced = append(s.produced, producedFile{name: f.name, info: stages.OutputFile{Rows: f.rows, Bytes: size, SHA256: sum}})
	s.cur = nil
	if err := failpoint.Inject("sink/afterRename"); err != nil {
		return &FileError{Op: "upload", Path: s.join(f.name), Err: err}
	}
	return nil
}

// join returns the path of the sink's file name: a file path, or a URL on
// object storage.
func (s *ParquetSink) join(name string) string {
	if s.obj != nil {
		return s.dir + "/" + name
	}
	return joinLocal(s.dir, name)
}

// removeFile removes the sink's file name (a path relative to its folder);
// a missing one is no error.
func (s *ParquetSink) removeFile(name string) error {
	var err error
	if s.obj != nil {
		err = s.obj.folder.Remove(context.Background(), s.obj.name(name))
	} else {
		err = removeLocal(s.dir, name)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &FileError{Op: "remove", Path: s.join(name), Err: err}
	}
	return nil
}

// digestWriter passes writes on and hashes them: the SHA-256 of a file
// written front to back through it alone.
type digestWriter struct {
	w       io.Writer
	sum     hash.Hash
	written int64
}

func (d *digestWriter) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.sum.Write(p[:n])
	d.written += int64(n)
	return n, err
}

// digest returns the SHA-256 (hex) and the length of what was written.
func (d *digestWriter) digest() (string, int64) {
	return hex.EncodeToString(d.sum.Sum(nil)), d.written
}
