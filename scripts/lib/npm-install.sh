# npm-install.sh: the steps install-ort.sh and install-vips.sh share to
# install one native library from a pinned npm package. Source it after
# defining die MESSAGE [HINT].

# cache_root prints ${XDG_CACHE_HOME:-$HOME/.cache}.
cache_root() {
	local root="${XDG_CACHE_HOME:-}"
	if [[ -z "$root" ]]; then
		[[ -n "${HOME:-}" ]] || die "neither XDG_CACHE_HOME nor HOME is set" "set XDG_CACHE_HOME to a writable folder"
		root="$HOME/.cache"
	fi
	printf '%s\n' "$root"
}

# file_sha256 FILE prints the file's SHA-256 in hex.
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

# npm_install TOOL PACKAGE TARBALL_VAR LIB_VAR SIZE MEMBER SHA256 DEST
# extracts MEMBER of the npm package PACKAGE (the tarball the variable
# named TARBALL_VAR names, or one `npm pack` downloads, of about SIZE),
# checks it against SHA256 and moves it to DEST atomically. TOOL prefixes
# messages; LIB_VAR is the variable that names an installed library
# instead, for the hint when npm is missing.
npm_install() {
	local tool=$1 package=$2 tarball_var=$3 lib_var=$4 size=$5 member=$6 sha256=$7 dest=$8
	local dest_dir tarball name got
	dest_dir="$(dirname "$dest")"
	mkdir -p "$dest_dir" || die "cannot create the cache folder ${dest_dir}" "set XDG_CACHE_HOME to a writable folder"
	# The download goes to the system temp folder; the extracted file lands
	# next to its final place so that the last mv is an atomic rename.
	NPM_WORK="$(mktemp -d "${TMPDIR:-/tmp}/pipe-${tool}.XXXXXX")"
	NPM_STAGE="$(mktemp -d "${dest_dir}/.install.XXXXXX")"
	trap 'rm -rf "$NPM_WORK" "$NPM_STAGE"' EXIT
	if [[ -n "${!tarball_var:-}" ]]; then
		tarball="${!tarball_var}"
		[[ -f "$tarball" ]] || die "${tarball_var}=${tarball} does not exist" "unset ${tarball_var} to download ${package} with npm"
	else
		command -v npm >/dev/null 2>&1 || die "npm is not installed; it is needed to download ${package}" \
			"install Node.js (https://nodejs.org), or download the package tarball yourself and set ${tarball_var}, or set ${lib_var} to an installed library"
		printf '%s: downloading %s (about %s)...\n' "$tool" "$package" "$size" >&2
		if ! name="$(cd "$NPM_WORK" && npm pack "$package" --silent 2>"$NPM_WORK/npm.log")"; then
			cat "$NPM_WORK/npm.log" >&2 || true
			die "npm pack ${package} failed (see npm's output above)" \
				"check the network and the npm registry setting (npm config get registry), then run this script again"
		fi
		tarball="$NPM_WORK/$(printf '%s\n' "$name" | tail -n 1)"
		[[ -f "$tarball" ]] || die "npm pack reported ${name} but produced no such file in ${NPM_WORK}" \
			"run this script again; if it keeps failing, set ${tarball_var} to a downloaded copy"
	fi
	if ! tar -xzf "$tarball" -C "$NPM_STAGE" "$member" 2>"$NPM_WORK/tar.log"; then
		cat "$NPM_WORK/tar.log" >&2 || true
		die "cannot extract ${member} from ${tarball}" \
			"the tarball may be truncated or not ${package}; delete it and run this script again"
	fi
	got="$(file_sha256 "$NPM_STAGE/$member")"
	if [[ "$got" != "$sha256" ]]; then
		die "${member} from ${tarball} has SHA-256 ${got}, expected ${sha256}" \
			"the download is corrupt or is not ${package}; run this script again"
	fi
	chmod 0755 "$NPM_STAGE/$member"
	mv -f "$NPM_STAGE/$member" "$dest"
}
