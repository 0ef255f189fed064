package main

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// maxRSSBytes converts ru_maxrss, in KiB on Linux, to bytes.
func maxRSSBytes(ru *syscall.Rusage) int64 { return ru.Maxrss * 1024 }

// watchRSS polls the high-water mark of a child's resident set (VmHWM in
// /proc/PID/status) until the returned stop is called, and stop returns
// the largest value read, in bytes (0 when none could be read).
//
// ru_maxrss cannot serve: os/exec starts a child with vfork, so until its
// exec the child shares the test process's memory, and Linux keeps that
// memory's high-water mark as the child's ru_maxrss: a child started by a
// test process of 400MiB reports at least 400MiB. VmHWM belongs to the
// memory the child has after exec. A peak reached in the last few
// milliseconds before exit may be missed.
func watchRSS(pid int) (stop func() int64) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	var peak int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := readHWM(path); v > peak {
				peak = v
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// readHWM returns VmHWM of a /proc status file in bytes, 0 if unreadable.
func readHWM(path string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	i := bytes.Index(data, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	f := bytes.Fields(data[i+len("VmHWM:"):])
	if len(f) < 2 {
		return 0
	}
	kb, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0
	}
	return kb * 1024
}
