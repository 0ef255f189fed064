package text

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/tokenizer"
)

// Config is the `with:` block of a tokenize stage.
type Config struct {
	Tokenizer  stages.Path `yaml:"tokenizer" required:"true" doc:"A Hugging Face tokenizer.json, or a BERT vocab.txt (WordPiece, lowercased unless cased: true)."`
	Column     string      `yaml:"column" required:"true" doc:"The utf8 column of texts."`
	Pair       string      `yaml:"pair" doc:"A second utf8 column: each row encodes the pair (column, pair), for cross-encoders."`
	MaxLength  int         `yaml:"max_length" doc:"Truncate to this many tokens, special tokens included (Hugging Face's max_length with truncation). 0: no limit."`
	Truncation string      `yaml:"truncation" doc:"Which text of a pair is shortened: longest_first, only_first or only_second."`
	Side       string      `yaml:"truncation_side" doc:"Which end is cut: right (keep the start) or left (keep the end)."`
	Special    bool        `yaml:"add_special_tokens" doc:"Add the tokenizer's special tokens and template ([CLS] ... [SEP], <s> ...)."`
	Cased      bool        `yaml:"cased" doc:"For a vocab.txt: keep case and accents (bert-base-cased)."`
	IDType     string      `yaml:"id_type" doc:"Element type of the id, mask and type columns: int64 or int32."`
	Prefix     string      `yaml:"prefix" doc:"Prefix of the output column names (input_ids, attention_mask, token_type_ids, num_tokens), to tokenize several columns in one job."`
	Empty      string      `yaml:"empty" doc:"An empty text: error (follows on_error) or encode (just the special tokens)."`
	Threads    int         `yaml:"threads" doc:"Goroutines tokenizing one batch; 0: one per CPU."`
}

func defaults() Config {
	return Config{Truncation: "longest_first", Side: "right", Special: true, IDType: "int64", Empty: "error"}
}

func init() {
	stages.MustRegister(stages.Type[Config]{
		Name: "tokenize",
		Kind: stages.KindTransform,
		Spec: stages.Spec{
			Summary: "Turn a text column into token ids, attention mask and token type ids, as Hugging Face tokenizers do.",
			Description: "Reads a Hugging Face `tokenizer.json` (WordPiece, byte-level BPE, SentencePiece-style BPE with " +
				"byte fallback; an unsupported component is an error naming it) or a BERT `vocab.txt`, and encodes each row of `column` (with `pair`, the " +
				"pair of texts) into variable-length `list<int64>` columns `input_ids`, `attention_mask` and " +
				"`token_type_ids`, plus `num_tokens`; the ids are those Hugging Face's own tokenizer produces. " +
				"`input_ids` carries the tokenizer's pad id in its `pipe.pad` metadata, which model stages use to pad " +
				"each batch to its longest row. A null, empty or invalid UTF-8 text is an error naming the row " +
				"(on_error skip or dead_letter set it aside).",
			Example: "- id: tok\n  type: tokenize\n  inputs: [docs]\n  with:\n    tokenizer: models/tokenizer.json\n    column: text\n    max_length: 256\n",
		},
		Defaults: defaults,
		New:      newTokenize,
	})
}

// tokenizeStage is a built tokenize transform.
type tokenizeStage struct {
	conf    Config
	tok     *tokenizer.Tokenizer
	opts    tokenizer.Options
	mem     memory.Allocator
	col     int
	pair    int // -1 without a pair
	schema  *arrow.Schema
	idType  arrow.DataType
	threads int
	rows    int64 // input rows processed, to number rows in errors
}

func newTokenize(conf Config, env *stages.Env) (stages.Stage, error) {
	in := env.Input()
	s := &tokenizeStage{conf: conf, mem: env.Mem, pair: -1, threads: conf.Threads}
	if s.threads <= 0 {
		s.threads = runtime.GOMAXPROCS(0)
	}
	var err error
	if s.col, err = textColumn(in, conf.Column); err != nil {
		return nil, err
	}
	if conf.Pair != "" {
		if s.pair, err = textColumn(in, conf.Pair); err != nil {
			return nil, err
		}
	}
	if s.opts, err = options(conf); err != nil {
		return nil, err
	}
	switch conf.IDType {
	case "int64":
		s.idType = arrow.PrimitiveTypes.Int64
	case "int32":
		s.idType = arrow.PrimitiveTypes.Int32
	default:
		return nil, fmt.Errorf("id_type: %q is not int64 or int32", conf.IDType)
	}
	if conf.Empty != "error" && conf.Empty != "encode" {
		return nil, fmt.Errorf("empty: %q is not error or encode", conf.Empty)
	}
	if s.tok, err = loadTokenizer(env.Files, string(conf.Tokenizer), conf.Cased); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if s.schema, err = s.outputSchema(in); err != nil {
		return nil, err
	}
	return s, nil
}

