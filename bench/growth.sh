#!/usr/bin/env bash
# How the time of `betadrift check` (and of `sync --as-far-as-possible
# --dry-run`) grows with the commits behind and with the patches, against
# git doing the same prediction (bench/git-predict.sh) at each point.
#
#   bench/growth.sh [--behind "250 1000 3000"] [--patches "10 20 40"] [--runs N] [--warmup N]
#
# Commits behind: the whole stack against `origin/production~k`, for each
# count in --behind (the scenario's own count at most). Patches: the first
# n patches of the stack against the scenario's upstream. Both in clones
# that share the scenario's objects (under $BETADRIFT_BENCH_DIR/growth),
# with a clean working tree (the scenario's own has an uncommitted edit,
# which sync refuses). Prints one table row per point: medians of betadrift check,
# of the git pipeline and their ratio, the sync dry-run's median, and the
# stops at that point. Writes the hyperfine JSON files beside the clone.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GROWTH="$BENCH_DIR/growth"

# The median seconds of betadrift check, git-predict.sh and the dry-run on
# <repo> against <upstream>, as "check git dry-run".
medians() {
    local repo="$1" upstream="$2" json="$3"
    hyperfine --shell=bash --ignore-failure --warmup "$warmup" --min-runs "$runs" --export-json "$json" \
        -n check "$(shell_line "$BETADRIFT" check --json --repo "$repo" --upstream "$upstream") >/dev/null" \
        -n git "$(shell_line "$BENCH_SRC_DIR/git-predict.sh" --repo "$repo" --upstream "$upstream") >/dev/null" \
        -n dry-run "$(shell_line "$BETADRIFT" sync --as-far-as-possible --dry-run --repo "$repo" --upstream "$upstream") >/dev/null" \
        >/dev/null 2>&1
    printf '%s %s %s\n' "$(hyperfine_median "$json" 0)" "$(hyperfine_median "$json" 1)" "$(hyperfine_median "$json" 2)"
}

# One table row: label, stops, then the three medians and the ratio.
row() {
    local label="$1" repo="$2" upstream="$3" json="$4" stops check git dry
    stops="$("$BETADRIFT" check --json --repo "$repo" --upstream "$upstream" |
        jq '[.patches[] | select(.outcome == "conflict")] | length')" || true
    read -r check git dry < <(medians "$repo" "$upstream" "$json")
    printf '| %s | %s | %.3f s | %.3f s | %s× | %.3f s |\n' "$label" "$stops" "$check" "$git" "$(ratio "$git" "$check")" "$dry"
}

# A clone of the scenario holding only its first <n> patches.
truncated_clone() {
    local n="$1" dir="$GROWTH/patches-$1" total
    total="$(g -C "$SCENARIO" rev-list --count origin/production..production)"
    ((n <= total)) || die "the scenario has $total patches, not $n"
    if [[ ! -d "$dir/.git" ]]; then
        g clone -q --shared --branch production "$SCENARIO" "$dir"
        g -C "$dir" update-ref refs/remotes/origin/production "$(g -C "$SCENARIO" rev-parse origin/production)"
        g -C "$dir" branch -q --set-upstream-to=origin/production production
    fi
    g -C "$dir" reset -q --hard "$(g -C "$SCENARIO" rev-parse "production~$((total - n))")"
    printf '%s\n' "$dir"
}

main() {
    local behind_list="" patches_list="10 20 40" runs=5 warmup=1 max_median=""
    while (($#)); do
        case "$1" in
            --behind) behind_list="${2:?}" ;;
            --patches) patches_list="${2:?}" ;;
            *) timing_option "$@" || die "unknown argument: $1 (try --help)" ;;
        esac
        shift 2
    done
    need_timing_tools
    mkdir -p "$GROWTH"
    local behind k total whole
    behind="$(g -C "$SCENARIO" rev-list --count production..origin/production)"
    total="$(g -C "$SCENARIO" rev-list --count origin/production..production)"
    whole="$(truncated_clone "$total")"
    [[ -n "$behind_list" ]] || behind_list="250 1000 $behind"
    echo "| commits behind | stops | betadrift check | git merge-tree loop | ratio | sync --as-far-as-possible --dry-run |"
    echo "| --- | --- | --- | --- | --- | --- |"
    for k in $behind_list; do
        ((k <= behind)) || die "the scenario is $behind commits behind, not $k"
        # operations/puppet's history is nearly linear: k first-parent steps
        # above the merge base are about k commits behind (the row says how
        # many exactly).
        local up
        up="$(g -C "$whole" rev-parse "origin/production~$((behind - k))")"
        row "$(g -C "$whole" rev-list --count "production..$up")" "$whole" "$up" "$GROWTH/behind-$k.json"
    done
    echo
    echo "| patches | stops | betadrift check | git merge-tree loop | ratio | sync --as-far-as-possible --dry-run |"
    echo "| --- | --- | --- | --- | --- | --- |"
    local n dir
    for n in $patches_list; do
        dir="$(truncated_clone "$n")"
        row "$n" "$dir" origin/production "$GROWTH/patches-$n.json"
    done
}

main "$@"
