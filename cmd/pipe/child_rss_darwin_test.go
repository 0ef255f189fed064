package main

import "syscall"

// maxRSSBytes returns ru_maxrss, in bytes on macOS.
func maxRSSBytes(ru *syscall.Rusage) int64 { return ru.Maxrss }
