package stages

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// ErrUnknownType is returned by [Registry.Lookup] for a type name that no
// stage registered.
var ErrUnknownType = errors.New("unknown stage type")

// Type describes a stage type to register: its YAML name, kind, reference
// documentation, defaults and constructor. C is the stage's config struct:
// its exported fields carry `yaml` tags naming the keys and `doc` tags
// documenting them, and `required:"true"` where the key must be given.
type Type[C any] struct {
	Name string
	Kind Kind
	Spec Spec
	// Defaults returns a config holding the default of every key. Nil means
	// the zero value.
	Defaults func() C
	// New builds the stage from a decoded config. The returned stage must
	// implement the interface of Kind (Source, Transform, Operator or Sink).
	New func(conf C, env *Env) (Stage, error)
	// MinInputs and MaxInputs bound the length of the stage's `inputs` list
	// for operators and sinks (0 means 1; MaxInputs -1 means unbounded).
	// Sources take none and transforms exactly one, whatever these say.
	MinInputs, MaxInputs int
	// RejectsRows is set by operators that isolate the rows they cannot
	// process and hand them to [Env.Reject], so that the job may set
	// on_error: skip or dead_letter on them. Transforms need not set it:
	// the runtime isolates their rows itself.
	RejectsRows bool
	// NeedsExecutor is set by stage types that run models: the runtime
	// creates the job's executor when one of its stages needs it and
	// passes it in [Env.Executor] (nil for other types).
	NeedsExecutor bool
	// EnvVars are the PIPE_* variables that override a key of every stage
	// of this type in a job (PIPE_BACKENDS sets each model stage's
	// `backends`); `pipe docs` and `pipe validate --explain` list them.
	EnvVars []EnvVar
}

// EnvVar is an environment variable that overrides one config key of
// every stage of a type.
type EnvVar struct {
	// Name is the variable, PIPE_ and upper case.
	Name string
	// Key is the dotted config key it sets, as in `with:` ("batch.max_rows").
	Key string
	// Doc says what it sets.
	Doc string
}

// Entry is a registered stage type with its config type erased.
type Entry struct {
	Name string
	Kind Kind
	Spec Spec
	// MinInputs and MaxInputs bound the number of inputs (MaxInputs -1: no bound).
	MinInputs, MaxInputs int
	// RejectsRows: the stage accepts on_error skip and dead_letter.
	RejectsRows bool
	// NeedsExecutor: the stage runs models through [Env.Executor].
	NeedsExecutor bool
	// EnvVars: the PIPE_* variables overriding the type's keys.
	EnvVars []EnvVar

	confType reflect.Type
	defaults func() any
	build    func(conf any, env *Env) (Stage, error)
}

// Decode decodes a `with:` block into a fresh config of the entry's type,
// starting from its defaults. A nil node yields the defaults. Relative paths
// (fields of type [Path]) are resolved against base. All problems found are
// returned, each a [*FieldError].
func (e *Entry) Decode(node *yaml.Node, base string) (any, []error) {
	conf := e.defaults()
	v := reflect.ValueOf(conf) // pointer to the struct
	if node == nil {
		if errs := checkRequired(v.Elem(), nil, "with"); len(errs) > 0 {
			return nil, errs
		}
		resolvePaths(v.Elem(), base)
		return conf, nil
	}
	errs := decodeStrict(node, v.Elem(), "with")
	if len(errs) > 0 {
		return nil, errs
	}
	resolvePaths(v.Elem(), base)
	return conf, nil
}

// Defaults returns a pointer to a config holding the entry's defaults.
func (e *Entry) Defaults() any { return e.defaults() }

// Build constructs the stage from a config returned by [Entry.Decode] and
// checks that it implements the interface of the entry's kind.
func (e *Entry) Build(conf any, env *Env) (Stage, error) {
	if reflect.TypeOf(conf) != reflect.PointerTo(e.confType) {
		return nil, fmt.Errorf("stage type %q: config of type %T, want *%v", e.Name, conf, e.confType)
	}
	s, err := e.build(conf, env)
	if err != nil {
		return nil, err
	}
	var ok bool
	switch e.Kind {
	case KindSource:
		_, ok = s.(Source)
	case KindTransform:
		_, ok = s.(Transform)
	case KindOperator:
		_, ok = s.(Operator)
	case KindSink:
		_, ok = s.(Sink)
	}
	if !ok {
		_ = s.Close()
		return nil, fmt.Errorf("stage type %q: %T does not implement the %s interface", e.Name, s, e.Kind)
	}
	return s, nil
}

// Registry maps stage type names to entries. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	entries map[string]*Entry
}

// NewRegistry returns an empty registry, for tests and for programs that
// embed pipe with their own set of stages.
func NewRegistry() *Registry { return &Registry{entries: map[string]*Entry{}} }

var defaultRegistry = NewRegistry()

