package apple

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/pipe-ml/pipe/bridge"
)

// ErrNotMac is returned by the capability and health readers on anything
// but macOS.
var ErrNotMac = fmt.Errorf("%w: not macOS", bridge.ErrUnavailable)

// ErrNoCgo is returned on macOS by readers that need the Objective-C shim
// when the binary was built without cgo.
var ErrNoCgo = fmt.Errorf("%w: built without cgo", bridge.ErrUnavailable)

// errNoKey is what a sysctl reader returns for a name the kernel does not
// know (hw.optional.arm64 on Intel, sysctl.proc_translated on old systems).
var errNoKey = errors.New("no such sysctl")

// MinMacOS is the oldest macOS the Apple backends run on (major, minor):
// Core ML's CPUAndNeuralEngine compute units and async compile need 13.0.
var MinMacOS = [2]int{13, 0}

// Caps is what the host offers the Apple backends, read from sysctl.
type Caps struct {
	AppleSilicon bool   // hw.optional.arm64 == 1
	Translated   bool   // sysctl.proc_translated == 1: an x86_64 binary under Rosetta
	Chip         string // machdep.cpu.brand_string, e.g. "Apple M2 Pro"
	Model        string // hw.model, e.g. "Mac14,12"
	MemoryBytes  uint64 // hw.memsize
	PerfCores    int    // hw.perflevel0.physicalcpu; 0 when unknown
	EffCores     int    // hw.perflevel1.physicalcpu; 0 when unknown
	OSVersion    string // kern.osproductversion, e.g. "14.4.1"
	OSBuild      string // kern.osversion, e.g. "23E224"
}

// Accelerated returns nil when Core ML's Neural Engine and GPU paths can run
// here, or an error wrapping [bridge.ErrUnavailable] saying why not.
func (c Caps) Accelerated() error {
	switch {
	case c.Translated:
		return fmt.Errorf("%w: running under Rosetta; build a native arm64 binary", bridge.ErrUnavailable)
	case !c.AppleSilicon:
		return fmt.Errorf("%w: not Apple silicon (%s)", bridge.ErrUnavailable, orUnknown(c.Chip))
	case !c.OSAtLeast(MinMacOS[0], MinMacOS[1]):
		return fmt.Errorf("%w: macOS %s is older than %d.%d", bridge.ErrUnavailable, orUnknown(c.OSVersion), MinMacOS[0], MinMacOS[1])
	}
	return nil
}

// OSAtLeast reports whether the macOS version is major.minor or newer. An
// unreadable version is not.
func (c Caps) OSAtLeast(major, minor int) bool {
	v, err := parseVersion(c.OSVersion)
	if err != nil || c.OSVersion == "" {
		// "14" alone (no minor) happens on some releases.
		n, err := strconv.Atoi(strings.TrimSpace(c.OSVersion))
		if err != nil {
			return false
		}
		v = [2]int{n, 0}
	}
	return !less(v, [2]int{major, minor})
}

// Devices describes the host's compute devices for [bridge.Capabilities].
// The Neural Engine's core count needs MLAllComputeDevices (macOS 14, via
// the shim) and is left 0 here.
func (c Caps) Devices() []bridge.Device {
	cpu := bridge.Device{Name: orUnknown(c.Chip) + " CPU", Kind: "cpu", Cores: c.PerfCores + c.EffCores}
	if !c.AppleSilicon {
		return []bridge.Device{cpu}
	}
	return []bridge.Device{
		cpu,
		{Name: c.Chip + " GPU", Kind: "gpu", Memory: int64(c.MemoryBytes)},
		{Name: c.Chip + " Neural Engine", Kind: "npu"},
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// sysctlReader reads one sysctl value as a string (numbers in decimal); it
// returns errNoKey for unknown names.
type sysctlReader func(name string) (string, error)

// readCaps builds Caps from sysctl values. Missing optional keys leave
// their fields zero; a missing or malformed required key is an error.
func readCaps(get sysctlReader) (Caps, error) {
	var c Caps
	var err error
	if c.AppleSilicon, err = flag(get, "hw.optional.arm64"); err != nil {
		return Caps{}, err
	}
	if c.Translated, err = flag(get, "sysctl.proc_translated"); err != nil {
		return Caps{}, err
	}
	strs := []struct {
		name     string
		dst      *string
		required bool
	}{
		{"machdep.cpu.brand_string", &c.Chip, true},
		{"hw.model", &c.Model, false},
		{"kern.osproductversion", &c.OSVersion, false},
		{"kern.osversion", &c.OSBuild, false},
	}
	for _, s := range strs {
		v, err := get(s.name)
		if errors.Is(err, errNoKey) && !s.required {
			continue
		}
		if err != nil {
			return Caps{}, fmt.Errorf("sysctl %s: %w", s.name, err)
		}
		*s.dst = strings.TrimRight(strings.TrimSpace(v), "\x00")
	}
	if c.MemoryBytes, err = number(get, "hw.memsize", true); err != nil {
		return Caps{}, err
	}
	p, err := number(get, "hw.perflevel0.physicalcpu", false)
	if err != nil {
		return Caps{}, err
	}
	e, err := number(get, "hw.perflevel1.physicalcpu", false)
	if err != nil {
		return Caps{}, err
	}
	c.PerfCores, c.EffCores = int(p), int(e)
	return c, nil
}

// flag reads a 0/1 sysctl; a missing key is false.
func flag(get sysctlReader, name string) (bool, error) {
	n, err := number(get, name, false)
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

func number(get sysctlReader, name string, required bool) (uint64, error) {
	v, err := get(name)
	if errors.Is(err, errNoKey) && !required {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sysctl %s: %w", name, err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("sysctl %s: not a number: %q", name, v)
	}
	return n, nil
}

var probeOnce = sync.OnceValues(func() (Caps, error) { return readCaps(sysctl) })

// Probe reads the host's capabilities once per process and returns the same
// result afterwards. On anything but macOS it returns [ErrNotMac].
func Probe() (Caps, error) { return probeOnce() }

// MemoryPressure is the kernel's memory pressure level; the values are
// Apple's (kern.memorystatus_vm_pressure_level, and the dispatch source's
// DISPATCH_MEMORYPRESSURE_* flags).
type MemoryPressure int

// Memory pressure levels.
const (
	PressureNormal   MemoryPressure = 1
	PressureWarn     MemoryPressure = 2
	PressureCritical MemoryPressure = 4
)

func (p MemoryPressure) String() string {
	switch p {
	case PressureNormal:
		return "normal"
	case PressureWarn:
		return "warn"
	case PressureCritical:
		return "critical"
	}
	return fmt.Sprintf("MemoryPressure(%d)", int(p))
}

// parsePressure reads the sysctl value. 0 (some kernels before the first
// event) is normal; unknown values are errors.
func parsePressure(v string) (MemoryPressure, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("memory pressure level %q: not a number", v)
	}
	switch MemoryPressure(n) {
	case 0, PressureNormal:
		return PressureNormal, nil
	case PressureWarn, PressureCritical:
		return MemoryPressure(n), nil
	}
	return 0, fmt.Errorf("memory pressure level %d: unknown", n)
}

// ReadMemoryPressure polls kern.memorystatus_vm_pressure_level. It needs no
// cgo. On anything but macOS it returns [ErrNotMac].
func ReadMemoryPressure() (MemoryPressure, error) {
	v, err := sysctl("kern.memorystatus_vm_pressure_level")
	if err != nil {
		return 0, fmt.Errorf("memory pressure: %w", err)
	}
	return parsePressure(v)
}
