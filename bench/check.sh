#!/usr/bin/env bash
# Times `betadrift check --json` on the real-data scenario against the two
# ways to get the same prediction with git, in one hyperfine run:
#   (a) bench/git-predict.sh: git log --cherry-pick, then merge-tree +
#       commit-tree per patch, all in memory;
#   (b) bench/git-rebase-skip.sh: the sync script's way, a real
#       `git rebase` with --skip at each stop in a scratch clone.
#
#   bench/check.sh [--max-median SECONDS] [--min-speedup-predict X]
#                  [--min-speedup-rebase X] [--runs N] [--warmup N]
#
# Defaults: median at most 0.25 s, at least 2x faster than (a) and 20x
# faster than (b). Writes $BETADRIFT_BENCH_DIR/check.json. Exits 1 when a
# threshold is missed, 77 (skipped) when the binary has no `check` yet.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


# `betadrift check` arrives after `status`: until then, say so and skip.
require_check_subcommand() {
    if ! "$BETADRIFT" check --help >/dev/null 2>&1; then
        echo "SKIP: $BETADRIFT has no 'check' subcommand yet; nothing to time"
        exit 77
    fi
}

main() {
    local max_median=0.25 min_predict=2 min_rebase=20 runs=20 warmup=3
    while (($#)); do
        case "$1" in
            --min-speedup-predict) min_predict="${2:?}" ;;
            --min-speedup-rebase) min_rebase="${2:?}" ;;
            *) timing_option "$@" || die "unknown argument: $1 (try --help)" ;;
        esac
        shift 2
    done
    need_timing_tools
    require_check_subcommand

    # All three exit 1 when the rebase stops (it does here), so hyperfine must
    # ignore exit codes; make sure first that no command fails for real.
    local rc=0
    "$BETADRIFT" check --json --repo "$SCENARIO" >"$BENCH_DIR/check.out" || rc=$?
    ((rc <= 1)) || die "betadrift check fails on $SCENARIO (exit $rc)"
    jq -en 'input | .patches | length > 0' "$BENCH_DIR/check.out" >/dev/null ||
        die "betadrift check --json printed no patches (see $BENCH_DIR/check.out)"
    rc=0
    "$BENCH_SRC_DIR/git-predict.sh" --repo "$SCENARIO" >/dev/null || rc=$?
    ((rc <= 1)) || die "bench/git-predict.sh fails on $SCENARIO (exit $rc)"
    "$BENCH_SRC_DIR/git-rebase-skip.sh" --repo "$SCENARIO"
    # That rebase wrote a scratch checkout: let the kernel write it back
    # before timing, not during betadrift's runs (which come first).
    sync
    sleep 5

    local json="$BENCH_DIR/check.json"
    hyperfine --shell=bash --ignore-failure --warmup "$warmup" --min-runs "$runs" --export-json "$json" \
        -n "betadrift check" "$(shell_line "$BETADRIFT" check --json --repo "$SCENARIO") >/dev/null" \
        -n "git merge-tree loop" "$(shell_line "$BENCH_SRC_DIR/git-predict.sh" --repo "$SCENARIO") >/dev/null" \
        -n "git rebase --skip" "$(shell_line "$BENCH_SRC_DIR/git-rebase-skip.sh" --repo "$SCENARIO")"

    local ours predict rebase failed=0
    ours="$(hyperfine_median "$json" 0)"
    predict="$(hyperfine_median "$json" 1)"
    rebase="$(hyperfine_median "$json" 2)"
    printf '\ncheck: betadrift %.3f s, git merge-tree loop %.3f s, git rebase --skip %.3f s\n' "$ours" "$predict" "$rebase"
    printf 'ratios: betadrift/merge-tree loop %s, betadrift/rebase %s\n' \
        "$(ratio "$ours" "$predict")" "$(ratio "$ours" "$rebase")"
    if ! le "$ours" "$max_median"; then
        printf 'FAIL: betadrift check median %.3f s is above %s s\n' "$ours" "$max_median"
        failed=1
    fi
    if ! le "$(awk -v a="$ours" -v k="$min_predict" 'BEGIN { print a * k }')" "$predict"; then
        printf 'FAIL: betadrift check is not %sx faster than the git merge-tree loop\n' "$min_predict"
        failed=1
    fi
    if ! le "$(awk -v a="$ours" -v k="$min_rebase" 'BEGIN { print a * k }')" "$rebase"; then
        printf 'FAIL: betadrift check is not %sx faster than git rebase --skip\n' "$min_rebase"
        failed=1
    fi
    exit "$failed"
}

main "$@"
