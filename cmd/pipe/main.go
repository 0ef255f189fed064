// Command pipe runs batch ML inference jobs: see the README, or pipe --help.
//
// Exit status: 0 on success, 1 when the job failed while running, 2 on a
// usage or job-file error (nothing ran).
//
// PIPE_CPUPROFILE=FILE writes a CPU profile of the whole command to FILE
// (inspect it with go tool pprof); PIPE_TRACE=FILE writes an execution
// trace (go tool trace; -pprof=sched shows where goroutines waited for a
// thread).
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

func main() {
	var stops []func()
	if path := os.Getenv("PIPE_CPUPROFILE"); path != "" {
		f := create("PIPE_CPUPROFILE", path)
		if err := pprof.StartCPUProfile(f); err != nil {
			fail("PIPE_CPUPROFILE", err)
		}
		stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
	}
	if path := os.Getenv("PIPE_TRACE"); path != "" {
		f := create("PIPE_TRACE", path)
		if err := trace.Start(f); err != nil {
			fail("PIPE_TRACE", err)
		}
		stops = append(stops, func() { trace.Stop(); f.Close() })
	}
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	for _, stop := range stops {
		stop()
	}
	os.Exit(code)
}

func create(v, path string) *os.File {
	f, err := os.Create(path)
	if err != nil {
		fail(v, err)
	}
	return f
}

func fail(v string, err error) {
	fmt.Fprintf(os.Stderr, "error: %s: %v\n", v, err)
	os.Exit(exitUsage)
}
