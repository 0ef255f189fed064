package stages

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FieldError is a problem with one key or value of a job file, with the
// position of the offending node. The loader prefixes the file name.
type FieldError struct {
	Line, Col int
	Path      string // e.g. "with.batch.max_rows"
	Msg       string
}

func (e *FieldError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%d:%d: %s: %s", e.Line, e.Col, e.Path, e.Msg)
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg)
}

// Duration is a time.Duration written in YAML as a Go duration string
// ("2ms", "1m30s").
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration such as 2ms or 1m30s, got %s", describe(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("expected a duration such as 2ms or 1m30s, got %q", n.Value)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// ByteSize is a number of bytes written in YAML as an integer or with a unit
// (KiB, MiB, GiB, TiB, or KB, MB, GB, TB).
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

// ParseByteSize parses "64MiB", "1GB", "4096".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*float64(mult) > math.MaxInt64/2 {
		return 0, fmt.Errorf("expected a size such as 4096, 64MiB or 1GB, got %q", s)
	}
	return ByteSize(f * float64(mult)), nil
}

func (b ByteSize) String() string {
	for _, u := range sizeUnits[:4] {
		if b >= ByteSize(u.mult) && int64(b)%u.mult == 0 {
			return strconv.FormatInt(int64(b)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a size such as 64MiB, got %s", describe(n))
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

// Path is a file or folder path in a job. A relative path is resolved
// against the folder of the job file when the config is decoded.
type Path string

// describe names a node's kind and value for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int":
			return fmt.Sprintf("integer %s", n.Value)
		case "!!float":
			return fmt.Sprintf("number %s", n.Value)
		case "!!bool":
			return fmt.Sprintf("bool %s", n.Value)
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("string %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func fieldErr(n *yaml.Node, path, format string, args ...any) *FieldError {
	return &FieldError{Line: n.Line, Col: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// decodeStrict decodes n into v, walking structs key by key so that every
// error carries the position of its own node. Unknown keys are errors with a
// suggestion; all errors are returned.
func decodeStrict(n *yaml.Node, v reflect.Value, path string) []error {
	t := v.Type()
	if isLeaf(t) {
		return decodeLeaf(n, v, path)
	}
	switch t.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return decodeStrict(n, v.Elem(), path)
	case reflect.Struct:
		return decodeStruct(n, v, path)
	case reflect.Slice:
		return decodeSlice(n, v, path)
	case reflect.Map:
		return decodeMap(n, v, path)
	}
	return decodeLeaf(n, v, path)
}

// decodeStruct decodes the mapping n into the struct v key by key: an
// unknown key is an error with a suggestion, and so is a missing required
// key.
func decodeStruct(n *yaml.Node, v reflect.Value, path string) []error {
	if n.Kind != yaml.MappingNode {
		return []error{fieldErr(n, path, "expected a mapping, got %s", describe(n))}
	}
	t := v.Type()
	keys := structKeys(t)
	var errs []error
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx, ok := keys[k.Value]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", k.Value)
			if s := Nearest(k.Value, keyNames(keys)); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += "; valid keys: " + joinNames(sortedKeys(keys))
			}
			errs = append(errs, &FieldError{Line: k.Line, Col: k.Column, Path: path, Msg: msg})
			continue
		}
		seen[k.Value] = true
		errs = append(errs, decodeStrict(val, v.FieldByIndex(idx), path+"."+k.Value)...)
	}
	for name, idx := range keys {
		if !seen[name] && t.FieldByIndex(idx).Tag.Get("required") == "true" {
			errs = append(errs, fieldErr(n, path, "missing required key %q", name))
		}
	}
	errs = append(errs, checkRequiredNested(n, v, keys, seen, path)...)
	return errs
}

// decodeSlice decodes the sequence n into the slice v; null empties it,
// and a single scalar where a list of scalars is expected is taken as a
// one-element list: paths: a.parquet.
func decodeSlice(n *yaml.Node, v reflect.Value, path string) []error {
	t := v.Type()
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		v.SetZero()
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.ScalarNode && isLeaf(t.Elem()) {
			s := reflect.MakeSlice(t, 1, 1)
			if errs := decodeStrict(n, s.Index(0), path); len(errs) > 0 {
				return errs
			}
			v.Set(s)
			return nil
		}
		return []error{fieldErr(n, path, "expected a list, got %s", describe(n))}
	}
	s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
	var errs []error
	for i, c := range n.Content {
		errs = append(errs, decodeStrict(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
	}
	v.Set(s)
	return errs
}

// decodeMap decodes the mapping n into the map v; a map whose keys are not
// strings is decoded as a leaf.
func decodeMap(n *yaml.Node, v reflect.Value, path string) []error {
	t := v.Type()
	if n.Kind != yaml.MappingNode {
		return []error{fieldErr(n, path, "expected a mapping, got %s", describe(n))}
	}
	if t.Key().Kind() != reflect.String {
		return decodeLeaf(n, v, path)
	}
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, fieldErr(k, path, "expected a string key, got %s", describe(k)))
			continue
		}
		ev := reflect.New(t.Elem()).Elem()
		errs = append(errs, decodeStrict(val, ev, path+"."+k.Value)...)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), ev)
	}
	v.Set(m)
	return errs
}

