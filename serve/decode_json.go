package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Parameter names of the binary tensor data extension.
const (
	paramBinarySize   = "binary_data_size"
	paramBinary       = "binary_data"
	paramBinaryOutput = "binary_data_output"
	// headerLength is the HTTP header giving the length of the JSON part of
	// a body that carries binary tensor data.
	headerLength = "Inference-Header-Content-Length"
	// maxNesting bounds how deeply JSON tensor data may nest.
	maxNesting = 32
)

// jsonRequest is $inference_request.
type jsonRequest struct {
	ID         string          `json:"id"`
	Parameters map[string]any  `json:"parameters"`
	Inputs     []jsonInput     `json:"inputs"`
	Outputs    []jsonReqOutput `json:"outputs"`
}

// jsonInput is $request_input.
type jsonInput struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters map[string]any  `json:"parameters"`
	Data       json.RawMessage `json:"data"`
}

// jsonReqOutput is $request_output.
type jsonReqOutput struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters"`
}

// decodeRequest decodes a REST inference request body. headerLen is the
// Inference-Header-Content-Length header, or -1 when the body is all JSON;
// the bytes after the JSON part are the binary data of the inputs that have
// a binary_data_size parameter, in order. maxElems caps the request's
// elements in all and is checked before any tensor is allocated.
func decodeRequest(body []byte, headerLen, maxElems int64) (*InferRequest, error) {
	if headerLen < 0 {
		headerLen = int64(len(body))
	}
	if headerLen > int64(len(body)) {
		return nil, inputErr("", fmt.Sprintf("%s of at most the body's %d bytes", headerLength, len(body)), "%d", headerLen)
	}
	var jr jsonRequest
	dec := json.NewDecoder(bytes.NewReader(body[:headerLen]))
	dec.UseNumber()
	if err := dec.Decode(&jr); err != nil {
		return nil, inputErr("", "a JSON inference request", "%v", err)
	}
	req := &InferRequest{ID: jr.ID, Parameters: normParams(jr.Parameters)}
	rest := body[headerLen:]
	total := int64(0)
	for i := range jr.Inputs {
		t, n, err := decodeInput(&jr.Inputs[i], &rest, maxElems-total)
		if err != nil {
			return nil, err
		}
		total += n
		req.Inputs = append(req.Inputs, t)
	}
	if len(rest) != 0 {
		return nil, inputErr("", "binary data to match the inputs' binary_data_size", "%d bytes left over", len(rest))
	}
	allBinary, _ := req.Parameters[paramBinaryOutput].(bool)
	for _, o := range jr.Outputs {
		b, _ := normParams(o.Parameters)[paramBinary].(bool)
		req.Outputs = append(req.Outputs, RequestedOutput{Name: o.Name, Binary: b || allBinary})
	}
	return req, nil
}

// decodeInput decodes one input, taking its binary data from the front of
// *rest when it has a binary_data_size parameter.
func decodeInput(in *jsonInput, rest *[]byte, maxElems int64) (Tensor, int64, error) {
	t := Tensor{Name: in.Name, Datatype: in.Datatype, Shape: in.Shape, Parameters: normParams(in.Parameters)}
	if in.Name == "" {
		return t, 0, inputErr("", "a name on every input", "an input without one")
	}
	if err := checkDatatype(in.Name, in.Datatype); err != nil {
		return t, 0, err
	}
	n, err := elements(in.Name, in.Shape, maxElems)
	if err != nil {
		return t, 0, err
	}
	size, ok := t.Parameters[paramBinarySize]
	if !ok {
		t.Data, err = decodeJSONData(in.Name, in.Datatype, n, in.Data)
		return t, n, err
	}
	sz, ok := size.(int64)
	if !ok || sz < 0 || sz > int64(len(*rest)) {
		return t, 0, inputErr(in.Name, fmt.Sprintf("binary_data_size of at most the %d bytes left in the body", len(*rest)), "%v", size)
	}
	delete(t.Parameters, paramBinarySize)
	t.Data, err = decodeRaw(in.Name, in.Datatype, n, (*rest)[:sz])
	*rest = (*rest)[sz:]
	return t, n, err
}

