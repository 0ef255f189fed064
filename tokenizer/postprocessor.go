package tokenizer

import (
	"encoding/json"
	"strings"
)

// templatePart is one item of a post-processing template: a special token
// (seq < 0, with its ids) or sequence A (seq 0) or B (seq 1).
type templatePart struct {
	seq    int8
	typeID int32
	ids    []int32
}

// template is what a post-processor adds around one text or a pair.
type template struct {
	single, pair []templatePart
	custom       bool // set by a template-making post-processor
}

// defaultTemplate is what Hugging Face does without a post-processor (or
// with the ByteLevel one, which only moves offsets): type 0 for the first
// text, 1 for the second, no special tokens.
var defaultTemplate = template{
	single: []templatePart{{seq: 0}},
	pair:   []templatePart{{seq: 0}, {seq: 1, typeID: 1}},
}

// added is the number of special tokens the template adds.
func (t *template) added(pair bool) int {
	parts := t.single
	if pair {
		parts = t.pair
	}
	n := 0
	for _, p := range parts {
		n += len(p.ids)
	}
	return n
}

func buildPostProcessor(raw json.RawMessage) (template, error) {
	c, err := decodeComponent(raw, "post_processor")
	if err != nil || c == nil {
		return defaultTemplate, err
	}
	switch c.Type {
	case "ByteLevel":
		return defaultTemplate, nil
	case "Sequence":
		out, found := defaultTemplate, false
		for _, r := range c.Processors {
			t, err := buildPostProcessor(r)
			if err != nil {
				return t, err
			}
			if t.custom {
				if found {
					return t, &UnsupportedError{Component: "post_processor", Type: "Sequence of several templates"}
				}
				out, found = t, true
			}
		}
		return out, nil
	case "TemplateProcessing":
		single, err := templateParts(c.Single, c.SpecialTokens)
		if err != nil {
			return template{}, err
		}
		pair, err := templateParts(c.Pair, c.SpecialTokens)
		return template{single: single, pair: pair, custom: true}, err
	case "BertProcessing", "RobertaProcessing":
		sep, err := processorToken(c.Sep)
		if err != nil {
			return template{}, err
		}
		cls, err := processorToken(c.Cls)
		if err != nil {
			return template{}, err
		}
		t := template{
			single: []templatePart{{seq: -1, ids: cls}, {seq: 0}, {seq: -1, ids: sep}},
			pair:   []templatePart{{seq: -1, ids: cls}, {seq: 0}, {seq: -1, ids: sep}, {seq: 1, typeID: 1}, {seq: -1, typeID: 1, ids: sep}},
			custom: true,
		}
		if c.Type == "RobertaProcessing" {
			// <s> A </s> </s> B </s>, every type id 0.
			t.pair = []templatePart{{seq: -1, ids: cls}, {seq: 0}, {seq: -1, ids: sep}, {seq: -1, ids: sep}, {seq: 1}, {seq: -1, ids: sep}}
		}
		return t, nil
	}
	return template{}, &UnsupportedError{Component: "post_processor", Type: c.Type}
}

// processorToken reads BertProcessing's ["[SEP]", 102].
func processorToken(raw []json.RawMessage) ([]int32, error) {
	if len(raw) != 2 {
		return nil, formatErrorf("post_processor token must be [token, id]")
	}
	var id int32
	if err := json.Unmarshal(raw[1], &id); err != nil {
		return nil, formatErrorf("post_processor token id: %v", err)
	}
	return []int32{id}, nil
}

func templateParts(items []templateItemJSON, special map[string]specialTokenJSON) ([]templatePart, error) {
	var parts []templatePart
	for _, it := range items {
		switch {
		case it.Sequence != nil:
			seq := int8(0)
			if strings.EqualFold(it.Sequence.ID, "B") {
				seq = 1
			}
			parts = append(parts, templatePart{seq: seq, typeID: it.Sequence.TypeID})
		case it.SpecialToken != nil:
			st, ok := special[it.SpecialToken.ID]
			if !ok {
				return nil, formatErrorf("template uses special token %q that special_tokens does not define", it.SpecialToken.ID)
			}
			parts = append(parts, templatePart{seq: -1, typeID: it.SpecialToken.TypeID, ids: st.IDs})
		default:
			return nil, formatErrorf("template item is neither a Sequence nor a SpecialToken")
		}
	}
	return parts, nil
}
