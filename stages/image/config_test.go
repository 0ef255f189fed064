package image

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// TestConfigErrors: each bad setting is refused when the stage is built,
// with a message naming the key.
func TestConfigErrors(t *testing.T) {
	mem := stagetest.Mem(t)
	bin := arrow.NewSchema([]arrow.Field{{Name: "bytes", Type: arrow.BinaryTypes.Binary}}, nil)
	cases := []struct{ with, want string }{
		{"{}", "resize.mode"},
		{"{resize: {mode: stretch}}", "resize.mode"},
		{"{resize: {mode: exact, width: 10}}", "resize.height"},
		{"{resize: {mode: shorter_side, size: 10, crop: 20}}", "resize.crop"},
		{"{resize: {mode: shorter_side, size: 10}}", "resize.crop"},
		{"{resize: {mode: fixed_height, height: 32}}", "resize.max_width"},
		{"{resize: {mode: letterbox, width: 4, height: 4, pad_value: 300}}", "pad_value"},
		{"{resize: {mode: exact, width: 4, height: 4}, interpolation: lanczos}", "interpolation"},
		{"{resize: {mode: exact, width: 4, height: 4}, layout: chw}", "layout"},
		{"{resize: {mode: exact, width: 4, height: 4}, channels: rgba}", "channels"},
		{"{resize: {mode: exact, width: 4, height: 4}, dtype: float16}", "dtype"},
		{"{resize: {mode: exact, width: 4, height: 4}, dtype: uint8, mean: [0, 0, 0]}", "dtype"},
		{"{resize: {mode: exact, width: 4, height: 4}, mean: [0.5]}", "mean"},
		{"{resize: {mode: exact, width: 4, height: 4}, std: [1, 0, 1]}", "std"},
		{"{resize: {mode: exact, width: 4, height: 4}, scale: 0}", "scale"},
		{"{resize: {mode: exact, width: 4, height: 4}, background: [0, 0]}", "background"},
		{"{resize: {mode: exact, width: 4, height: 4}, max_pixels: 0}", "max_pixels"},
		{"{resize: {mode: exact, width: 4, height: 4}, max_file_bytes: 0}", "max_file_bytes"},
		{"{resize: {mode: exact, width: 4, height: 4}, max_file_bytes: 2GiB}", "max_file_bytes"},
		{"{resize: {mode: exact, width: 4, height: 4}, column: img}", `column "img"`},
		{"{resize: {mode: exact, width: 4, height: 4}, into: bytes}", `column "bytes"`},
		{"{resize: {mode: exact, width: 4, height: 4}, into: height}", `column "height": is both into`},
		{"{resize: {mode: fixed_height, height: 4, max_width: 8}, into: r_valid_width, prefix: r_}", `column "r_valid_width": is both into`},
	}
	for _, c := range cases {
		_, err := stagetest.Build(t, nil, mem, "image", c.with, t.TempDir(), bin)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error naming %s", c.with, err, c.want)
		}
	}
	str := arrow.NewSchema([]arrow.Field{{Name: "bytes", Type: arrow.BinaryTypes.String}}, nil)
	_, err := stagetest.Build(t, nil, mem, "image", "{resize: {mode: exact, width: 4, height: 4}}", t.TempDir(), str)
	var ce *stages.ColumnError
	if !errors.As(err, &ce) {
		t.Errorf("utf8 column: got %v, want a ColumnError", err)
	}
}

// TestOutputSchema: the tensor type and shape metadata follow layout and
// dtype; letterbox adds scale and pads.
func TestOutputSchema(t *testing.T) {
	mem := stagetest.Mem(t)
	bin := arrow.NewSchema([]arrow.Field{{Name: "bytes", Type: arrow.BinaryTypes.LargeBinary}}, nil)
	cases := []struct {
		with, typ, shape string
		names            []string
	}{
		{"{resize: {mode: shorter_side, size: 256, crop: 224}}", "fixed_size_list<item: float32>[150528]", "3,224,224",
			[]string{"bytes", "pixel_values", "width", "height"}},
		{"{resize: {mode: letterbox, width: 64, height: 32}, layout: nhwc, dtype: uint8, into: x}", "fixed_size_list<item: uint8>[6144]", "32,64,3",
			[]string{"bytes", "x", "width", "height", "scale", "pad_x", "pad_y"}},
		{"{resize: {mode: fixed_height, height: 48, max_width: 320}}", "fixed_size_list<item: float32>[46080]", "3,48,320",
			[]string{"bytes", "pixel_values", "width", "height", "valid_width"}},
		{"{resize: {mode: fixed_height, height: 48, max_width: 320}, prefix: rec_}", "fixed_size_list<item: float32>[46080]", "3,48,320",
			[]string{"bytes", "pixel_values", "rec_width", "rec_height", "rec_valid_width"}},
		{"{resize: {mode: letterbox, width: 8, height: 8}, prefix: lb_, into: x}", "fixed_size_list<item: float32>[192]", "3,8,8",
			[]string{"bytes", "x", "lb_width", "lb_height", "lb_scale", "lb_pad_x", "lb_pad_y"}},
	}
	for _, c := range cases {
		s := stagetest.MustBuild(t, nil, mem, "image", c.with, t.TempDir(), bin)
		sc := s.Schema()
		var names []string
		for _, f := range sc.Fields() {
			names = append(names, f.Name)
		}
		shape, _ := sc.Field(1).Metadata.GetValue("pipe.shape")
		if !slices.Equal(names, c.names) || sc.Field(1).Type.String() != c.typ || shape != c.shape {
			t.Errorf("%s: columns %v, tensor %s shape %s; want %v %s %s", c.with, names, sc.Field(1).Type, shape, c.names, c.typ, c.shape)
		}
	}
}

