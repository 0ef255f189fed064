package vector

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/pipe-ml/pipe/stages"
)

// matrix is a dense row-major float32 matrix.
type matrix struct {
	rows, cols int
	data       []float32
}

// inlineMatrix converts the YAML rows.
func inlineMatrix(rows [][]float64) (matrix, error) {
	if len(rows) == 0 || len(rows[0]) == 0 {
		return matrix{}, fmt.Errorf("matrix is empty")
	}
	m := matrix{rows: len(rows), cols: len(rows[0])}
	for i, r := range rows {
		if len(r) != m.cols {
			return matrix{}, fmt.Errorf("matrix row %d has %d values, row 0 has %d", i, len(r), m.cols)
		}
		for _, v := range r {
			m.data = append(m.data, float32(v))
		}
	}
	return m, nil
}

// loadMatrix reads a .npy file (2-D, float32 or float64, little-endian, C
// order) or a .bin file of raw little-endian float32 of the given shape,
// checking it against its pin.
func loadMatrix(pins *stages.FilePins, path string, shape []int) (matrix, error) {
	b, err := pins.ReadFile(path)
	if err != nil {
		return matrix{}, err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		return parseNpy(b)
	case ".bin":
		if len(shape) != 2 || shape[0] < 1 || shape[1] < 1 {
			return matrix{}, fmt.Errorf("%s: a .bin matrix needs matrix_shape: [rows, cols]", path)
		}
		if len(b) != shape[0]*shape[1]*4 {
			return matrix{}, fmt.Errorf("%s: %d bytes, but %v float32 values need %d", path, len(b), shape, shape[0]*shape[1]*4)
		}
		return matrix{rows: shape[0], cols: shape[1], data: floatsLE(b, 4)}, nil
	}
	return matrix{}, fmt.Errorf("%s: matrix_file must end in .npy or .bin", path)
}

var (
	npyDescr   = regexp.MustCompile(`'descr':\s*'([<>|=]?)([a-z])(\d+)'`)
	npyFortran = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// parseNpy reads NumPy's .npy format, versions 1 to 3.
func parseNpy(b []byte) (matrix, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return matrix{}, fmt.Errorf("not a .npy file (bad magic)")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return matrix{}, fmt.Errorf(".npy header truncated")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return matrix{}, fmt.Errorf(".npy version %d not supported", b[6])
	}
	if start+hlen > len(b) {
		return matrix{}, fmt.Errorf(".npy header truncated")
	}
	h := string(b[start : start+hlen])
	body := b[start+hlen:]
	d := npyDescr.FindStringSubmatch(h)
	if d == nil || d[1] == ">" || d[2] != "f" || (d[3] != "4" && d[3] != "8") {
		return matrix{}, fmt.Errorf(".npy dtype must be little-endian float32 or float64, header %q", h)
	}
	if f := npyFortran.FindStringSubmatch(h); f == nil || f[1] != "False" {
		return matrix{}, fmt.Errorf(".npy matrix must be in C order")
	}
	s := npyShape.FindStringSubmatch(h)
	if s == nil {
		return matrix{}, fmt.Errorf(".npy header has no shape")
	}
	var dims []int
	for _, p := range strings.Split(s[1], ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return matrix{}, fmt.Errorf(".npy shape (%s) is not a list of positive sizes", s[1])
		}
		dims = append(dims, v)
	}
	if len(dims) != 2 {
		return matrix{}, fmt.Errorf(".npy matrix must be 2-D, shape is (%s)", s[1])
	}
	size, _ := strconv.Atoi(d[3])
	if len(body) != dims[0]*dims[1]*size {
		return matrix{}, fmt.Errorf(".npy data is %d bytes, shape %v needs %d", len(body), dims, dims[0]*dims[1]*size)
	}
	return matrix{rows: dims[0], cols: dims[1], data: floatsLE(body, size)}, nil
}

func floatsLE(b []byte, size int) []float32 {
	out := make([]float32, len(b)/size)
	for i := range out {
		if size == 4 {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		} else {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	}
	return out
}