// checkRequiredNested reports required keys missing inside nested blocks
// that were not written at all (their parent block is absent).
func checkRequiredNested(n *yaml.Node, v reflect.Value, keys map[string][]int, seen map[string]bool, path string) []error {
	var errs []error
	for name, idx := range keys {
		if seen[name] {
			continue
		}
		f := v.FieldByIndex(idx)
		if f.Kind() == reflect.Struct && !isLeaf(f.Type()) {
			for _, e := range checkRequired(f, n, path+"."+name) {
				errs = append(errs, e)
			}
		}
	}
	return errs
}

// checkRequired reports the required keys of struct value v; n positions the
// errors (nil: line 0).
func checkRequired(v reflect.Value, n *yaml.Node, path string) []error {
	if n == nil {
		n = &yaml.Node{}
	}
	var errs []error
	t := v.Type()
	for name, idx := range structKeys(t) {
		sf := t.FieldByIndex(idx)
		if sf.Tag.Get("required") == "true" {
			errs = append(errs, fieldErr(n, path, "missing required key %q", name))
		}
	}
	return errs
}

func decodeLeaf(n *yaml.Node, v reflect.Value, path string) []error {
	if n.Kind == yaml.AliasNode {
		return []error{fieldErr(n, path, "aliases are not allowed")}
	}
	t := v.Type()
	custom := t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler)
	if !custom {
		if msg := scalarMismatch(n, t); msg != "" {
			return []error{fieldErr(n, path, "%s", msg)}
		}
	}
	ptr := reflect.New(t)
	if err := n.Decode(ptr.Interface()); err != nil {
		msg := err.Error()
		if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
			msg = te.Errors[0]
		}
		msg = strings.TrimPrefix(msg, "yaml: ")
		if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "line ") && i > 0 {
			msg = msg[i+2:]
		}
		return []error{fieldErr(n, path, "%s", msg)}
	}
	v.Set(ptr.Elem())
	return nil
}

// scalarMismatch checks a plain Go scalar target against the node's tag.
func scalarMismatch(n *yaml.Node, t reflect.Type) string {
	want := ""
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
			return ""
		}
		want = "an integer"
	case reflect.Float32, reflect.Float64:
		if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
			return ""
		}
		want = "a number"
	case reflect.Bool:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
			return ""
		}
		want = "true or false"
	case reflect.String:
		if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
			return ""
		}
		want = "a string"
	default:
		return ""
	}
	return fmt.Sprintf("expected %s, got %s", want, describe(n))
}

// structKeys maps YAML keys to field indexes, following inlined structs.
func structKeys(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, inline := yamlName(sf)
		if name == "-" {
			continue
		}
		if inline {
			for k, idx := range structKeys(sf.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		out[name] = []int{i}
	}
	return out
}

func keyNames(m map[string][]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sortedKeys(m map[string][]int) []string {
	k := keyNames(m)
	sortStrings(k)
	return k
}

// resolvePaths makes every relative [Path] under v absolute against base.
func resolvePaths(v reflect.Value, base string) {
	if base == "" {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			resolvePaths(v.Elem(), base)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				resolvePaths(v.Field(i), base)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			resolvePaths(v.Index(i), base)
		}
	case reflect.Map:
		if v.Type().Elem() == pathType {
			for _, k := range v.MapKeys() {
				p := v.MapIndex(k).String()
				if p != "" && !filepath.IsAbs(p) && !IsObjectURL(p) {
					v.SetMapIndex(k, reflect.ValueOf(Path(filepath.Join(base, p))))
				}
			}
		}
	case reflect.String:
		if v.Type() == pathType && v.CanSet() {
			if p := v.String(); p != "" && !filepath.IsAbs(p) && !IsObjectURL(p) {
				v.SetString(filepath.Join(base, p))
			}
		}
	}
}

// DecodeNode decodes n strictly into v, which points to a struct holding
// defaults, walking it key by key as stage configs are: unknown keys and
// wrong types are [*FieldError]s positioned at their node; path prefixes
// the key paths in errors. Relative [Path] values resolve against base.
func DecodeNode(n *yaml.Node, v any, path, base string) []error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return []error{fmt.Errorf("stages: DecodeNode needs a pointer to a struct, got %T", v)}
	}
	if n == nil {
		return nil
	}
	errs := decodeStrict(n, rv.Elem(), path)
	if len(errs) == 0 {
		resolvePaths(rv.Elem(), base)
	}
	return errs
}
