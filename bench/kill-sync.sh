#!/usr/bin/env bash
# Kills `betadrift sync` at random moments on a real-history checkout and
# checks that every kill is recovered: after each one, `betadrift undo` (or
# nothing, if nothing was recorded) puts the checkout back exactly where it
# was (HEAD, index, working tree, no stray file, no index.lock, no journal),
# and at the end `git fsck` is clean and every backup is reachable.
#
#   BETADRIFT_PUPPET_REPO=/path/to/operations-puppet bench/kill-sync.sh [KILLS]
#
# The checkout: the bench scenario (bench/make-puppet-scenario.sh: 40 local
# patches, 3,000 upstream commits behind) without the 12 patches whose
# rebase stops, so that the sync goes through; it is made once under
# $BETADRIFT_BENCH_DIR/kill-sync/ by a local clone. Each round starts a sync
# (with a post-update command of 0.2 s), sends SIGKILL, SIGINT or SIGTERM (in
# turn) after a random delay between 0 and the length of a full sync
# (measured every 25 rounds), then recovers and checks. KILLS defaults to 200. The tally goes to
# stdout and to $BETADRIFT_BENCH_DIR/kill-sync/result.txt.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "${1:-}" == --help ]] && { usage; exit 0; }
KILLS="${1:-200}"
BIN="${BETADRIFT_BIN:-$BENCH_SRC_DIR/../target/release/betadrift}"
[[ -x "$BIN" ]] || die "no betadrift binary at $BIN (cargo build --release, or set BETADRIFT_BIN)"
bash "$BENCH_SRC_DIR/make-puppet-scenario.sh" >/dev/null

WORK="$BENCH_DIR/kill-sync"
CHECKOUT="$WORK/puppet"
CONFIG="$WORK/config.toml"
mkdir -p "$WORK"

# --- the checkout: the scenario's clean-syncing part ---------------------------
if [[ ! -f "$WORK/ready" ]]; then
    rm -rf "$CHECKOUT"
    log "cloning the scenario to $CHECKOUT"
    g clone -q --branch production "$SCENARIO" "$CHECKOUT"
    upstream="$(g -C "$SCENARIO" rev-parse origin/production)"
    base="$(g -C "$SCENARIO" merge-base production origin/production)"
    g -C "$CHECKOUT" update-ref refs/remotes/origin/production "$upstream"
    g -C "$CHECKOUT" config branch.production.remote origin
    g -C "$CHECKOUT" config branch.production.merge refs/heads/production
    # Keep the patches that do not stop, in order, on the same base.
    stops="$(awk -F'\t' '$1 == "rebase" && $3 == "conflict" { print $2 }' "$SUMMARY")"
    g -C "$CHECKOUT" checkout -q -B production "$base"
    for c in $(g -C "$SCENARIO" rev-list --reverse "$base..production"); do
        grep -q "$c" <<<"$stops" && continue
        g -C "$CHECKOUT" cherry-pick --allow-empty --keep-redundant-commits -x "$c" >/dev/null ||
            die "cherry-picking $c onto the kept patches failed"
    done
    g -C "$CHECKOUT" reflog expire --expire=all --all
    printf '[sync]\npost_update = ["/bin/sleep", "0.2"]\nsnapshot_tags = false\ncommitter_name = "root"\ncommitter_email = "root@localhost"\n' >"$CONFIG"
    touch "$WORK/ready"
fi

OLD="$(g -C "$CHECKOUT" rev-parse HEAD)"
bd() { "$BIN" --config "$CONFIG" "$@"; }
export BETADRIFT_NOW=2024-10-25T00:00:00Z
cd "$CHECKOUT"

# The checkout must start exactly at $OLD: no journal, clean, nothing stray.
exact() {
    [[ "$(g rev-parse HEAD)" == "$OLD" ]] || { echo "HEAD $(g rev-parse HEAD), not $OLD"; return 1; }
    [[ ! -e .git/index.lock ]] || { echo "index.lock left"; return 1; }
    [[ ! -e .git/betadrift/journal.json ]] || { echo "journal left"; return 1; }
    local dirty
    dirty="$(g status --porcelain --ignored --untracked-files=all)"
    [[ -z "$dirty" ]] || { echo "not clean: $(head -3 <<<"$dirty")"; return 1; }
    compgen -G ".git/betadrift-index-*" >/dev/null && { echo "scratch index left"; return 1; }
    return 0
}
exact || die "the checkout is not clean at the start"
# The mirror is a partial clone (a few large blobs are missing): fsck's
# complaints before the kills are the baseline the end is compared with.
log "git fsck before the kills (the baseline)"
g fsck --no-dangling --no-progress >"$WORK/fsck.before" 2>&1 || true

