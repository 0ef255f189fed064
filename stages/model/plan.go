package model

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/stages"
)

// plan is how one batch of rows becomes the model's input tensors and how
// its outputs become columns; it is checked against the model's declared
// signature when the stage is built.
type plan struct {
	inputs  []inputPlan // in the model's input order
	outputs []outputPlan
	keep    []int    // input columns passed through
	reads   []string // input columns the model reads (Stage.ReadColumns)
	schema  *arrow.Schema
	// staticBatch is the model's fixed batch size, 0 when it is dynamic.
	staticBatch int64
}

type inputPlan struct {
	name     string
	want     bridge.ElemType
	col      int    // column index; -1 for a constant
	colName  string // column name, for errors
	rowShape []int64
	batched  bool // the tensor's first dimension is the batch
	constant *Constant
	// cols are the columns packed side by side, for a list binding.
	cols     []int
	colNames []string
	// listed: the column is a variable-length list (ragged.go). ragged:
	// its rows are padded with pad to the batch's longest row; otherwise
	// each must hold exactly listLen values.
	listed, ragged bool
	listLen        int64
	pad            float64
}

type outputPlan struct {
	name    string
	index   int // position in the model's outputs
	elem    bridge.ElemType
	columns []string // one name: a column (scalar or fixed_size_list); several: split the last dim
	rowSize int64    // values per row, when known from the model (-1 otherwise)
	fields  []arrow.Field
	// pool, when set, reduces a [batch, seq, dim] output over seq (see
	// outputs_pool.go); maskCol is the attention mask's column, -1 for the
	// rows' lengths.
	pool      string
	normalize bool
	maskCol   int
	dim       int64
	// labels, when set, turn a [batch, classes] output into the topK
	// class names and their scores (see outputs_labels.go).
	labels []string
	topK   int
	scores string
	// ctc, when set, are the classes of a CTC-decoded [batch, time,
	// classes] output, blank at index blank (see outputs_ctc.go).
	ctc   []string
	blank int
}

// arrowOf returns the Arrow type of a tensor element type.
func arrowOf(t bridge.ElemType) (arrow.DataType, bool) {
	switch t {
	case bridge.Float32:
		return arrow.PrimitiveTypes.Float32, true
	case bridge.Float64:
		return arrow.PrimitiveTypes.Float64, true
	case bridge.Float16:
		return arrow.FixedWidthTypes.Float16, true
	case bridge.Int8:
		return arrow.PrimitiveTypes.Int8, true
	case bridge.Int16:
		return arrow.PrimitiveTypes.Int16, true
	case bridge.Int32:
		return arrow.PrimitiveTypes.Int32, true
	case bridge.Int64:
		return arrow.PrimitiveTypes.Int64, true
	case bridge.Uint8:
		return arrow.PrimitiveTypes.Uint8, true
	case bridge.Uint16:
		return arrow.PrimitiveTypes.Uint16, true
	case bridge.Uint32:
		return arrow.PrimitiveTypes.Uint32, true
	case bridge.Uint64:
		return arrow.PrimitiveTypes.Uint64, true
	case bridge.Bool:
		return arrow.FixedWidthTypes.Boolean, true
	}
	return nil, false
}

// convertible reports whether values of Arrow type src can feed a tensor of
// element type want (converted where they differ).
func convertible(src arrow.DataType, want bridge.ElemType) bool {
	if want == bridge.Bool {
		return src.ID() == arrow.BOOL
	}
	if want == bridge.String || want == bridge.Undefined {
		return false
	}
	switch src.ID() {
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.BOOL:
		return true
	}
	return false
}