// textColumn returns the index of a utf8 (or large_utf8) column.
func textColumn(in *arrow.Schema, name string) (int, error) {
	idx, err := stages.Column(in, name)
	if err != nil {
		return -1, err
	}
	switch in.Field(idx).Type.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return idx, nil
	}
	return -1, &stages.ColumnError{Column: name, Msg: fmt.Sprintf("is %s; tokenize needs a utf8 column", in.Field(idx).Type)}
}

// options turns the config's truncation settings into the tokenizer's.
func options(conf Config) (tokenizer.Options, error) {
	o := tokenizer.Options{NoSpecialTokens: !conf.Special}
	if conf.MaxLength < 0 {
		return o, fmt.Errorf("max_length: %d is negative", conf.MaxLength)
	}
	o.Truncation.MaxLength = conf.MaxLength
	switch conf.Truncation {
	case "longest_first":
		o.Truncation.Strategy = tokenizer.LongestFirst
	case "only_first":
		o.Truncation.Strategy = tokenizer.OnlyFirst
	case "only_second":
		o.Truncation.Strategy = tokenizer.OnlySecond
	default:
		return o, fmt.Errorf("truncation: %q is not longest_first, only_first or only_second", conf.Truncation)
	}
	switch conf.Side {
	case "right":
		o.Truncation.Side = tokenizer.Right
	case "left":
		o.Truncation.Side = tokenizer.Left
	default:
		return o, fmt.Errorf("truncation_side: %q is not right or left", conf.Side)
	}
	return o, nil
}

// outputSchema appends the four output columns to the input's; a name
// already in the input is an error.
func (s *tokenizeStage) outputSchema(in *arrow.Schema) (*arrow.Schema, error) {
	fields := append([]arrow.Field(nil), in.Fields()...)
	var idsMeta arrow.Metadata
	if pad, ok := s.tok.PadID(); ok {
		idsMeta = arrow.NewMetadata([]string{"pipe.pad"}, []string{strconv.Itoa(int(pad))})
	}
	for i, name := range s.outputNames() {
		if len(in.FieldIndices(name)) > 0 {
			return nil, &stages.ColumnError{Column: name, Msg: "is already in the input; set prefix to name the outputs apart"}
		}
		f := arrow.Field{Name: name, Type: arrow.ListOf(s.idType)}
		switch i {
		case 0:
			f.Metadata = idsMeta
		case 3:
			f.Type = arrow.PrimitiveTypes.Int32
		}
		fields = append(fields, f)
	}
	md := in.Metadata()
	return arrow.NewSchema(fields, &md), nil
}

func (s *tokenizeStage) outputNames() []string {
	p := s.conf.Prefix
	return []string{p + "input_ids", p + "attention_mask", p + "token_type_ids", p + "num_tokens"}
}

// Schema returns the schema of the batches the stage emits.
func (s *tokenizeStage) Schema() *arrow.Schema { return s.schema }

// Close does nothing: the tokenizer is shared and read-only.
func (s *tokenizeStage) Close() error { return nil }

// Process tokenizes every row of in (borrowed) and returns in's columns
// plus the four outputs, owned by the caller.
func (s *tokenizeStage) Process(ctx context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(in.NumRows())
	texts, err := s.texts(in)
	if err != nil {
		return nil, err
	}
	chunks := s.encodeAll(ctx, texts, n)
	for _, c := range chunks {
		if c.err != nil {
			if n == 1 {
				// The runtime isolates a failing batch's rows by processing
				// halves in order and sets aside a lone failing row: it
				// counts as seen, so the rows after it keep their numbers.
				s.rows++
			}
			return nil, c.err
		}
	}
	cols := append([]arrow.Array(nil), in.Columns()...)
	for _, c := range cols {
		c.Retain()
	}
	out := s.assemble(chunks, n)
	cols = append(cols, out...)
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	s.rows += int64(n)
	return array.NewRecordBatch(s.schema, cols, int64(n)), nil
}

