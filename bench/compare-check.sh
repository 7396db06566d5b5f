#!/usr/bin/env bash
# Holds `betadrift check`'s prediction on the real data against git's:
#   - bench/git-predict.sh (git log --cherry-pick + merge-tree, in memory);
#   - the real `git rebase --skip` recorded in scenario-summary.txt.
# Compared per patch: commit, outcome (applies | already-upstream |
# becomes-empty | conflict) and conflicting paths; then the result tree.
#
#   bench/compare-check.sh [--repo PATH]
#
# With --repo other than the scenario, the real rebase is run afresh in a
# scratch clone. Exits 0 when all agree, 1 with the differences otherwise,
# 77 (skipped) when the binary has no `check` yet.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


# Sorts the comma-separated paths of column 3 so that orders do not matter.
sort_paths() {
    awk -F'\t' -v OFS='\t' '{
        n = split($3, p, ","); s = ""
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (p[j] < p[i]) { t = p[i]; p[i] = p[j]; p[j] = t }
        for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") p[i]
        print $1, $2, s }'
}

# betadrift's JSON, with commits expanded to full ids.
from_betadrift() {
    local json="$1" repo="$2" c outcome paths
    jq -r '.patches[] | [.commit, .outcome, ((.conflict_paths // []) | join(","))] | @tsv' "$json" |
        while IFS=$'\t' read -r c outcome paths; do
            printf '%s\t%s\t%s\n' "$(g -C "$repo" rev-parse --verify "$c^{commit}")" "$outcome" "$paths"
        done | sort_paths
    printf 'result_tree\t%s\t\n' "$(jq -r '.result_tree' "$json")"
}

from_git_predict() {
    awk -F'\t' -v OFS='\t' '
        $1 == "result-tree" { print "result_tree", $2, ""; next }
        { o = $1 == "picked" ? "applies" : $1 == "skipped-as-upstream" ? "already-upstream" : $1 == "dropped-empty" ? "becomes-empty" : $1
          print $2, o, $3 }' "$1" | sort_paths
}

from_rebase_record() {
    sort_paths <"$1"
}

# Prints "agree" or the differences; returns 1 on differences.
compare() {
    local label_a="$1" a="$2" label_b="$3" b="$4"
    if diff -q "$a" "$b" >/dev/null; then
        printf '%-28s vs %-22s agree (%d patches)\n' "$label_a" "$label_b" $(($(wc -l <"$a") - 1))
        return 0
    fi
    printf '%-28s vs %-22s DIFFER:\n' "$label_a" "$label_b"
    diff -u --label "$label_a" --label "$label_b" "$a" "$b" | sed 's/^/    /' || true
    return 1
}

main() {
    local repo="$SCENARIO"
    while (($#)); do
        case "$1" in
            --repo) repo="${2:?--repo needs a path}"; shift ;;
            -h | --help) usage; exit 0 ;;
            *) die "unknown argument: $1 (try --help)" ;;
        esac
        shift
    done
    need_tool jq
    [[ "$repo" != "$SCENARIO" ]] || need_scenario
    find_betadrift
    if ! "$BETADRIFT" check --help >/dev/null 2>&1; then
        echo "SKIP: $BETADRIFT has no 'check' subcommand yet; nothing to compare"
        exit 77
    fi

    local tmp rc=0
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand now
    trap "rm -rf -- $(printf '%q' "$tmp")" EXIT

    "$BETADRIFT" check --json --repo "$repo" >"$tmp/betadrift.json" || rc=$?
    ((rc <= 1)) || die "betadrift check fails on $repo (exit $rc)"
    rc=0
    "$BENCH_SRC_DIR/git-predict.sh" --repo "$repo" >"$tmp/predict.tsv" || rc=$?
    ((rc <= 1)) || die "bench/git-predict.sh fails on $repo (exit $rc)"
    if [[ "$repo" == "$SCENARIO" ]]; then
        [[ -f "$SUMMARY" ]] || die "no $SUMMARY: rebuild the scenario"
        awk -F'\t' -v OFS='\t' '$1 == "rebase" { print $2, $3, $4 }' "$SUMMARY" >"$tmp/rebase.raw"
    else
        mkdir -p "$BENCH_DIR"
        rebase_with_skips "$repo" "$tmp/rebase.raw"
    fi

    from_betadrift "$tmp/betadrift.json" "$repo" >"$tmp/b"
    from_git_predict "$tmp/predict.tsv" >"$tmp/p"
    from_rebase_record "$tmp/rebase.raw" >"$tmp/r"

    local status=0
    compare "betadrift check" "$tmp/b" "git-predict.sh" "$tmp/p" || status=1
    compare "betadrift check" "$tmp/b" "git rebase --skip" "$tmp/r" || status=1
    # The oracle itself must match the real rebase, or the comparison means little.
    compare "git-predict.sh" "$tmp/p" "git rebase --skip" "$tmp/r" || status=1
    exit "$status"
}

main "$@"
