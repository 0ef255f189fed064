package coreml

import (
	"encoding/json"
	"fmt"
	"sort"
)

// OpPlacement is Core ML's anticipated placement of one operation (ML
// Program) or layer (NeuralNetwork), from MLComputePlan.
type OpPlacement struct {
	Name      string   `json:"name"`      // operator name ("ios17.conv") or layer name
	Preferred string   `json:"preferred"` // "ane", "gpu" or "cpu"; "" when Core ML gave none
	Supported []string `json:"supported"`
	// Cost is the estimated relative cost (0..1) of the operation; -1 when
	// Core ML gave none (layers, constants).
	Cost float64 `json:"cost"`
}

// Placement is MLComputePlan's per-operation device report for a model
// under given compute units. It is what Core ML expects to do, not what it
// did; the Neural Engine can still fall back at run time.
type Placement struct {
	Ops []OpPlacement `json:"ops"`
}

// Counts returns the number of operations by preferred device.
func (p Placement) Counts() map[string]int {
	m := map[string]int{}
	for _, o := range p.Ops {
		m[o.Preferred]++
	}
	return m
}

// Fraction returns the share of operations preferring device ("ane"), 0
// for an empty plan. Record it per (model, OS build, chip); 0 under
// CPUAndNeuralEngine means nothing runs on the Neural Engine.
func (p Placement) Fraction(device string) float64 {
	if len(p.Ops) == 0 {
		return 0
	}
	return float64(p.Counts()[device]) / float64(len(p.Ops))
}

// Summary is one line per device, most operations first: "ane 40 (80.0%)".
func (p Placement) Summary() []string {
	counts := p.Counts()
	devs := make([]string, 0, len(counts))
	for d := range counts {
		devs = append(devs, d)
	}
	sort.Slice(devs, func(i, j int) bool {
		if counts[devs[i]] != counts[devs[j]] {
			return counts[devs[i]] > counts[devs[j]]
		}
		return devs[i] < devs[j]
	})
	out := make([]string, len(devs))
	for i, d := range devs {
		name := d
		if name == "" {
			name = "none"
		}
		out[i] = fmt.Sprintf("%s %d (%.1f%%)", name, counts[d], 100*p.Fraction(d))
	}
	return out
}

func parsePlacement(js []byte) (Placement, error) {
	var p Placement
	if err := json.Unmarshal(js, &p); err != nil {
		return Placement{}, fmt.Errorf("compute plan: %w", err)
	}
	for _, o := range p.Ops {
		switch o.Preferred {
		case "", "ane", "gpu", "cpu":
		default:
			return Placement{}, fmt.Errorf("compute plan: operation %q: unknown device %q", o.Name, o.Preferred)
		}
	}
	return p, nil
}
