#!/usr/bin/env bash
# test-arm64.sh cross-builds the test binaries of the packages that call
# ONNX Runtime for linux/arm64 with cgo, and runs them under qemu-user with
# the linux-arm64 library of the same onnxruntime-node package that the
# native suite uses. It checks what a native amd64 run cannot: that the cgo
# bridge compiles for arm64 and that the arm64 ONNX Runtime loads and
# computes the same results as the pure-Go reference (internal/onnxref).
#
# scripts/arm64-toolchain.sh installs what it needs when missing (the Debian
# aarch64 cross gcc, arm64 libc and libstdc++, qemu-user-static); binfmt_misc
# is not required, every binary is started as
# `qemu-aarch64 -L /usr/aarch64-linux-gnu x.test`.
#
# The race detector is not used: a -race arm64 binary builds, but its
# ThreadSanitizer runtime aborts under qemu-user ("unsupported VMA range,
# found 39, supported 48": qemu's guest address space is smaller than what
# TSan's arm64 layout needs). The native suite (make test) runs these same
# tests with -race.
#
# Usage: scripts/test-arm64.sh [./pkg ...]   (default: the three below)
# Environment:
#   GO                 the go command (default: go)
#   ARM64_TESTTIMEOUT  per-binary -test.timeout (default: 6m)
#   ARM64_RUN_<name>   a -test.run pattern for the package whose directory's
#                      last element is <name> (e.g. ARM64_RUN_ort='Session')
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
GO=${GO:-go}
timeout=${ARM64_TESTTIMEOUT:-6m}
sysroot=/usr/aarch64-linux-gnu
cc=aarch64-linux-gnu-gcc

# The packages whose tests load ONNX Runtime: the cgo bridge itself, the
# executor (sessions, warm-up, canaries) and the model stage (batching,
# padding, isolation of bad rows) on top of it.
if [ "$#" -gt 0 ]; then
	pkgs=("$@")
else
	pkgs=(./bridge/ort ./executor ./stages/model)
fi

# -run patterns for tests that qemu makes too slow to be worth running; none
# today: every test of the three packages finishes within the timeout.
declare -A run_filter=()

die() {
	printf 'test-arm64: error: %s\n' "$1" >&2
	exit 2
}

# 1. The cross toolchain and qemu.
qemu="$(scripts/arm64-toolchain.sh)"

# 2. The linux-arm64 ONNX Runtime, into its own cache folder (checksum-checked).
lib="$(env -u PIPE_ORT_LIB PIPE_ORT_ARCH=arm64 scripts/install-ort.sh)"
echo "test-arm64: onnxruntime $lib"

# 3. Cross-build every test binary in one go command, so that it shares the
# arm64 builds of the common dependencies between packages.
work="$(mktemp -d "${TMPDIR:-/tmp}/pipe-arm64.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
GOOS=linux GOARCH=arm64 CGO_ENABLED=1 CC="$cc" "$GO" test -c -o "$work/" "${pkgs[@]}"
echo "test-arm64: built ${#pkgs[@]} test binaries in $((SECONDS - start))s"

# 4. Run each binary in its package's folder (tests read testdata relative to
# it). A binary that is not arm64 would mean the cross build silently fell
# back to the host: refuse it rather than report a native run as arm64.
failed=0
for pkg in "${pkgs[@]}"; do
	name="$(basename "$pkg")"
	bin="$work/$name.test"
	[ -f "$bin" ] || die "go test -c wrote no $name.test for $pkg"
	machine="$(LC_ALL=C aarch64-linux-gnu-readelf -h "$bin" 2>/dev/null | sed -n 's/^ *Machine: *//p')"
	[ "$machine" = "AArch64" ] || die "$bin is built for '${machine:-unknown}', not AArch64"
	args=(-test.timeout "$timeout" -test.shuffle on)
	var="ARM64_RUN_$name"
	pattern="${!var:-${run_filter[$name]:-}}"
	[ -z "$pattern" ] || args+=(-test.run "$pattern")
	echo "test-arm64: run $pkg under qemu${pattern:+ (-run $pattern)}"
	# -test.v only to count what ran and list what skipped; the full log is
	# printed when the package fails. PIPE_TEST_NO_ORT is dropped so that a
	# library that does not load fails the run instead of skipping it.
	log="$work/$name.log"
	start=$SECONDS
	if (cd "$pkg" && env -u PIPE_TEST_NO_ORT PIPE_ORT_LIB="$lib" "$qemu" -L "$sysroot" "$bin" -test.v "${args[@]}") >"$log" 2>&1; then
		grep -E '^ *--- SKIP' -A1 "$log" || true
		echo "ok    $pkg (arm64, qemu) $((SECONDS - start))s:" \
			"$(grep -cE '^ *--- PASS' "$log") passed, $(grep -cE '^ *--- SKIP' "$log") skipped (subtests included)"
	else
		cat "$log" >&2
		echo "FAIL  $pkg (arm64, qemu) $((SECONDS - start))s" >&2
		failed=$((failed + 1))
	fi
done
echo "test-arm64: ${#pkgs[@]} package(s) run under qemu-aarch64, $failed failed"
[ "$failed" -eq 0 ]
