package apple

import "testing"

func TestAdvice(t *testing.T) {
	tests := []struct {
		name string
		h    Health
		want Advice
	}{
		{"calm", Health{ThermalNominal, PressureNormal, GPUMemory{}}, Advice{Concurrency: 1, BatchRows: 1}},
		{"fair", Health{ThermalFair, PressureNormal, GPUMemory{}}, Advice{Concurrency: 1, BatchRows: 1}},
		{"serious", Health{ThermalSerious, PressureNormal, GPUMemory{}}, Advice{Concurrency: 0.5, BatchRows: 0.5}},
		{"critical heat", Health{ThermalCritical, PressureNormal, GPUMemory{}}, Advice{Pause: true}},
		{"memory warn", Health{ThermalNominal, PressureWarn, GPUMemory{}}, Advice{Concurrency: 1, BatchRows: 0.5, Evict: true}},
		{"memory critical", Health{ThermalNominal, PressureCritical, GPUMemory{}}, Advice{Concurrency: 1, BatchRows: 0.5, Evict: true, StopAdmitting: true}},
		{"both", Health{ThermalSerious, PressureCritical, GPUMemory{}}, Advice{Concurrency: 0.5, BatchRows: 0.5, Evict: true, StopAdmitting: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.Advice(); got != tt.want {
				t.Errorf("Advice = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestThermalAndGPU(t *testing.T) {
	for n, want := range []ThermalState{ThermalNominal, ThermalFair, ThermalSerious, ThermalCritical} {
		got, err := parseThermal(n)
		if err != nil || got != want {
			t.Errorf("parseThermal(%d) = %v, %v", n, got, err)
		}
	}
	for _, bad := range []int{-1, 4} {
		if _, err := parseThermal(bad); err == nil {
			t.Errorf("parseThermal(%d) accepted", bad)
		}
	}
	g := GPUMemory{RecommendedMaxWorkingSet: 100, CurrentAllocated: 30}
	if g.Free() != 70 {
		t.Errorf("Free = %d, want 70", g.Free())
	}
	g.CurrentAllocated = 130
	if g.Free() != 0 {
		t.Errorf("Free over budget = %d, want 0", g.Free())
	}
	if ThermalSerious.String() != "serious" || PressureWarn.String() != "warn" {
		t.Errorf("String: %s %s", ThermalSerious, PressureWarn)
	}
}