func product(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// newPlan checks the stage's bindings against the model and the input
// schema and works out every conversion.
func newPlan(conf *Config, in *arrow.Schema, info bridge.ModelInfo) (*plan, error) {
	pl := &planner{conf: conf, in: in, info: info, p: &plan{}}
	pl.checkInputNames()
	pl.planInputs()
	pl.planOutputs()
	pl.planKeep()
	fields := pl.fields()
	if len(pl.errs) > 0 {
		sort.Strings(pl.errs)
		return nil, fmt.Errorf("%s", strings.Join(pl.errs, "; "))
	}
	pl.p.schema = arrow.NewSchema(fields, nil)
	pl.p.reads = pl.readColumns()
	return pl.p, nil
}

// readColumns lists the input columns the model's inputs and pooled
// outputs' masks read, in input order.
func (pl *planner) readColumns() []string {
	used := map[int]bool{}
	for _, ip := range pl.p.inputs {
		if ip.col >= 0 {
			used[ip.col] = true
		}
		for _, c := range ip.cols {
			used[c] = true
		}
	}
	for _, op := range pl.p.outputs {
		if op.pool != "" && op.maskCol >= 0 {
			used[op.maskCol] = true
		}
	}
	var names []string
	for i, f := range pl.in.Fields() {
		if used[i] {
			names = append(names, f.Name)
		}
	}
	return names
}

// planner builds a plan step by step, collecting every problem so that
// the stage reports them all at once.
type planner struct {
	conf *Config
	in   *arrow.Schema
	info bridge.ModelInfo
	p    *plan
	errs []string
}

func (pl *planner) fail(format string, args ...any) {
	pl.errs = append(pl.errs, fmt.Sprintf(format, args...))
}

// checkInputNames reports inputs and constants naming no model input, and
// model inputs given both ways.
func (pl *planner) checkInputNames() {
	var names []string
	for _, t := range pl.info.Inputs {
		names = append(names, t.Name)
	}
	for name := range pl.conf.Inputs {
		if !slices.Contains(names, name) {
			pl.fail("inputs: the model has no input %q%s; its inputs: %s", name, hint(name, names), describeTensors(pl.info.Inputs))
		}
		if _, dup := pl.conf.Constants[name]; dup {
			pl.fail("model input %q is given both in inputs and in constants", name)
		}
	}
	for name := range pl.conf.Constants {
		if !slices.Contains(names, name) {
			pl.fail("constants: the model has no input %q%s; its inputs: %s", name, hint(name, names), describeTensors(pl.info.Inputs))
		}
	}
}

// planInputs plans every model input, in the model's order: from columns,
// or from a constant.
func (pl *planner) planInputs() {
	for _, t := range pl.info.Inputs {
		if t.Kind != "" && t.Kind != "tensor" {
			pl.fail("model input %q is a %s, which pipe cannot feed", t.Name, t.Kind)
			continue
		}
		b, bound := pl.conf.Inputs[t.Name]
		c, isConst := pl.conf.Constants[t.Name]
		var ip inputPlan
		var err error
		switch {
		case bound:
			ip, err = planInput(t, b, pl.in)
			if err == nil {
				pl.noteBatch(t)
			}
		case isConst:
			ip, err = planConstant(t, c)
		default:
			pl.fail("model input %q (%s %s) is not fed: map it to a column in inputs, or give it in constants", t.Name, t.Type, t.Shape)
			continue
		}
		if err != nil {
			pl.fail("%v", err)
			continue
		}
		pl.p.inputs = append(pl.p.inputs, ip)
		if ip.ragged && pl.conf.Batch.PadTo > 0 {
			pl.fail("model input %q: a padded list input cannot be combined with batch.pad_to (a static batch dimension)", t.Name)
		}
	}
}

// noteBatch records the fixed batch size of a bound input, if it has one:
// every input must agree on it.
func (pl *planner) noteBatch(t bridge.TensorInfo) {
	if len(t.Shape) == 0 || t.Shape[0].Dynamic() {
		return
	}
	if pl.p.staticBatch != 0 && pl.p.staticBatch != t.Shape[0].Size {
		pl.fail("model inputs disagree on the batch size: %d and %d", pl.p.staticBatch, t.Shape[0].Size)
	}
	pl.p.staticBatch = t.Shape[0].Size
}

// planOutputs plans the columns of the bound outputs, in the model's
// order.
func (pl *planner) planOutputs() {
	outs := pl.outputBindings()
	var names []string
	for _, t := range pl.info.Outputs {
		names = append(names, t.Name)
	}
	for name := range outs {
		if !slices.Contains(names, name) {
			pl.fail("outputs: the model has no output %q%s; its outputs: %s", name, hint(name, names), describeTensors(pl.info.Outputs))
		}
	}
	for i, t := range pl.info.Outputs {
		b, ok := outs[t.Name]
		if !ok {
			continue
		}
		op, err := planOutput(i, t, b)
		if err == nil && op.pool != "" {
			op.maskCol, err = pl.maskColumn(t.Name, b)
		}
		if err != nil {
			pl.fail("%v", err)
			continue
		}
		pl.p.outputs = append(pl.p.outputs, op)
	}
}

// outputBindings returns the job's outputs, or without them every tensor
// output under its own name.
func (pl *planner) outputBindings() map[string]OutputBinding {
	if len(pl.conf.Outputs) > 0 {
		return pl.conf.Outputs
	}
	outs := map[string]OutputBinding{}
	for _, t := range pl.info.Outputs {
		if t.Kind == "" || t.Kind == "tensor" {
			outs[t.Name] = OutputBinding{Column: t.Name}
		}
	}
	if len(outs) == 0 {
		pl.fail("the model has no tensor output to turn into a column")
	}
	return outs
}

// planKeep lists the input columns passed through: all of them, or those
// keep names.
func (pl *planner) planKeep() {
	if pl.conf.Keep == nil {
		for i := range pl.in.NumFields() {
			pl.p.keep = append(pl.p.keep, i)
		}
		return
	}
	for _, name := range *pl.conf.Keep {
		idx, err := stages.Column(pl.in, name)
		if err != nil {
			pl.fail("keep: %v", err)
			continue
		}
		pl.p.keep = append(pl.p.keep, idx)
	}
}

// fields returns the output schema's fields, the kept columns first, and
// reports output columns whose names clash.
func (pl *planner) fields() []arrow.Field {
	var fields []arrow.Field
	seen := map[string]string{}
	for _, i := range pl.p.keep {
		f := pl.in.Field(i)
		fields = append(fields, f)
		seen[f.Name] = "an input column kept"
	}
	for _, op := range pl.p.outputs {
		for _, f := range op.fields {
			if what, dup := seen[f.Name]; dup {
				pl.fail("output column %q of model output %q clashes with %s; rename it in outputs or drop the input with keep", f.Name, op.name, what)
			}
			seen[f.Name] = fmt.Sprintf("model output %q", op.name)
			fields = append(fields, f)
		}
	}
	return fields
}

func hint(name string, candidates []string) string {
	if n := stages.Nearest(name, candidates); n != "" {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	return ""
}

func describeTensors(ts []bridge.TensorInfo) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		if t.Kind != "" && t.Kind != "tensor" {
			parts[i] = fmt.Sprintf("%s (%s)", t.Name, t.Kind)
			continue
		}
		parts[i] = fmt.Sprintf("%s %s%s", t.Name, t.Type, t.Shape)
	}
	return strings.Join(parts, ", ")
}

