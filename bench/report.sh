#!/usr/bin/env bash
# Times `betadrift report` on the real-data scenario: every format from one
# run (the way the systemd timer runs it), with hyperfine, and prints where
# the time goes (BETADRIFT_TIMING phases).
#
#   bench/report.sh [--max-median SECONDS] [--runs N] [--warmup N]
#
# Needs the scenario (bench/make-puppet-scenario.sh), hyperfine and jq; the
# binary is $BETADRIFT_BIN or the release build (cargo build --release).
# The ledger goes to a state directory under $BETADRIFT_BENCH_DIR, not into
# the scenario. Writes $BETADRIFT_BENCH_DIR/report.json (hyperfine) and the
# reports under $BETADRIFT_BENCH_DIR/report/. Exits 1 when the median is
# above --max-median (default 0.5 s).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


main() {
    local max_median=0.5 runs=20 warmup=3
    timing_options "$@"
    need_timing_tools
    export BETADRIFT_NOW="${BETADRIFT_NOW:-2024-10-25T00:00:00Z}"

    local out="$BENCH_DIR/report" config="$BENCH_DIR/report-config.toml"
    mkdir -p "$out"
    cat >"$config" <<TOML
[state]
dir = "$BENCH_DIR/report-state"

[[repository]]
name = "operations/puppet"
path = "$SCENARIO"
TOML
    local -a cmd=("$BETADRIFT" --config "$config" report
        --output "$out/betadrift.prom" --output "$out/report.html"
        --output "$out/report.md" --output "$out/report.json" --output "$out/report.txt")

    # A failing command would be timed as a fast one: check it first, and
    # insist on a full document.
    "${cmd[@]}" || die "betadrift report fails on $SCENARIO"
    jq -en 'input | .repositories[0].patches | length > 0' "$out/report.json" >/dev/null ||
        die "betadrift report wrote no patches (see $out/report.json)"

    printf 'phases of one run (BETADRIFT_TIMING=1):\n'
    BETADRIFT_TIMING=1 "${cmd[@]}" 2>&1 | sed 's/^/  /'

    local json="$BENCH_DIR/report.json"
    hyperfine --shell=bash --warmup "$warmup" --min-runs "$runs" --export-json "$json" \
        -n "betadrift report (5 formats)" "$(shell_line "${cmd[@]}")"

    local ours
    ours="$(hyperfine_median "$json" 0)"
    printf '\nreport: betadrift median %.3f s\n' "$ours"
    if ! le "$ours" "$max_median"; then
        printf 'FAIL: betadrift report median %.3f s is above %s s\n' "$ours" "$max_median"
        exit 1
    fi
}

main "$@"
