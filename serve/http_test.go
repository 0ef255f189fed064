package serve

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"testing"
)

// doubleModel has one FP32 input x of shape [-1, 2].
func doubleModel() *fakeModel {
	return newFake("double", TensorMetadata{Name: "x", Datatype: "FP32", Shape: []int64{-1, 2}})
}

func TestRESTJSON(t *testing.T) {
	h := start(t, Options{}, doubleModel())
	for _, tt := range []struct{ name, data string }{
		{"flat", `[1, 2, 3, 4.5]`},
		{"nested", `[[1, 2], [3, 4.5]]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out := h.infer(t, "double", `{"id":"a1","inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":`+tt.data+`}]}`)
			if code != http.StatusOK {
				t.Fatalf("code %d: %v", code, out)
			}
			if out["id"] != "a1" || out["model_name"] != "double" {
				t.Errorf("id/model_name: %v", out)
			}
			o := out["outputs"].([]any)[0].(map[string]any)
			want := map[string]any{"name": "x_out", "datatype": "FP32", "shape": []any{2.0, 2.0}, "data": []any{2.0, 4.0, 6.0, 9.0}}
			if !reflect.DeepEqual(o, want) {
				t.Errorf("output %v, want %v", o, want)
			}
		})
	}
}

func TestRESTMetadataAndHealth(t *testing.T) {
	h := start(t, Options{ServerName: "pipe", ServerVersion: "9"}, doubleModel())
	for _, tt := range []struct {
		path string
		code int
		want string
	}{
		{"/v2", 200, `{"extensions":["binary_tensor_data"],"name":"pipe","version":"9"}`},
		{"/v2/health/live", 200, `{"live":true}`},
		{"/v2/health/ready", 200, `{"ready":true}`},
		{"/v2/models/double", 200, `{"inputs":[{"name":"x","datatype":"FP32","shape":[-1,2]}],"name":"double","outputs":[{"name":"x_out","datatype":"FP32","shape":[-1,2]}],"platform":"fake","versions":["1"]}`},
		{"/v2/models/double/versions/1", 200, `{"inputs":[{"name":"x","datatype":"FP32","shape":[-1,2]}],"name":"double","outputs":[{"name":"x_out","datatype":"FP32","shape":[-1,2]}],"platform":"fake","versions":["1"]}`},
		{"/v2/models/double/ready", 200, `{"name":"double","ready":true}`},
		{"/v2/models/double/versions/2/ready", 404, `{"error":"model not found: \"double\" version \"2\" (versions: [1])"}`},
		{"/v2/models/nope", 404, `{"error":"model not found: \"nope\""}`},
	} {
		t.Run(tt.path, func(t *testing.T) {
			code, _, b := h.do(t, "GET", tt.path, nil, nil)
			if code != tt.code || string(b) != tt.want {
				t.Errorf("got %d %s, want %d %s", code, b, tt.code, tt.want)
			}
		})
	}
}

// binaryBody builds a request whose inputs are all binary.
func binaryBody(t *testing.T, header map[string]any, raws ...[]byte) (http.Header, []byte) {
	t.Helper()
	js, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte{}, js...)
	for _, r := range raws {
		body = append(body, r...)
	}
	return http.Header{headerLength: {strconv.Itoa(len(js))}, "Content-Type": {"application/octet-stream"}}, body
}

func TestRESTBinary(t *testing.T) {
	m := newFake("mixed",
		TensorMetadata{Name: "x", Datatype: "FP32", Shape: []int64{-1}},
		TensorMetadata{Name: "s", Datatype: "BYTES", Shape: []int64{-1}},
		TensorMetadata{Name: "n", Datatype: "INT64", Shape: []int64{2}})
	h := start(t, Options{}, m)
	x := encodeRaw([]float32{1.5, -2})
	s := encodeRaw([][]byte{[]byte("héllo"), {}, {0xff, 0}})
	hdr, body := binaryBody(t, map[string]any{
		"inputs": []any{
			map[string]any{"name": "x", "datatype": "FP32", "shape": []int{2}, "parameters": map[string]any{"binary_data_size": len(x)}},
			map[string]any{"name": "s", "datatype": "BYTES", "shape": []int{3}, "parameters": map[string]any{"binary_data_size": len(s)}},
			map[string]any{"name": "n", "datatype": "INT64", "shape": []int{2}, "data": []int64{math.MaxInt64 / 2, -7}},
		},
		"outputs": []any{
			map[string]any{"name": "s_out", "parameters": map[string]any{"binary_data": true}},
			map[string]any{"name": "x_out", "parameters": map[string]any{"binary_data": true}},
			map[string]any{"name": "n_out"},
		},
	}, x, s)
	code, rh, b := h.do(t, "POST", "/v2/models/mixed/infer", hdr, body)
	if code != 200 {
		t.Fatalf("code %d: %s", code, b)
	}
	n, err := strconv.Atoi(rh.Get(headerLength))
	if err != nil || n > len(b) {
		t.Fatalf("%s = %q of %d bytes", headerLength, rh.Get(headerLength), len(b))
	}
	var out jsonResponse
	if err := json.Unmarshal(b[:n], &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Outputs) != 3 || out.Outputs[0].Name != "s_out" || out.Outputs[1].Name != "x_out" {
		t.Fatalf("outputs %+v", out.Outputs)
	}
	rest := b[n:]
	sz := int(out.Outputs[0].Parameters["binary_data_size"].(float64))
	gotS, err := decodeRaw("s_out", "BYTES", 3, rest[:sz])
	if err != nil || !reflect.DeepEqual(gotS, [][]byte{[]byte("héllo"), {}, {0xff, 0}}) {
		t.Errorf("s_out %q, %v", gotS, err)
	}
	gotX, err := decodeRaw("x_out", "FP32", 2, rest[sz:])
	if err != nil || !reflect.DeepEqual(gotX, []float32{3, -4}) {
		t.Errorf("x_out %v, %v", gotX, err)
	}
	if d := out.Outputs[2].Data.([]any); d[0].(float64) != float64(math.MaxInt64/2*2) || d[1].(float64) != -14 {
		t.Errorf("n_out %v", d)
	}
	// binary_data_output asks for every output in binary.
	hdr, body = binaryBody(t, map[string]any{"parameters": map[string]any{"binary_data_output": true}, "inputs": []any{
		map[string]any{"name": "x", "datatype": "FP32", "shape": []int{2}, "parameters": map[string]any{"binary_data_size": len(x)}},
		map[string]any{"name": "s", "datatype": "BYTES", "shape": []int{3}, "parameters": map[string]any{"binary_data_size": len(s)}},
		map[string]any{"name": "n", "datatype": "INT64", "shape": []int{2}, "data": []int64{1, 2}},
	}}, x, s)
	code, rh, b = h.do(t, "POST", "/v2/models/mixed/infer", hdr, body)
	n, _ = strconv.Atoi(rh.Get(headerLength))
	if code != 200 || len(b)-n != len(x)+len(s)+16 {
		t.Errorf("binary_data_output: code %d, %d binary bytes, want %d", code, len(b)-n, len(x)+len(s)+16)
	}
	if tail := b[len(b)-16:]; binary.LittleEndian.Uint64(tail) != 2 || binary.LittleEndian.Uint64(tail[8:]) != 4 {
		t.Errorf("n_out tail %v", tail)
	}
}

func TestRESTJSONDatatypes(t *testing.T) {
	for _, tt := range []struct {
		dt, in, want string
	}{
		{"BOOL", `[true,false]`, `[false,true]`},
		{"UINT8", `[0,127]`, `[0,254]`},
		{"UINT16", `[1,65535]`, `[2,65534]`},
		{"UINT64", `[1,9223372036854775807]`, `[2,18446744073709551614]`},
		{"INT8", `[-64,63]`, `[-128,126]`},
		{"INT32", `[-5,7]`, `[-10,14]`},
		{"INT64", `[-5,4611686018427387903]`, `[-10,9223372036854775806]`},
		{"FP32", `[0.5,-1e3]`, `[1,-2000]`},
		{"FP64", `[0.25,1e300]`, `[0.5,2e+300]`},
		{"BYTES", `["héllo",""]`, `["héllo",""]`},
	} {
		t.Run(tt.dt, func(t *testing.T) {
			h := start(t, Options{}, newFake("m", TensorMetadata{Name: "v", Datatype: tt.dt, Shape: []int64{2}}))
			body := `{"inputs":[{"name":"v","datatype":"` + tt.dt + `","shape":[2],"data":` + tt.in + `}]}`
			code, _, b := h.do(t, "POST", "/v2/models/m/infer", nil, []byte(body))
			want := `{"model_name":"m","id":"","outputs":[{"name":"v_out","shape":[2],"datatype":"` + tt.dt + `","data":` + tt.want + `}]}`
			if code != 200 || string(b) != want {
				t.Errorf("got %d %s\nwant %s", code, b, want)
			}
		})
	}
}
