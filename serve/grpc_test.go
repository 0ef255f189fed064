package serve

import (
	"context"
	"reflect"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pipe-ml/pipe/serve/inferpb"
)

// pbInput is a shorthand for a gRPC input tensor.
func pbInput(name, dt string, shape []int64, c *inferpb.InferTensorContents) *inferpb.ModelInferRequest_InferInputTensor {
	return &inferpb.ModelInferRequest_InferInputTensor{Name: name, Datatype: dt, Shape: shape, Contents: c}
}

func TestGRPCInfer(t *testing.T) {
	m := newFake("mixed",
		TensorMetadata{Name: "x", Datatype: "FP32", Shape: []int64{-1}},
		TensorMetadata{Name: "b", Datatype: "INT8", Shape: []int64{2}},
		TensorMetadata{Name: "s", Datatype: "BYTES", Shape: []int64{-1}})
	h := start(t, Options{}, m)
	ctx := context.Background()
	t.Run("typed", func(t *testing.T) {
		resp, err := h.grpc.ModelInfer(ctx, &inferpb.ModelInferRequest{ModelName: "mixed", Id: "7", Inputs: []*inferpb.ModelInferRequest_InferInputTensor{
			pbInput("x", "FP32", []int64{3}, &inferpb.InferTensorContents{Fp32Contents: []float32{1, 2, 3.5}}),
			pbInput("b", "INT8", []int64{2}, &inferpb.InferTensorContents{IntContents: []int32{-3, 60}}),
			pbInput("s", "BYTES", []int64{1}, &inferpb.InferTensorContents{BytesContents: [][]byte{[]byte("hi")}}),
		}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetId() != "7" || resp.GetModelName() != "mixed" || len(resp.GetOutputs()) != 3 {
			t.Fatalf("response %v", resp)
		}
		if got := resp.GetOutputs()[0].GetContents().GetFp32Contents(); !reflect.DeepEqual(got, []float32{2, 4, 7}) {
			t.Errorf("x_out %v", got)
		}
		if got := resp.GetOutputs()[1].GetContents().GetIntContents(); !reflect.DeepEqual(got, []int32{-6, 120}) {
			t.Errorf("b_out %v", got)
		}
		if got := resp.GetOutputs()[2].GetContents().GetBytesContents(); len(got) != 1 || string(got[0]) != "hi" {
			t.Errorf("s_out %q", got)
		}
	})
	t.Run("raw", func(t *testing.T) {
		resp, err := h.grpc.ModelInfer(ctx, &inferpb.ModelInferRequest{ModelName: "mixed", ModelVersion: "1",
			Inputs: []*inferpb.ModelInferRequest_InferInputTensor{
				pbInput("x", "FP32", []int64{2}, nil), pbInput("b", "INT8", []int64{2}, nil), pbInput("s", "BYTES", []int64{2}, nil),
			},
			Outputs:          []*inferpb.ModelInferRequest_InferRequestedOutputTensor{{Name: "s_out"}, {Name: "x_out"}},
			RawInputContents: [][]byte{encodeRaw([]float32{1, -1}), {1, 2}, encodeRaw([][]byte{[]byte("a"), []byte("bc")})},
		})
		if err != nil {
			t.Fatal(err)
		}
		raws := resp.GetRawOutputContents()
		if resp.GetModelVersion() != "1" || len(raws) != 2 || resp.GetOutputs()[0].GetName() != "s_out" {
			t.Fatalf("response %v", resp)
		}
		s, _ := decodeRaw("s_out", "BYTES", 2, raws[0])
		x, _ := decodeRaw("x_out", "FP32", 2, raws[1])
		if !reflect.DeepEqual(s, [][]byte{[]byte("a"), []byte("bc")}) || !reflect.DeepEqual(x, []float32{2, -2}) {
			t.Errorf("s_out %q x_out %v", s, x)
		}
	})
}

func TestGRPCErrors(t *testing.T) {
	h := start(t, Options{MaxElements: 100}, doubleModel(), newFake("i8", TensorMetadata{Name: "v", Datatype: "INT8", Shape: []int64{1}}))
	x := func(dt string, shape []int64, c *inferpb.InferTensorContents) *inferpb.ModelInferRequest {
		return &inferpb.ModelInferRequest{ModelName: "double", Inputs: []*inferpb.ModelInferRequest_InferInputTensor{pbInput("x", dt, shape, c)}}
	}
	two := &inferpb.InferTensorContents{Fp32Contents: []float32{1, 2}}
	for _, tt := range []struct {
		name string
		req  *inferpb.ModelInferRequest
		code codes.Code
		want string
	}{
		{"unknown model", &inferpb.ModelInferRequest{ModelName: "nope"}, codes.NotFound, `"nope"`},
		{"wrong version", &inferpb.ModelInferRequest{ModelName: "double", ModelVersion: "3"}, codes.NotFound, `version "3"`},
		{"wrong datatype", x("INT32", []int64{1, 2}, &inferpb.InferTensorContents{IntContents: []int32{1, 2}}), codes.InvalidArgument, `input "x": expected datatype FP32, got INT32`},
		{"count", x("FP32", []int64{2, 2}, two), codes.InvalidArgument, `input "x": expected 4 elements`},
		{"shape", x("FP32", []int64{2}, two), codes.InvalidArgument, `input "x": expected shape [-1 2]`},
		{"huge", x("FP32", []int64{1 << 40, 2}, two), codes.ResourceExhausted, `input "x": shape [1099511627776 2] is over the limit of 100`},
		{"raw count", &inferpb.ModelInferRequest{ModelName: "double", Inputs: []*inferpb.ModelInferRequest_InferInputTensor{pbInput("x", "FP32", []int64{1, 2}, nil)}, RawInputContents: [][]byte{{1}, {2}}}, codes.InvalidArgument, "raw_input_contents for each of the 1 inputs"},
		{"raw size", &inferpb.ModelInferRequest{ModelName: "double", Inputs: []*inferpb.ModelInferRequest_InferInputTensor{pbInput("x", "FP32", []int64{1, 2}, nil)}, RawInputContents: [][]byte{{1, 2, 3}}}, codes.InvalidArgument, `input "x": expected 8 bytes`},
		{"int8 range", &inferpb.ModelInferRequest{ModelName: "i8", Inputs: []*inferpb.ModelInferRequest_InferInputTensor{pbInput("v", "INT8", []int64{1}, &inferpb.InferTensorContents{IntContents: []int32{300}})}}, codes.InvalidArgument, `input "v": expected a value range for INT8`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.grpc.ModelInfer(context.Background(), tt.req)
			st, _ := status.FromError(err)
			if st.Code() != tt.code {
				t.Fatalf("code %v, want %v: %v", st.Code(), tt.code, err)
			}
			mustContain(t, st.Message(), tt.want)
		})
	}
}

func TestGRPCMetadataAndHealth(t *testing.T) {
	m := doubleModel()
	h := start(t, Options{ServerName: "pipe", ServerVersion: "9"}, m)
	ctx := context.Background()
	sm, err := h.grpc.ServerMetadata(ctx, &inferpb.ServerMetadataRequest{})
	if err != nil || sm.GetName() != "pipe" || sm.GetVersion() != "9" {
		t.Errorf("server metadata %v, %v", sm, err)
	}
	md, err := h.grpc.ModelMetadata(ctx, &inferpb.ModelMetadataRequest{Name: "double"})
	if err != nil || md.GetInputs()[0].GetName() != "x" || !reflect.DeepEqual(md.GetInputs()[0].GetShape(), []int64{-1, 2}) {
		t.Errorf("model metadata %v, %v", md, err)
	}
	live, err := h.grpc.ServerLive(ctx, &inferpb.ServerLiveRequest{})
	if err != nil || !live.GetLive() {
		t.Errorf("live %v, %v", live, err)
	}
	m.ready.Store(false)
	mr, err := h.grpc.ModelReady(ctx, &inferpb.ModelReadyRequest{Name: "double"})
	if err != nil || mr.GetReady() {
		t.Errorf("model ready %v, %v; want false", mr, err)
	}
	sr, err := h.grpc.ServerReady(ctx, &inferpb.ServerReadyRequest{})
	if err != nil || sr.GetReady() {
		t.Errorf("server ready %v, %v; want false", sr, err)
	}
	_, err = h.grpc.ModelInfer(ctx, &inferpb.ModelInferRequest{ModelName: "double"})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("infer on an unready model: %v, want Unavailable", err)
	}
}