// textGetter reads row i of a text column; ok is false for a null.
type textGetter func(i int) (string, bool)

func getter(a arrow.Array) textGetter {
	type stringer interface {
		Value(int) string
		IsNull(int) bool
	}
	c := a.(stringer)
	return func(i int) (string, bool) {
		if c.IsNull(i) {
			return "", false
		}
		return c.Value(i), true
	}
}

// texts returns the readers of the batch's text column(s).
func (s *tokenizeStage) texts(in arrow.RecordBatch) ([2]textGetter, error) {
	var g [2]textGetter
	g[0] = getter(in.Column(s.col))
	if s.pair >= 0 {
		g[1] = getter(in.Column(s.pair))
	}
	return g, nil
}

// chunk is the encoding of rows [lo, hi) of a batch.
type chunk struct {
	lo, hi int
	enc    tokenizer.Encoding
	lens   []int32
	err    error
}

// encodeAll tokenizes n rows in up to s.threads chunks at once.
func (s *tokenizeStage) encodeAll(ctx context.Context, texts [2]textGetter, n int) []*chunk {
	workers := min(s.threads, max(1, n/256))
	chunks := make([]*chunk, workers)
	var wg sync.WaitGroup
	for w := range workers {
		chunks[w] = &chunk{lo: w * n / workers, hi: (w + 1) * n / workers}
		wg.Add(1)
		go func(c *chunk) {
			defer wg.Done()
			s.encodeChunk(ctx, texts, c)
		}(chunks[w])
	}
	wg.Wait()
	return chunks
}

// encodeChunk encodes the rows of c with an encoder of its own.
func (s *tokenizeStage) encodeChunk(ctx context.Context, texts [2]textGetter, c *chunk) {
	e := s.tok.NewEncoder()
	c.lens = make([]int32, 0, c.hi-c.lo)
	for r := c.lo; r < c.hi; r++ {
		if r%1024 == 0 && ctx.Err() != nil {
			c.err = ctx.Err()
			return
		}
		before := len(c.enc.IDs)
		if err := s.encodeRow(e, texts, r, &c.enc); err != nil {
			c.err = err
			return
		}
		c.lens = append(c.lens, int32(len(c.enc.IDs)-before))
	}
}

// encodeRow appends the encoding of row r to enc.
func (s *tokenizeStage) encodeRow(e *tokenizer.Encoder, texts [2]textGetter, r int, enc *tokenizer.Encoding) error {
	a, err := s.text(texts[0], s.conf.Column, r)
	if err != nil {
		return err
	}
	if texts[1] == nil {
		err = e.Append(enc, a, s.opts)
	} else {
		b, perr := s.text(texts[1], s.conf.Pair, r)
		if perr != nil {
			return perr
		}
		err = e.AppendPair(enc, a, b, s.opts)
	}
	if err != nil {
		col := s.conf.Column
		var ie *tokenizer.InputError
		if errors.As(err, &ie) && ie.Pair {
			col = s.conf.Pair
		}
		return &RowError{Column: col, Row: s.rows + int64(r), Err: err}
	}
	return nil
}

// text reads row r of a text column, refusing a null and (unless empty:
// encode) an empty text.
func (s *tokenizeStage) text(get textGetter, col string, r int) (string, error) {
	t, ok := get(r)
	switch {
	case !ok:
		return "", &RowError{Column: col, Row: s.rows + int64(r), Err: ErrNullText}
	case t == "" && s.conf.Empty == "error":
		return "", &RowError{Column: col, Row: s.rows + int64(r), Err: ErrEmptyText}
	}
	return t, nil
}

// RowError is a text the stage cannot tokenize.
type RowError struct {
	Column string
	Row    int64
	Err    error
}

func (e *RowError) Error() string {
	return fmt.Sprintf("column %q, row %d: %v", e.Column, e.Row, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// Errors of a row's text.
var (
	ErrNullText  = errors.New("null text")
	ErrEmptyText = errors.New("empty text (set empty: encode to encode it as just the special tokens)")
)