// planInput works out how column b.Column (or columns b.Columns) feeds
// model input t.
func planInput(t bridge.TensorInfo, b InputBinding, in *arrow.Schema) (inputPlan, error) {
	if b.Columns != nil {
		return planPacked(t, b.Columns, in)
	}
	ip := inputPlan{name: t.Name, want: t.Type, colName: b.Column, batched: true}
	idx, err := stages.Column(in, b.Column)
	if err != nil {
		return ip, fmt.Errorf("model input %q: %w", t.Name, err)
	}
	ip.col = idx
	typ := in.Field(idx).Type
	errf := func(format string, args ...any) error {
		return &stages.ColumnError{Column: b.Column, Msg: fmt.Sprintf("model input %q (%s %s): ", t.Name, t.Type, t.Shape) + fmt.Sprintf(format, args...)}
	}
	if len(t.Shape) == 0 {
		return ip, errf("the model input has no batch dimension; give it in constants instead")
	}
	if _, ok := listElem(typ); ok {
		return planList(t, b, in.Field(idx), ip)
	}
	rest := t.Shape[1:]
	var k int64 = 1
	elem := typ
	if fsl, ok := typ.(*arrow.FixedSizeListType); ok {
		k = int64(fsl.Len())
		elem = fsl.Elem()
		if _, nested := elem.(*arrow.FixedSizeListType); nested {
			return ip, errf("nested fixed_size_list columns are not supported; flatten it")
		}
	} else if !arrow.IsPrimitive(typ.ID()) && typ.ID() != arrow.BOOL && typ.ID() != arrow.FLOAT16 {
		return ip, errf("column type %s cannot feed a tensor; use a numeric column, a list or a fixed_size_list (see vectorize)", typ)
	}
	if !convertible(elem, t.Type) {
		return ip, errf("column elements are %s, which cannot be converted to %s", elem, t.Type)
	}
	shape, err := fitRowShape(t, b, rest, k, errf)
	if err != nil {
		return ip, err
	}
	ip.rowShape = shape
	return ip, nil
}

