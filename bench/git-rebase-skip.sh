#!/usr/bin/env bash
# The sync script's way to learn what a rebase does: do it. Clones the
# checkout into a scratch directory that borrows its objects, runs
# `git rebase origin/production` there with `--skip` at every stop, and
# removes the clone. The checkout itself is not touched.
#
#   bench/git-rebase-skip.sh [--repo PATH] [--record FILE]
#
# With --record, writes one line per local patch (commit, outcome, conflicting
# paths; tab-separated) and a `result_tree` line, in bench/compare-check.sh's
# vocabulary. The scratch clone goes under $BETADRIFT_BENCH_DIR.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


main() {
    local repo="$SCENARIO" record=""
    while (($#)); do
        case "$1" in
            --repo) repo="${2:?--repo needs a path}"; shift ;;
            --record) record="${2:?--record needs a file}"; shift ;;
            -h | --help) usage; exit 0 ;;
            *) die "unknown argument: $1 (try --help)" ;;
        esac
        shift
    done
    mkdir -p "$BENCH_DIR"
    rebase_with_skips "$repo" "$record"
}

main "$@"