// Default returns the registry that stage packages register into from init.
func Default() *Registry { return defaultRegistry }

// Register adds a stage type to r. It fails on an empty or duplicate name, a
// missing constructor, or a config type that is not a struct.
func Register[C any](r *Registry, t Type[C]) error {
	if t.Name == "" {
		return errors.New("stages: register: empty type name")
	}
	if t.New == nil {
		return fmt.Errorf("stages: register %q: nil constructor", t.Name)
	}
	ct := reflect.TypeFor[C]()
	if ct.Kind() != reflect.Struct {
		return fmt.Errorf("stages: register %q: config type %v is not a struct", t.Name, ct)
	}
	if t.Kind < KindSource || t.Kind > KindSink {
		return fmt.Errorf("stages: register %q: invalid kind %d", t.Name, t.Kind)
	}
	defaults := t.Defaults
	e := &Entry{
		Name:          t.Name,
		Kind:          t.Kind,
		Spec:          t.Spec,
		confType:      ct,
		MinInputs:     t.MinInputs,
		RejectsRows:   t.RejectsRows || t.Kind == KindTransform,
		MaxInputs:     t.MaxInputs,
		NeedsExecutor: t.NeedsExecutor,
		EnvVars:       t.EnvVars,
		defaults: func() any {
			c := new(C)
			if defaults != nil {
				*c = defaults()
			}
			return c
		},
		build: func(conf any, env *Env) (Stage, error) { return t.New(*conf.(*C), env) },
	}
	switch t.Kind {
	case KindSource:
		e.MinInputs, e.MaxInputs = 0, 0
	case KindTransform:
		e.MinInputs, e.MaxInputs = 1, 1
	default:
		if e.MinInputs == 0 {
			e.MinInputs = 1
		}
		if e.MaxInputs == 0 {
			e.MaxInputs = 1
		}
	}
	fields, err := fieldsOf(ct, reflect.ValueOf(e.defaults()).Elem())
	if err != nil {
		return fmt.Errorf("stages: register %q: %w", t.Name, err)
	}
	e.Spec.Fields = fields
	if err := checkEnvVars(t.EnvVars, fields); err != nil {
		return fmt.Errorf("stages: register %q: %w", t.Name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.entries[t.Name]; dup {
		return fmt.Errorf("stages: register %q: duplicate type name", t.Name)
	}
	r.entries[t.Name] = e
	return nil
}

// MustRegister registers t into the default registry and panics on error.
// Stage packages call it from init: a duplicate name is a programming error.
func MustRegister[C any](t Type[C]) {
	if err := Register(defaultRegistry, t); err != nil {
		panic(err)
	}
}

// Lookup returns the entry registered under name. For an unknown name the
// error wraps [ErrUnknownType], lists the known names and suggests the
// nearest one.
func (r *Registry) Lookup(name string) (*Entry, error) {
	r.mu.RLock()
	e, ok := r.entries[name]
	r.mu.RUnlock()
	if ok {
		return e, nil
	}
	names := r.Names()
	msg := fmt.Sprintf("%v %q", ErrUnknownType, name)
	if s := Nearest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return nil, &unknownTypeError{msg: msg + "; known types: " + joinNames(names)}
}

type unknownTypeError struct{ msg string }

func (e *unknownTypeError) Error() string { return e.msg }
func (e *unknownTypeError) Unwrap() error { return ErrUnknownType }

// Names returns the registered type names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.entries))
	for n := range r.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Entries returns the registered entries sorted by kind, then name.
func (r *Registry) Entries() []*Entry {
	r.mu.RLock()
	out := make([]*Entry, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// RegisterEntry adds an entry taken from another registry (for example the
// default one) to r, so that a registry of one's own can offer built-in
// types beside custom ones.
func RegisterEntry(r *Registry, e *Entry) error {
	if e == nil || e.Name == "" {
		return errors.New("stages: register entry: empty entry")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.entries[e.Name]; dup {
		return fmt.Errorf("stages: register %q: duplicate type name", e.Name)
	}
	r.entries[e.Name] = e
	return nil
}

// checkEnvVars checks that each variable is named PIPE_* and sets a key
// of the config.
func checkEnvVars(vars []EnvVar, fields []Field) error {
	for _, v := range vars {
		if !strings.HasPrefix(v.Name, "PIPE_") || strings.ToUpper(v.Name) != v.Name {
			return fmt.Errorf("variable %q: must be PIPE_ and upper case", v.Name)
		}
		if !hasKey(fields, strings.Split(v.Key, ".")) {
			return fmt.Errorf("variable %s: no config key %q", v.Name, v.Key)
		}
	}
	return nil
}

// hasKey reports whether the dotted path names a field.
func hasKey(fields []Field, path []string) bool {
	for _, f := range fields {
		if f.Name != path[0] {
			continue
		}
		return len(path) == 1 || hasKey(f.Fields, path[1:])
	}
	return false
}
