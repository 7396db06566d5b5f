#!/usr/bin/env bash
# Races `betadrift drop --yes 5 &` against a human's `git commit
# --allow-empty` started at a random moment (from before the drop begins to
# after it ends), ITERATIONS times, on the demo puppetmaster, and fails on
# the first race that leaves `git status` unclean or puts the dropped patch
# back (docs/security.md). CI runs 12 races (the test
# `security::races::a_git_commit_during_a_drop_never_resurrects_it`); this
# runs the ignored long test with ITERATIONS (default 200) and prints how
# often each side won.
#
#   bench/race-drop.sh [ITERATIONS]
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "${1:-}" == --help ]] && { usage; exit 0; }
ITERATIONS="${1:-200}"
[[ "$ITERATIONS" =~ ^[0-9]+$ ]] || die "ITERATIONS must be a number: $ITERATIONS"
cd "$BENCH_SRC_DIR/.."
BETADRIFT_RACE_ITERATIONS="$ITERATIONS" cargo test --release -p betadrift --test cli -- \
    --ignored --exact security::races::two_hundred_races --nocapture
