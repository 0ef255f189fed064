package serve

import (
	"fmt"
	"strings"
)

// validate checks a decoded request against the model's metadata so that a
// [Model] can trust it: every declared input present once, datatypes equal,
// shapes of the declared rank with fixed dimensions equal, len(Data) equal to
// the shape's product, and requested outputs declared. maxElems caps the
// request's elements in all.
func validate(md *ModelMetadata, req *InferRequest, maxElems int64) error {
	seen := make(map[string]bool, len(req.Inputs))
	total := int64(0)
	for i := range req.Inputs {
		in := &req.Inputs[i]
		if seen[in.Name] {
			return inputErr(in.Name, "each input once", "it twice")
		}
		seen[in.Name] = true
		want := findTensor(md.Inputs, in.Name)
		if want == nil {
			return inputErr(in.Name, "one of the inputs "+tensorNames(md.Inputs), "an unknown input")
		}
		n, err := validateTensor(want, in, maxElems-total)
		if err != nil {
			return err
		}
		total += n
	}
	for _, want := range md.Inputs {
		if !seen[want.Name] {
			return inputErr(want.Name, fmt.Sprintf("a %s tensor of shape %v", want.Datatype, want.Shape), "no such input in the request")
		}
	}
	for _, out := range req.Outputs {
		if findTensor(md.Outputs, out.Name) == nil {
			return inputErr("", "requested outputs among "+tensorNames(md.Outputs), "output %q", out.Name)
		}
	}
	return nil
}

// validateTensor checks one input against its metadata and returns its
// element count.
func validateTensor(want *TensorMetadata, in *Tensor, maxElems int64) (int64, error) {
	if in.Datatype != want.Datatype {
		return 0, inputErr(in.Name, "datatype "+want.Datatype, "%s", in.Datatype)
	}
	if !shapeFits(want.Shape, in.Shape) {
		return 0, inputErr(in.Name, fmt.Sprintf("shape %v (-1: any size)", want.Shape), "shape %v", in.Shape)
	}
	n, err := elements(in.Name, in.Shape, maxElems)
	if err != nil {
		return 0, err
	}
	if !dataMatches(in.Datatype, in.Data) {
		return 0, inputErr(in.Name, "data of type "+Datatypes[in.Datatype], "%T", in.Data)
	}
	if got := dataLen(in.Data); int64(got) != n {
		return 0, inputErr(in.Name, fmt.Sprintf("%d elements for shape %v", n, in.Shape), "%d", got)
	}
	return n, nil
}

// shapeFits reports whether got has want's rank and its fixed dimensions.
func shapeFits(want, got []int64) bool {
	if len(want) != len(got) {
		return false
	}
	for i, d := range want {
		if d >= 0 && d != got[i] {
			return false
		}
	}
	return true
}

// findTensor returns the metadata named name, or nil.
func findTensor(ts []TensorMetadata, name string) *TensorMetadata {
	for i := range ts {
		if ts[i].Name == name {
			return &ts[i]
		}
	}
	return nil
}

// tensorNames lists the names of ts for messages.
func tensorNames(ts []TensorMetadata) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = fmt.Sprintf("%q", t.Name)
	}
	return "[" + strings.Join(names, ", ") + "]"
}
