package source

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// referenceKeys decodes one line with encoding/json: its keys in order of
// first appearance, or ok false when it is not a JSON object.
func referenceKeys(line []byte) (keys []string, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil || m == nil {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, _ := t.(string)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, false
		}
	}
	return keys, true
}

// FuzzJSONLInfer: schema inference accepts a line exactly when
// encoding/json reads it as an object (and its keys are valid UTF-8), and
// finds the same keys in the same order.
func FuzzJSONLInfer(f *testing.F) {
	for _, s := range []string{`{"a": 1, "b": "x", "a": [1, 2]}`, `{}`, `{"k": {"n": [1, {"m": null}]}}`,
		`{"a\u00e9": "2024-01-02T03:04:05Z"}`, `[1]`, `{"a": 1,}`, "{\"\xff\": 1}", `{"a": "\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || bytes.IndexByte(line, '\n') >= 0 {
			return
		}
		in := newJSONInfer()
		err := in.object(line)
		want, ok := referenceKeys(line)
		if ok {
			for _, k := range want {
				ok = ok && utf8.ValidString(k)
			}
			// encoding/json replaces invalid UTF-8 in keys; the raw
			// bytes tell.
			ok = ok && utf8.Valid(line)
		}
		if ok != (err == nil) {
			if err == nil && !utf8.Valid(line) {
				return // invalid UTF-8 in a value, not a key: inference types it as text
			}
			t.Fatalf("%q: inference error %v, encoding/json reads an object: %v", line, err, ok)
		}
		if err != nil {
			return
		}
		if len(in.order) != len(want) {
			t.Fatalf("%q: %d keys, want %d", line, len(in.order), len(want))
		}
		for i, c := range in.order {
			if c.name != want[i] {
				t.Fatalf("%q: key %d is %q, want %q", line, i, c.name, want[i])
			}
		}
	})
}
