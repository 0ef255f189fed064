package vector

import "math"

// The CPU kernels work on n rows of k float32 values stored contiguously,
// accumulating in float32 exactly as the Metal kernels do, so that both
// agree to rounding.

// normalizeRows writes x / ||x||2 per row into y; a zero row stays zero.
func normalizeRows(x, y []float32, n, k int) {
	for r := range n {
		xr, yr := x[r*k:(r+1)*k], y[r*k:(r+1)*k]
		var s float32
		for _, v := range xr {
			s += v * v
		}
		var inv float32
		if s > 0 {
			inv = 1 / float32(math.Sqrt(float64(s)))
		}
		for i, v := range xr {
			yr[i] = v * inv
		}
	}
}

// softmaxRows writes the softmax of each row into y.
func softmaxRows(x, y []float32, n, k int) {
	if k == 0 {
		return
	}
	for r := range n {
		xr, yr := x[r*k:(r+1)*k], y[r*k:(r+1)*k]
		mx := xr[0]
		for _, v := range xr[1:] {
			mx = max(mx, v)
		}
		var s float32
		for i, v := range xr {
			yr[i] = float32(math.Exp(float64(v - mx)))
			s += yr[i]
		}
		for i := range yr {
			yr[i] /= s
		}
	}
}

// matmulRows writes x [n, k] times w [k, m] into y [n, m].
func matmulRows(x, w, y []float32, n, k, m int) {
	for r := range n {
		for c := range m {
			var s float32
			for i := range k {
				s += x[r*k+i] * w[i*m+c]
			}
			y[r*m+c] = s
		}
	}
}

// above reports whether v ranks before c in top-k order: larger first, NaN
// after every number.
func above(v, c float32) bool { return v > c || (c != c && v == v) }

// topkRows keeps the top largest values of each row, descending, ties by
// lower index, NaN last. vals and idx are [n, top].
func topkRows(x []float32, vals []float32, idx []int32, n, k, top int) {
	for r := range n {
		xr := x[r*k : (r+1)*k]
		vr, ir := vals[r*top:(r+1)*top], idx[r*top:(r+1)*top]
		count := 0
		for i, v := range xr {
			if count == top && !above(v, vr[count-1]) {
				continue
			}
			j := min(count, top-1)
			for j > 0 && above(v, vr[j-1]) {
				vr[j], ir[j] = vr[j-1], ir[j-1]
				j--
			}
			vr[j], ir[j] = v, int32(i)
			if count < top {
				count++
			}
		}
	}
}
