package image

import (
	"cmp"
	"context"
	"fmt"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

func init() {
	stages.MustRegister(stages.Type[Config]{
		Name: "image",
		Kind: stages.KindTransform,
		Spec: stages.Spec{
			Summary: "Decode, resize and normalise encoded images into a model's pixel tensor, as torchvision's PIL transforms do.",
			Description: "Decodes each row of `column` (binary, or the Hugging Face `struct<bytes, path>` layout, where a row " +
				"with null bytes is read from the file its path names, relative to the job file's folder, up to `max_file_bytes`): " +
				"JPEG (baseline, progressive; EXIF orientation applied), PNG (8/16-bit, grey, palette, alpha), GIF (first frame), " +
				"BMP and WebP, JPEG with libvips when it loads (`decoder`; shrunk on load unless `shrink_on_load: false`), the rest in pure Go. Grey and CMYK become RGB, 16-bit samples keep their high byte, and alpha is composited on " +
				"`background` (white) before resizing. The image is resized as Pillow's `Image.resize` does (same kernels, " +
				"antialiased when shrinking, same fixed-point rounding), per `resize.mode`: `exact`, `shorter_side` " +
				"(torchvision Resize(size) + CenterCrop(crop)), `letterbox` (YOLO; adds `scale` float32 and `pad_x`/`pad_y` " +
				"int32 to map boxes back: x_orig = (x - pad_x) / scale), or `fixed_height` (OCR lines, right-padded; adds `valid_width` " +
				"int32, the width in pixels of the resized line before padding, min(max_width, ceil(height * w / h)), to mask the padding). Each " +
				"value is (pixel * scale - mean) / std in float32 (torchvision's ToTensor + Normalize; mean and std are not " +
				"applied unless given: ImageNet's are mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]), or the raw " +
				"pixel with dtype uint8. Emits `into` as fixed_size_list (metadata pipe.shape gives the per-row shape) and " +
				"`width`/`height` int32, the decoded image's size after EXIF orientation. `prefix` names the columns added beside " +
				"`into` apart (prefix: cls_ gives cls_width, cls_height, ...), so that image stages chain without a select between them; " +
				"an added column already in the input is a build error. An empty, null, corrupt, truncated, unreadable or " +
				"unknown image, or one whose header declares more than `max_pixels`, is an error naming the row (and the path) " +
				"so that on_error skip or dead_letter can set it aside; a too-large image is refused before it is decoded.",
			Example: "- id: pixels\n  type: image\n  inputs: [photos]\n  with:\n    column: image\n    resize: {mode: shorter_side, size: 256, crop: 224}\n" +
				"    interpolation: bilinear\n    mean: [0.485, 0.456, 0.406]\n    std: [0.229, 0.224, 0.225]\n",
		},
		Defaults: defaults,
		New:      newImage,
	})
}

// imageStage is a built image transform.
type imageStage struct {
	conf    Config
	plan    *plan
	mem     memory.Allocator
	col     int
	layout  inputLayout
	schema  *arrow.Schema
	threads int
	rows    int64 // input rows processed, to number rows in errors
	// pathCol is a utf8 `path` column of the input (files_source writes
	// one) that names rows in errors when the image column has no path of
	// its own; -1 when there is none.
	pathCol int
	files   imageFiles // reads struct rows that have a path and no bytes
	native  bool       // JPEGs are decoded by libvips (decode_vips.go)
}

func newImage(conf Config, env *stages.Env) (stages.Stage, error) {
	p, err := check(conf)
	if err != nil {
		return nil, err
	}
	in := env.Input()
	s := &imageStage{conf: conf, plan: p, mem: env.Mem, threads: conf.Threads,
		files: imageFiles{dir: env.JobDir, limit: int64(conf.MaxFileBytes)}}
	if s.native, err = useNative(conf.Decoder); err != nil {
		return nil, err
	}
	if s.threads <= 0 {
		s.threads = runtime.GOMAXPROCS(0)
	}
	if s.col, s.layout, err = imageColumn(in, conf.Column); err != nil {
		return nil, err
	}
	s.pathCol = pathColumn(in, s.layout)
	if s.schema, err = s.outputSchema(in, env); err != nil {
		return nil, err
	}
	return s, nil
}

// outputColumns are the columns the stage adds after the tensor (in this
// order, before the prefix), per resize mode: the order outputs.record
// writes them in.
func outputColumns(mode string) []string {
	switch mode {
	case "letterbox":
		return []string{"width", "height", "scale", "pad_x", "pad_y"}
	case "fixed_height":
		return []string{"width", "height", "valid_width"}
	}
	return []string{"width", "height"}
}

// outputSchema appends the outputs to the input's columns; a name already
// in the input is an error naming the input stage and the way out.
func (s *imageStage) outputSchema(in *arrow.Schema, env *stages.Env) (*arrow.Schema, error) {
	fields := append([]arrow.Field(nil), in.Fields()...)
	tensor := arrow.Field{Name: s.conf.Into, Type: s.tensorType(),
		Metadata: arrow.NewMetadata([]string{"pipe.shape"}, []string{s.plan.shape()})}
	fields = append(fields, tensor)
	for _, name := range outputColumns(s.conf.Resize.Mode) {
		f := arrow.Field{Name: s.conf.Prefix + name, Type: arrow.PrimitiveTypes.Int32}
		if f.Name == s.conf.Into {
			return nil, &stages.ColumnError{Column: f.Name, Msg: "is both into and a column this image stage adds; change into or prefix"}
		}
		if name == "scale" {
			f.Type = arrow.PrimitiveTypes.Float32
		}
		fields = append(fields, f)
	}
	for i, f := range fields[in.NumFields():] {
		if len(in.FieldIndices(f.Name)) == 0 {
			continue
		}
		fix := "set into to another name"
		if i > 0 {
			fix = fmt.Sprintf("set prefix (e.g. prefix: %s_) to name this stage's columns apart", cmp.Or(env.ID, "img"))
		}
		return nil, &stages.ColumnError{Column: f.Name, Msg: fmt.Sprintf(
			"this image stage adds it, but it is already in the input%s; %s, or drop it first (select)", inputID(env), fix)}
	}
	md := in.Metadata()
	return arrow.NewSchema(fields, &md), nil
}

// inputID returns ` (from stage "id")` naming the stage feeding this one,
// or "" when it is unknown.
func inputID(env *stages.Env) string {
	if len(env.InputIDs) == 0 || env.InputIDs[0] == "" {
		return ""
	}
	return fmt.Sprintf(" (from stage %q)", env.InputIDs[0])
}

func (s *imageStage) tensorType() *arrow.FixedSizeListType {
	var elem arrow.DataType = arrow.PrimitiveTypes.Float32
	if s.plan.uint8Out {
		elem = arrow.PrimitiveTypes.Uint8
	}
	return arrow.FixedSizeListOfNonNullable(int32(3*s.plan.outW*s.plan.outH), elem)
}

// Schema returns the schema of the batches the stage emits.
func (s *imageStage) Schema() *arrow.Schema { return s.schema }

// Close does nothing: the stage holds no resources between batches.
func (s *imageStage) Close() error { return nil }

// Process decodes every row of in (borrowed) and returns in's columns
// plus the outputs, owned by the caller. A bad row fails the batch with a
// [*RowError] naming the lowest bad row.
func (s *imageStage) Process(ctx context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(in.NumRows())
	get := s.layout.getter(in.Column(s.col))
	if s.pathCol >= 0 {
		get = withPaths(get, in.Column(s.pathCol).(stringValues))
	}
	out := newOutputs(s.mem, s.plan, n)
	if err := s.run(ctx, get, out, n); err != nil {
		out.release()
		if n == 1 {
			// The runtime isolates a failing batch's rows by processing
			// halves in order and sets aside a lone failing row: it counts
			// as seen, so the rows after it keep their numbers.
			s.rows++
		}
		return nil, err
	}
	rec := out.record(s.schema, in)
	s.rows += int64(n)
	return rec, nil
}

// RowError is an image the stage cannot decode.
type RowError struct {
	Column string
	Row    int64
	Path   string // the struct layout's path, when it has one
	Err    error
}

func (e *RowError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("column %q, row %d (%s): %v", e.Column, e.Row, e.Path, e.Err)
	}
	return fmt.Sprintf("column %q, row %d: %v", e.Column, e.Row, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }
