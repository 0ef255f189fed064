#!/usr/bin/env bash
# install-chromium.sh makes sure a headless Chromium is available for the
# test that renders a run's report.html, and prints its path. Debian's
# chromium package is installed with apt-get when missing (root or sudo),
# or the script says what to install.
#
# Environment:
#   PIPE_CHROMIUM  a browser binary to use instead (printed as is)
set -euo pipefail

die() {
	printf 'install-chromium: error: %s\n' "$1" >&2
	[[ $# -gt 1 ]] && printf 'install-chromium: hint: %s\n' "$2" >&2
	exit 1
}

if [[ -n "${PIPE_CHROMIUM:-}" ]]; then
	[[ -x "$PIPE_CHROMIUM" ]] && { printf '%s\n' "$PIPE_CHROMIUM"; exit 0; }
	printf 'install-chromium: warning: PIPE_CHROMIUM=%s is not executable; looking for chromium\n' "$PIPE_CHROMIUM" >&2
fi

find_browser() {
	for c in /usr/bin/chromium chromium chromium-browser google-chrome; do
		if command -v "$c" >/dev/null 2>&1; then
			command -v "$c"
			return 0
		fi
	done
	return 1
}

if path="$(find_browser)"; then
	printf '%s\n' "$path"
	exit 0
fi
sudo=""
[[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1 && sudo="sudo -n"
if command -v apt-get >/dev/null 2>&1 && { [[ $(id -u) -eq 0 ]] || [[ -n "$sudo" ]]; }; then
	printf 'install-chromium: installing chromium with apt-get...\n' >&2
	$sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
		{ $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } ||
		die "apt-get could not install chromium" "install it by hand, or set PIPE_TEST_NO_BROWSER=1 to skip the browser check"
else
	die "the report test renders report.html in a headless Chromium" "install chromium, or set PIPE_TEST_NO_BROWSER=1 to skip the browser check"
fi
path="$(find_browser)" || die "chromium was installed but is not on PATH"
printf '%s\n' "$path"
