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

cache_root="${XDG_CACHE_HOME:-}"
if [[ -z "$cache_root" ]]; then
	[[ -n "${HOME:-}" ]] || die "neither XDG_CACHE_HOME nor HOME is set" "set XDG_CACHE_HOME to a writable folder"
	cache_root="$HOME/.cache"
fi
dest_dir="${cache_root}/pipe/onnxruntime/${ORT_VERSION}${subdir:+/$subdir}"
dest="${dest_dir}/${libname}"

# 3. Already installed.
if [[ -f "$dest" ]]; then
	printf '%s\n' "$dest"
	exit 0
fi

file_sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	else
		die "neither sha256sum nor shasum is installed, so the library cannot be verified" \
			"install coreutils (Linux) or use the system shasum (macOS)"
	fi
}

mkdir -p "$dest_dir" || die "cannot create the cache folder ${dest_dir}" "set XDG_CACHE_HOME to a writable folder"

# Work folders: the download goes to the system temp folder; the extracted
# file lands next to its final place so that the last mv is an atomic rename.
work="$(mktemp -d "${TMPDIR:-/tmp}/pipe-ort.XXXXXX")"
stage="$(mktemp -d "${dest_dir}/.install.XXXXXX")"
cleanup() { rm -rf "$work" "$stage"; }
trap cleanup EXIT

# 4. Get the package tarball.
if [[ -n "${PIPE_ORT_TARBALL:-}" ]]; then
	[[ -f "$PIPE_ORT_TARBALL" ]] || die "PIPE_ORT_TARBALL=${PIPE_ORT_TARBALL} does not exist" \
		"unset PIPE_ORT_TARBALL to download ${NPM_PACKAGE} with npm"
	tarball="$PIPE_ORT_TARBALL"
else
	command -v npm >/dev/null 2>&1 || die "npm is not installed; it is needed to download ${NPM_PACKAGE}" \
		"install Node.js (https://nodejs.org), or download the package tarball yourself and set PIPE_ORT_TARBALL, or set PIPE_ORT_LIB to an installed libonnxruntime"
	printf 'install-ort: downloading %s (about 110 MB)...\n' "$NPM_PACKAGE" >&2
	if ! name="$(cd "$work" && npm pack "$NPM_PACKAGE" --silent 2>"$work/npm.log")"; then
		cat "$work/npm.log" >&2 || true
		die "npm pack ${NPM_PACKAGE} failed (see npm's output above)" \
			"check the network and the npm registry setting (npm config get registry), then run this script again"
	fi
	tarball="$work/$(printf '%s\n' "$name" | tail -n 1)"
	[[ -f "$tarball" ]] || die "npm pack reported ${name} but produced no such file in ${work}" \
		"run this script again; if it keeps failing, set PIPE_ORT_TARBALL to a downloaded copy"
fi

# 5. Extract the one file, verify it, move it into place.
if ! tar -xzf "$tarball" -C "$stage" "$member" 2>"$work/tar.log"; then
	cat "$work/tar.log" >&2 || true
	die "cannot extract ${member} from ${tarball}" \
		"the tarball may be truncated or not ${NPM_PACKAGE}; delete it and run this script again"
fi
got="$(file_sha256 "$stage/$member")"
if [[ "$got" != "$sha256" ]]; then
	die "${member} from ${tarball} has SHA-256 ${got}, expected ${sha256}" \
		"the download is corrupt or is not ${NPM_PACKAGE}; run this script again"
fi
chmod 0755 "$stage/$member"
mv -f "$stage/$member" "$dest"

printf 'install-ort: installed ONNX Runtime %s (%s)\n' "$ORT_VERSION" "${member#package/bin/napi-v6/}" >&2
printf '%s\n' "$dest"
