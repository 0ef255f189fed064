package sweep

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrEmptySweep is returned when a swept setting has no value to try.
var ErrEmptySweep = errors.New("empty sweep")

// MaxCombinations bounds the size of a grid.
const MaxCombinations = 512

// Grid is the set of values to try for each swept setting.
type Grid struct {
	Batch     []int
	Instances []int
	Threads   []int
	Backends  []string
}

// Combination is one point of the grid.
type Combination struct {
	Backend   string `json:"backend"`
	Batch     int    `json:"batch"`
	Instances int    `json:"instances"`
	Threads   int    `json:"threads"`
}

func (c Combination) String() string {
	return fmt.Sprintf("backend=%s batch=%d instances=%d threads=%d", c.Backend, c.Batch, c.Instances, c.Threads)
}

// Validate checks that every setting has at least one value and that the
// values are in range.
func (g Grid) Validate() error {
	check := func(flag string, vals []int, lo int) error {
		if len(vals) == 0 {
			return fmt.Errorf("--%s: %w", flag, ErrEmptySweep)
		}
		for _, v := range vals {
			if v < lo {
				return fmt.Errorf("--%s: %d is below %d", flag, v, lo)
			}
		}
		return nil
	}
	if err := errors.Join(check("batch", g.Batch, 1), check("instances", g.Instances, 1), check("threads", g.Threads, 0)); err != nil {
		return err
	}
	if len(g.Backends) == 0 {
		return fmt.Errorf("--backends: %w", ErrEmptySweep)
	}
	for _, b := range g.Backends {
		if b == "" {
			return errors.New("--backends: empty backend name")
		}
	}
	if n := len(g.Batch) * len(g.Instances) * len(g.Threads) * len(g.Backends); n > MaxCombinations {
		return fmt.Errorf("the sweep has %d combinations; at most %d", n, MaxCombinations)
	}
	return nil
}

// Combinations lists the grid in a stable order: backend, then instances,
// threads and batch size.
func (g Grid) Combinations() []Combination {
	var out []Combination
	for _, b := range g.Backends {
		for _, in := range g.Instances {
			for _, th := range g.Threads {
				for _, bs := range g.Batch {
					out = append(out, Combination{Backend: b, Batch: bs, Instances: in, Threads: th})
				}
			}
		}
	}
	return out
}

// ParseInts parses a comma-separated list of integers given to flag. Blank
// items are an error; an empty list is [ErrEmptySweep].
func ParseInts(flag, s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--%s: %w", flag, ErrEmptySweep)
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("--%s: %q is not an integer", flag, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// ParseNames parses a comma-separated list of names.
func ParseNames(flag, s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--%s: %w", flag, ErrEmptySweep)
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("--%s: empty item in %q", flag, s)
		}
		out = append(out, f)
	}
	return out, nil
}
