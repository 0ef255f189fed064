package source

import (
	"context"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// This file holds what parquet_source does differently for s3:// objects:
// it reads them through ranged requests (see [objectReader]), the footer
// first, then the column chunks of the projected columns of a row group,
// prefetching the next row group's while the current one is decoded.

// object returns the object the listing found at path; nil for a file.
func (l *pathList) object(path string) *objectInfo {
	if o, ok := l.objects[path]; ok {
		return &o
	}
	return nil
}

// parquetInput is what a Parquet file or object is read through.
type parquetInput interface {
	parquet.ReaderAtSeeker
	io.Closer
}

// openParquetInput opens the file at path, or the object obj when it is
// not nil, and returns its size.
func openParquetInput(path string, obj *objectInfo) (parquetInput, int64, error) {
	if obj != nil {
		client, err := objectClient(context.Background())
		if err != nil {
			return nil, 0, err
		}
		return newObjectReader(client, *obj), obj.size, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// openReader opens the Parquet reader of f, its pages allocated from
// pages: a file is opened (or mapped, with memory_map), an object read
// through an [objectReader] that p keeps to prefetch with.
func (p *Parquet) openReader(f *parquetFile, pages memory.Allocator) (*file.Reader, error) {
	props := file.WithReadProps(readerProps(pages, p.lim.maxPage, f.size))
	if f.obj == nil {
		return file.OpenParquetFile(f.path, p.mmap, props, file.WithMetadata(f.meta))
	}
	client, err := objectClient(context.Background())
	if err != nil {
		return nil, err
	}
	r := newObjectReader(client, *f.obj)
	pf, err := file.NewParquetReader(r, props, file.WithMetadata(f.meta))
	if err != nil {
		r.Close()
		return nil, err
	}
	p.obj = r
	return pf, nil
}

// prefetch starts fetching the column chunks that row group rg of f reads,
// and those of the row group read after it when it lies in the same file
// (a shard's next group need not be rg+1), when f is an object.
func (p *Parquet) prefetch(f *parquetFile, rg int) {
	if p.obj == nil {
		return
	}
	ranges := chunkRanges(f.meta, rg, f.leaves)
	if n := p.cur + 1; n < len(p.groups) && p.fileIndex[n] == p.fileIndex[p.cur] {
		ranges = append(ranges, chunkRanges(f.meta, p.groups[n].Index, f.leaves)...)
	}
	p.obj.prefetch(ranges)
}

// chunkRanges returns the byte ranges ([offset, length]) of the column
// chunks of leaves in row group rg, where arrow-go reads them (see
// checkParquetChunks, which has checked them).
func chunkRanges(meta *metadata.FileMetaData, rg int, leaves []int) [][2]int64 {
	rgm := meta.RowGroup(rg)
	var out [][2]int64
	for _, c := range leaves {
		cc, err := rgm.ColumnChunk(c)
		if err != nil {
			continue // the read reports it
		}
		start := cc.DataPageOffset()
		if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && start > cc.DictionaryPageOffset() {
			start = cc.DictionaryPageOffset()
		}
		out = append(out, [2]int64{start, cc.TotalCompressedSize()})
	}
	return out
}
