package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/stages"
)

// fingerprintVersion changes when the fingerprint's inputs change, so that
// fingerprints of different versions never compare equal.
const fingerprintVersion = "pipe-fingerprint-v3"

// Fingerprint returns the job's fingerprint: the SHA-256, in hex, of
//
//   - the job after interpolation: its name and every stage's id, type,
//     inputs and `with:` block (values after `${VAR}` substitution, job
//     defaults, PIPE_* overrides and --set; mapping keys in sorted order, so
//     comments and key order do not count), less the keys whose config
//     field is tagged `fingerprint:"-"`: settings that do not change the
//     output bytes, such as a model stage's batch.max_rows or threads;
//   - the contents of every file a non-source, non-sink stage names through
//     a path setting (the model files; a folder such as an .mlpackage
//     counts as one hash over its files), as pinned in the job's
//     [stages.FilePins]: the stages read those files when they are built,
//     once per work unit, and a read that finds other content than the
//     pinned one fails, so the output is computed from the content
//     counted here;
//   - the name, size and modification time of every input file the sources
//     name (folders and glob patterns expanded), which is cheap even for
//     large datasets.
//
// The sinks' output folders count only through their settings. A file that
// cannot be read counts as missing. The value is computed once per
// pipeline; it is written into every sink's manifest and compared on rerun.
func (p *Pipeline) Fingerprint() string {
	p.fpOnce.Do(func() {
		p.fp = fingerprint(p.job, p.nodes, p.unitRows, p.pins, true)
		p.jobFP = fingerprint(p.job, p.nodes, p.unitRows, p.pins, false)
	})
	return p.fp
}

// JobFingerprint is [Pipeline.Fingerprint] without the input files: what
// an incremental run compares with the committed output's to know that
// the job and its models are unchanged, so that output scored earlier
// still holds for the inputs it came from.
func (p *Pipeline) JobFingerprint() string {
	p.Fingerprint()
	return p.jobFP
}

