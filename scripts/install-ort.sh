#!/usr/bin/env bash
# install-ort.sh installs the ONNX Runtime shared library that pipe's `cpu`
# backend (package bridge/ort) loads at run time, and prints its path.
#
# The library comes from the onnxruntime-node npm package, which ships
# libonnxruntime for linux-x64, linux-arm64 and darwin-arm64. Only the one
# file for this machine is extracted, checked against a pinned SHA-256 and
# moved atomically into the user cache:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/pipe/onnxruntime/1.30.0/
#
# The script is idempotent: it prints the path and exits when
# $PIPE_ORT_LIB names an existing file or the library is already cached.
#
# PIPE_ORT_ARCH=arm64 (or x64) installs the Linux library of that
# architecture instead of this machine's, for cross-built binaries run under
# qemu-user (scripts/test-arm64.sh). A foreign architecture's library goes to
# a folder of its own, ${cache}/pipe/onnxruntime/1.30.0/linux-arm64/, so that
# it never shadows the native one that pipe finds by default, and
# PIPE_ORT_LIB is not consulted: it names the native library.
#
# Environment:
#   PIPE_ORT_LIB       an existing library to use instead (printed as is)
#   PIPE_ORT_ARCH      x64 | arm64: the Linux architecture to install for
#                      (default: this machine's)
#   PIPE_ORT_TARBALL   a local onnxruntime-node-1.30.0.tgz to extract from
#                      instead of running `npm pack` (offline installs)
#   XDG_CACHE_HOME     cache root (default: $HOME/.cache)
set -euo pipefail

readonly ORT_VERSION=1.30.0
readonly NPM_PACKAGE="onnxruntime-node@${ORT_VERSION}"

die() {
	printf 'install-ort: error: %s\n' "$1" >&2
	if [[ $# -gt 1 ]]; then
		printf 'install-ort: hint: %s\n' "$2" >&2
	fi
	exit 1
}

os="$(uname -s)"
arch="$(uname -m)"
subdir=""
case "${PIPE_ORT_ARCH:-}" in
"") ;;
x64 | amd64 | x86_64) want=x86_64 ;;
arm64 | aarch64) want=aarch64 ;;
*)
	die "PIPE_ORT_ARCH=${PIPE_ORT_ARCH} is not an architecture ${NPM_PACKAGE} ships for Linux" \
		"use PIPE_ORT_ARCH=x64 or PIPE_ORT_ARCH=arm64, or unset it for this machine's"
	;;
esac
if [[ -n "${PIPE_ORT_ARCH:-}" ]]; then
	case "$arch" in amd64) arch=x86_64 ;; arm64) arch=aarch64 ;; esac
	if [[ "$os" != Linux || "$arch" != "$want" ]]; then
		os=Linux
		arch="$want"
		case "$want" in x86_64) subdir=linux-x64 ;; aarch64) subdir=linux-arm64 ;; esac
	fi
fi

# 1. An explicit library wins (for this machine's architecture only).
if [[ -z "$subdir" && -n "${PIPE_ORT_LIB:-}" ]]; then
	if [[ -f "$PIPE_ORT_LIB" ]]; then
		printf '%s\n' "$PIPE_ORT_LIB"
		exit 0
	fi
	printf 'install-ort: warning: PIPE_ORT_LIB=%s does not exist; installing into the cache\n' "$PIPE_ORT_LIB" >&2
fi

# 2. Which file of the package this machine (or PIPE_ORT_ARCH) needs.
case "${os}/${arch}" in
Linux/x86_64 | Linux/amd64)
	member="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
	libname="libonnxruntime.so.1"
	sha256="ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"
	;;
Linux/aarch64 | Linux/arm64)
	member="package/bin/napi-v6/linux/arm64/libonnxruntime.so.1"
	libname="libonnxruntime.so.1"
	sha256="1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76"
	;;
Darwin/arm64)
	member="package/bin/napi-v6/darwin/arm64/libonnxruntime.${ORT_VERSION}.dylib"
	libname="libonnxruntime.${ORT_VERSION}.dylib"
	sha256="685d2be5dba1309c89d3a5324b7fd06a5c42f1a61bfea32d14c4cc28d072121d"
	;;
*)
	die "unsupported platform ${os}/${arch}: ${NPM_PACKAGE} ships libonnxruntime for linux-x64, linux-arm64 and darwin-arm64 only" \
		"install ONNX Runtime ${ORT_VERSION} yourself (https://github.com/microsoft/onnxruntime/releases) and set PIPE_ORT_LIB to the library's path"
	;;
esac

# shellcheck source=lib/npm-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/npm-install.sh"
root="$(cache_root)" || exit 1
dest_dir="${root}/pipe/onnxruntime/${ORT_VERSION}${subdir:+/$subdir}"
dest="${dest_dir}/${libname}"

# 3. Already installed.
if [[ -f "$dest" ]]; then
	printf '%s\n' "$dest"
	exit 0
fi

# 4. Get the package, extract the one file, verify it, move it into place.
npm_install install-ort "$NPM_PACKAGE" PIPE_ORT_TARBALL PIPE_ORT_LIB "110 MB" "$member" "$sha256" "$dest"

printf 'install-ort: installed ONNX Runtime %s (%s)\n' "$ORT_VERSION" "${member#package/bin/napi-v6/}" >&2
printf '%s\n' "$dest"
