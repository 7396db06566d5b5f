# shellcheck shell=bash disable=SC2034  # globals set here are for the callers
# Shared by the bench/ scripts: paths, a hermetic git, small helpers.
# Sourced, never run. The callers set `set -euo pipefail`.

BENCH_SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
    printf '%s: error: %s\n' "${0##*/}" "$*" >&2
    exit 2
}

# --help: the calling script's header comment, from its second line to the
# first line that is not a comment.
usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

log() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# --- hermetic git --------------------------------------------------------------
# Same commit ids on every build and every machine: no system or user config,
# UTC, C locale, fixed default dates (callers that create commits pass their own
# dates explicitly), no pager, no prompts, and never a lazy fetch from the
# partial clone's promisor remote (a missing blob must fail, not hang).
export GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL=/dev/null
export TZ=UTC LC_ALL=C
export GIT_TERMINAL_PROMPT=0 GIT_NO_LAZY_FETCH=1 GIT_PAGER=cat PAGER=cat GIT_ADVICE=0
export GIT_AUTHOR_NAME="betadrift bench" GIT_AUTHOR_EMAIL="bench@betadrift.invalid"
export GIT_COMMITTER_NAME="betadrift bench" GIT_COMMITTER_EMAIL="bench@betadrift.invalid"
export GIT_AUTHOR_DATE="2024-10-25T00:00:00Z" GIT_COMMITTER_DATE="2024-10-25T00:00:00Z"
# Anything inherited that would point git at another repository or index.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
    GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_COMMON_DIR GIT_NAMESPACE GIT_CEILING_DIRECTORIES

# git 2.47 (merge-tree --merge-base, --write-tree) lives in /usr/local/bin on
# the project machines; BETADRIFT_GIT overrides, as in the test suite.
if [[ -z "${BETADRIFT_GIT:-}" ]]; then
    if [[ -x /usr/local/bin/git ]]; then BETADRIFT_GIT=/usr/local/bin/git; else BETADRIFT_GIT=git; fi
fi
export BETADRIFT_GIT
# hyperfine runs command lines through bash; putting this git first on PATH
# makes "git" in those lines the same binary.
PATH="$(dirname "$(command -v "$BETADRIFT_GIT")"):$PATH"
export PATH

g() {
    "$BETADRIFT_GIT" "$@"
}

# A tree of $REPO equal to <tree> except for one path: <blob> with <mode>
# (default 100644), or "-" to delete it. Works in the index file $W/index.
tree_with() {
    local tree="$1" path="$2" blob="$3" mode="${4:-100644}"
    GIT_INDEX_FILE="$W/index" g -C "$REPO" read-tree "$tree"
    if [[ "$blob" == - ]]; then
        GIT_INDEX_FILE="$W/index" g -C "$REPO" update-index --force-remove -- "$path"
    else
        GIT_INDEX_FILE="$W/index" g -C "$REPO" update-index --add --cacheinfo "$mode,$blob,$path"
    fi
    GIT_INDEX_FILE="$W/index" g -C "$REPO" write-tree
}

# --- locations -----------------------------------------------------------------
# The real repository is never part of this project: it comes from the
# environment, and everything built from it goes under BETADRIFT_BENCH_DIR.
BENCH_DIR="${BETADRIFT_BENCH_DIR:-${TMPDIR:-/tmp}/betadrift-bench}"
SCENARIO="$BENCH_DIR/puppet"
SUMMARY="$BENCH_DIR/scenario-summary.txt"

need_puppet_repo() {
    [[ -n "${BETADRIFT_PUPPET_REPO:-}" ]] ||
        die "set BETADRIFT_PUPPET_REPO to a clone of operations/puppet (bare or not)"
    PUPPET_REPO="$(cd "$BETADRIFT_PUPPET_REPO" && pwd)" || die "cannot enter $BETADRIFT_PUPPET_REPO"
    PUPPET_GIT_DIR="$(g -C "$PUPPET_REPO" rev-parse --absolute-git-dir)" ||
        die "$PUPPET_REPO is not a git repository"
}

