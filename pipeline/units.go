package pipeline

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/pipe-ml/pipe/stages"
)

// DefaultUnitRows is the target size of a work unit when the job's
// resources block does not set unit_rows.
const DefaultUnitRows = 1 << 20

// Shard selects the work units one process runs: shard Index of Count.
// The zero value (and Count 1) is the whole job.
type Shard struct {
	Index, Count int
}

// ParseShard parses "i/n" (0 <= i < n). "auto/n" takes i from the
// JOB_COMPLETION_INDEX environment variable that Kubernetes sets in the pods
// of an Indexed Job.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/n, such as 0/4 or auto/4", s)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 {
		return Shard{}, fmt.Errorf("shard %q: the shard count must be a positive integer", s)
	}
	if is == "auto" {
		v, set := os.LookupEnv("JOB_COMPLETION_INDEX")
		if !set {
			return Shard{}, fmt.Errorf("shard %q: JOB_COMPLETION_INDEX is not set (auto is for Kubernetes Indexed Jobs)", s)
		}
		is = v
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: the index must be an integer from 0 to %d", s, n-1)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) count() int { return max(s.Count, 1) }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.count()) }

// AssignUnits returns the indexes of the units shard sh runs: the unit list
// is cut into sh.Count contiguous ranges of about equal rows (a unit of
// unknown size weighs as much as the average known one), so neighbouring
// row groups of a file stay on one machine. A unit belongs to the range
// holding its middle row. The assignment depends only on the unit list.
func AssignUnits(units []stages.Unit, sh Shard) []int {
	n := sh.count()
	weights := make([]float64, len(units))
	var known, total float64
	var nKnown int
	for _, u := range units {
		if u.Rows >= 0 {
			known += float64(u.Rows)
			nKnown++
		}
	}
	avg := 1.0
	if nKnown > 0 && known > 0 {
		avg = known / float64(nKnown)
	}
	for i, u := range units {
		w := avg
		if u.Rows >= 0 {
			w = float64(u.Rows)
		}
		weights[i] = w
		total += w
	}
	var out []int
	var before float64
	for i, w := range weights {
		// A unit belongs to the shard in whose range its middle row falls.
		mid := before + w/2
		before += w
		s := 0
		if total > 0 {
			s = int(mid * float64(n) / total)
		} else {
			s = i * n / max(len(units), 1)
		}
		if min(s, n-1) == sh.Index {
			out = append(out, i)
		}
	}
	return out
}
