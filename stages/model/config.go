package model

import (
	"fmt"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/stages"
)

// Config is the `with:` block of a model stage. Keys tagged
// `fingerprint:"-"` do not change the output bytes (batch sizes, threads,
// concurrency, retries), so the job's fingerprint leaves them out. The
// backends count: each computes in its own precision.
type Config struct {
	Model     stages.Path              `yaml:"model" required:"true" doc:"The model file (.onnx; .mlpackage/.mlmodelc on the Apple backends)."`
	SHA256    string                   `yaml:"sha256" fingerprint:"-" doc:"Pin the model: its SHA-256 in hex must match before it is loaded."`
	Backends  []string                 `yaml:"backends" doc:"Backends to try, in order: auto (ane, then mps, then cpu, keeping those that are available and can run the model; metal runs no model formats), or an explicit list such as [ane, cpu]."`
	Strict    bool                     `yaml:"strict" doc:"Fail instead of falling back to a later backend."`
	Inputs    map[string]InputBinding  `yaml:"inputs" required:"true" doc:"Model input name -> column; or -> a list of numeric columns packed side by side into the tensor (x: [f0, f1, f2]; no intermediate vector column). The long form {column: img, shape: [3, 48, 192]} gives the per-row shape when the model leaves dimensions open. A list<...> column (variable length, such as token ids) feeds a [batch, seq] input padded to the longest row of each batch with pad (long form {column: input_ids, pad: 0}; default the column's pipe.pad metadata, else 0); where the model's row shape is fixed, every list must have exactly that many values."`
	Outputs   map[string]OutputBinding `yaml:"outputs" doc:"Model output name -> column, or -> a list of columns (one per value of the last dimension). Default: every tensor output, under its own name. Long forms: {column: embedding, pool: mean|cls|max, normalize: true, mask: attention_mask} turns a token-level [batch, seq, dim] output into one fixed_size_list<float32>[dim] per row, averaging (or taking the max over) the positions the attention mask keeps; {column: label, labels: labels.txt or [a, b, c], top_k: 1, scores: softmax|sigmoid|raw} turns [batch, classes] scores into the top_k class names (a utf8 column, or a list for top_k > 1) and a <column>_score column; {column: text, ctc: ppocr_keys_v1.txt, blank: first|last, space: true} decodes a text recogniser's [batch, time, classes] probabilities greedily (best class per step, repeats merged, blanks dropped) into a utf8 column and a <column>_confidence column (the mean probability of the characters kept)."`
	Constants map[string]Constant      `yaml:"constants" doc:"Model inputs fed the same value for every row, such as a sample rate or a zero initial state: a number, a list of numbers (flat, as many as the input's shape holds, or nested lists following the shape), or true/false. A dynamic first dimension is the batch: the value is repeated for every row."`
	Keep      *[]string                `yaml:"keep" doc:"Input columns passed through to the output, in order. Default: all."`
	Threads   int                      `yaml:"threads" fingerprint:"-" doc:"Threads inside one model call (ONNX Runtime intra-op threads); 0: the runtime's default."`
	Session   SessionConfig            `yaml:"session" doc:"Further runtime settings."`
	Batch     BatchConfig              `yaml:"batch" doc:"Dynamic batching: how rows are grouped into model calls."`
	Instances int                      `yaml:"instances" fingerprint:"-" doc:"Batches of this stage run at once; output order is kept. One more full batch waits packed behind them, so the backend goes from one call to the next without waiting for the stage."`
	Retry     RetryConfig              `yaml:"retry" fingerprint:"-" doc:"Retries of transient backend errors, with exponential backoff and full jitter."`
	Breaker   BreakerConfig            `yaml:"circuit_breaker" fingerprint:"-" doc:"Circuit breaker per (model, backend): after repeated failures calls move to the next backend."`
}

// RetryConfig is the `retry:` block.
type RetryConfig struct {
	MaxAttempts int             `yaml:"max_attempts" doc:"Attempts in all, the first included."`
	Initial     stages.Duration `yaml:"initial" doc:"Backoff cap of the first retry; each retry doubles it."`
	Max         stages.Duration `yaml:"max" doc:"Largest backoff cap."`
}