// decodeJSONData decodes n elements of dt from a JSON array, flat or nested
// row-major. Each element takes at least one byte of raw, so the slice
// allocated is never larger than the body.
func decodeJSONData(input, dt string, n int64, raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, inputErr(input, "\"data\" or a binary_data_size parameter", "neither")
	}
	if n > int64(len(raw)) {
		return nil, inputErr(input, fmt.Sprintf("%d elements", n), "only %d bytes of data", len(raw))
	}
	acc := newAccumulator(dt, int(n))
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for depth, count := 0, int64(0); ; {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if count != n {
				return nil, inputErr(input, fmt.Sprintf("%d elements", n), "%d", count)
			}
			return acc.value(), nil
		}
		if err != nil {
			return nil, inputErr(input, "JSON tensor data", "%v", err)
		}
		switch tok {
		case json.Delim('['):
			if depth++; depth > maxNesting {
				return nil, inputErr(input, fmt.Sprintf("data nested at most %d deep", maxNesting), "deeper")
			}
			continue
		case json.Delim(']'):
			depth--
			continue
		case json.Delim('{'), json.Delim('}'):
			return nil, inputErr(input, "arrays of values", "an object")
		}
		if count == n {
			return nil, inputErr(input, fmt.Sprintf("%d elements", n), "more")
		}
		if !acc.add(tok) {
			return nil, inputErr(input, "a "+dt+" value at element "+strconv.FormatInt(count, 10), "%v", tok)
		}
		count++
	}
}

// accumulator collects JSON tokens as one datatype's elements.
type accumulator interface {
	add(tok json.Token) bool
	value() any
}

// sliceAcc is an [accumulator] for element type T.
type sliceAcc[T any] struct {
	data []T
	conv func(json.Token) (T, bool)
}

func (a *sliceAcc[T]) add(tok json.Token) bool {
	v, ok := a.conv(tok)
	a.data = append(a.data, v)
	return ok
}

func (a *sliceAcc[T]) value() any { return a.data }

// acc returns a sliceAcc with room for n elements.
func acc[T any](n int, conv func(json.Token) (T, bool)) accumulator {
	return &sliceAcc[T]{data: make([]T, 0, n), conv: conv}
}

// newAccumulator returns the accumulator for dt (a checked datatype).
func newAccumulator(dt string, n int) accumulator {
	switch dt {
	case "BOOL":
		return acc(n, func(t json.Token) (bool, bool) { b, ok := t.(bool); return b, ok })
	case "BYTES":
		return acc(n, func(t json.Token) ([]byte, bool) { s, ok := t.(string); return []byte(s), ok })
	case "UINT8":
		return acc(n, jsonUint[uint8](8))
	case "UINT16":
		return acc(n, jsonUint[uint16](16))
	case "UINT32":
		return acc(n, jsonUint[uint32](32))
	case "UINT64":
		return acc(n, jsonUint[uint64](64))
	case "INT8":
		return acc(n, jsonInt[int8](8))
	case "INT16":
		return acc(n, jsonInt[int16](16))
	case "INT32":
		return acc(n, jsonInt[int32](32))
	case "INT64":
		return acc(n, jsonInt[int64](64))
	case "FP32":
		return acc(n, jsonFloat[float32](32))
	default:
		return acc(n, jsonFloat[float64](64))
	}
}

// jsonUint converts a JSON integer that fits bits unsigned bits.
func jsonUint[T uint8 | uint16 | uint32 | uint64](bits int) func(json.Token) (T, bool) {
	return func(t json.Token) (T, bool) {
		num, _ := t.(json.Number)
		v, err := strconv.ParseUint(string(num), 10, bits)
		return T(v), err == nil
	}
}

// jsonInt converts a JSON integer that fits bits signed bits.
func jsonInt[T int8 | int16 | int32 | int64](bits int) func(json.Token) (T, bool) {
	return func(t json.Token) (T, bool) {
		num, _ := t.(json.Number)
		v, err := strconv.ParseInt(string(num), 10, bits)
		return T(v), err == nil
	}
}

// jsonFloat converts a JSON number that fits a float of bits bits.
func jsonFloat[T float32 | float64](bits int) func(json.Token) (T, bool) {
	return func(t json.Token) (T, bool) {
		num, _ := t.(json.Number)
		v, err := strconv.ParseFloat(string(num), bits)
		return T(v), err == nil
	}
}

// normParams turns JSON numbers in parameters into int64 when integral and
// float64 otherwise, so that [Model]s see plain Go values.
func normParams(p map[string]any) map[string]any {
	for k, v := range p {
		num, ok := v.(json.Number)
		if !ok {
			continue
		}
		if i, err := num.Int64(); err == nil {
			p[k] = i
		} else if f, err := num.Float64(); err == nil && !math.IsInf(f, 0) {
			p[k] = f
		} else {
			p[k] = string(num)
		}
	}
	return p
}
