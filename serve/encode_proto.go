package serve

import (
	"fmt"

	"github.com/pipe-ml/pipe/serve/inferpb"
)

// encodeProtoResponse turns resp into a gRPC ModelInferResponse, with the
// outputs' data in raw_output_contents when raw is set and in typed
// contents otherwise.
func encodeProtoResponse(resp *InferResponse, raw bool) (*inferpb.ModelInferResponse, error) {
	params, err := toProtoParams(resp.Parameters)
	if err != nil {
		return nil, grpcErr(err)
	}
	out := &inferpb.ModelInferResponse{ModelName: resp.ModelName, ModelVersion: resp.ModelVersion, Id: resp.ID, Parameters: params}
	for _, t := range resp.Outputs {
		p, err := toProtoParams(t.Parameters)
		if err != nil {
			return nil, grpcErr(err)
		}
		o := &inferpb.ModelInferResponse_InferOutputTensor{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape, Parameters: p}
		if raw {
			out.RawOutputContents = append(out.RawOutputContents, encodeRaw(t.Data))
		} else {
			o.Contents = toContents(t.Data)
		}
		out.Outputs = append(out.Outputs, o)
	}
	return out, nil
}

// toContents puts data into the typed contents field for its type.
func toContents(data any) *inferpb.InferTensorContents {
	c := &inferpb.InferTensorContents{}
	switch d := data.(type) {
	case []bool:
		c.BoolContents = d
	case []int8:
		c.IntContents = widen[int8, int32](d)
	case []int16:
		c.IntContents = widen[int16, int32](d)
	case []int32:
		c.IntContents = d
	case []int64:
		c.Int64Contents = d
	case []uint8:
		c.UintContents = widen[uint8, uint32](d)
	case []uint16:
		c.UintContents = widen[uint16, uint32](d)
	case []uint32:
		c.UintContents = d
	case []uint64:
		c.Uint64Contents = d
	case []float32:
		c.Fp32Contents = d
	case []float64:
		c.Fp64Contents = d
	case [][]byte:
		c.BytesContents = d
	}
	return c
}

// widen converts integers to a wider type.
func widen[From int8 | int16 | uint8 | uint16, To int32 | uint32](in []From) []To {
	out := make([]To, len(in))
	for i, v := range in {
		out[i] = To(v)
	}
	return out
}

// toProtoParams converts parameters of a response to gRPC ones; values
// must be bool, string, a Go integer or float type.
func toProtoParams(p map[string]any) (map[string]*inferpb.InferParameter, error) {
	if len(p) == 0 {
		return nil, nil
	}
	out := make(map[string]*inferpb.InferParameter, len(p))
	for k, v := range p {
		var ip inferpb.InferParameter
		switch x := v.(type) {
		case bool:
			ip.ParameterChoice = &inferpb.InferParameter_BoolParam{BoolParam: x}
		case string:
			ip.ParameterChoice = &inferpb.InferParameter_StringParam{StringParam: x}
		case int:
			ip.ParameterChoice = &inferpb.InferParameter_Int64Param{Int64Param: int64(x)}
		case int64:
			ip.ParameterChoice = &inferpb.InferParameter_Int64Param{Int64Param: x}
		case uint64:
			ip.ParameterChoice = &inferpb.InferParameter_Uint64Param{Uint64Param: x}
		case float64:
			ip.ParameterChoice = &inferpb.InferParameter_DoubleParam{DoubleParam: x}
		case float32:
			ip.ParameterChoice = &inferpb.InferParameter_DoubleParam{DoubleParam: float64(x)}
		default:
			return nil, fmt.Errorf("parameter %q: %T has no gRPC form", k, v)
		}
		out[k] = &ip
	}
	return out, nil
}