// BreakerConfig is the `circuit_breaker:` block.
type BreakerConfig struct {
	Failures       int             `yaml:"failures" doc:"Consecutive failures that open the breaker."`
	OpenFor        stages.Duration `yaml:"open_for" doc:"How long it stays open before letting probes through."`
	HalfOpenProbes int             `yaml:"half_open_probes" doc:"Calls let through half-open; success closes it."`
}

// SessionConfig holds the runtime settings beyond threads.
type SessionConfig struct {
	InterOpThreads int               `yaml:"inter_op_threads" fingerprint:"-" doc:"Threads across independent operators; 0: the runtime's default."`
	GraphOpt       string            `yaml:"graph_optimization" doc:"Graph optimization level: disable, basic, extended or all."`
	Spinning       *bool             `yaml:"spinning" fingerprint:"-" doc:"Let idle runtime threads spin (lower latency, more CPU); unset: the runtime's default."`
	Extra          map[string]string `yaml:"extra" doc:"Backend-specific options, e.g. {dim.N: '8'} to fix a symbolic dimension, ep.* options of ONNX Runtime's execution providers, compute_units or cache_dir on the Apple backends."`
}

// BatchConfig is the `batch:` block; it maps onto batcher.Policy.
type BatchConfig struct {
	MaxRows       int             `yaml:"max_rows" fingerprint:"-" doc:"Largest batch in rows; cut to the rows whose model inputs and outputs fit resources.memory_budget / (instances + 1) (pipe validate prints it)."`
	MaxDelay      stages.Duration `yaml:"max_delay" fingerprint:"-" doc:"Longest a row waits for its batch to fill before a smaller batch runs."`
	PreferredRows []int           `yaml:"preferred_rows" fingerprint:"-" doc:"Sizes to run instead of a ragged batch when the delay is spent."`
	PadTo         int             `yaml:"pad_to" doc:"Static batch dimension: pad every batch to this many rows (set from the model when its batch dimension is fixed)."`
	Adaptive      *AdaptiveConfig `yaml:"adaptive" fingerprint:"-" doc:"Pick the batch size from measured latency, aiming at the best throughput within target_latency."`
	Bucket        bool            `yaml:"bucket" doc:"With max_tokens: sort each batch's rows by length before cutting it into parts, so rows of similar length run together and padding stays small; the rows leave the stage in their input order. Set max_rows to the window of rows sorted together (say 1024) and max_tokens to the model batch. Not with on_error skip or dead_letter."`
	MaxTokens     int             `yaml:"max_tokens" doc:"For variable-length list inputs: the most padded values per input tensor of a batch (rows x longest row). A batch over it is split, in row order, into consecutive parts that fit; a single row longer than max_tokens runs alone. 0: no bound."`
}

// AdaptiveConfig configures the adaptive batch sizer.
type AdaptiveConfig struct {
	TargetLatency stages.Duration `yaml:"target_latency" doc:"Latency a batch may take."`
	MinRows       int             `yaml:"min_rows" doc:"Smallest batch size tried."`
	MaxRows       int             `yaml:"max_rows" doc:"Largest batch size tried (default: batch.max_rows)."`
}

// InputBinding says which column feeds a model input, and optionally the
// shape of one row when the model leaves dimensions open; or which numeric
// columns, packed side by side, feed it (one value per column per row).
type InputBinding struct {
	Column  string
	Shape   []int64
	Columns []string
	// Pad is the value that fills a variable-length list column's rows up
	// to the longest row of the batch; nil: the column's pipe.pad metadata
	// (the tokenize stage writes the tokenizer's pad id there), else 0.
	Pad *float64
}

// UnmarshalYAML accepts a column name or {column, shape}.
func (b *InputBinding) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.SequenceNode:
		if err := n.Decode(&b.Columns); err != nil {
			return fmt.Errorf("expected a list of column names")
		}
		if len(b.Columns) == 0 {
			return fmt.Errorf("expected at least one column name")
		}
		return nil
	case yaml.ScalarNode:
		if n.Value == "" {
			return fmt.Errorf("expected a column name")
		}
		b.Column = n.Value
		return nil
	case yaml.MappingNode:
		var long struct {
			Column string   `yaml:"column"`
			Shape  []int64  `yaml:"shape"`
			Pad    *float64 `yaml:"pad"`
		}
		dec := n.Decode(&long)
		if dec != nil {
			return dec
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k != "column" && k != "shape" && k != "pad" {
				return fmt.Errorf("unknown key %q (valid: column, shape, pad)", k)
			}
		}
		if long.Column == "" {
			return fmt.Errorf("missing key \"column\"")
		}
		for _, d := range long.Shape {
			if d <= 0 {
				return fmt.Errorf("shape %v: every dimension must be positive", long.Shape)
			}
		}
		b.Column, b.Shape, b.Pad = long.Column, long.Shape, long.Pad
		return nil
	}
	return fmt.Errorf("expected a column name, a list of column names, or {column, shape, pad}")
}

