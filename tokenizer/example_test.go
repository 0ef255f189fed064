package tokenizer_test

import (
	"fmt"
	"strings"

	"github.com/pipe-ml/pipe/tokenizer"
)

func Example() {
	vocab := "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n##s\n"
	tk, err := tokenizer.FromVocab(strings.NewReader(vocab), tokenizer.VocabOptions{})
	if err != nil {
		panic(err)
	}
	enc := tk.NewEncoder() // one per worker goroutine
	var e tokenizer.Encoding
	opts := tokenizer.Options{Truncation: tokenizer.Truncation{MaxLength: 6}, Tokens: true}
	if err := enc.AppendPair(&e, "Hello worlds", "hello", opts); err != nil {
		panic(err)
	}
	pad, _ := tk.PadID()
	fmt.Println(e.Tokens)
	fmt.Println(e.IDs, e.TypeIDs, e.Mask, pad)
	// Output:
	// [[CLS] hello world [SEP] hello [SEP]]
	// [2 4 5 3 4 3] [0 0 0 0 1 1] [1 1 1 1 1 1] 0
}
