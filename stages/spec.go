package stages

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Spec is the reference documentation of a stage type. `pipe docs` renders
// it; the loader checks keys against Fields.
type Spec struct {
	// Summary is one sentence, shown in listings.
	Summary string
	// Description is Markdown: what the stage does, its guarantees, caveats.
	Description string
	// Example is a YAML stage entry showing typical use.
	Example string
	// Fields is derived from the config struct when the type is registered.
	Fields []Field
}

// Field documents one key of a stage's `with:` block.
type Field struct {
	Name     string  // the YAML key
	Type     string  // a human name: string, integer, duration, list of string, ...
	Doc      string  // from the `doc` struct tag
	Default  string  // the default in YAML flow style; empty when none
	Required bool    // from the `required:"true"` struct tag
	Fields   []Field // keys of a nested block
}

var (
	durationType = reflect.TypeFor[Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
	pathType     = reflect.TypeFor[Path]()
	unmarshaler  = reflect.TypeFor[yaml.Unmarshaler]()
)

// fieldsOf derives the documented fields of struct type t, with defaults
// read from def (a value of type t).
func fieldsOf(t reflect.Type, def reflect.Value) ([]Field, error) {
	var out []Field
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
			sub, err := fieldsOf(sf.Type, def.Field(i))
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		doc := sf.Tag.Get("doc")
		if doc == "" {
			return nil, fmt.Errorf("field %s (%q) has no doc tag", sf.Name, name)
		}
		f := Field{
			Name:     name,
			Type:     typeName(sf.Type),
			Doc:      doc,
			Required: sf.Tag.Get("required") == "true",
			Default:  defaultString(def.Field(i)),
		}
		if st := sf.Type; st.Kind() == reflect.Struct && !isLeaf(st) {
			sub, err := fieldsOf(st, def.Field(i))
			if err != nil {
				return nil, err
			}
			f.Fields, f.Default = sub, ""
		} else if st.Kind() == reflect.Pointer && st.Elem().Kind() == reflect.Struct && !isLeaf(st) {
			sub, err := fieldsOf(st.Elem(), reflect.New(st.Elem()).Elem())
			if err != nil {
				return nil, err
			}
			f.Fields = sub
		}
		out = append(out, f)
	}
	return out, nil
}

// yamlName returns the YAML key of a struct field and whether it is inlined.
func yamlName(sf reflect.StructField) (string, bool) {
	tag := sf.Tag.Get("yaml")
	parts := strings.Split(tag, ",")
	for _, p := range parts[1:] {
		if p == "inline" {
			return "", true
		}
	}
	if parts[0] != "" {
		return parts[0], false
	}
	return strings.ToLower(sf.Name), false
}

// isLeaf reports whether t is decoded as one value rather than walked key by
// key: scalars, the duration and size types, and types with their own YAML
// decoding.
func isLeaf(t reflect.Type) bool {
	if t == durationType || t == byteSizeType || t == pathType {
		return true
	}
	if t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Map, reflect.Pointer, reflect.Array, reflect.Interface:
		return false
	}
	return true
}

func typeName(t reflect.Type) string {
	switch t {
	case durationType:
		return "duration"
	case byteSizeType:
		return "size"
	case pathType:
		return "path"
	}
	if t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler) {
		if n := t.Name(); n != "" {
			return strings.ToLower(n[:1]) + n[1:]
		}
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Key()) + " to " + typeName(t.Elem())
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Struct:
		return "object"
	case reflect.Interface:
		return "any"
	}
	return t.String()
}

func defaultString(v reflect.Value) string {
	if !v.IsValid() || v.IsZero() {
		return ""
	}
	switch x := v.Interface().(type) {
	case Duration:
		return x.String()
	case ByteSize:
		return x.String()
	case time.Duration:
		return x.String()
	}
	b, err := yaml.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	s := strings.TrimSpace(string(b))
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Map {
		// Render collections in flow style on one line.
		var n yaml.Node
		if err := n.Encode(v.Interface()); err == nil {
			n.Style = yaml.FlowStyle
			if fb, err := yaml.Marshal(&n); err == nil {
				s = strings.TrimSpace(string(fb))
			}
		}
	}
	return s
}
