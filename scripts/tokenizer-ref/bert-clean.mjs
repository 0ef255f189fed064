// bert-clean.mjs asks Hugging Face's Rust library (npm tokenizers) which
// code points BertNormalizer's clean_text removes (R) or turns into a space
// (S); the others are kept. It encodes "a" + c + "a" for every code point c
// with a WordPiece vocabulary of "a" and "aa": "aa" means removed, "a", "a"
// means white space, [UNK] means kept. package tokenizer's isOther follows
// the result (for example: unassigned code points are kept).
//
// Usage: node bert-clean.mjs > removed.txt
import tokenizers from "tokenizers";
const j = {version:"1.0", added_tokens:[], normalizer:{type:"BertNormalizer",clean_text:true,handle_chinese_chars:false,strip_accents:false,lowercase:false},
  pre_tokenizer:{type:"WhitespaceSplit"}, post_processor:null, decoder:null,
  model:{type:"WordPiece", unk_token:"[UNK]", continuing_subword_prefix:"##", max_input_chars_per_word:100, vocab:{"[UNK]":0,"a":1,"aa":2}}};
const t = tokenizers.Tokenizer.fromString(JSON.stringify(j));
const out = [];
const cps = [];
for (let c = 0; c <= 0x10ffff; c++) { if (c >= 0xd800 && c <= 0xdfff) continue; cps.push(c); }
const B = 20000;
for (let i = 0; i < cps.length; i += B) {
  const batch = cps.slice(i, i + B);
  const encs = await t.encodeBatch(batch.map((c) => "a" + String.fromCodePoint(c) + "a"));
  encs.forEach((e, k) => { const ids = e.getIds().join(","); const cls = ids === "2" ? "R" : ids === "1,1" ? "S" : ids === "0" ? "K" : "?" + ids; if (cls !== "K") out.push(batch[k].toString(16) + " " + cls); });
}
console.log(out.join("\n"));
