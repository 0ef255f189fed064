#!/usr/bin/env bash
# dist.sh builds the release archives of pipe into dist/:
#
#   dist/pipe_<version>_<os>_<arch>.tar.gz   the binary, README.md and LICENSE
#                                            (those present), in a folder of
#                                            the archive's name
#   dist/SHA256SUMS                          sha256sum -c checks them
#
# for the platforms that can be built and linked here, both with cgo (the
# ONNX Runtime bridge needs it): linux/amd64 natively and linux/arm64 with
# Debian's aarch64 cross gcc (scripts/arm64-toolchain.sh installs it).
# darwin/arm64 is not built: linking a cgo binary for macOS needs Apple's SDK
# and linker, which a Linux machine does not have; it is type-checked only
# (make darwin-check, make objc-check).
#
# The version is `git describe --tags --always --dirty`, stamped into
# pipeline.Version (what `pipe version` and every run report print). Each
# binary is then checked: `pipe version` must print that version and its
# platform (the arm64 one under qemu-aarch64), `pipe backends` must find
# ONNX Runtime's cpu backend with the library of its architecture
# (scripts/install-ort.sh, PIPE_ORT_ARCH=arm64 for arm64), and the quickstart
# job must run on a few rows.
#
# Environment: GO (default: go), VERSION (default: from git describe).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
GO=${GO:-go}
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || true)}"
[ -n "$version" ] || { echo "dist: error: no version: not a git checkout and VERSION is unset" >&2; exit 2; }
# The archive timestamps are the last commit's, so that the same commit
# gives the same archives (the Go build itself is reproducible with -trimpath).
mtime="$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)"
platforms=(linux/amd64 linux/arm64)

die() {
	printf 'dist: error: %s\n' "$1" >&2
	exit 1
}

qemu=""
if [ "$(uname -m)" != aarch64 ]; then
	qemu="$(scripts/arm64-toolchain.sh)"
fi

# Everything is built and checked in a work folder; dist/ is replaced only
# when every platform passed, so that a failed run leaves no partial set.
work="$(mktemp -d "${TMPDIR:-/tmp}/pipe-dist.XXXXXX")"
trap 'rm -rf "$work"' EXIT
out_dir="$work/dist"
mkdir -p "$out_dir"

for platform in "${platforms[@]}"; do
	os=${platform%/*} arch=${platform#*/}
	name="pipe_${version}_${os}_${arch}"
	dir="$work/$name"
	mkdir -p "$dir"
	cc="${CC:-cc}" run=() ortarch=""
	case "$(uname -m)/$arch" in
	x86_64/amd64 | aarch64/arm64) ;;
	x86_64/arm64)
		cc=aarch64-linux-gnu-gcc run=("$qemu" -L /usr/aarch64-linux-gnu) ortarch=arm64
		;;
	*) die "no cross compiler known for $platform on $(uname -m)" ;;
	esac

	echo "dist: build $platform ($version)"
	GOOS=$os GOARCH=$arch CGO_ENABLED=1 CC=$cc "$GO" build -trimpath \
		-ldflags "-s -w -X github.com/pipe-ml/pipe/pipeline.Version=$version" \
		-o "$dir/pipe" ./cmd/pipe
	for f in README.md LICENSE; do
		[ ! -f "$f" ] || cp "$f" "$dir/"
	done

	# The binary must say what it is; under qemu for arm64.
	out="$("${run[@]}" "$dir/pipe" version)" || die "$name: pipe version failed"
	case "$out" in
	"pipe $version ("*", $os/$arch)"*) echo "dist:   $(head -n1 <<<"$out")" ;;
	*) die "$name: pipe version printed '$(head -n1 <<<"$out")', want 'pipe $version (..., $os/$arch)'" ;;
	esac
	# ...and load ONNX Runtime of its own architecture.
	lib="$(env -u PIPE_ORT_LIB ${ortarch:+PIPE_ORT_ARCH=$ortarch} scripts/install-ort.sh)"
	out="$(PIPE_ORT_LIB="$lib" "${run[@]}" "$dir/pipe" backends 2>&1)" || die "$name: pipe backends failed: $out"
	line="$(grep -E '^cpu[[:space:]]' <<<"$out" || true)"
	grep -qiE '^cpu[[:space:]]+(yes|available)' <<<"$line" ||
		die "$name: pipe backends does not list cpu as available with $lib:"$'\n'"$out"
	echo "dist:   $line"
	# ...and run the quickstart job end to end on a few rows (seconds, even
	# under qemu).
	out="$(ROWS=2000 OUT="$work/quickstart-$arch" PIPE_ORT_LIB="$lib" \
		"${run[@]}" "$dir/pipe" run -q pipelines/quickstart.yaml 2>&1)" ||
		die "$name: pipe run pipelines/quickstart.yaml failed:"$'\n'"$out"
	[ -f "$work/quickstart-$arch/_SUCCESS" ] || die "$name: the quickstart job left no _SUCCESS marker"
	echo "dist:   pipe run pipelines/quickstart.yaml (2000 rows): ok"

	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" \
		-C "$work" -cf - "$name" | gzip -n -9 >"$out_dir/$name.tar.gz"
done

(cd "$out_dir" && sha256sum -- *.tar.gz >SHA256SUMS && sha256sum --quiet -c SHA256SUMS)
rm -rf dist
mv "$out_dir" dist
echo "dist: wrote"
for f in dist/*.tar.gz dist/SHA256SUMS; do
	echo "  $f  $(wc -c <"$f") bytes"
done
