package serve

import (
	"fmt"

	"github.com/pipe-ml/pipe/serve/inferpb"
)

// decodeProtoRequest turns a gRPC ModelInferRequest into an [InferRequest].
// Tensor data comes either from every input's typed contents or from
// raw_input_contents (one entry per input, in order), never both.
// maxElems caps the request's elements and is checked before converting.
func decodeProtoRequest(r *inferpb.ModelInferRequest, maxElems int64) (*InferRequest, error) {
	raws := r.GetRawInputContents()
	if len(raws) > 0 && len(raws) != len(r.GetInputs()) {
		return nil, inputErr("", fmt.Sprintf("raw_input_contents for each of the %d inputs", len(r.GetInputs())), "%d entries", len(raws))
	}
	req := &InferRequest{ID: r.GetId(), Parameters: fromProtoParams(r.GetParameters())}
	total := int64(0)
	for i, in := range r.GetInputs() {
		t := Tensor{Name: in.GetName(), Datatype: in.GetDatatype(), Shape: in.GetShape(), Parameters: fromProtoParams(in.GetParameters())}
		if err := checkDatatype(t.Name, t.Datatype); err != nil {
			return nil, err
		}
		n, err := elements(t.Name, t.Shape, maxElems-total)
		if err != nil {
			return nil, err
		}
		total += n
		if len(raws) > 0 {
			if in.GetContents() != nil {
				return nil, inputErr(t.Name, "either contents or raw_input_contents", "both")
			}
			t.Data, err = decodeRaw(t.Name, t.Datatype, n, raws[i])
		} else {
			t.Data, err = fromContents(&t, n, in.GetContents())
		}
		if err != nil {
			return nil, err
		}
		req.Inputs = append(req.Inputs, t)
	}
	allBinary, _ := req.Parameters[paramBinaryOutput].(bool)
	for _, o := range r.GetOutputs() {
		b, _ := fromProtoParams(o.GetParameters())[paramBinary].(bool)
		req.Outputs = append(req.Outputs, RequestedOutput{Name: o.GetName(), Binary: b || allBinary})
	}
	return req, nil
}

// fromContents converts the typed contents field that carries t's
// datatype, which must hold n elements.
func fromContents(t *Tensor, n int64, c *inferpb.InferTensorContents) (any, error) {
	input, dt := t.Name, t.Datatype
	var data any
	switch dt {
	case "BOOL":
		data = c.GetBoolContents()
	case "INT8":
		data = convert[int32, int8](c.GetIntContents())
	case "INT16":
		data = convert[int32, int16](c.GetIntContents())
	case "INT32":
		data = c.GetIntContents()
	case "INT64":
		data = c.GetInt64Contents()
	case "UINT8":
		data = convert[uint32, uint8](c.GetUintContents())
	case "UINT16":
		data = convert[uint32, uint16](c.GetUintContents())
	case "UINT32":
		data = c.GetUintContents()
	case "UINT64":
		data = c.GetUint64Contents()
	case "FP32":
		data = c.GetFp32Contents()
	case "FP64":
		data = c.GetFp64Contents()
	case "BYTES":
		data = c.GetBytesContents()
	}
	if data == nil {
		return nil, inputErr(input, "a value range for "+dt+" in contents", "out-of-range values")
	}
	if got := int64(dataLen(data)); got != n {
		return nil, inputErr(input, fmt.Sprintf("%d elements in contents for shape %v", n, t.Shape), "%d", got)
	}
	if dataLen(data) == 0 {
		return emptyData(dt), nil
	}
	return data, nil
}

// convert narrows integers, returning nil (typed) when one is out of range.
func convert[From int32 | uint32, To int8 | int16 | uint8 | uint16](in []From) any {
	out := make([]To, len(in))
	for i, v := range in {
		out[i] = To(v)
		if From(out[i]) != v {
			return nil
		}
	}
	return out
}

// emptyData is a zero-length slice of dt's type (protobuf gives nil for an
// empty repeated field).
func emptyData(dt string) any {
	if dt == "BYTES" {
		return [][]byte{}
	}
	return decodeFixed(dt, nil)
}

// fromProtoParams converts gRPC parameters to plain Go values.
func fromProtoParams(p map[string]*inferpb.InferParameter) map[string]any {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]any, len(p))
	for k, v := range p {
		switch c := v.GetParameterChoice().(type) {
		case *inferpb.InferParameter_BoolParam:
			out[k] = c.BoolParam
		case *inferpb.InferParameter_Int64Param:
			out[k] = c.Int64Param
		case *inferpb.InferParameter_StringParam:
			out[k] = c.StringParam
		case *inferpb.InferParameter_DoubleParam:
			out[k] = c.DoubleParam
		case *inferpb.InferParameter_Uint64Param:
			out[k] = c.Uint64Param
		}
	}
	return out
}