// OutputBinding says which column(s) a model output becomes.
type OutputBinding struct {
	Column  string   // one column
	Columns []string // one column per value of the last dimension
	// Pool turns a token-level output [batch, seq, d] into one vector per
	// row: mean (over the positions the attention mask keeps), cls (the
	// first position) or max; Normalize then scales it to unit L2 norm.
	// Mask names the column of the attention mask (default: the column
	// bound to the model input attention_mask; without one, each row's
	// length among the padded list inputs).
	Pool      string
	Normalize bool
	Mask      string
	// Labels names the classes of a [batch, classes] output (a file of
	// one name per line, or a list): the column holds the top_k labels
	// and a <column>_score column their scores, after Scores (softmax,
	// sigmoid or raw).
	Labels *LabelNames
	TopK   int
	Scores string
	// CTC decodes a recogniser's [batch, time, classes] output greedily
	// with these characters (a dictionary file, one a line, or a list):
	// class Blank is the CTC blank, the others the characters in order
	// (PaddleOCR: blank first, then the dictionary, then a space when
	// Space is set). The column holds the text, <column>_confidence the
	// mean probability of its characters.
	CTC   *LabelNames
	Blank string
	Space bool
}

// LabelNames are class names, given inline or read from a file.
type LabelNames struct {
	Names []string
	File  stages.Path
}

// UnmarshalYAML accepts a file path or a list of names.
func (l *LabelNames) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		l.File = stages.Path(n.Value)
		return nil
	case yaml.SequenceNode:
		return n.Decode(&l.Names)
	}
	return fmt.Errorf("labels: expected a file of names, one a line, or a list of names")
}

// UnmarshalYAML accepts a column name, a list of column names, or the
// long form {column, pool, normalize, mask} / {column, labels, top_k,
// scores}.
func (b *OutputBinding) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			return fmt.Errorf("expected a column name")
		}
		b.Column = n.Value
		return nil
	case yaml.SequenceNode:
		if err := n.Decode(&b.Columns); err != nil {
			return err
		}
		if len(b.Columns) == 0 {
			return fmt.Errorf("expected at least one column name")
		}
		return nil
	case yaml.MappingNode:
		return b.decodeLong(n)
	}
	return fmt.Errorf("expected a column name, a list of column names, or {column, pool, ...}")
}

func (b *OutputBinding) decodeLong(n *yaml.Node) error {
	var long struct {
		Column    string      `yaml:"column"`
		Pool      string      `yaml:"pool"`
		Normalize bool        `yaml:"normalize"`
		Mask      string      `yaml:"mask"`
		Labels    *LabelNames `yaml:"labels"`
		TopK      int         `yaml:"top_k"`
		Scores    string      `yaml:"scores"`
		CTC       *LabelNames `yaml:"ctc"`
		Blank     string      `yaml:"blank"`
		Space     bool        `yaml:"space"`
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := n.Content[i].Value; k {
		case "column", "pool", "normalize", "mask", "labels", "top_k", "scores", "ctc", "blank", "space":
		default:
			return fmt.Errorf("unknown key %q (valid: column, pool, normalize, mask, labels, top_k, scores, ctc, blank, space)", k)
		}
	}
	if err := n.Decode(&long); err != nil {
		return err
	}
	if long.Column == "" {
		return fmt.Errorf("missing key \"column\"")
	}
	*b = OutputBinding{Column: long.Column, Pool: long.Pool, Normalize: long.Normalize, Mask: long.Mask,
		Labels: long.Labels, TopK: long.TopK, Scores: long.Scores, CTC: long.CTC, Blank: long.Blank, Space: long.Space}
	return nil
}

// names returns the output column names of the binding.
func (b OutputBinding) names() []string {
	if b.Column != "" {
		return []string{b.Column}
	}
	return b.Columns
}