// unitFingerprint is the fingerprint a work unit's record carries. A full
// run's units carry the job's fingerprint. An incremental run's carry the
// job fingerprint, the unit's key and the stamps of its input files, so a
// unit's output is kept by later runs exactly while its job and inputs
// stay the same, and found again whatever its index among the units.
func (p *Pipeline) unitFingerprint(u stages.Unit) string {
	if !p.job.Incremental() {
		return p.Fingerprint()
	}
	h := sha256.New()
	fpString(h, "unit")
	fpString(h, p.JobFingerprint())
	fpString(h, u.Key)
	for _, s := range p.stampInputs(u) {
		fpString(h, s.Path)
		fpInt(h, s.Size)
		fpString(h, s.Version)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fingerprint hashes the job; withInputs adds the stamps of the files the
// sources read.
func fingerprint(job *Job, nodes []*node, unitRows int64, pins *stages.FilePins, withInputs bool) string {
	h := sha256.New()
	fpString(h, fingerprintVersion)
	fpString(h, job.Name)
	if job.Incremental() {
		// Full and incremental output of one job are not interchangeable:
		// only the latter records what each unit read.
		fpString(h, job.Mode)
	}
	// The unit size decides the output files' names and contents.
	fpInt(h, unitRows)
	byDef := make(map[*StageDef]*node, len(nodes))
	for _, n := range nodes {
		byDef[n.def] = n
	}
	for _, s := range job.Stages {
		fpString(h, "stage")
		fpString(h, s.ID)
		fpString(h, s.Type)
		fpInt(h, int64(len(s.Inputs)))
		for _, in := range s.Inputs {
			fpString(h, in)
		}
		n := byDef[s]
		if n != nil && n.conf != nil {
			fpNode(h, withoutUnfingerprinted(s.With, reflect.TypeOf(n.conf)))
		} else {
			fpNode(h, s.With)
		}
		fpString(h, s.OnError)
		fpInt(h, s.MaxErrors)
		fpString(h, fmt.Sprint(s.MaxErrorsPct))
		fpString(h, s.DeadLetter)
		if n == nil || n.entry == nil || n.conf == nil {
			continue
		}
		var paths []string
		collectPaths(reflect.ValueOf(n.conf), &paths)
		switch n.entry.Kind {
		case stages.KindSink:
			// Outputs count through the settings only.
		case stages.KindSource:
			if !withInputs {
				continue
			}
			for _, p := range paths {
				fpInputs(h, p)
			}
			fpObjects(h, n.stage)
		default:
			for _, p := range paths {
				fpContents(h, p, pins)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fpString writes a length-prefixed string, so that concatenations cannot
// collide.
func fpString(h hash.Hash, s string) {
	fpInt(h, int64(len(s)))
	io.WriteString(h, s)
}

func fpInt(h hash.Hash, v int64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(v))
	h.Write(b[:])
}

// fpNode writes a canonical form of a YAML node: scalars by value, lists in
// order, mappings sorted by key. Comments and styles do not count.
func fpNode(h hash.Hash, n *yaml.Node) {
	if n == nil {
		fpString(h, "~nil")
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			fpNode(h, c)
		}
	case yaml.ScalarNode:
		fpString(h, "s"+n.ShortTag())
		fpString(h, n.Value)
	case yaml.SequenceNode:
		fpString(h, "l")
		fpInt(h, int64(len(n.Content)))
		for _, c := range n.Content {
			fpNode(h, c)
		}
	case yaml.MappingNode:
		idx := make([]int, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			idx = append(idx, i)
		}
		slices.SortFunc(idx, func(a, b int) int { return strings.Compare(n.Content[a].Value, n.Content[b].Value) })
		fpString(h, "m")
		fpInt(h, int64(len(idx)))
		for _, i := range idx {
			fpString(h, n.Content[i].Value)
			fpNode(h, n.Content[i+1])
		}
	case yaml.AliasNode:
		fpNode(h, n.Alias)
	}
}

// withoutUnfingerprinted returns the `with:` node n less the keys whose
// field of config type t (a struct, or a pointer to one) is tagged
// `fingerprint:"-"`, at any depth of nested blocks. n itself is not changed.
func withoutUnfingerprinted(n *yaml.Node, t reflect.Type) *yaml.Node {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
		return n
	}
	out := *n
	out.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := fieldByKey(t, k.Value)
		if ok && f.Tag.Get("fingerprint") == "-" {
			continue
		}
		if ok {
			kept := withoutUnfingerprinted(v, f.Type)
			if kept.Kind == yaml.MappingNode && len(kept.Content) == 0 && len(v.Content) > 0 {
				continue // a block holding only such keys counts as absent
			}
			v = kept
		}
		out.Content = append(out.Content, k, v)
	}
	return &out
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// fieldByKey finds the field of struct t that the YAML key decodes into,
// looking into inlined structs.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		parts := strings.Split(f.Tag.Get("yaml"), ",")
		if slices.Contains(parts[1:], "inline") && f.Type.Kind() == reflect.Struct {
			if g, ok := fieldByKey(f.Type, key); ok {
				return g, true
			}
			continue
		}
		name := parts[0]
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

var pathType = reflect.TypeFor[stages.Path]()

// collectPaths appends every non-empty [stages.Path] value reachable from v
// (struct fields, pointers, slices, arrays, map values) in a stable order.
func collectPaths(v reflect.Value, out *[]string) {
	if !v.IsValid() {
		return
	}
	if v.Type() == pathType {
		if s := v.String(); s != "" {
			*out = append(*out, s)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			collectPaths(v.Elem(), out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			collectPaths(v.Field(i), out)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			collectPaths(v.Index(i), out)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		for _, k := range keys {
			collectPaths(v.MapIndex(k), out)
		}
	}
}

// fpInputs writes the name, size and modification time of every file that
// path names: a file, every file under a folder, or a glob's matches.
func fpInputs(h hash.Hash, path string) {
	fpString(h, "in")
	fpString(h, path)
	matches := []string{path}
	if strings.ContainsAny(path, "*?[") {
		if m, err := filepath.Glob(path); err == nil {
			matches = m
		}
	}
	for _, m := range matches {
		_ = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			fpString(h, p)
			fpInt(h, fi.Size())
			fpInt(h, fi.ModTime().UnixNano())
			return nil
		})
	}
}

// fpObjects writes the URL, size and ETag of every object the source st
// reads (s3:// inputs, which fpInputs cannot stat).
func fpObjects(h hash.Hash, st stages.Stage) {
	v, ok := st.(stages.ObjectVersioner)
	if !ok {
		return
	}
	for _, o := range v.ObjectVersions() {
		fpString(h, "object")
		fpString(h, o.URL)
		fpInt(h, o.Size)
		fpString(h, o.ETag)
	}
}

// fpContents writes the pinned SHA-256 of the file or folder path names.
// A file counts as its path and hash written twice over (the form of
// earlier versions, which walked the path file by file); a file that
// cannot be read counts as missing.
func fpContents(h hash.Hash, path string, pins *stages.FilePins) {
	fpString(h, "file")
	fpString(h, path)
	pin, err := pins.Pin(path)
	if err != nil {
		return
	}
	if pin.Dir {
		fpString(h, "dir")
	}
	fpString(h, path)
	fpString(h, pin.SHA256)
}
