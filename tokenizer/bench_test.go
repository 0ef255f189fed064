package tokenizer

import "testing"

// BenchmarkEncode encodes the whole corpus once per iteration, one text at
// a time into reused buffers, and reports tokens per second.
// scripts/bench-tokenizer.sh compares it with Hugging Face's JS library.
func BenchmarkEncode(b *testing.B) {
	texts := corpus(b)
	for _, name := range referenceNames {
		b.Run(name, func(b *testing.B) {
			tk := loadReference(b, name)
			var e Encoding
			tokens := 0
			for b.Loop() {
				for _, s := range texts {
					e.IDs, e.TypeIDs, e.Mask = e.IDs[:0], e.TypeIDs[:0], e.Mask[:0]
					if err := tk.Append(&e, s, Options{}); err != nil {
						b.Fatal(err)
					}
					tokens += len(e.IDs)
				}
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