// fitRowShape works out the per-row shape of a column with k values a row
// feeding the model's dimensions rest: the binding's shape, or the
// model's with at most one open dimension filled in.
func fitRowShape(t bridge.TensorInfo, b InputBinding, rest bridge.Shape, k int64, errf func(string, ...any) error) ([]int64, error) {
	switch {
	case b.Shape != nil:
		if len(b.Shape) != len(rest) {
			return nil, errf("shape %v has %d dimensions; the model wants %d after the batch", b.Shape, len(b.Shape), len(rest))
		}
		for i, d := range rest {
			if !d.Dynamic() && d.Size != b.Shape[i] {
				return nil, errf("shape %v: dimension %d is %d in the model", b.Shape, i+1, d.Size)
			}
		}
		if product(b.Shape) != k {
			return nil, errf("shape %v holds %d values per row; the column has %d", b.Shape, product(b.Shape), k)
		}
		return b.Shape, nil
	case len(rest) == 0:
		if k != 1 {
			return nil, errf("the model takes one value per row; the column has %d", k)
		}
		return nil, nil
	default:
		static, open := int64(1), -1
		for i, d := range rest {
			if d.Dynamic() {
				if open >= 0 {
					return nil, errf("the model leaves several dimensions open; give the per-row shape: inputs: {%s: {column: %s, shape: [...]}}", t.Name, b.Column)
				}
				open = i
			} else {
				static *= d.Size
			}
		}
		shape := make([]int64, len(rest))
		for i, d := range rest {
			shape[i] = d.Size
		}
		if open >= 0 {
			if static == 0 || k%static != 0 {
				return nil, errf("%d values per row do not fit the model's dimensions", k)
			}
			shape[open] = k / static
		} else if static != k {
			return nil, errf("the model wants %d values per row (%s); the column has %d", static, bridge.Shape(rest), k)
		}
		return shape, nil
	}
}

