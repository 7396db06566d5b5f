#!/usr/bin/env bash
# Does a puppetmaster that betadrift syncs every ten minutes stay tidy?
# Makes a synthetic upstream (3,000 files, 2,000 commits) and two checkouts
# of it with 8 local patches, then, SYNCS times (300 by default): one new
# upstream commit, `betadrift sync --fetch`. Each fetch keeps its pack
# (fetch.unpackLimit=1), as libgit2's fetch before git fetch did.
#   untidy: gc.auto=0 and maintenance.auto=false, so no maintenance runs:
#           what betadrift did before it ran `git maintenance run --auto`;
#   tidy:   git's defaults (gc.autoPackLimit=50, gc.auto=6700): what it does.
# Prints the pack count every 50 syncs, the median sync time, and the
# median of 15 `betadrift status` runs on each checkout at the end.
#
# Usage: bench/tidy.sh [SYNCS]      (needs no real repository)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ "${1:-}" == --help ]] && { usage; exit 0; }
syncs="${1:-300}"
[[ "$syncs" =~ ^[1-9][0-9]*$ ]] || die "SYNCS must be a positive number, not '$syncs'"
find_betadrift
# Never the host's /etc/betadrift/config.toml (its post-update command).
empty_config="$(mktemp)"
export BETADRIFT_CONFIG="$empty_config" NO_COLOR=1

dir="$BENCH_DIR/tidy"
rm -rf "$dir"
mkdir -p "$dir"
log "synthetic upstream in $dir/upstream.git"
g init -q --bare -b production "$dir/upstream.git"
# fast-import: 3,000 files in 60 modules, then 2,000 commits of 3 files each.
awk 'BEGIN {
    mark = 0
    for (c = 0; c < 2000; c++) {
        printf "commit refs/heads/production\ncommitter up <up@example.org> %d +0000\ndata <<EOF\nupstream %d\nEOF\n", 1700000000 + c * 600, c
        n = (c == 0) ? 3000 : 3
        for (k = 0; k < n; k++) {
            f = (c == 0) ? k : (c * 7 + k * 1013) % 3000
            printf "M 100644 inline modules/m%d/manifests/f%d.pp\ndata <<EOF\n", f % 60, f
            for (l = 0; l < 30; l++) printf "class m%d::f%d { $v%d = %d }\n", f % 60, f, l, (l == 7 ? c : l)
            printf "EOF\n"
        }
    }
}' | g -C "$dir/upstream.git" fast-import --quiet
g clone -q "$dir/upstream.git" "$dir/upstream-work"

for mode in untidy tidy; do
    co="$dir/$mode"
    g clone -q "$dir/upstream.git" "$co"
    for p in 1 2 3 4 5 6 7 8; do
        mkdir -p "$co/modules/local"
        printf 'class local::p%d { }\n' "$p" > "$co/modules/local/p$p.pp"
        g -C "$co" add -A
        g -C "$co" commit -q -m "HACK: local patch $p"
    done
    g -C "$co" config fetch.unpackLimit 1
    if [[ $mode == untidy ]]; then
        g -C "$co" config gc.auto 0
        g -C "$co" config maintenance.auto false
    fi
    g -C "$co" repack -q -a -d
done

packs() { find "$1/.git/objects/pack" -name '*.pack' | wc -l; }
: > "$dir/sync-times"
printf '%-8s %8s %8s\n' syncs untidy tidy
for ((i = 1; i <= syncs; i++)); do
    printf 'class up::c%d { }\n' "$i" > "$dir/upstream-work/upstream-$((i % 40)).pp"
    g -C "$dir/upstream-work" add -A
    g -C "$dir/upstream-work" commit -q -m "upstream change $i"
    g -C "$dir/upstream-work" push -q origin production
    for mode in untidy tidy; do
        start=$(date +%s.%N)
        "$BETADRIFT" sync --fetch --repo "$dir/$mode" > "$dir/$mode.log" 2>&1 ||
            die "sync $i of $mode failed: $(tail -3 "$dir/$mode.log")"
        echo "$mode $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')" >> "$dir/sync-times"
    done
    if ((i % 50 == 0 || i == syncs)); then
        printf '%-8s %8s %8s\n' "$i" "$(packs "$dir/untidy")" "$(packs "$dir/tidy")"
    fi
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for mode in untidy tidy; do
    sync_median=$(awk -v m="$mode" '$1 == m { print $2 }' "$dir/sync-times" | median)
    status_median=$(for _ in $(seq 15); do
        start=$(date +%s.%N)
        "$BETADRIFT" status --repo "$dir/$mode" > /dev/null
        awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }'
    done | median)
    printf '%-7s packs %4s  loose %6s  sync median %.3f s  status median %.3f s\n' "$mode" "$(packs "$dir/$mode")" \
        "$(g -C "$dir/$mode" count-objects | cut -d' ' -f1)" "$sync_median" "$status_median"
done
rm -f "$empty_config"
