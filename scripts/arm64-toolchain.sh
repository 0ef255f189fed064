#!/usr/bin/env bash
# arm64-toolchain.sh makes sure this (Debian) machine can cross-build pipe for
# linux/arm64 with cgo and run the result under qemu-user, installing with
# apt-get what is missing, and prints the qemu command to use:
#
#   gcc-aarch64-linux-gnu, libc6-dev-arm64-cross   the cgo cross compiler
#   libstdc++6-arm64-cross                          libonnxruntime's C++ runtime
#   qemu-user-static (or an installed qemu-user)    runs the arm64 binaries
#
# binfmt_misc is not required: callers start every binary explicitly as
# `qemu-aarch64 -L /usr/aarch64-linux-gnu ./x`, the -L sysroot giving it the
# arm64 dynamic loader and libraries. Exits 2 with the reason when something
# cannot be installed.
set -euo pipefail

sysroot=/usr/aarch64-linux-gnu
cc=aarch64-linux-gnu-gcc

die() {
	printf 'arm64-toolchain: error: %s\n' "$1" >&2
	[ $# -lt 2 ] || printf 'arm64-toolchain: hint: %s\n' "$2" >&2
	exit 2
}

find_qemu() {
	command -v qemu-aarch64 2>/dev/null || command -v qemu-aarch64-static 2>/dev/null || true
}

missing=()
command -v "$cc" >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
{ [ -f "$sysroot/lib/libc.so.6" ] && [ -f "$sysroot/include/stdio.h" ]; } || missing+=(libc6-dev-arm64-cross)
[ -f "$sysroot/lib/libstdc++.so.6" ] || missing+=(libstdc++6-arm64-cross)
[ -n "$(find_qemu)" ] || missing+=(qemu-user-static)

if [ "${#missing[@]}" -gt 0 ]; then
	echo "arm64-toolchain: installing ${missing[*]} with apt-get" >&2
	command -v apt-get >/dev/null 2>&1 ||
		die "apt-get is not available, so ${missing[*]} cannot be installed" \
			"install them (or your distribution's aarch64 cross gcc, arm64 libc and libstdc++, and qemu-user) by hand and rerun"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 ||
			die "not root and sudo is not installed, so apt-get cannot install ${missing[*]}" \
				"run as root, or install the packages by hand and rerun"
		sudo="sudo"
	fi
	export DEBIAN_FRONTEND=noninteractive
	log="$(mktemp)"
	trap 'rm -f "$log"' EXIT
	apt_install() { $sudo apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; }
	# A clean machine's package lists may be stale or absent: update once.
	if ! apt_install && ! { $sudo apt-get update >>"$log" 2>&1 && apt_install; }; then
		tail -n 20 "$log" >&2
		die "apt-get install ${missing[*]} failed (the end of its output is above)" \
			"check the network and the apt sources, or install the packages by hand and rerun"
	fi
	command -v "$cc" >/dev/null 2>&1 || die "$cc is still missing after installing gcc-aarch64-linux-gnu"
	[ -f "$sysroot/lib/libstdc++.so.6" ] || die "$sysroot/lib/libstdc++.so.6 is still missing after installing libstdc++6-arm64-cross"
	[ -n "$(find_qemu)" ] || die "neither qemu-aarch64 nor qemu-aarch64-static is on PATH after installing qemu-user-static"
fi

qemu="$(find_qemu)"
echo "arm64-toolchain: $("$cc" --version | head -n1); $("$qemu" --version | head -n1)" >&2
printf '%s\n' "$qemu"
