#!/usr/bin/env bash
# bench-tokenizer.sh measures package tokenizer's single-threaded speed
# (tokens per second over tokenizer/testdata's corpus) against Hugging
# Face's pure-JS @huggingface/tokenizers on the same files and texts, and
# prints the ratio for each tokenizer.
#
#   scripts/bench-tokenizer.sh [names] [passes]    (default: all five, 3 passes)
#
# It installs the tokenizer files (scripts/install-tokenizers.sh) and the
# pinned JS packages of scripts/tokenizer-ref (npm ci) when missing.
set -euo pipefail

die() {
	printf 'bench-tokenizer: error: %s\n' "$1" >&2
	exit 1
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
names="${1:-bert,llama3,qwen3,gemma3,llama2}"
passes="${2:-3}"
GO="${GO:-go}"

dir="$("$root/scripts/install-tokenizers.sh")" || die "cannot install the tokenizer files"
ref="$root/scripts/tokenizer-ref"
if [[ ! -d "$ref/node_modules/@huggingface/tokenizers" ]]; then
	command -v npm >/dev/null 2>&1 || die "npm is needed to install scripts/tokenizer-ref's packages"
	(cd "$ref" && npm ci --no-audit --no-fund >&2) || die "npm ci in scripts/tokenizer-ref failed"
fi

pattern="^BenchmarkEncode/($(tr ',' '|' <<<"$names"))\$"
go_out="$(cd "$root" && PIPE_TOKENIZERS_DIR="$dir" GOMAXPROCS=1 "$GO" test -run '^$' \
	-bench "$pattern" -benchtime="${passes}x" ./tokenizer)" || die "go test -bench failed: $go_out"
js_out="$(cd "$ref" && PIPE_TOKENIZERS_DIR="$dir" node bench.mjs "$names" "$passes")" || die "node bench.mjs failed"

printf '%-8s %14s %14s %7s\n' tokenizer "go tokens/s" "js tokens/s" ratio
IFS=',' read -ra list <<<"$names"
for name in "${list[@]}"; do
	g="$(awk -v n="BenchmarkEncode/$name" '$1 ~ "^"n"(-[0-9]+)?$" { for (i = 1; i < NF; i++) if ($(i+1) == "tokens/s") print $i }' <<<"$go_out")"
	j="$(awk -v n="$name" '$1 == n { print $4 }' <<<"$js_out")"
	[[ -n "$g" && -n "$j" ]] || die "no figure for ${name} (go: '${g}', js: '${j}')"
	printf '%-8s %14.0f %14.0f %6.1fx\n' "$name" "$g" "$j" "$(awk -v g="$g" -v j="$j" 'BEGIN { print g / j }')"
done
