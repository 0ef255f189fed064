package serve

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
)

func TestRESTInvalidRequests(t *testing.T) {
	h := start(t, Options{MaxElements: 1000, MaxBodyBytes: 4096}, doubleModel())
	in := func(extra string) string { return `{"inputs":[{"name":"x",` + extra + `}]}` }
	for _, tt := range []struct {
		name, body string
		code       int
		want       []string
	}{
		{"not json", `{"inputs":`, 400, []string{"a JSON inference request"}},
		{"wrong datatype", in(`"datatype":"INT32","shape":[1,2],"data":[1,2]`), 400, []string{`input "x"`, "datatype FP32", "INT32"}},
		{"unknown input", `{"inputs":[{"name":"y","datatype":"FP32","shape":[1,2],"data":[1,2]}]}`, 400, []string{`input "y"`, `["x"]`}},
		{"missing input", `{"inputs":[]}`, 400, []string{`input "x"`, "no such input"}},
		{"duplicate input", `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]},{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]}`, 400, []string{`input "x"`, "twice"}},
		{"wrong rank", in(`"datatype":"FP32","shape":[2],"data":[1,2]`), 400, []string{`input "x"`, "shape [-1 2]", "shape [2]"}},
		{"fixed dim", in(`"datatype":"FP32","shape":[1,3],"data":[1,2,3]`), 400, []string{`input "x"`, "shape [1 3]"}},
		{"too few", in(`"datatype":"FP32","shape":[2,2],"data":[1,2,3]`), 400, []string{`input "x"`, "expected 4 elements", "got 3"}},
		{"too many", in(`"datatype":"FP32","shape":[1,2],"data":[1,2,3]`), 400, []string{`input "x"`, "expected 2 elements", "more"}},
		{"string for number", in(`"datatype":"FP32","shape":[1,2],"data":[1,"a"]`), 400, []string{`input "x"`, "FP32 value at element 1"}},
		{"object data", in(`"datatype":"FP32","shape":[1,2],"data":[{"a":1},2]`), 400, []string{`input "x"`, "an object"}},
		{"no data", in(`"datatype":"FP32","shape":[1,2]`), 400, []string{`input "x"`, "binary_data_size"}},
		{"fp16", in(`"datatype":"FP16","shape":[1,2],"data":[1,2]`), 400, []string{`input "x"`, "send FP32"}},
		{"unknown datatype", in(`"datatype":"FP8","shape":[1,2],"data":[1,2]`), 400, []string{`input "x"`, `"FP8"`}},
		{"negative dim", in(`"datatype":"FP32","shape":[-1,2],"data":[1,2]`), 400, []string{`input "x"`, "non-negative"}},
		{"huge shape", in(`"datatype":"FP32","shape":[1000000,1000000],"data":[1,2]`), 413, []string{`input "x"`, "limit of 1000 elements"}},
		{"overflowing shape", in(`"datatype":"FP32","shape":[4294967296,4294967296,4294967296],"data":[1]`), 413, []string{`input "x"`, "limit"}},
		{"unknown output", `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}],"outputs":[{"name":"z"}]}`, 400, []string{`output "z"`}},
		{"body too large", in(`"datatype":"FP32","shape":[1,2],"data":[1,2]` + `,"pad":"` + string(make([]byte, 5000)) + `"`), 413, []string{"limit of 4096 bytes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out := h.infer(t, "double", tt.body)
			if code != tt.code {
				t.Fatalf("code %d, want %d: %v", code, tt.code, out)
			}
			mustContain(t, errorOf(t, out), tt.want...)
		})
	}
}

func TestRESTInvalidBinary(t *testing.T) {
	h := start(t, Options{}, newFake("s", TensorMetadata{Name: "s", Datatype: "BYTES", Shape: []int64{-1}}), doubleModel())
	for _, tt := range []struct {
		name, model string
		dt          string
		shape       []int
		size        int
		raw         []byte
		want        string
	}{
		{"fp32 short", "double", "FP32", []int{1, 2}, 7, make([]byte, 7), "expected 8 bytes of binary data"},
		{"size past body", "double", "FP32", []int{1, 2}, 9, make([]byte, 8), "binary_data_size of at most the 8 bytes"},
		{"left over", "double", "FP32", []int{1, 2}, 8, make([]byte, 12), "4 bytes left over"},
		{"bytes length past end", "s", "BYTES", []int{1}, 6, []byte{9, 0, 0, 0, 'a', 'b'}, "element 0 of 9 bytes"},
		{"bytes count", "s", "BYTES", []int{2}, 5, []byte{1, 0, 0, 0, 'a'}, "expected 2 BYTES elements"},
		{"bytes huge count", "s", "BYTES", []int{1 << 20}, 5, []byte{1, 0, 0, 0, 'a'}, "expected 1048576 BYTES elements"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.model
			if name == "double" {
				name = "x"
			}
			hdr, body := binaryBody(t, map[string]any{"inputs": []any{map[string]any{
				"name": name, "datatype": tt.dt, "shape": tt.shape, "parameters": map[string]any{"binary_data_size": tt.size},
			}}}, tt.raw)
			code, _, b := h.do(t, "POST", "/v2/models/"+tt.model+"/infer", hdr, body)
			if code != 400 {
				t.Fatalf("code %d: %s", code, b)
			}
			mustContain(t, string(b), tt.want)
		})
	}
	t.Run("bad header length", func(t *testing.T) {
		code, _, b := h.do(t, "POST", "/v2/models/double/infer", http.Header{headerLength: {"99"}}, []byte(`{}`))
		if code != 400 {
			t.Fatalf("code %d: %s", code, b)
		}
		mustContain(t, string(b), headerLength, strconv.Itoa(99))
	})
}

func TestInputErrorWraps(t *testing.T) {
	err := error(inputErr("x", "datatype FP32", "%s", "INT8"))
	var ie *InputError
	if !errors.Is(err, ErrInvalidInput) || !errors.As(err, &ie) || ie.Input != "x" {
		t.Fatalf("%v does not wrap ErrInvalidInput as *InputError", err)
	}
	if got, want := err.Error(), `invalid input: input "x": expected datatype FP32, got INT8`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
