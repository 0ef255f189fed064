#!/usr/bin/env bash
# objc-check.sh: syntax- and type-check every Objective-C shim of the Apple
# bridges on Linux, with clang in Darwin-target syntax-only mode against the
# header stubs in testdata/objc/stubs (design brief apple-backends.md §12).
# It checks syntax, ARC bridging, selectors and types against our stub
# declarations, and @available guards (deployment target macOS 13); it does
# not link or run anything. Exits non-zero on any error.
#
# Usage: scripts/objc-check.sh [file.m ...]   (default: every .m under bridge/)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stubs="testdata/objc/stubs"

if ! command -v clang >/dev/null 2>&1; then
  echo "objc-check: clang not found; installing Debian's clang package (apt-get install -y clang)" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  if ! { $sudo apt-get install -y clang >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y clang >/dev/null; }; }; then
    echo "objc-check: FAILED to install clang with apt-get (Debian package 'clang'); install it by hand and rerun" >&2
    exit 2
  fi
fi

resource="$(clang -print-resource-dir)/include"
flags=(
  -target arm64-apple-macos13 -fsyntax-only -x objective-c -fobjc-arc -fobjc-exceptions -fblocks
  -nostdinc -isystem "$resource" -isystem "$stubs" -I "$stubs"
  -Wall -Wno-nullability-completeness -Werror -Werror=unguarded-availability-new
)

if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find bridge -name '*.m' -not -path '*/testdata/*' | sort)
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "objc-check: no .m files found" >&2
  exit 1
fi

echo "objc-check: $(clang --version | head -n1)"
echo "objc-check: stubs in $stubs, target arm64-apple-macos13, -fobjc-arc, -Werror=unguarded-availability-new"
failed=0
for f in "${files[@]}"; do
  # The shim's own folder is on the include path, as cgo puts it.
  if clang "${flags[@]}" -I "$(dirname "$f")" "$f"; then
    echo "ok    $f"
  else
    echo "FAIL  $f" >&2
    failed=$((failed + 1))
  fi
done
echo "objc-check: ${#files[@]} file(s) checked, $failed failed"
[ "$failed" -eq 0 ]