// planConstant works out the tensor of a constant input. A dynamic first
// dimension of the model input is the batch, over which the constant is
// repeated; the other dimensions hold its values: a number fills a shape of
// size 1, a flat list as many values as the shape holds, nested lists must
// follow the shape. One other dynamic dimension takes the size the values
// give it.
func planConstant(t bridge.TensorInfo, c Constant) (inputPlan, error) {
	ip := inputPlan{name: t.Name, want: t.Type, col: -1, constant: &c}
	if c.Bool != nil && t.Type != bridge.Bool {
		return ip, fmt.Errorf("constant %q: true/false given but the model input is %s", t.Name, t.Type)
	}
	if c.Bool == nil && (t.Type == bridge.Bool || t.Type == bridge.String) {
		return ip, fmt.Errorf("constant %q: the model input is %s", t.Name, t.Type)
	}
	n := int64(len(c.Values))
	if c.Bool != nil {
		n = 1
	}
	rest := t.Shape
	if len(rest) > 0 && rest[0].Dynamic() {
		ip.batched, rest = true, rest[1:]
	}
	if c.List && len(rest) == 0 {
		return ip, fmt.Errorf("constant %q: a list given but the model input %s holds one value per row", t.Name, t.Shape)
	}
	if c.Nest != nil {
		if len(c.Nest) != len(rest) {
			return ip, fmt.Errorf("constant %q: nested lists of shape %v do not follow the model input's shape %s", t.Name, c.Nest, t.Shape)
		}
		for i, d := range rest {
			if !d.Dynamic() && d.Size != c.Nest[i] {
				return ip, fmt.Errorf("constant %q: nested lists of shape %v do not follow the model input's shape %s", t.Name, c.Nest, t.Shape)
			}
		}
		ip.rowShape = slices.Clone(c.Nest)
		return ip, nil
	}
	shape, err := constantShape(rest, n)
	if err != nil {
		note := ""
		if ip.batched {
			note = " (its dynamic first dimension is the batch: the value is repeated for every row)"
		}
		return ip, fmt.Errorf("constant %q: %w, for the model input's shape %s%s", t.Name, err, t.Shape, note)
	}
	ip.rowShape = shape
	return ip, nil
}

// constantShape sizes dims (the shape without the batch) for n values; at
// most one dynamic dimension takes the size that makes them fit.
func constantShape(dims bridge.Shape, n int64) ([]int64, error) {
	shape := make([]int64, len(dims))
	static, open := int64(1), -1
	for i, d := range dims {
		switch {
		case !d.Dynamic():
			shape[i] = d.Size
			static *= d.Size
		case open >= 0:
			return nil, fmt.Errorf("%d values given: two dimensions of open size cannot both be worked out", n)
		default:
			open = i
		}
	}
	switch {
	case open < 0 && n != static:
		return nil, fmt.Errorf("%d values given, %d wanted", n, static)
	case open >= 0 && (static == 0 || n%static != 0):
		return nil, fmt.Errorf("%d values given, not a multiple of %d (the fixed dimensions)", n, static)
	case open >= 0:
		shape[open] = n / static
	}
	if len(shape) == 0 {
		return nil, nil
	}
	return shape, nil
}

