// bench.mjs measures @huggingface/tokenizers (pure JS) on the tokenizer test
// corpus: every line encoded one at a time, single-threaded, special tokens
// added. It prints one line per tokenizer: "name tokens seconds tokens/s".
// A first pass warms the JIT and the library's caches and is not timed; the
// Go benchmark (go test -bench Encode ./tokenizer) likewise reuses its
// loaded tokenizer across passes.
//
// Usage: PIPE_TOKENIZERS_DIR=$(../install-tokenizers.sh) node bench.mjs [names] [passes]
import { Tokenizer } from "@huggingface/tokenizers";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

const dir = process.env.PIPE_TOKENIZERS_DIR;
if (!dir) throw new Error("set PIPE_TOKENIZERS_DIR to the folder scripts/install-tokenizers.sh prints");
const names = (process.argv[2] ?? "bert,llama3,qwen3,gemma3,llama2").split(",");
const passes = Number(process.argv[3] ?? 3);
const corpusPath = new URL("../../tokenizer/testdata/corpus.jsonl.gz", import.meta.url).pathname;
const corpus = gunzipSync(readFileSync(corpusPath)).toString("utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));

for (const name of names) {
  const tk = new Tokenizer(JSON.parse(readFileSync(`${dir}/${name}/tokenizer.json`, "utf8")), {});
  for (const s of corpus) tk.encode(s);
  let tokens = 0;
  const t0 = process.hrtime.bigint();
  for (let p = 0; p < passes; p++) for (const s of corpus) tokens += tk.encode(s).ids.length;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${name} ${tokens} ${secs.toFixed(3)} ${Math.round(tokens / secs)}`);
}
