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
const fingerprintVersion = "pipe-fingerprint-v2"

// Fingerprint returns the job's fingerprint: the SHA-256, in hex, of
//
//   - the job after interpolation: its name and every stage's id, type,
//     inputs and `with:` block (values after `${VAR}` substitution, job
//     defaults, PIPE_* overrides and --set; mapping keys in sorted order, so
//     comments and key order do not count);
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
		p.fp = fingerprint(p.job, p.nodes, p.unitRows, p.pins)
	})
	return p.fp
}

func fingerprint(job *Job, nodes []*node, unitRows int64, pins *stages.FilePins) string {
	h := sha256.New()
	fpString(h, fingerprintVersion)
	fpString(h, job.Name)
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
		fpNode(h, s.With)
		fpString(h, s.OnError)
		fpInt(h, s.MaxErrors)
		fpString(h, fmt.Sprint(s.MaxErrorsPct))
		fpString(h, s.DeadLetter)
		n := byDef[s]
		if n == nil || n.entry == nil || n.conf == nil {
			continue
		}
		var paths []string
		collectPaths(reflect.ValueOf(n.conf), &paths)
		switch n.entry.Kind {
		case stages.KindSink:
			// Outputs count through the settings only.
		case stages.KindSource:
			for _, p := range paths {
				fpInputs(h, p)
			}
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
