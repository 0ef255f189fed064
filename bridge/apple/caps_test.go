package apple

import (
	"errors"
	"runtime"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

// recorded sysctl values from the machines named.
var (
	m2Pro = map[string]string{
		"hw.optional.arm64": "1", "sysctl.proc_translated": "0", "machdep.cpu.brand_string": "Apple M2 Pro",
		"hw.model": "Mac14,12", "hw.memsize": "34359738368", "hw.perflevel0.physicalcpu": "8",
		"hw.perflevel1.physicalcpu": "4", "kern.osproductversion": "14.4.1", "kern.osversion": "23E224",
	}
	rosetta = map[string]string{
		"hw.optional.arm64": "1", "sysctl.proc_translated": "1", "machdep.cpu.brand_string": "Apple M1",
		"hw.memsize": "17179869184", "kern.osproductversion": "13.6",
	}
	intel = map[string]string{ // no hw.optional.arm64, no perflevels
		"machdep.cpu.brand_string": "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz", "hw.memsize": "17179869184",
		"kern.osproductversion": "13.6.1", "kern.osversion": "22G313",
	}
	oldOS = map[string]string{
		"hw.optional.arm64": "1", "machdep.cpu.brand_string": "Apple M1", "hw.memsize": "8589934592",
		"kern.osproductversion": "12.7",
	}
)

func fake(m map[string]string) sysctlReader {
	return func(name string) (string, error) {
		if v, ok := m[name]; ok {
			return v, nil
		}
		return "", errNoKey
	}
}

func TestReadCaps(t *testing.T) {
	tests := []struct {
		name  string
		vals  map[string]string
		want  Caps
		accel bool
	}{
		{"m2 pro", m2Pro, Caps{AppleSilicon: true, Chip: "Apple M2 Pro", Model: "Mac14,12", MemoryBytes: 34359738368,
			PerfCores: 8, EffCores: 4, OSVersion: "14.4.1", OSBuild: "23E224"}, true},
		{"rosetta", rosetta, Caps{AppleSilicon: true, Translated: true, Chip: "Apple M1", MemoryBytes: 17179869184, OSVersion: "13.6"}, false},
		{"intel", intel, Caps{Chip: "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz", MemoryBytes: 17179869184, OSVersion: "13.6.1", OSBuild: "22G313"}, false},
		{"macOS 12", oldOS, Caps{AppleSilicon: true, Chip: "Apple M1", MemoryBytes: 8589934592, OSVersion: "12.7"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readCaps(fake(tt.vals))
			if err != nil {
				t.Fatalf("readCaps: %v", err)
			}
			if got != tt.want {
				t.Errorf("readCaps =\n %+v\nwant\n %+v", got, tt.want)
			}
			err = got.Accelerated()
			if (err == nil) != tt.accel {
				t.Errorf("Accelerated() = %v, want accelerated %v", err, tt.accel)
			}
			if err != nil && !errors.Is(err, bridge.ErrUnavailable) {
				t.Errorf("Accelerated() error %v does not wrap ErrUnavailable", err)
			}
		})
	}
}

func TestReadCapsErrors(t *testing.T) {
	bad := map[string]string{"hw.optional.arm64": "yes", "machdep.cpu.brand_string": "x", "hw.memsize": "1"}
	if _, err := readCaps(fake(bad)); err == nil {
		t.Errorf("readCaps accepted a non-numeric flag")
	}
	noChip := map[string]string{"hw.memsize": "1"}
	if _, err := readCaps(fake(noChip)); err == nil {
		t.Errorf("readCaps accepted a missing brand string")
	}
	noMem := map[string]string{"machdep.cpu.brand_string": "x"}
	if _, err := readCaps(fake(noMem)); err == nil {
		t.Errorf("readCaps accepted a missing hw.memsize")
	}
}

func TestOSAtLeast(t *testing.T) {
	tests := []struct {
		v            string
		major, minor int
		want         bool
	}{
		{"14.4.1", 14, 4, true}, {"14.3", 14, 4, false}, {"15", 14, 4, true}, {"13.0", 13, 0, true}, {"", 13, 0, false}, {"x", 13, 0, false},
	}
	for _, tt := range tests {
		if got := (Caps{OSVersion: tt.v}).OSAtLeast(tt.major, tt.minor); got != tt.want {
			t.Errorf("OSAtLeast(%q, %d.%d) = %v", tt.v, tt.major, tt.minor, got)
		}
	}
}

func TestDevices(t *testing.T) {
	c, err := readCaps(fake(m2Pro))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Devices()
	if len(d) != 3 || d[0].Kind != "cpu" || d[0].Cores != 12 || d[1].Kind != "gpu" || d[2].Kind != "npu" {
		t.Errorf("Devices = %+v", d)
	}
	if d := (Caps{Chip: "Intel"}).Devices(); len(d) != 1 {
		t.Errorf("Intel Devices = %+v", d)
	}
}

func TestParsePressure(t *testing.T) {
	tests := []struct {
		v    string
		want MemoryPressure
		err  bool
	}{
		{"0", PressureNormal, false}, {"1", PressureNormal, false}, {"2", PressureWarn, false},
		{"4", PressureCritical, false}, {"3", 0, true}, {"high", 0, true},
	}
	for _, tt := range tests {
		got, err := parsePressure(tt.v)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("parsePressure(%q) = %v, %v", tt.v, got, err)
		}
	}
}

func TestProbeOffMac(t *testing.T) {
	if runtime.GOOS == "darwin" {
		c, err := Probe()
		if err != nil || c.Chip == "" {
			t.Fatalf("Probe on darwin = %+v, %v", c, err)
		}
		t.Logf("Probe on darwin = %+v (compare with sysctl; bridge/apple/README.md)", c)
		return
	}
	if _, err := Probe(); !errors.Is(err, ErrNotMac) {
		t.Errorf("Probe off macOS error = %v, want ErrNotMac", err)
	}
	if _, err := ReadMemoryPressure(); !errors.Is(err, ErrNotMac) {
		t.Errorf("ReadMemoryPressure off macOS error = %v", err)
	}
	if _, err := ReadThermal(); !errors.Is(err, ErrNotMac) {
		t.Errorf("ReadThermal off macOS error = %v", err)
	}
	if _, err := ReadHealth(); !errors.Is(err, ErrNotMac) {
		t.Errorf("ReadHealth off macOS error = %v", err)
	}
}