need_scenario() {
    [[ -d "$SCENARIO/.git" ]] ||
        die "no scenario at $SCENARIO: run bench/make-puppet-scenario.sh first (BETADRIFT_BENCH_DIR=$BENCH_DIR)"
}

# What the timing scripts (status, check, report) need: hyperfine, jq, the
# scenario and the binary.
# One of the timing scripts' shared options, into the caller's max_median,
# runs and warmup (bash locals are seen by the functions a function calls):
# --max-median S, --runs N, --warmup N; --help prints the usage and exits.
# Returns 1 for any other option. Every option takes a value: shift 2.
timing_option() {
    case "$1" in
        --max-median) max_median="${2:?$1 needs a value}" ;;
        --runs) runs="${2:?$1 needs a value}" ;;
        --warmup) warmup="${2:?$1 needs a value}" ;;
        -h | --help) usage; exit 0 ;;
        *) return 1 ;;
    esac
}

# All of a timing script's arguments, when it takes only the shared options.
timing_options() {
    while (($#)); do
        timing_option "$@" || die "unknown argument: $1 (try --help)"
        shift 2
    done
}

need_timing_tools() {
    need_tool hyperfine
    need_tool jq
    need_scenario
    find_betadrift
}

need_tool() {
    command -v "$1" >/dev/null || die "$1 is not installed (${2:-needed by this script})"
}

# The betadrift binary: BETADRIFT_BIN, else the release build of this checkout
# (honouring CARGO_TARGET_DIR). Never builds: timing a build is not the point.
find_betadrift() {
    local candidate
    if [[ -n "${BETADRIFT_BIN:-}" ]]; then
        [[ -x "$BETADRIFT_BIN" ]] || die "BETADRIFT_BIN=$BETADRIFT_BIN is not executable"
        BETADRIFT="$BETADRIFT_BIN"
        return
    fi
    candidate="${CARGO_TARGET_DIR:-$BENCH_SRC_DIR/../target}/release/betadrift"
    [[ -x "$candidate" ]] ||
        die "no betadrift at $candidate: run 'cargo build --release' (or set BETADRIFT_BIN)"
    BETADRIFT="$(cd "$(dirname "$candidate")" && pwd)/betadrift"
}

# Quotes words into one bash command line (hyperfine runs commands as strings).
shell_line() {
    local out="" word
    for word in "$@"; do out+="$(printf '%q' "$word") "; done
    printf '%s' "${out% }"
}

# Median of one command in a hyperfine --export-json file, in seconds.
hyperfine_median() {
    jq -r --argjson i "$2" '.results[$i].median' "$1"
}

# a / b with 2 decimals (awk: bash has no floating point).
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'
}

# True when a <= b, both decimal.
le() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

# Runs `git rebase <upstream>` of branch HEAD's tip the way the sync timer
# does, in a throw-away clone that borrows the scenario's objects, answering
# every stop with --skip. With a record file, writes one line per local patch:
#   <original commit> TAB <applies|already-upstream|becomes-empty|conflict> TAB <paths, comma-separated>
# plus "result_tree TAB <tree>". The clone is removed afterwards.
rebase_with_skips() {
    local repo="$1" record="${2:-}" scratch tip upstream rc n_stops=0
    tip="$(g -C "$repo" rev-parse --verify 'HEAD^{commit}')"
    upstream="$(g -C "$repo" rev-parse --verify '@{upstream}^{commit}')"
    scratch="$(mktemp -d "$BENCH_DIR/rebase-scratch.XXXXXX")"
    # shellcheck disable=SC2064  # expand now: the variable is local
    trap "rm -rf -- $(printf '%q' "$scratch"); trap - RETURN" RETURN
    g clone -q --shared --no-checkout "$repo" "$scratch/c"
    g -C "$scratch/c" config gc.auto 0
    g -C "$scratch/c" update-ref refs/remotes/origin/production "$upstream"
    g -C "$scratch/c" checkout -q -B production "$tip"
    local stops="$scratch/stops"
    : >"$stops"
    set +e
    g -C "$scratch/c" rebase -q origin/production >"$scratch/log" 2>&1
    rc=$?
    while ((rc != 0)); do
        # A stop must be a conflict of a picked commit; anything else is a bug.
        local stopped
        stopped="$(g -C "$scratch/c" rev-parse -q --verify REBASE_HEAD)" || {
            cat "$scratch/log" >&2
            set -e
            die "git rebase failed without stopping on a commit"
        }
        printf '%s\t%s\n' "$stopped" \
            "$(g -C "$scratch/c" diff --name-only --diff-filter=U | paste -sd, -)" >>"$stops"
        n_stops=$((n_stops + 1))
        ((n_stops <= 1000)) || { set -e; die "git rebase does not stop stopping"; }
        g -C "$scratch/c" rebase --skip >>"$scratch/log" 2>&1
        rc=$?
    done
    set -e
    [[ -z "$record" ]] && return 0
    rebase_outcomes "$repo" "$upstream" "$tip" "$scratch/c" "$stops" >"$record"
}

# Classifies each original patch from the finished rebase: stopped ones are
# conflicts; ones `git log --cherry-pick` hides are already upstream; ones
# whose message and author survive in the result applied; the rest became empty.
rebase_outcomes() {
    local repo="$1" upstream="$2" tip="$3" clone="$4" stops="$5" c key tmp
    tmp="$(dirname "$stops")"
    declare -A stopped=() candidate=() applied=()
    while IFS=$'\t' read -r c key; do stopped[$c]="$key"; done <"$stops"
    # (Lists go through files: a failing git must not pass for an empty list.)
    g -C "$repo" log --cherry-pick --right-only --no-merges --format=%H "$upstream...$tip" >"$tmp/candidates"
    while read -r c; do candidate[$c]=1; done <"$tmp/candidates"
    # Rebase keeps author, author date and message: that identifies a commit.
    g -C "$clone" log --format='%an %ad %B%x00' "$upstream..HEAD" >"$tmp/applied.raw"
    sha_records <"$tmp/applied.raw" >"$tmp/applied"
    while read -r key; do applied[$key]=1; done <"$tmp/applied"
    g -C "$repo" log --reverse --no-merges --format='%H' "$upstream..$tip" >"$tmp/local"
    : >"$tmp/local.keys"
    while read -r c; do
        g -C "$repo" log -1 --format='%an %ad %B%x00' "$c" >"$tmp/one.raw"
        printf '%s %s\n' "$c" "$(sha_records <"$tmp/one.raw")" >>"$tmp/local.keys"
    done <"$tmp/local"
    while IFS=' ' read -r c key; do
        # What git did decides first: --cherry-pick also hides commits that
        # start empty when upstream has an empty commit, and git keeps those.
        if [[ -n "${stopped[$c]+x}" ]]; then
            printf '%s\tconflict\t%s\n' "$c" "${stopped[$c]}"
        elif [[ -n "${applied[$key]+x}" ]]; then
            printf '%s\tapplies\t\n' "$c"
        elif [[ -z "${candidate[$c]+x}" ]]; then
            printf '%s\talready-upstream\t\n' "$c"
        else
            printf '%s\tbecomes-empty\t\n' "$c"
        fi
    done <"$tmp/local.keys"
    printf 'result_tree\t%s\t\n' "$(g -C "$clone" rev-parse 'HEAD^{tree}')"
}

# Reads NUL-terminated records, prints the SHA-1 of each on its own line:
# of its ASCII without whitespace, since a rebase re-encodes messages to
# UTF-8 and cleans up their blank lines and CRs.
sha_records() {
    local rec
    while IFS= read -r -d '' rec; do
        printf '%s' "$rec" | LC_ALL=C tr -d '\200-\377 \t\r\n' | sha1sum | cut -d' ' -f1
    done
}
