//go:build darwin

package apple

import (
	"errors"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// numericSysctls are read as integers; their width is the kernel's.
var numericSysctls = map[string]int{
	"hw.optional.arm64":                   32,
	"sysctl.proc_translated":              32,
	"hw.memsize":                          64,
	"hw.perflevel0.physicalcpu":           32,
	"hw.perflevel1.physicalcpu":           32,
	"kern.memorystatus_vm_pressure_level": 32,
}

// sysctl reads one value through golang.org/x/sys/unix (no cgo).
func sysctl(name string) (string, error) {
	var (
		s   string
		err error
	)
	switch numericSysctls[name] {
	case 32:
		var n uint32
		n, err = unix.SysctlUint32(name)
		s = strconv.FormatUint(uint64(n), 10)
	case 64:
		var n uint64
		n, err = unix.SysctlUint64(name)
		s = strconv.FormatUint(n, 10)
	default:
		s, err = unix.Sysctl(name)
	}
	if errors.Is(err, syscall.ENOENT) {
		return "", errNoKey
	}
	return s, err
}
