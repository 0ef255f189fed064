// Command pipe runs batch ML inference jobs: it streams Arrow record batches
// from datasets through a YAML-defined graph of stages and writes Parquet.
//
// Exit status: 0 on success, 1 when a job fails while running, 2 on usage
// or job-file errors (nothing ran).
//
// PIPE_CPUPROFILE=FILE writes a CPU profile of the whole command to FILE
// (inspect it with go tool pprof).
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

func main() {
	if path := os.Getenv("PIPE_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "error: PIPE_CPUPROFILE:", err)
			os.Exit(exitUsage)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "error: PIPE_CPUPROFILE:", err)
			os.Exit(exitUsage)
		}
		code := run(os.Args[1:], os.Stdout, os.Stderr)
		pprof.StopCPUProfile()
		f.Close()
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
