// Command models writes the ONNX models pipe's tests use into a folder
// (testdata/models by default). The models are defined in
// internal/onnx/testmodels; the output is deterministic, so rerunning gives
// the same bytes.
//
//	go run ./testdata/gen/models -out testdata/models
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pipe-ml/pipe/internal/onnx/testmodels"
)

func main() {
	out := flag.String("out", "testdata/models", "folder to write the models to")
	flag.Parse()
	if err := testmodels.Write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "models:", err)
		os.Exit(1)
	}
}
