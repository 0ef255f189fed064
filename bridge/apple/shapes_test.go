package apple

import (
	"errors"
	"reflect"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

func named(name string, dims ...any) bridge.TensorInfo {
	s := make(bridge.Shape, len(dims))
	for i, d := range dims {
		switch v := d.(type) {
		case int:
			s[i] = bridge.Dim{Size: int64(v)}
		case string:
			s[i] = bridge.Dim{Size: -1, Name: v}
		}
	}
	return bridge.TensorInfo{Name: name, Type: bridge.Float32, Shape: s}
}

func TestPlanShapes(t *testing.T) {
	tests := []struct {
		name     string
		inputs   []InputSpec
		policy   BatchPolicy
		flexible bool
		want     ShapePlan
	}{
		{
			name:   "onnx symbolic batch pinned to max_rows",
			inputs: []InputSpec{{Info: named("x", "batch", 16)}},
			policy: BatchPolicy{MaxRows: 64},
			want: ShapePlan{Mode: BatchPadded, BatchSizes: []int{64}, PadTo: 64,
				Shapes:       map[int]map[string][]int64{64: {"x": {64, 16}}},
				DimOverrides: map[string]int64{"batch": 64}},
		},
		{
			name:   "symbolic seq from policy",
			inputs: []InputSpec{{Info: named("ids", "batch", "seq")}, {Info: named("mask", "batch", "seq")}},
			policy: BatchPolicy{MaxRows: 8, DimSizes: map[string]int64{"seq": 128}},
			want: ShapePlan{Mode: BatchPadded, BatchSizes: []int{8}, PadTo: 8,
				Shapes:       map[int]map[string][]int64{8: {"ids": {8, 128}, "mask": {8, 128}}},
				DimOverrides: map[string]int64{"batch": 8, "seq": 128}},
		},
		{
			name:   "fixed batch 1 runs per row",
			inputs: []InputSpec{{Info: named("x", 1, 3, 224, 224)}},
			policy: BatchPolicy{MaxRows: 32},
			want: ShapePlan{Mode: BatchPerRow, BatchSizes: []int{1},
				Shapes:       map[int]map[string][]int64{1: {"x": {1, 3, 224, 224}}},
				DimOverrides: map[string]int64{}},
		},
		{
			name:   "fixed batch 16 pads to 16",
			inputs: []InputSpec{{Info: named("x", 16, 4)}},
			policy: BatchPolicy{MaxRows: 100},
			want: ShapePlan{Mode: BatchPadded, BatchSizes: []int{16}, PadTo: 16,
				Shapes:       map[int]map[string][]int64{16: {"x": {16, 4}}},
				DimOverrides: map[string]int64{}},
		},
		{
			name: "enumerated batches up to max_rows",
			inputs: []InputSpec{{Info: named("x", 1, 8), Constraint: ShapeConstraint{Kind: ConstraintEnumerated,
				Enumerated: [][]int64{{1, 8}, {8, 8}, {32, 8}, {64, 8}}}}},
			policy: BatchPolicy{MaxRows: 40},
			want: ShapePlan{Mode: BatchPadded, BatchSizes: []int{1, 8, 32}, PadTo: 32,
				Shapes:       map[int]map[string][]int64{1: {"x": {1, 8}}, 8: {"x": {8, 8}}, 32: {"x": {32, 8}}},
				DimOverrides: map[string]int64{}},
		},
		{
			name: "enumerated smallest above max_rows still kept",
			inputs: []InputSpec{{Info: named("x", 16, 8), Constraint: ShapeConstraint{Kind: ConstraintEnumerated,
				Enumerated: [][]int64{{32, 8}, {16, 8}}}}},
			policy: BatchPolicy{MaxRows: 4},
			want: ShapePlan{Mode: BatchPadded, BatchSizes: []int{16}, PadTo: 16,
				Shapes:       map[int]map[string][]int64{16: {"x": {16, 8}}},
				DimOverrides: map[string]int64{}},
		},
		{
			name: "range pinned for the ANE",
			inputs: []InputSpec{{Info: named("x", 1, 8), Constraint: ShapeConstraint{Kind: ConstraintRange,
				Ranges: []DimRange{{1, 50}, {8, 8}}}}},
			policy: BatchPolicy{MaxRows: 64},
			want: ShapePlan{Mode: BatchPadded, BatchSizes: []int{50}, PadTo: 50,
				Shapes:       map[int]map[string][]int64{50: {"x": {50, 8}}},
				DimOverrides: map[string]int64{}},
		},
		{
			name: "range run flexibly",
			inputs: []InputSpec{{Info: named("x", 1, "d"), Constraint: ShapeConstraint{Kind: ConstraintRange,
				Ranges: []DimRange{{1, -1}, {8, 8}}}}},
			policy:   BatchPolicy{MaxRows: 64},
			flexible: true,
			want: ShapePlan{Mode: BatchFlexible, BatchSizes: []int{64},
				Shapes:       map[int]map[string][]int64{64: {"x": {64, 8}}},
				DimOverrides: map[string]int64{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PlanShapes(tt.inputs, tt.policy, tt.flexible)
			if err != nil {
				t.Fatalf("PlanShapes: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PlanShapes =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestPlanShapesErrors(t *testing.T) {
	tests := []struct {
		name   string
		inputs []InputSpec
		policy BatchPolicy
	}{
		{"no max_rows", []InputSpec{{Info: named("x", "batch", 4)}}, BatchPolicy{}},
		{"no inputs", nil, BatchPolicy{MaxRows: 4}},
		{"scalar input", []InputSpec{{Info: named("x")}}, BatchPolicy{MaxRows: 4}},
		{"symbolic feature dim unpinned", []InputSpec{{Info: named("x", "batch", "seq")}}, BatchPolicy{MaxRows: 4}},
		{"inputs disagree on batch", []InputSpec{{Info: named("a", 4, 2)}, {Info: named("b", 8, 2)}}, BatchPolicy{MaxRows: 8}},
		{"range excludes pinned dim", []InputSpec{{Info: named("x", 1, "seq"), Constraint: ShapeConstraint{Kind: ConstraintRange,
			Ranges: []DimRange{{1, 8}, {1, 64}}}}}, BatchPolicy{MaxRows: 4, DimSizes: map[string]int64{"seq": 128}}},
		{"enumerated none", []InputSpec{{Info: named("x", 1, 2), Constraint: ShapeConstraint{Kind: ConstraintEnumerated}}}, BatchPolicy{MaxRows: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PlanShapes(tt.inputs, tt.policy, false)
			if !errors.Is(err, ErrShape) {
				t.Fatalf("PlanShapes error = %v, want ErrShape", err)
			}
		})
	}
}
