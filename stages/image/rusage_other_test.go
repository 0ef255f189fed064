//go:build !unix

package image

import "time"

// cpuTime is not measured here: the benchmark reports 0 CPU per image.
func cpuTime() time.Duration { return 0 }
