#!/usr/bin/env bash
# Fuzzes betadrift's parsers for SECONDS (default 300) with seed SEED
# (default 17): seeded random mutations of pack files and their indexes,
# loose objects, tree bodies, commit headers, paths and the TOML and JSON
# state files, each input under a 5 s limit; fails on the first panic or
# hang, naming the seed and round that replay it. The suite runs the same
# for 3 s (`fuzz::mutated_inputs_never_panic_or_hang`). Needs no real
# repository.
#
#   bench/fuzz.sh [SECONDS] [SEED]
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "${1:-}" == --help ]] && { usage; exit 0; }
SECONDS_TO_RUN="${1:-300}"
SEED="${2:-17}"
[[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ && "$SEED" =~ ^[0-9]+$ ]] || die "SECONDS and SEED must be numbers"
cd "$BENCH_SRC_DIR/.."
BETADRIFT_FUZZ_SECONDS="$SECONDS_TO_RUN" BETADRIFT_FUZZ_SEED="$SEED" \
    cargo test --release -p betadrift --test cli -- --ignored --exact fuzz::long --nocapture
