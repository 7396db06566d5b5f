#!/usr/bin/env bash
# Times `betadrift status --json` on the real-data scenario against the git
# command an admin would otherwise run for the same question (which local
# commits upstream does not have yet), in one hyperfine run. betadrift is
# timed twice: on a first run (no first-seen ledger: every patch's snapshot
# tags are searched), and as deployed, with the ledger the report timer
# keeps (kept under $BETADRIFT_BENCH_DIR/status-state, made by one report).
#
#   bench/status.sh [--max-median SECONDS] [--runs N] [--warmup N]
#
# Needs the scenario (bench/make-puppet-scenario.sh), hyperfine and jq; the
# binary is $BETADRIFT_BIN or the release build (cargo build --release).
# Writes $BETADRIFT_BENCH_DIR/status.json. Exits 1 when either betadrift
# median is above --max-median (default 0.15 s).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


main() {
    local max_median=0.15 runs=20 warmup=3
    timing_options "$@"
    need_timing_tools
    # Ages in the output are relative to "now": pin it, so runs are alike.
    export BETADRIFT_NOW="${BETADRIFT_NOW:-2024-10-25T00:00:00Z}"

    # A failing command would be timed as a fast one: check both first. (A
    # shared target directory once held a binary that printed nothing and
    # exited 0: insist on the JSON document.)
    "$BETADRIFT" status --json --repo "$SCENARIO" >"$BENCH_DIR/status.out" ||
        die "betadrift status fails on $SCENARIO"
    jq -en 'input | .patches | length > 0' "$BENCH_DIR/status.out" >/dev/null ||
        die "betadrift status --json printed no patches (see $BENCH_DIR/status.out)"
    g -C "$SCENARIO" log --cherry-pick --right-only --oneline 'origin/production...HEAD' >/dev/null

    # The deployed setup: the report timer keeps a ledger (here in a state
    # directory of the bench's own, never in the scenario's git directory).
    local config="$BENCH_DIR/status-config.toml"
    printf '[state]\ndir = "%s"\n' "$BENCH_DIR/status-state" >"$config"
    rm -rf "$BENCH_DIR/status-state"
    "$BETADRIFT" --config "$config" report --repo "$SCENARIO" >/dev/null ||
        die "betadrift report (to make the ledger) fails on $SCENARIO"
    # A state directory without a ledger: the first run's case.
    local bare="$BENCH_DIR/status-config-first.toml"
    printf '[state]\ndir = "%s"\n' "$BENCH_DIR/status-state-none" >"$bare"

    local json="$BENCH_DIR/status.json"
    hyperfine --shell=bash --warmup "$warmup" --min-runs "$runs" --export-json "$json" \
        -n "betadrift status (first run)" "$(shell_line "$BETADRIFT" --config "$bare" status --json --repo "$SCENARIO") >/dev/null" \
        -n "betadrift status (with ledger)" "$(shell_line "$BETADRIFT" --config "$config" status --json --repo "$SCENARIO") >/dev/null" \
        -n "git log --cherry-pick" "$(shell_line git -C "$SCENARIO" log --cherry-pick --right-only --oneline 'origin/production...HEAD') >/dev/null"

    local first ledger theirs failed=0
    first="$(hyperfine_median "$json" 0)"
    ledger="$(hyperfine_median "$json" 1)"
    theirs="$(hyperfine_median "$json" 2)"
    printf '\nstatus (medians): betadrift first run %.3f s (ratio %s), with ledger %.3f s (ratio %s), git log --cherry-pick %.3f s\n' \
        "$first" "$(ratio "$first" "$theirs")" "$ledger" "$(ratio "$ledger" "$theirs")" "$theirs"
    for ours in "$first" "$ledger"; do
        if ! le "$ours" "$max_median"; then
            printf 'FAIL: a betadrift status median, %.3f s, is above %s s\n' "$ours" "$max_median"
            failed=1
        fi
    done
    exit "$failed"
}

main "$@"
