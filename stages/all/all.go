// Package all imports every stage implementation of pipe, so that a blank
// import of it registers them all in the default registry.
package all

import (
	_ "github.com/pipe-ml/pipe/stages/image"     // image
	_ "github.com/pipe-ml/pipe/stages/model"     // model
	_ "github.com/pipe-ml/pipe/stages/sink"      // parquet_sink
	_ "github.com/pipe-ml/pipe/stages/source"    // parquet_source, csv_source, jsonl_source, ipc_source, generate
	_ "github.com/pipe-ml/pipe/stages/text"      // tokenize
	_ "github.com/pipe-ml/pipe/stages/transform" // select, cast, filter, vectorize, unvectorize, merge, zip
	_ "github.com/pipe-ml/pipe/stages/vector"    // vector (normalize, matmul, softmax, top-k; Metal or CPU)
)
