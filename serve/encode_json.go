package serve

import (
	"encoding/json"
	"fmt"
)

// jsonResponse is $inference_response.
type jsonResponse struct {
	ModelName    string         `json:"model_name"`
	ModelVersion string         `json:"model_version,omitempty"`
	ID           string         `json:"id"`
	Parameters   map[string]any `json:"parameters,omitempty"`
	Outputs      []jsonOutput   `json:"outputs"`
}

// jsonOutput is $response_output.
type jsonOutput struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data,omitempty"`
}

// encodeResponse encodes resp as a REST body: the JSON part, then the binary
// data of the outputs in binary (in order). binary is empty when every
// output is in JSON.
func encodeResponse(resp *InferResponse, binaryOut map[string]bool) (header, binary []byte, err error) {
	jr := jsonResponse{ModelName: resp.ModelName, ModelVersion: resp.ModelVersion, ID: resp.ID, Parameters: resp.Parameters}
	for _, t := range resp.Outputs {
		o := jsonOutput{Name: t.Name, Shape: t.Shape, Datatype: t.Datatype, Parameters: t.Parameters}
		if o.Shape == nil {
			o.Shape = []int64{}
		}
		if binaryOut[t.Name] {
			raw := encodeRaw(t.Data)
			o.Parameters = withParam(t.Parameters, paramBinarySize, len(raw))
			binary = append(binary, raw...)
		} else {
			o.Data = jsonData(t.Data)
		}
		jr.Outputs = append(jr.Outputs, o)
	}
	header, err = json.Marshal(jr)
	if err != nil {
		return nil, nil, fmt.Errorf("encode response of model %q: %w (ask for binary_data outputs to send NaN or Inf)", resp.ModelName, err)
	}
	return header, binary, nil
}

// withParam returns a copy of p with k set to v.
func withParam(p map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(p)+1)
	for pk, pv := range p {
		out[pk] = pv
	}
	out[k] = v
	return out
}

// jsonData returns data in a form encoding/json writes as a flat array:
// BYTES as strings, UINT8 as numbers (not base64).
func jsonData(data any) any {
	switch d := data.(type) {
	case [][]byte:
		s := make([]string, len(d))
		for i, b := range d {
			s[i] = string(b)
		}
		return s
	case []uint8:
		n := make([]uint16, len(d))
		for i, b := range d {
			n[i] = uint16(b)
		}
		return n
	case nil:
		return []any{}
	}
	return data
}
