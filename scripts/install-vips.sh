#!/usr/bin/env bash
# install-vips.sh installs the libvips shared library that the image stage's
# native decoder (package bridge/vips) loads at run time, and prints its path.
#
# The library comes from the @img/sharp-libvips-<platform> npm packages
# (the prebuilt libvips that sharp uses: libvips, mozjpeg, libpng, libwebp
# and glib in one self-contained file with the C API exported), for
# linux-x64, linux-arm64 and darwin-arm64. Only the one file for this
# machine is extracted, checked against a pinned SHA-256 and moved
# atomically into the user cache:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/pipe/libvips/8.18.7/
#
# The script is idempotent: it prints the path and exits when
# $PIPE_VIPS_LIB names an existing file or the library is already cached.
#
# PIPE_VIPS_ARCH=arm64 (or x64) installs the Linux library of that
# architecture instead of this machine's, into a folder of its own,
# ${cache}/pipe/libvips/8.18.7/linux-arm64/, so that it never shadows the
# native one; PIPE_VIPS_LIB is not consulted then.
#
# Environment:
#   PIPE_VIPS_LIB       an existing library to use instead (printed as is)
#   PIPE_VIPS_ARCH      x64 | arm64: the Linux architecture to install for
#                       (default: this machine's)
#   PIPE_VIPS_TARBALL   a local sharp-libvips-<platform>-1.3.4.tgz to extract
#                       from instead of running `npm pack` (offline installs)
#   XDG_CACHE_HOME      cache root (default: $HOME/.cache)
set -euo pipefail

readonly VIPS_VERSION=8.18.7
# The package version sharp 0.35.5 depends on (scripts/image-bench).
readonly PKG_VERSION=1.3.4

die() {
	printf 'install-vips: error: %s\n' "$1" >&2
	if [[ $# -gt 1 ]]; then
		printf 'install-vips: hint: %s\n' "$2" >&2
	fi
	exit 1
}

os="$(uname -s)"
arch="$(uname -m)"
subdir=""
case "${PIPE_VIPS_ARCH:-}" in
"") ;;
x64 | amd64 | x86_64) want=x86_64 ;;
arm64 | aarch64) want=aarch64 ;;
*)
	die "PIPE_VIPS_ARCH=${PIPE_VIPS_ARCH} is not an architecture @img/sharp-libvips-* ships for Linux (pipe pins x64 and arm64)" \
		"use PIPE_VIPS_ARCH=x64 or PIPE_VIPS_ARCH=arm64, or unset it for this machine's"
	;;
esac
if [[ -n "${PIPE_VIPS_ARCH:-}" ]]; then
	case "$arch" in amd64) arch=x86_64 ;; arm64) arch=aarch64 ;; esac
	if [[ "$os" != Linux || "$arch" != "$want" ]]; then
		os=Linux
		arch="$want"
		case "$want" in x86_64) subdir=linux-x64 ;; aarch64) subdir=linux-arm64 ;; esac
	fi
fi

# 1. An explicit library wins (for this machine's architecture only).
if [[ -z "$subdir" && -n "${PIPE_VIPS_LIB:-}" ]]; then
	if [[ -f "$PIPE_VIPS_LIB" ]]; then
		printf '%s\n' "$PIPE_VIPS_LIB"
		exit 0
	fi
	printf 'install-vips: warning: PIPE_VIPS_LIB=%s does not exist; installing into the cache\n' "$PIPE_VIPS_LIB" >&2
fi

# 2. Which package and file this machine (or PIPE_VIPS_ARCH) needs.
case "${os}/${arch}" in
Linux/x86_64 | Linux/amd64)
	platform=linux-x64
	libname="libvips-cpp.so.${VIPS_VERSION}"
	sha256="4aa73553408c3964071728f4a231a8e86918e39bc49f1fbae75355f7ea933ea9"
	;;
Linux/aarch64 | Linux/arm64)
	platform=linux-arm64
	libname="libvips-cpp.so.${VIPS_VERSION}"
	sha256="97c2ae9a663cd3de58a34d68820994e49e0e261fddbd4616bd726a72610bbc8f"
	;;
Darwin/arm64)
	platform=darwin-arm64
	libname="libvips-cpp.${VIPS_VERSION}.dylib"
	sha256="c1a5b5633b21aeb8a229abf7d062e07e4d778c0b44ed43cd1f93362bda58c322"
	;;
*)
	die "unsupported platform ${os}/${arch}: @img/sharp-libvips-* ships libvips for linux-x64, linux-arm64 and darwin-arm64 (among others pipe does not pin)" \
		"install libvips ${VIPS_VERSION} yourself (https://www.libvips.org/install.html) and set PIPE_VIPS_LIB to libvips.so.42 (or libvips.42.dylib)"
	;;
esac
NPM_PACKAGE="@img/sharp-libvips-${platform}@${PKG_VERSION}"
member="package/lib/${libname}"

# shellcheck source=lib/npm-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/npm-install.sh"
root="$(cache_root)" || exit 1
dest_dir="${root}/pipe/libvips/${VIPS_VERSION}${subdir:+/$subdir}"
dest="${dest_dir}/${libname}"

# 3. Already installed.
if [[ -f "$dest" ]]; then
	printf '%s\n' "$dest"
	exit 0
fi

# 4. Get the package, extract the one file, verify it, move it into place.
npm_install install-vips "$NPM_PACKAGE" PIPE_VIPS_TARBALL PIPE_VIPS_LIB "8 MB" "$member" "$sha256" "$dest"

printf 'install-vips: installed libvips %s (%s from %s)\n' "$VIPS_VERSION" "$libname" "$NPM_PACKAGE" >&2
printf '%s\n' "$dest"
