// Package inferpb holds the Go code generated from grpc_predict_v2.proto,
// the Open Inference Protocol (KServe v2) gRPC definition published by the
// KServe authors (kserve/open-inference-protocol,
// specification/protocol/open_inference_grpc.proto). See README.md for how
// to regenerate it. Do not edit the *.pb.go files by hand.
package inferpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Mgrpc_predict_v2.proto=github.com/pipe-ml/pipe/serve/inferpb --go-grpc_out=. --go-grpc_opt=paths=source_relative --go-grpc_opt=Mgrpc_predict_v2.proto=github.com/pipe-ml/pipe/serve/inferpb grpc_predict_v2.proto
