package text

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/tokenizer"
)

// loaded holds the tokenizers read so far, by content: the runtime builds
// the stage once per work unit, and a large tokenizer.json takes a while
// to load. A Tokenizer is safe for concurrent use.
var loaded sync.Map // "sha256/cased" -> *tokenizer.Tokenizer

// loadTokenizer reads the tokenizer at path through the job's pins, so
// that every work unit uses the content the fingerprint counted: a
// tokenizer.json, or a vocab.txt (any other name ending .txt).
func loadTokenizer(pins *stages.FilePins, path string, cased bool) (*tokenizer.Tokenizer, error) {
	data, err := pins.ReadFile(path) // a nil *FilePins reads the file as it is
	if err != nil {
		return nil, err
	}
	var key string
	if pins != nil {
		pin, err := pins.Pin(path) // pinned by ReadFile: no second read
		if err != nil {
			return nil, err
		}
		key = fmt.Sprintf("%s/%v", pin.SHA256, cased)
		if t, ok := loaded.Load(key); ok {
			return t.(*tokenizer.Tokenizer), nil
		}
	}
	var t *tokenizer.Tokenizer
	if strings.EqualFold(filepath.Ext(path), ".txt") {
		t, err = tokenizer.FromVocab(bytes.NewReader(data), tokenizer.VocabOptions{Cased: cased})
	} else {
		t, err = tokenizer.Load(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if key != "" {
		loaded.Store(key, t)
	}
	return t, nil
}
