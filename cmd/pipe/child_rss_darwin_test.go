package main

import "syscall"

// maxRSSBytes returns ru_maxrss, in bytes on macOS.
func maxRSSBytes(ru *syscall.Rusage) int64 { return ru.Maxrss }

// watchRSS returns a stop that reports 0: on macOS ru_maxrss is the
// child's own (posix_spawn does not share the parent's memory).
func watchRSS(int) (stop func() int64) { return func() int64 { return 0 } }
