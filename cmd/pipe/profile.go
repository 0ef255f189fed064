package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// startProfiles starts a CPU profile and an execution trace of the run when
// their files are named, for `go tool pprof` and `go tool trace`. The
// returned stop function ends both and reports the first error closing them.
func startProfiles(cpuPath, tracePath string) (stop func() error, err error) {
	var closers []func() error
	stop = func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		closers = nil
		return errors.Join(errs...)
	}
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err != nil {
			return nil, usage("--cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, usage("--cpuprofile: %v", err)
		}
		closers = append(closers, func() error {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				return fmt.Errorf("--cpuprofile: %w", err)
			}
			return nil
		})
	}
	if tracePath != "" {
		f, err := os.Create(tracePath)
		if err != nil {
			_ = stop()
			return nil, usage("--trace: %v", err)
		}
		if err := trace.Start(f); err != nil {
			f.Close()
			_ = stop()
			return nil, usage("--trace: %v", err)
		}
		closers = append(closers, func() error {
			trace.Stop()
			if err := f.Close(); err != nil {
				return fmt.Errorf("--trace: %w", err)
			}
			return nil
		})
	}
	return stop, nil
}