# A full sync and its undo, timed, to scale the kill moments: measured
# again every 25 rounds (the machine's load changes), the faster of two.
calibrate() {
    local best=0 t0 t1 ms
    for _ in 1 2; do
        t0=$(date +%s%N)
        bd sync >/dev/null || die "a sync without a kill failed"
        t1=$(date +%s%N)
        bd undo >/dev/null || die "undo after a full sync failed"
        exact >/dev/null || die "undo after a full sync did not restore: $(exact)"
        ms=$(((t1 - t0) / 1000000))
        ((best == 0 || ms < best)) && best=$ms
    done
    FULL_MS=$best
    log "a full sync takes ${FULL_MS} ms"
}

signals=(KILL INT TERM)
declare -A sent=() recovered=() failures=()
declare -A when=([before]=0 [during]=0 [after]=0)
durations=()
for ((i = 0; i < KILLS; i++)); do
    ((i % 25 == 0)) && calibrate && durations+=("$FULL_MS")
    sig="${signals[i % 3]}"
    delay_ms=$((RANDOM * 32768 + RANDOM))
    delay_ms=$((delay_ms % (FULL_MS + 1)))
    # The binary itself in the background (not through `bd`: a function
    # would run in a subshell, and the signal would hit the subshell).
    "$BIN" --config "$CONFIG" sync >/dev/null 2>"$WORK/stderr" &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -s "$sig" "$pid" 2>/dev/null || true
    rc=0
    { wait "$pid"; } 2>/dev/null || rc=$?
    sent[$sig]=$((${sent[$sig]:-0} + 1))
    head="$(g rev-parse HEAD)"
    # Where the signal landed: before the branch moved, while the rewrite
    # (or its post-update command) was under way, or after it had finished.
    if ((rc == 0)); then
        when[after]=$((when[after] + 1))
    elif [[ "$head" == "$OLD" ]] && ! grep -q '"phase": "post-update' .git/betadrift/journal.json 2>/dev/null; then
        when[before]=$((when[before] + 1))
    else
        when[during]=$((when[during] + 1))
    fi
    # Recover: undo whenever something is recorded or the branch moved.
    if [[ -e .git/betadrift/journal.json || "$head" != "$OLD" ]]; then
        if ! bd undo >"$WORK/undo.out" 2>&1; then
            failures[$i]="SIG$sig after ${delay_ms} ms (exit $rc): undo failed: $(tail -1 "$WORK/undo.out")"
            break
        fi
    fi
    if why="$(exact)"; then
        recovered[$sig]=$((${recovered[$sig]:-0} + 1))
    else
        failures[$i]="SIG$sig after ${delay_ms} ms (exit $rc): $why"
        break
    fi
done

log "git fsck over the whole repository"
fsck="clean"
g fsck --no-dangling --no-progress >"$WORK/fsck.out" 2>&1 || true
if ! cmp -s "$WORK/fsck.before" "$WORK/fsck.out"; then
    fsck="FAILED: $(diff "$WORK/fsck.before" "$WORK/fsck.out" | head -5)"
elif [[ -s "$WORK/fsck.out" ]]; then
    fsck="clean (as before the kills; the partial clone's $(grep -c '^broken link' "$WORK/fsck.out") broken links to missing blobs are the mirror's)"
fi
for ref in $(g for-each-ref --format='%(objectname)' refs/betadrift/backup/); do
    g cat-file -e "$ref^{commit}" || fsck="backup $ref unreadable"
done

{
    echo "kill-sync: $KILLS random kills of betadrift sync on $(g rev-list --count "$OLD..origin/production") upstream commits, $(g rev-list --count "$(g merge-base HEAD origin/production)..HEAD") local patches"
    echo "binary: $BIN"
    echo "full sync (calibrated every 25 rounds, ms): ${durations[*]}; kill moment uniform in 0..full"
    for sig in "${signals[@]}"; do
        echo "  SIG$sig: ${sent[$sig]:-0} sent, ${recovered[$sig]:-0} recovered exactly"
    done
    echo "  the signal landed before the branch moved ${when[before]} times, during the rewrite or its post-update command ${when[during]} times, after it finished ${when[after]} times"
    echo "  failures: ${#failures[@]}"
    for k in "${!failures[@]}"; do echo "    round $k: ${failures[$k]}"; done
    echo "git fsck: $fsck; backups: $(g for-each-ref refs/betadrift/backup/ | wc -l)"
} | tee "$WORK/result.txt"
[[ ${#failures[@]} -eq 0 && "$fsck" == clean* ]]
