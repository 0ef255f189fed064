package source

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/stages"
)

// HiveConfig holds the keys of a file source that read Hive-style
// partitioned folders (dt=2026-12-07/region=eu/part-0.parquet). It is
// inlined in the configs of parquet_source, csv_source, jsonl_source and
// ipc_source.
type HiveConfig struct {
	Partitioning   string            `yaml:"partitioning" doc:"\"hive\": the key=value folders above each file become columns, appended after the file's columns in the order of the folders. Every file must sit under the same keys, in the same order; a file that does not is an error naming it and the keys expected. Values are unescaped as Hive escapes them (%2F is /); __HIVE_DEFAULT_PARTITION__ is null. Empty: folders are not columns."`
	PartitionTypes map[string]string `yaml:"partition_types" doc:"Types of partition keys, e.g. {dt: date32, region: string} (names as in an explicit schema: int64, float64, bool, date32, timestamp, string, ...). A key not listed is int64 when every value is an integer, else string."`
	Partitions     string            `yaml:"partitions" doc:"A condition on the partition columns only, in the filter stage's expression language (\"dt >= '2026-12-01' and region = 'eu'\"). Folders where it is not true are pruned before any file under them is opened. Under a folder named in paths, a folder is pruned unlisted as soon as the conditions joined by \"and\" that name only the keys above it are not true; files a glob matched are dropped unread. pipe validate lists what was pruned."`
}

// hiveDefaultPartition is the folder value Hive writes for a null.
const hiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// ErrPartitionLayout: with partitioning hive, a file or folder does not
// follow the key=value layout of the others.
var ErrPartitionLayout = errors.New("outside the partition layout")

// partVal is one key=value folder segment, unescaped.
type partVal struct {
	key, val string
	null     bool // the value is __HIVE_DEFAULT_PARTITION__
}

// parseSegment splits a folder name key=value; ok is false for any other
// name.
func parseSegment(name string) (partVal, bool) {
	k, v, ok := strings.Cut(name, "=")
	if !ok || k == "" {
		return partVal{}, false
	}
	if v == hiveDefaultPartition {
		return partVal{key: stages.UnescapePathName(k), null: true}, true
	}
	return partVal{key: stages.UnescapePathName(k), val: stages.UnescapePathName(v)}, true
}

// trailingSegments returns the key=value segments that end the folder dir
// (the run of them closest to the file), outermost first.
func trailingSegments(dir string) []partVal {
	var out []partVal
	for {
		base := filepath.Base(dir)
		v, ok := parseSegment(base)
		if !ok {
			break
		}
		out = append(out, v)
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// keyState is what a hiveLayout knows of one partition key.
type keyState struct {
	name     string
	declared arrow.DataType // from partition_types; nil when inferred
	notInt   bool           // a value seen does not parse as an int64
	used     arrow.DataType // the type pruning compared it as; nil when unused
}

// typ is the key's type from the values seen so far.
func (k *keyState) typ() arrow.DataType {
	switch {
	case k.declared != nil:
		return k.declared
	case k.notInt:
		return arrow.BinaryTypes.String
	}
	return arrow.PrimitiveTypes.Int64
}

// observe notes a value of the key for inference.
func (k *keyState) observe(v partVal) {
	if !v.null && !k.notInt {
		if _, err := strconv.ParseInt(v.val, 10, 64); err != nil {
			k.notInt = true
		}
	}
}

// hiveLayout is the partition layout of a source's files: the keys, their
// types, and each file's values. It is built once, with the source, and
// read-only after; shards share it.
type hiveLayout struct {
	conf   HiveConfig
	keys   []keyState
	fields []arrow.Field  // the partition columns
	tuples []arrow.Array  // tuples[k] holds key k's value of each distinct folder
	byFile map[string]int // file path -> row of tuples
	schema *arrow.Schema  // the file columns and then the partition columns; see bind
}

// newHiveLayout checks the partitioning keys of a config; it returns nil
// when partitioning is off.
func newHiveLayout(c HiveConfig) (*hiveLayout, error) {
	switch c.Partitioning {
	case "":
		if len(c.PartitionTypes) > 0 || c.Partitions != "" {
			return nil, errors.New("partition_types and partitions need partitioning: hive")
		}
		return nil, nil
	case "hive":
	default:
		return nil, fmt.Errorf("partitioning must be hive or empty, got %q", c.Partitioning)
	}
	for k, t := range c.PartitionTypes {
		dt, err := parseTextType(t)
		if err != nil {
			return nil, fmt.Errorf("partition_types: %s: %w", k, err)
		}
		if _, ok := dt.(*arrow.FixedSizeListType); ok {
			return nil, fmt.Errorf("partition_types: %s: a partition column holds one value, not %s", k, t)
		}
	}
	return &hiveLayout{conf: c, byFile: map[string]int{}}, nil
}

// describe writes the layout as the folders a file must sit under.
func (h *hiveLayout) describe() string {
	if len(h.keys) == 0 {
		return "no key=value folders"
	}
	parts := make([]string, len(h.keys))
	for i, k := range h.keys {
		parts[i] = k.name + "=..."
	}
	return strings.Join(parts, "/")
}

// noteKey checks that key is the depth-th key of the layout (0-based),
// adding it when depth is one past the keys known.
func (h *hiveLayout) noteKey(depth int, key, path string) error {
	if depth == len(h.keys) {
		k := keyState{name: key}
		if t, ok := h.conf.PartitionTypes[key]; ok {
			k.declared, _ = parseTextType(t) // checked by newHiveLayout
		}
		h.keys = append(h.keys, k)
		return nil
	}
	if h.keys[depth].name != key {
		return fmt.Errorf("%s: %w: partition key %q where %q is expected (layout %s)", path, ErrPartitionLayout, key, h.keys[depth].name, h.describe())
	}
	return nil
}

// hiveFile is a data file found under partition folders.
type hiveFile struct {
	path string
	vals []partVal
}
