package model

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/stages"
)

// Score transforms of a labelled output.
const (
	scoresSoftmax = "softmax"
	scoresSigmoid = "sigmoid"
	scoresRaw     = "raw"
)

// loadLabels reads the label files of conf's outputs (through the job's
// pins, relative to the job folder) into their names.
func loadLabels(conf *Config, env *stages.Env) error {
	for name, b := range conf.Outputs {
		for _, l := range []**LabelNames{&b.Labels, &b.CTC} {
			names, err := readNames(*l, env)
			if err != nil {
				return fmt.Errorf("outputs: %s: %w", name, err)
			}
			if names != nil {
				*l = names
			}
		}
		conf.Outputs[name] = b
	}
	return nil
}

// readNames reads a names file, relative to the job folder, through the
// job's pins; nil when l gives its names inline (or is nil).
func readNames(l *LabelNames, env *stages.Env) (*LabelNames, error) {
	if l == nil || l.File == "" {
		return nil, nil
	}
	path := string(l.File)
	if !filepath.IsAbs(path) {
		path = filepath.Join(env.JobDir, path)
	}
	data, err := env.Files.ReadFile(path) // a nil *FilePins reads the file as it is
	if err != nil {
		return nil, fmt.Errorf("names file: %w", err)
	}
	names := strings.Split(strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n"), "\n")
	return &LabelNames{Names: names, File: l.File}, nil
}

// planLabels plans a labelled output: [batch, classes] scores become the
// top_k class names and their scores.
func planLabels(op outputPlan, t bridge.TensorInfo, b OutputBinding) (outputPlan, error) {
	names := b.Labels.Names
	switch {
	case len(t.Shape) != 2:
		return op, fmt.Errorf("model output %q %s: labels need a [batch, classes] output", t.Name, t.Shape)
	case t.Type != bridge.Float32:
		return op, fmt.Errorf("model output %q is %s: labels take float32 scores", t.Name, t.Type)
	case len(names) == 0:
		return op, fmt.Errorf("model output %q: labels: no names", t.Name)
	case !t.Shape[1].Dynamic() && t.Shape[1].Size != int64(len(names)):
		return op, fmt.Errorf("model output %q %s: %d classes but %d labels", t.Name, t.Shape, t.Shape[1].Size, len(names))
	}
	op.labels, op.topK, op.scores = names, max(b.TopK, 1), b.Scores
	if op.scores == "" {
		op.scores = scoresSoftmax
	}
	if op.scores != scoresSoftmax && op.scores != scoresSigmoid && op.scores != scoresRaw {
		return op, fmt.Errorf("model output %q: scores %q is not one of softmax, sigmoid, raw", t.Name, op.scores)
	}
	if op.topK > len(names) {
		return op, fmt.Errorf("model output %q: top_k %d is more than the %d labels", t.Name, op.topK, len(names))
	}
	label, score := arrow.DataType(arrow.BinaryTypes.String), arrow.DataType(arrow.PrimitiveTypes.Float32)
	if op.topK > 1 {
		label, score = arrow.ListOf(label), arrow.ListOf(score)
	}
	op.fields = []arrow.Field{{Name: b.Column, Type: label}, {Name: b.Column + "_score", Type: score}}
	return op, nil
}

// labelArrays turns the [n', classes] scores t into the label and score
// columns of n rows. It frees t's buffer.
func (op *outputPlan) labelArrays(t bridge.Tensor, n int64, mem memory.Allocator) ([]arrow.Array, error) {
	defer mem.Free(t.Data)
	k := int64(len(op.labels))
	if len(t.Shape) != 2 || t.Shape[0] < n || t.Shape[1] != k || t.Type != bridge.Float32 {
		return nil, fmt.Errorf("model output %q is %s %v; its labels want [%d, %d] float32", op.name, t.Type, t.Shape, n, k)
	}
	vals := arrow.Float32Traits.CastFromBytes(t.Data)
	lb, sb := newLabelBuilders(op.topK, mem)
	defer lb.release()
	defer sb.release()
	scores := make([]float64, k)
	order := make([]int, k)
	for r := range n {
		op.transform(vals[r*k:(r+1)*k], scores)
		for i := range order {
			order[i] = i
		}
		// Highest score first; ties keep the lower class index.
		sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
		lb.start()
		sb.start()
		for _, c := range order[:op.topK] {
			lb.str.Append(op.labels[c])
			sb.f32.Append(float32(scores[c]))
		}
	}
	return []arrow.Array{lb.finish(), sb.finish()}, nil
}

// transform applies the output's score transform to one row.
func (op *outputPlan) transform(row []float32, out []float64) {
	switch op.scores {
	case scoresSoftmax:
		top := math.Inf(-1)
		for _, v := range row {
			top = max(top, float64(v))
		}
		var sum float64
		for i, v := range row {
			out[i] = math.Exp(float64(v) - top)
			sum += out[i]
		}
		for i := range out {
			out[i] /= sum
		}
	case scoresSigmoid:
		for i, v := range row {
			out[i] = 1 / (1 + math.Exp(-float64(v)))
		}
	default:
		for i, v := range row {
			out[i] = float64(v)
		}
	}
}

// labelBuilder builds one column of a labelled output: a value per row,
// or a list of top_k values per row.
type labelBuilder struct {
	list *array.ListBuilder // nil for top_k 1
	root array.Builder
	str  *array.StringBuilder
	f32  *array.Float32Builder
}

func newLabelBuilders(topK int, mem memory.Allocator) (labels, scores *labelBuilder) {
	labels, scores = &labelBuilder{}, &labelBuilder{}
	if topK > 1 {
		labels.list = array.NewListBuilder(mem, arrow.BinaryTypes.String)
		labels.root, labels.str = labels.list, labels.list.ValueBuilder().(*array.StringBuilder)
		scores.list = array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
		scores.root, scores.f32 = scores.list, scores.list.ValueBuilder().(*array.Float32Builder)
		return labels, scores
	}
	labels.str = array.NewStringBuilder(mem)
	labels.root = labels.str
	scores.f32 = array.NewFloat32Builder(mem)
	scores.root = scores.f32
	return labels, scores
}

func (b *labelBuilder) start() {
	if b.list != nil {
		b.list.Append(true)
	}
}

func (b *labelBuilder) finish() arrow.Array { return b.root.NewArray() }
func (b *labelBuilder) release()            { b.root.Release() }
