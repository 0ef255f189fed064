package source

import "io"

// countReader counts the bytes read through it: a text file's raw
// (compressed, for compressed files) bytes, for [stages.ReadProgresser].
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BytesRead implements [stages.ReadProgresser]: the bytes of the source's
// files read so far (read ahead by up to 64KiB). Call it from the
// goroutine that calls Next.
func (s *CSV) BytesRead() int64 {
	n := s.closedBytes
	if s.cf != nil {
		n += s.cf.f.raw.n
	}
	return n
}

// BytesRead implements [stages.ReadProgresser]; see [CSV.BytesRead].
func (s *JSONL) BytesRead() int64 {
	n := s.closedBytes
	if s.f != nil {
		n += s.f.raw.n
	}
	return n
}
