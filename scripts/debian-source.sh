#!/usr/bin/env bash
# Makes betadrift's Debian source package from the committed HEAD: exports
# the tree, vendors every crate of Cargo.lock into vendor/ (`cargo vendor`,
# the one step that needs crates.io), and runs dpkg-source, leaving
# betadrift_VERSION.dsc and .tar.xz in OUTDIR. That source package then
# builds offline on a Debian builder:
#
#   scripts/debian-source.sh /tmp/deb              # here, with crates.io access
#   dpkg-source -x betadrift_0.1.0.dsc && cd betadrift-0.1.0
#   apt-get build-dep ./                           # bookworm/trixie: rustc-web, cargo-web
#   dpkg-buildpackage -us -uc -b                   # offline
#
# With --binary it also builds the .deb here (dpkg-buildpackage -us -uc -b).
# vendor/ (some 60 MiB of crate sources) is never committed.
set -euo pipefail

usage() { echo "usage: scripts/debian-source.sh OUTDIR [--binary]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
binary=false
[[ $# -eq 2 ]] && { [[ $2 == --binary ]] || usage; binary=true; }
for tool in git cargo dpkg-source dpkg-parsechangelog; do
    command -v "$tool" >/dev/null || { echo "debian-source.sh needs $tool (apt-get install git cargo dpkg-dev)" >&2; exit 2; }
done

root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
src="$out/betadrift-$version"
rm -rf "$src"
mkdir -p "$src"
git -C "$root" archive HEAD | tar -x -C "$src"
(cd "$src" && cargo vendor --locked --versioned-dirs vendor >/dev/null)
# dpkg-source leaves out *.orig and other "junk" by default, but the vendored
# crates' checksums cover their Cargo.toml.orig: ignore only a .git.
(cd "$out" && dpkg-source --tar-ignore=.git --build "betadrift-$version")
if $binary; then
    (cd "$src" && dpkg-buildpackage -us -uc -b)
fi
echo "source package: $out/betadrift_$version.dsc"