// planOutput works out the columns of model output t.
func planOutput(index int, t bridge.TensorInfo, b OutputBinding) (outputPlan, error) {
	op := outputPlan{name: t.Name, index: index, elem: t.Type, columns: b.names(), rowSize: -1}
	if t.Kind != "" && t.Kind != "tensor" {
		return op, fmt.Errorf("model output %q is a %s (such as the sequence of maps scikit-learn classifiers export with ZipMap), which pipe cannot turn into a column; map only tensor outputs, or export the model without ZipMap (skl2onnx option zipmap=False)", t.Name, t.Kind)
	}
	at, ok := arrowOf(t.Type)
	if !ok {
		return op, fmt.Errorf("model output %q has element type %s, which pipe cannot turn into a column", t.Name, t.Type)
	}
	switch {
	case (b.Pool != "") && (b.Labels != nil || b.CTC != nil) || b.Labels != nil && b.CTC != nil:
		return op, fmt.Errorf("model output %q: give one of pool, labels and ctc", t.Name)
	case b.CTC != nil:
		return planCTC(op, t, b)
	case b.Pool != "":
		return planPooled(op, t, b)
	case b.Labels != nil:
		return planLabels(op, t, b)
	case b.Normalize || b.Mask != "" || b.TopK != 0 || b.Scores != "" || b.Blank != "" || b.Space:
		return op, fmt.Errorf("model output %q: normalize and mask apply with pool, top_k and scores with labels, blank and space with ctc", t.Name)
	}
	if len(t.Shape) > 0 {
		size := int64(1)
		for _, d := range t.Shape[1:] {
			if d.Dynamic() {
				size = -1
				break
			}
			size *= d.Size
		}
		op.rowSize = size
	}
	if len(op.columns) > 1 {
		if len(t.Shape) < 2 || t.Shape[len(t.Shape)-1].Dynamic() {
			return op, fmt.Errorf("model output %q %s: splitting into %d columns needs a fixed last dimension", t.Name, t.Shape, len(op.columns))
		}
		last := t.Shape[len(t.Shape)-1].Size
		if last != int64(len(op.columns)) || (op.rowSize > 0 && op.rowSize != last) {
			return op, fmt.Errorf("model output %q %s: %d columns given but each row has %d values", t.Name, t.Shape, len(op.columns), op.rowSize)
		}
		for _, c := range op.columns {
			op.fields = append(op.fields, arrow.Field{Name: c, Type: at})
		}
		return op, nil
	}
	switch {
	case op.rowSize == 1:
		op.fields = []arrow.Field{{Name: op.columns[0], Type: at}}
	case op.rowSize > 1:
		op.fields = []arrow.Field{{Name: op.columns[0], Type: arrow.FixedSizeListOfNonNullable(int32(op.rowSize), at)}}
	default:
		return op, fmt.Errorf("model output %q %s: its per-row size is not fixed by the model, so it cannot become a fixed_size_list column", t.Name, t.Shape)
	}
	return op, nil
}

// planPacked works out how numeric columns, one value each per row, are
// packed side by side into model input t ([N, k] or dims multiplying to k).
func planPacked(t bridge.TensorInfo, names []string, in *arrow.Schema) (inputPlan, error) {
	ip := inputPlan{name: t.Name, want: t.Type, col: -1, colName: strings.Join(names, ","), batched: true}
	if len(t.Shape) == 0 {
		return ip, fmt.Errorf("model input %q has no batch dimension; give it in constants instead", t.Name)
	}
	for _, name := range names {
		idx, err := stages.Column(in, name)
		if err != nil {
			return ip, fmt.Errorf("model input %q: %w", t.Name, err)
		}
		typ := in.Field(idx).Type
		if !arrow.IsPrimitive(typ.ID()) && typ.ID() != arrow.BOOL && typ.ID() != arrow.FLOAT16 || !convertible(typ, t.Type) {
			return ip, &stages.ColumnError{Column: name, Msg: fmt.Sprintf("model input %q (%s %s): a %s column cannot be packed into it", t.Name, t.Type, t.Shape, typ)}
		}
		ip.cols = append(ip.cols, idx)
		ip.colNames = append(ip.colNames, name)
	}
	k := int64(len(names))
	rest := t.Shape[1:]
	shape := make([]int64, len(rest))
	static, open := int64(1), -1
	for i, d := range rest {
		if d.Dynamic() {
			if open >= 0 {
				return ip, fmt.Errorf("model input %q %s leaves several dimensions open; packing %d columns needs them fixed", t.Name, t.Shape, k)
			}
			open = i
			continue
		}
		static *= d.Size
		shape[i] = d.Size
	}
	switch {
	case len(rest) == 0 && k == 1:
	case open >= 0 && static > 0 && k%static == 0:
		shape[open] = k / static
	case open < 0 && static == k:
	default:
		return ip, fmt.Errorf("model input %q %s: %d columns do not fit its dimensions", t.Name, t.Shape, k)
	}
	ip.rowShape = shape
	return ip, nil
}