// Constant is a fixed model input: a number, a list of numbers (flat or
// nested), or a bool.
type Constant struct {
	Values []float64 // every number, flattened in row-major order
	Bool   *bool
	List   bool // written as a list: the tensor has a dimension for it
	// Nest is the shape of nested lists ([[1, 2], [3, 4]]: [2, 2]); nil for
	// a number or a flat list.
	Nest []int64
}

// UnmarshalYAML accepts a number, a list of numbers, nested lists of
// numbers of equal lengths, or true/false.
func (c *Constant) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 && n.Content[0].Kind == yaml.SequenceNode {
		c.List = true
		c.Values = nil
		nest, err := flattenNested(n, &c.Values)
		if err != nil {
			return err
		}
		c.Nest = nest
		return nil
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return err
		}
		c.Bool = &v
		return nil
	case n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float"):
		var v float64
		if err := n.Decode(&v); err != nil {
			return err
		}
		c.Values = []float64{v}
		return nil
	case n.Kind == yaml.SequenceNode:
		if err := n.Decode(&c.Values); err != nil {
			return fmt.Errorf("expected a list of numbers")
		}
		c.List = true
		return nil
	}
	return fmt.Errorf("expected a number, a list of numbers, or true/false")
}

// flattenNested appends the numbers of nested lists n to vals and returns
// their shape; every list at one depth must have the same length.
func flattenNested(n *yaml.Node, vals *[]float64) ([]int64, error) {
	if n.Kind != yaml.SequenceNode {
		var v float64
		if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
			return nil, fmt.Errorf("line %d: expected a number in the nested lists", n.Line)
		}
		*vals = append(*vals, v)
		return nil, nil
	}
	var shape []int64
	for i, e := range n.Content {
		sub, err := flattenNested(e, vals)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			shape = sub
		} else if !slices.Equal(sub, shape) {
			return nil, fmt.Errorf("line %d: nested lists of different lengths (%v and %v)", e.Line, shape, sub)
		}
	}
	return append([]int64{int64(len(n.Content))}, shape...), nil
}

// defaults are the settings of a model stage that says nothing else.
func defaults() Config {
	return Config{
		Backends:  []string{"auto"},
		Instances: 1,
		Batch:     BatchConfig{MaxRows: 512, MaxDelay: stages.Duration(2 * time.Millisecond)},
		// The executor's defaults, so that a stage that says nothing and
		// the executor agree.
		Retry: RetryConfig{
			MaxAttempts: executor.DefaultRetry.MaxAttempts,
			Initial:     stages.Duration(executor.DefaultRetry.Initial),
			Max:         stages.Duration(executor.DefaultRetry.Max),
		},
		Breaker: BreakerConfig{
			Failures:       executor.DefaultBreaker.Failures,
			OpenFor:        stages.Duration(executor.DefaultBreaker.OpenFor),
			HalfOpenProbes: executor.DefaultBreaker.HalfOpenProbes,
		},
	}
}

// MarshalYAML writes the short form when there is no shape.
func (b InputBinding) MarshalYAML() (any, error) {
	if b.Columns != nil {
		return b.Columns, nil
	}
	if b.Shape == nil {
		return b.Column, nil
	}
	return map[string]any{"column": b.Column, "shape": b.Shape}, nil
}

// MarshalYAML writes a column name or a list of names.
func (b OutputBinding) MarshalYAML() (any, error) {
	if b.Column != "" {
		return b.Column, nil
	}
	return b.Columns, nil
}

// MarshalYAML writes the constant as it is written in a job.
func (c Constant) MarshalYAML() (any, error) {
	switch {
	case c.Bool != nil:
		return *c.Bool, nil
	case c.Nest != nil:
		return nestValues(c.Values, c.Nest), nil
	case c.List || len(c.Values) != 1:
		return c.Values, nil
	}
	return c.Values[0], nil
}

// nestValues rebuilds nested lists of the given shape from flat values.
func nestValues(vals []float64, shape []int64) any {
	if len(shape) == 1 {
		return vals
	}
	per := len(vals) / max(int(shape[0]), 1)
	out := make([]any, shape[0])
	for i := range out {
		out[i] = nestValues(vals[i*per:(i+1)*per], shape[1:])
	}
	return out
}
