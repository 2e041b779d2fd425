#!/usr/bin/env bash
# backports.sh: add Debian's bookworm-backports suite to apt, reusing the
# URIs of the machine's existing Debian bookworm source (deb822 or one-line
# format), so that no mirror host is written into the repository. Prints the
# source file it wrote; does nothing if the suite is already configured.
# Used by deps.sh and the Dockerfile's build stage.
set -euo pipefail
out=/etc/apt/sources.list.d/wasm-bpf-backports.sources
if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	exit 0
fi
uris=$(
	{
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -e "$f" ] || continue
			# deb822 stanzas are separated by blank lines.
			awk 'BEGIN { RS = ""; FS = "\n" } {
				u = ""; s = 0; t = 0
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); u = $i }
					if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) s = 1
					if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) t = 1
				}
				if (u != "" && s && t) print u
			}' "$f"
		done
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -e "$f" ] || continue
			# deb [options] URI SUITE COMPONENTS...
			awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == "bookworm") print $i }' "$f"
		done
	} | tr ' \t' '\n\n' | grep -v '^$' | sort -u | tr '\n' ' '
)
if [ -z "$uris" ]; then
	echo "backports: no Debian bookworm source found in /etc/apt to take the mirror from" >&2
	exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
{
	echo "Types: deb"
	echo "URIs: ${uris% }"
	echo "Suites: bookworm-backports"
	echo "Components: main"
	[ -e "$keyring" ] && echo "Signed-By: $keyring"
} >"$out"
echo "$out"
