package serve

import (
	"github.com/pipe-ml/pipe/observe/tracing"

	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/pipe-ml/pipe/serve/inferpb"
)

// RegisterGRPC registers inference.GRPCInferenceService on g. A caller that
// runs its own grpc.Server sets its grpc.MaxRecvMsgSize; [Server.Serve]
// sets it to MaxBodyBytes.
func (s *Server) RegisterGRPC(g *grpc.Server) {
	inferpb.RegisterGRPCInferenceServiceServer(g, &grpcService{s: s})
}

// grpcService implements inferpb.GRPCInferenceServiceServer over a Server.
type grpcService struct {
	inferpb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

// grpcErr turns err into a gRPC status with its code.
func grpcErr(err error) error {
	return status.Error(classify(err).grpc, err.Error())
}

// auth checks the "authorization" metadata when a token is set.
func (g *grpcService) auth(ctx context.Context) error {
	if g.s.opts.Token == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if g.s.tokenOK(v) {
			return nil
		}
	}
	return grpcErr(fmt.Errorf("%w: missing or wrong bearer token", ErrUnauthorized))
}

// ServerLive implements the protocol's ServerLive.
func (g *grpcService) ServerLive(context.Context, *inferpb.ServerLiveRequest) (*inferpb.ServerLiveResponse, error) {
	return &inferpb.ServerLiveResponse{Live: true}, nil
}

// ServerReady implements the protocol's ServerReady.
func (g *grpcService) ServerReady(context.Context, *inferpb.ServerReadyRequest) (*inferpb.ServerReadyResponse, error) {
	return &inferpb.ServerReadyResponse{Ready: g.s.serverReady()}, nil
}

// ModelReady implements the protocol's ModelReady.
func (g *grpcService) ModelReady(ctx context.Context, r *inferpb.ModelReadyRequest) (*inferpb.ModelReadyResponse, error) {
	if err := g.auth(ctx); err != nil {
		return nil, err
	}
	e, err := g.s.lookup(r.GetName(), r.GetVersion())
	if err != nil {
		return nil, grpcErr(err)
	}
	return &inferpb.ModelReadyResponse{Ready: g.s.ready.Load() && e.model.Ready()}, nil
}

// ServerMetadata implements the protocol's ServerMetadata.
func (g *grpcService) ServerMetadata(ctx context.Context, _ *inferpb.ServerMetadataRequest) (*inferpb.ServerMetadataResponse, error) {
	if err := g.auth(ctx); err != nil {
		return nil, err
	}
	return &inferpb.ServerMetadataResponse{Name: g.s.opts.ServerName, Version: g.s.opts.ServerVersion, Extensions: extensions}, nil
}

// ModelMetadata implements the protocol's ModelMetadata.
func (g *grpcService) ModelMetadata(ctx context.Context, r *inferpb.ModelMetadataRequest) (*inferpb.ModelMetadataResponse, error) {
	if err := g.auth(ctx); err != nil {
		return nil, err
	}
	e, err := g.s.lookup(r.GetName(), r.GetVersion())
	if err != nil {
		return nil, grpcErr(err)
	}
	conv := func(ts []TensorMetadata) []*inferpb.ModelMetadataResponse_TensorMetadata {
		out := make([]*inferpb.ModelMetadataResponse_TensorMetadata, len(ts))
		for i, t := range ts {
			out[i] = &inferpb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
		}
		return out
	}
	return &inferpb.ModelMetadataResponse{
		Name: e.md.Name, Versions: e.md.Versions, Platform: e.md.Platform,
		Inputs: conv(e.md.Inputs), Outputs: conv(e.md.Outputs),
	}, nil
}

// ModelInfer implements the protocol's ModelInfer. Outputs come back in
// raw_output_contents when the request used raw_input_contents or asked for
// binary_data_output, and in typed contents otherwise.
func (g *grpcService) ModelInfer(ctx context.Context, r *inferpb.ModelInferRequest) (*inferpb.ModelInferResponse, error) {
	start := time.Now()
	if err := g.auth(ctx); err != nil {
		return nil, err
	}
	ctx, span := g.s.startSpan(tracing.ExtractGRPC(ctx), r.GetModelName(), "grpc")
	resp, req, ran, err := g.infer(ctx, r)
	tracing.End(span, err)
	name := r.GetModelName()
	if _, lerr := g.s.lookup(name, ""); lerr != nil {
		name = ""
	}
	g.s.finish(name, "grpc", ran, start, resp, err)
	if err != nil {
		return nil, grpcErr(err)
	}
	if resp.ModelVersion == "" {
		resp.ModelVersion = r.GetModelVersion()
	}
	raw := len(r.GetRawInputContents()) > 0
	if b, ok := req.Parameters[paramBinaryOutput].(bool); ok && b {
		raw = true
	}
	return encodeProtoResponse(resp, raw)
}

// infer admits, decodes, validates and runs one gRPC request; ran says
// whether the model was called.
func (g *grpcService) infer(ctx context.Context, r *inferpb.ModelInferRequest) (*InferResponse, *InferRequest, bool, error) {
	e, err := g.s.lookup(r.GetModelName(), r.GetModelVersion())
	if err != nil {
		return nil, nil, false, err
	}
	release, err := g.s.admit(e)
	if err != nil {
		return nil, nil, false, err
	}
	defer release()
	req, err := decodeProtoRequest(r, g.s.opts.MaxElements)
	if err == nil {
		err = validate(&e.md, req, g.s.opts.MaxElements)
	}
	if err != nil {
		return nil, nil, false, err
	}
	resp, err := g.s.run(ctx, e, req)
	return resp, req, true, err
}
