// gen.mjs writes the reference encodings that package tokenizer's tests
// compare against, into tokenizer/testdata/ref/:
//
//   pairs.txt.gz            "a b": corpus line numbers (0-based) of each pair
//   trunc.txt.gz            "a b max strategy direction" (b is -1 for a single text)
//   <name>.single.txt.gz    ids of every corpus line, one line each
//   <name>.pair.txt.gz      "ids<TAB>type ids" of every pair
//   <name>.trunc.txt.gz     "ids<TAB>type ids" of every truncated case, or "ERR message"
//   disagreements.txt.gz    cases where the two references differ: one line
//                           each, with the first differing position and the
//                           ids around it
//
// Ids are space separated. The truth is the npm package `tokenizers` (the
// Rust library Hugging Face's Python transformers uses, as a Node binding);
// @huggingface/tokenizers (pure JS) is the second reference, and every case
// where the two differ is listed in disagreements.txt.gz. Truncated cases come
// from the Rust binding only: the JS library does not truncate.
//
// Usage: PIPE_TOKENIZERS_DIR=$(../install-tokenizers.sh) node gen.mjs
import { Tokenizer as JSTokenizer } from "@huggingface/tokenizers";
import tokenizers from "tokenizers";
import { readFileSync, writeFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";

const { Tokenizer: RustTokenizer } = tokenizers;
const dir = process.env.PIPE_TOKENIZERS_DIR;
if (!dir) throw new Error("set PIPE_TOKENIZERS_DIR to the folder scripts/install-tokenizers.sh prints");
const testdata = new URL("../../tokenizer/testdata/", import.meta.url).pathname;
// Variants are installed files with some components replaced (see
// testdata/variants.json): they cover components none of the five files use.
const variants = JSON.parse(readFileSync(testdata + "variants.json", "utf8"));
const names = (process.argv[2] ?? ["bert", "llama3", "qwen3", "gemma3", "llama2", ...Object.keys(variants)].join(",")).split(",");

function tokenizerJSON(name) {
  const v = variants[name];
  const json = JSON.parse(readFileSync(`${dir}/${v ? v.base : name}/tokenizer.json`, "utf8"));
  return v ? { ...json, ...v.set } : json;
}

function readCorpus() {
  const raw = gunzipSync(readFileSync(testdata + "corpus.jsonl.gz")).toString("utf8");
  return raw.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

const corpus = readCorpus();
const N = corpus.length;
const gz = (path, lines) => writeFileSync(path, gzipSync(lines.join("\n") + "\n", { level: 9 }));

// Pairs and truncated cases draw lines of under 600 characters so that the
// committed files stay small; the single-text files cover the long lines.
const short = [...corpus.keys()].filter((i) => corpus[i].length < 600);
const pairs = [];
for (let j = 0; j < 3000; j++) pairs.push([short[(j * 7919) % short.length], short[(j * 104729 + 13) % short.length]]);
const trunc = [];
const maxes = [5, 8, 16, 33, 64, 128];
for (let j = 0; j < 2400; j++) {
  const a = short[(j * 613) % short.length];
  const single = j % 3 === 0;
  const b = single ? -1 : short[(j * 2887 + 5) % short.length];
  const strategy = single ? "longest_first" : ["longest_first", "only_first", "only_second"][j % 3 === 1 ? 0 : (j >> 1) % 3];
  trunc.push([a, b, maxes[j % maxes.length], strategy, j % 2 === 0 ? "right" : "left"]);
}
gz(testdata + "ref/pairs.txt.gz", pairs.map((p) => p.join(" ")));
gz(testdata + "ref/trunc.txt.gz", trunc.map((t) => t.join(" ")));

const disagreements = [];
const same = (x, y) => x.length === y.length && x.every((v, i) => v === y[i]);
const row = (e) => e.getIds().join(" ") + "\t" + e.getTypeIds().join(" ");

for (const name of names) {
  const text = JSON.stringify(tokenizerJSON(name));
  const rust = RustTokenizer.fromString(text);
  const js = new JSTokenizer(JSON.parse(text), {});
  // One line per case: where the ids first differ, and a few ids around.
  const note = (kind, i, r, j) => {
    let k = 0;
    while (k < r.length && k < j.length && r[k] === j[k]) k++;
    const win = (xs) => xs.slice(Math.max(0, k - 2), k + 6).join(" ");
    disagreements.push(`${name} ${kind} ${i} @${k} rust[${r.length}]: ${win(r)} | js[${j.length}]: ${win(j)}`);
  };

  const single = [];
  for (const [i, text] of corpus.entries()) {
    const ids = (await rust.encode(text, null, { addSpecialTokens: true })).getIds();
    const jsIds = js.encode(text).ids;
    if (!same(ids, jsIds)) note("single", i, ids, jsIds);
    single.push(ids.join(" "));
  }
  gz(`${testdata}ref/${name}.single.txt.gz`, single);

  const pair = [];
  for (const [j, [a, b]] of pairs.entries()) {
    const e = await rust.encode(corpus[a], corpus[b], { addSpecialTokens: true });
    const je = js.encode(corpus[a], { text_pair: corpus[b], return_token_type_ids: true });
    if (!same(e.getIds(), je.ids)) note("pair", j, e.getIds(), je.ids);
    else if (!same(e.getTypeIds(), je.token_type_ids ?? [])) note("pair-type-ids", j, e.getTypeIds(), je.token_type_ids ?? []);
    pair.push(row(e));
  }
  gz(`${testdata}ref/${name}.pair.txt.gz`, pair);

  const truncated = [];
  const t = RustTokenizer.fromString(text);
  for (const [a, b, max, strategy, direction] of trunc) {
    try {
      const rustStrategy = { longest_first: "LongestFirst", only_first: "OnlyFirst", only_second: "OnlySecond" }[strategy];
      t.setTruncation(max, { strategy: rustStrategy, direction });
      truncated.push(row(await t.encode(corpus[a], b < 0 ? null : corpus[b], { addSpecialTokens: true })));
    } catch (err) {
      truncated.push("ERR " + String(err.message ?? err).replace(/\s+/g, " "));
    }
  }
  gz(`${testdata}ref/${name}.trunc.txt.gz`, truncated);
  console.error(`${name}: ${N} single, ${pairs.length} pairs, ${trunc.length} truncated`);
}

gz(testdata + "ref/disagreements.txt.gz", [
  `# Cases where npm tokenizers (Rust, followed) and @huggingface/tokenizers (JS) differ.`, ...disagreements]);
console.error(`${disagreements.length} disagreements`);
