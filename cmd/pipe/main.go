// Command pipe runs batch ML inference jobs: it streams Arrow record batches
// from datasets through a YAML-defined graph of stages and writes Parquet.
//
// Exit status: 0 on success, 1 when a job fails while running, 2 on usage
// or job-file errors (nothing ran).
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
