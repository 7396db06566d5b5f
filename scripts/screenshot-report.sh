#!/usr/bin/env bash
# Renders the demo's HTML report in headless Chromium at a phone's size and
# saves screenshots, to check by eye that the page reads well on a phone.
# A manual check (CI has no browser): look at the PNGs it prints.
#
#   scripts/screenshot-report.sh [OUT_DIR]
#
# Needs chromium (`apt-get install chromium`) and a built betadrift
# ($BETADRIFT_BIN, else ${CARGO_TARGET_DIR:-target}/release/betadrift).
# Chromium runs with networking features off; the page loads nothing anyway
# (its Content-Security-Policy is default-src 'none').
set -euo pipefail

out="${1:-$(mktemp -d -t betadrift-shot-XXXXXX)}"
bin="${BETADRIFT_BIN:-${CARGO_TARGET_DIR:-target}/release/betadrift}"
[[ -x "$bin" ]] || { echo "no betadrift at $bin: cargo build --release, or set BETADRIFT_BIN" >&2; exit 2; }
browser="$(command -v chromium || command -v chromium-browser || true)"
[[ -n "$browser" ]] || { echo "no chromium: apt-get install chromium" >&2; exit 2; }

mkdir -p "$out"
work="$(mktemp -d -t betadrift-demo-XXXXXX)"
profile="$(mktemp -d -t betadrift-chromium-XXXXXX)"
trap 'rm -rf "$work" "$profile"' EXIT

export BETADRIFT_NOW=2026-11-25T12:00:00Z
"$bin" demo "$work/demo" >/dev/null
cat >"$work/config.toml" <<TOML
[[repository]]
name = "operations/puppet"
path = "$work/demo/puppet"
TOML
"$bin" --config "$work/config.toml" report --output "$out/report.html"

# A phone (412 px wide) at its real height, and the same width, tall enough
# to show the whole page.
for shot in "phone 412,915" "phone-full 412,6000"; do
    read -r name size <<<"$shot"
    "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
        --user-data-dir="$profile" --window-size="$size" \
        --screenshot="$out/$name.png" "file://$out/report.html" >/dev/null 2>&1
    echo "$out/$name.png"
done
