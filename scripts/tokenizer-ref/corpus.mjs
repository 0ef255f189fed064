// corpus.mjs writes the tokenizer test corpus: one JSON string per line,
// gzipped, to the path given as the first argument (default
// ../../tokenizer/testdata/corpus.jsonl.gz). The text is reproducible: it
// comes from @faker-js/faker's locale data (pinned in package.json) drawn
// with fixed seeds, plus hand-written and generated edge cases. JSON lines
// let a text hold newlines, carriage returns and control characters.
import { allFakers } from "@faker-js/faker";
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const out = process.argv[2] ?? new URL("../../tokenizer/testdata/corpus.jsonl.gz", import.meta.url).pathname;

const locales = [
  "en", "de", "fr", "es", "it", "pt_BR", "pl", "cs_CZ", "tr", "vi", "sv", "hu", "ro", "lv", "hr",
  "ar", "fa", "ur", "he", "el", "ru", "uk", "mk", "mn_MN_cyrl", "hy", "ka_GE",
  "zh_CN", "zh_TW", "ja", "ko", "th", "ne", "bn_BD", "ta_IN", "dv", "ku_ckb", "yo_NG", "zu_ZA", "eo",
];

// Deterministic pseudo-random numbers for the generated cases.
let state = 0x9e3779b9;
function rand() {
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state / 0x100000000;
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

function fakerLine(f) {
  const gens = [
    () => f.person.fullName(),
    () => `${f.location.streetAddress()}, ${f.location.city()} ${f.location.zipCode()}`,
    () => f.company.name() + " — " + f.company.catchPhrase(),
    () => f.commerce.productDescription(),
    () => f.lorem.sentence(),
    () => f.lorem.paragraph(),
    () => f.word.words(8),
    () => `${f.person.firstName()} <${f.internet.email()}> ${f.phone.number()}`,
    () => f.internet.url() + "/" + f.system.filePath(),
    () => f.date.past().toISOString() + " " + f.finance.amount() + " " + f.finance.currencyCode(),
    () => f.hacker.phrase(),
    () => f.music.songName() + " / " + f.book.title(),
  ];
  for (let tries = 0; tries < 20; tries++) {
    try {
      const s = pick(gens)();
      if (s && s.trim()) return s;
    } catch {
      // Not every locale defines every generator; try another.
    }
  }
  return f.lorem.word();
}

const lines = [];
for (const [i, name] of locales.entries()) {
  const f = allFakers[name];
  f.seed(1000 + i);
  for (let n = 0; n < 200; n++) lines.push(fakerLine(f));
}

// Edge cases written by hand: the places where tokenizers usually differ.
const fixed = [
  "", " ", "  ", "\t", "\n", "\r\n", " \n ", "a", "A", "Hello, world!", "hello   world", "Hello\tworld\n\nagain",
  "don't I'LL we're THEY'VE it's she'd you'Re", "'s 's's ''", "x = 12345678901234567890;", "3.14159 1,000,000 ١٢٣ ४५६ ๑๒๓",
  "Ὀδυσσεύς ΣΊΣΥΦΟΣ σοφός ΌΣΟΣ", "ΟΔΥΣΣΕΥΣ", "İstanbul ıi İI", "straße STRASSE ǅ ǈ ﬁ ﬀ", "Ⅻ ⅻ ① ㈱ ㍿ ｈｅｌｌｏ ＡＢＣ １２３",
  "café cafe\u0301 e\u0301\u0301 A\u030A Å Å", "ñ n\u0303 ü u\u0308 ǖ", "한국어 한국어 \u1112\u1161\u11AB", "日本語のテキスト、カタカナ　全角スペース",
  "中文字符和标点：你好，世界！", "𠀀𠀁 𪚥 𰻞", "ไทยภาษา ที่ ไม่มี ช่องว่าง", "हिन्दी भाषा नमस्ते", "العربية مَرْحَبًا بالعالم", "עברית שָׁלוֹם",
  "👍 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷🇩🇪🇯🇵 ❤️ 1️⃣ 🧑🏿‍🚀", "😀😃😄😁😆😅🤣😂🙂", "\u200b\u200c\u200d\ufeff zero width", "\u0000\u0001\u0007\u001b[31mred\u001b[0m\u007f\u0085",
  "soft\u00adhyphen nbsp\u00a0here thin\u2009space ideo\u3000space", "line\u2028sep para\u2029sep", "tab\t\t\tsep   spaces     many",
  "<s> </s> <unk> [CLS] [SEP] [MASK] [PAD] [UNK] <|endoftext|> <|im_start|>user<|im_end|> <bos> <eos> <pad> <|begin_of_text|>",
  "[CLS]x[SEP]y", "a<|endoftext|>b", " <s>x</s> ", "<mask> <start_of_turn>user\nhi<end_of_turn>",
  "https://example.com/path?q=1&r=%20#frag http://user:pw@host:8080/", "mailto:someone@example.org ftp://ftp.example.net/file.tar.gz",
  "func main() {\n\tfmt.Println(\"hi\")\n}\n", "def f(x):\n    return x ** 2  # square\n\n\n", "if (a && b || !c) { x[i] += y->z; }",
  "SELECT * FROM t WHERE id IN (1,2,3) -- comment", "<div class=\"a\">&amp;&lt;&gt;</div>", "{\"key\": [1, 2.5, null, true]}",
  "    leading spaces", "trailing spaces    ", "\n\n\nnewlines\n\n\n", "\r\r\rcarriage", " \t \n \r\n mixed ", "!!!???...,,,;;;", "----====____****",
  "ŉ ǰ ΐ ΰ և ẖ ẗ ẘ ẙ ẚ", "ＡＢＣ　ａｂｃ", "…‥‧ “quoted” ‘single’ «guillemets» „low“", "¿Qué? ¡Sí!", "ÀÉÎÕÜ àéîõü",
  "\u0301leading combining", "a\u0300\u0301\u0302\u0303\u0304 stacked", "Ωmega ohm Ω K kelvin K Å angstrom Å",
  "𝐇𝐞𝐥𝐥𝐨 𝕎𝕠𝕣𝕝𝕕", "ﷺ ﷻ ﷽", "\ud83c\udff4\udb40\udc67\udb40\udc62\udb40\udc73\udb40\udc63\udb40\udc74\udb40\udc7f",
];
lines.push(...fixed);

// Generated edge cases: random mixes of scripts, spaces, digits and symbols.
const pieces = [
  "the", "The", "THE", "naïve", "über", "Ελλάδα", "Москва", "北京", "東京", "서울", "القاهرة", "ירושלים", "दिल्ली", "กรุงเทพ",
  "123", "4567", "0.5", "1e10", "#", "@", "$", "€", "£", "¥", "%", "&", "*", "(", ")", "[", "]", "{", "}", "'s", "'ll", "'", "\"",
  " ", "  ", "   ", "\t", "\n", "\r\n", "😀", "👨‍💻", "🇺🇸", "✨", "—", "–", "…", "·", "\u00a0", "\u3000", "e\u0301", "\u200d",
  "foo_bar", "camelCase", "snake_case_name", "http://a.b/c", "x86_64", "C++", "a.b.c", "U.S.A.", "e.g.", "i.e.",
];
for (let n = 0; n < 1600; n++) {
  const k = 1 + Math.floor(rand() * 24);
  let s = "";
  for (let j = 0; j < k; j++) s += pick(pieces) + (rand() < 0.6 ? " " : "");
  lines.push(s);
}
// Random code points from assorted blocks, including unassigned ones and
// lone combining marks, but never surrogates (they cannot be UTF-8).
const blocks = [[0x20, 0x7e], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x6ff], [0x900, 0x97f],
  [0xe00, 0xe7f], [0x1100, 0x11ff], [0x2000, 0x206f], [0x2100, 0x22ff], [0x3000, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3],
  [0xf900, 0xfaff], [0xfe00, 0xfe6f], [0xff00, 0xffef], [0x1f300, 0x1faff], [0x20000, 0x2a6df], [0xe0000, 0xe007f], [0x0, 0x1f]];
for (let n = 0; n < 700; n++) {
  const k = 1 + Math.floor(rand() * 40);
  let s = "";
  for (let j = 0; j < k; j++) {
    const [lo, hi] = pick(blocks);
    s += String.fromCodePoint(lo + Math.floor(rand() * (hi - lo + 1)));
  }
  lines.push(s);
}
// Very long lines: several thousand characters of mixed text.
for (let n = 0; n < 12; n++) {
  const f = allFakers[pick(locales)];
  f.seed(5000 + n);
  let s = "";
  while (s.length < 2000 + n * 500) s += fakerLine(f) + pick([" ", "  ", "\n", "\t", " 😀 ", ". "]);
  lines.push(s);
}
lines.push("a".repeat(3000), " ".repeat(2500) + "x", "ab ".repeat(1500), "1234567890".repeat(400), "😀".repeat(1200), "漢".repeat(2500));

writeFileSync(out, gzipSync(lines.map((s) => JSON.stringify(s)).join("\n") + "\n", { level: 9 }));
console.error(`corpus: ${lines.length} lines -> ${out}`);
