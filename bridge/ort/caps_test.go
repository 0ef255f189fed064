package ort

import "testing"

// TestCPUSelectionCapabilities checks what the executor selects cpu by: it
// is in auto, and its default concurrency follows the host's cores.
func TestCPUSelectionCapabilities(t *testing.T) {
	c := CPUCapabilities()
	if c.AutoRank != AutoRankCPU || c.AutoRank <= 0 || !c.HostCores || c.Accelerator {
		t.Errorf("AutoRank %d, HostCores %v, Accelerator %v; want %d, true, false", c.AutoRank, c.HostCores, c.Accelerator, AutoRankCPU)
	}
}
