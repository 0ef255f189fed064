package serve

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"testing"
)

// fuzzMaxElems is the element limit the fuzz targets decode under.
const fuzzMaxElems = 1 << 16

// checkDecoded fails unless a decoded request keeps within the limit and
// every input's data has the length its shape gives.
func checkDecoded(t *testing.T, req *InferRequest, err error) {
	if err != nil {
		if !errors.Is(err, ErrInvalidInput) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v wraps neither ErrInvalidInput nor ErrTooLarge", err)
		}
		return
	}
	total := int64(0)
	for _, in := range req.Inputs {
		n, err := elements(in.Name, in.Shape, fuzzMaxElems)
		if err != nil || int64(dataLen(in.Data)) != n || !dataMatches(in.Datatype, in.Data) {
			t.Fatalf("input %q: %s %v with %T of %d elements (%v)", in.Name, in.Datatype, in.Shape, in.Data, dataLen(in.Data), err)
		}
		total += n
	}
	if total > fuzzMaxElems {
		t.Fatalf("decoded %d elements, over the limit of %d", total, fuzzMaxElems)
	}
}

func FuzzDecodeJSONRequest(f *testing.F) {
	for _, name := range []string{"spec_infer_request.json", "spec_infer_request_fixed.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[[1,2],[3,4]]}]}`,
		`{"inputs":[{"name":"s","datatype":"BYTES","shape":[2],"data":["a","b"]}],"outputs":[{"name":"o","parameters":{"binary_data":true}}]}`,
		`{"inputs":[{"name":"x","datatype":"INT8","shape":[1000000000000],"data":[1]}]}`,
		`{"inputs":[{"name":"x","datatype":"UINT64","shape":[1],"data":[18446744073709551615]}]}`,
		`{"inputs":[{"name":"x","datatype":"BOOL","shape":[],"data":true}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRequest(body, -1, fuzzMaxElems)
		checkDecoded(t, req, err)
	})
}

func FuzzDecodeBinaryRequest(f *testing.F) {
	add := func(header string, raw []byte) {
		f.Add(uint16(len(header)), append([]byte(header), raw...))
	}
	add(`{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]}`, encodeRaw([]float32{1, 2}))
	add(`{"inputs":[{"name":"s","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":9}}]}`, encodeRaw([][]byte{[]byte("a"), []byte("bc")}))
	add(`{"inputs":[{"name":"s","datatype":"BYTES","shape":[1000000000000],"parameters":{"binary_data_size":4}}]}`, binary.LittleEndian.AppendUint32(nil, 1<<31))
	add(`{"inputs":[{"name":"x","datatype":"INT64","shape":[1],"parameters":{"binary_data_size":8}},{"name":"y","datatype":"BOOL","shape":[2],"data":[true,false]}]}`, make([]byte, 8))
	f.Fuzz(func(t *testing.T, headerLen uint16, body []byte) {
		req, err := decodeRequest(body, int64(headerLen), fuzzMaxElems)
		checkDecoded(t, req, err)
	})
}

// TestDecodeAllocatesWithinBody checks that a shape claiming many elements
// under a generous limit allocates by the body's size, not the shape's.
func TestDecodeAllocatesWithinBody(t *testing.T) {
	const max = 1 << 24 // 16M elements: 64 MiB of FP32, 384 MiB of BYTES headers
	for _, tt := range []struct {
		name string
		tail int // bytes of binary data after the JSON part
		body string
	}{
		{"json fp32", 0, `{"inputs":[{"name":"x","datatype":"FP32","shape":[16777216],"data":[1,2,3]}]}`},
		{"json bytes", 0, `{"inputs":[{"name":"x","datatype":"BYTES","shape":[16777216],"data":["a"]}]}`},
		{"binary bytes", 5, `{"inputs":[{"name":"x","datatype":"BYTES","shape":[16777216],"parameters":{"binary_data_size":5}}]}` + "\x01\x00\x00\x00a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			headerLen := int64(-1)
			if tt.tail > 0 {
				headerLen = int64(len(tt.body) - tt.tail)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := decodeRequest([]byte(tt.body), headerLen, max)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("err %v, want ErrInvalidInput", err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
				t.Errorf("allocated %d bytes for a %d-byte body", got, len(tt.body))
			}
		})
	}
}