// TestThreads: any number of threads gives the same rows in order, and a
// batch with bad rows reports the lowest one.
func TestThreads(t *testing.T) {
	mem := stagetest.Mem(t)
	names := []string{"rgb.png", "baseline.jpg", "exif6.jpg", "anim.gif", "lossy.webp", "rgb.bmp", "cmyk.jpg"}
	var rows [][]byte
	for i := range 30 {
		rows = append(rows, readTestdata(t, names[i%len(names)]))
	}
	const rs = "resize: {mode: letterbox, width: 24, height: 24}\n"
	var want []float32
	for _, threads := range []int{1, 3, 8} {
		out, err := process(t, mem, rs+"threads: "+string(rune('0'+threads))+"\n", rows...)
		if err != nil {
			t.Fatal(err)
		}
		got := out.Column(1).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
		if want == nil {
			want = slices.Clone(got)
		} else if !slices.Equal(got, want) {
			t.Errorf("threads %d: tensors differ from threads 1", threads)
		}
		out.Release()
	}
	empty, err := process(t, mem, rs)
	if err != nil || empty.NumRows() != 0 || empty.NumCols() != 7 {
		t.Fatalf("empty batch: %v, %v", empty, err)
	}
	empty.Release()
	bad := slices.Clone(rows)
	bad[11], bad[23] = []byte("junk"), nil
	_, err = process(t, mem, rs+"threads: 8\n", bad...)
	var re *RowError
	if !errors.As(err, &re) || re.Row != 11 {
		t.Errorf("got %v, want the RowError of row 11", err)
	}
}

// TestCancel: a cancelled context stops the batch with the context's error.
func TestCancel(t *testing.T) {
	mem := stagetest.Mem(t)
	in := binaryBatch(mem, "bytes", [][]byte{readTestdata(t, "rgb.png")})
	defer in.Release()
	s := stagetest.MustBuild(t, nil, mem, "image", "{resize: {mode: exact, width: 4, height: 4}}", t.TempDir(), in.Schema())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.(stages.Transform).Process(ctx, in); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// TestFirstError: of several bad rows the lowest is reported; a
// cancellation wins over row errors.
func TestFirstError(t *testing.T) {
	r := func(row int64) *RowError { return &RowError{Column: "c", Row: row, Err: ErrCorrupt} }
	if err := firstError(context.Background(), []*RowError{r(23), nil, r(11), r(40)}); err.(*RowError).Row != 11 {
		t.Errorf("got %v, want row 11", err)
	}
	if err := firstError(context.Background(), []*RowError{nil, nil}); err != nil {
		t.Errorf("got %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := firstError(ctx, []*RowError{r(3), {Row: -1, Err: ctx.Err()}}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// TestValueTable: with the default scale each value is computed as
// torchvision computes it in float32: (v / 255 - mean) / std.
func TestValueTable(t *testing.T) {
	conf := defaults()
	conf.Resize = Resize{Mode: "exact", Width: 1, Height: 1}
	conf.Mean, conf.Std = []float64{0.485, 0.456, 0.406}, []float64{0.229, 0.224, 0.225}
	p, err := check(conf)
	if err != nil {
		t.Fatal(err)
	}
	for c := range 3 {
		for v := range 256 {
			want := (float32(v)/255 - float32(conf.Mean[c])) / float32(conf.Std[c])
			if p.lut[c][v] != want {
				t.Fatalf("channel %d value %d: %v, want %v", c, v, p.lut[c][v], want)
			}
		}
	}
}
