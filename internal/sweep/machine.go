package sweep

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Machine describes the machine a sweep runs on: its CPU model (from
// /proc/cpuinfo on Linux), its logical cores and the OS and architecture,
// as in "AMD EPYC 7R13 Processor, 16 cores, linux/amd64".
func Machine() string {
	return machineFrom(cpuModel("/proc/cpuinfo"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}

func machineFrom(cpu string, cores int, goos, goarch string) string {
	if cpu == "" {
		cpu = "unknown CPU"
	}
	return fmt.Sprintf("%s, %d cores, %s/%s", cpu, cores, goos, goarch)
}

// cpuModel reads the first "model name" (or, on some ARM kernels,
// "Hardware" or "Model") of a cpuinfo file; "" when there is none.
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	found := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if ok && val != "" && found[key] == "" {
			found[key] = val
		}
	}
	for _, k := range []string{"model name", "Hardware", "Model"} {
		if v := found[k]; v != "" {
			return v
		}
	}
	return ""
}
