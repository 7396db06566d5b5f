#!/usr/bin/env bash
# The differential sweep on real history: many rebase cases built from
# windows of the real operations/puppet history, each predicted by
# `betadrift check --json` and done for real by `git rebase` (--skip at every
# stop), compared patch by patch.
#
#   BETADRIFT_PUPPET_REPO=/path/to/operations-puppet bench/sweep-history.sh [--cases N] [--seed S] [--keep]
#
# Case k (seed S) takes an upstream tip U on the first-parent history of
# `production` and a base B = U~behind (200 to 6,000 commits), then builds
# a stack of 1 to 16 local patches on B: real commits of B..U cherry-picked
# (whole, partly, or as an "older patchset" with an extra line), reverts of
# older commits, local hacks next to lines upstream changes, deletions,
# renames, mode changes, files added in existing directories (upstream may
# rename them), a file turned into a directory, and empty commits; local
# subjects are sometimes CRLF, invalid UTF-8, or Latin-1 with an `encoding`
# header. Compared per patch: the outcome (applies, already-upstream,
# becomes-empty, conflict), the unmerged paths and the kinds of git's
# `CONFLICT (…)` lines at each stop; then the result tree.
#
# Everything goes under $BETADRIFT_BENCH_DIR/sweep (one checkout that borrows
# the real repository's objects, reused case after case). Prints one line
# per case and a summary; the differences of every case that differs go to
# $BETADRIFT_BENCH_DIR/sweep/differences.txt. Exits 1 if any case differs.
# Cases whose patches need a blob the partial clone lacks are counted apart.
# Needs jq.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SWEEP="$BENCH_DIR/sweep"
REPO="$SWEEP/puppet"
W="$SWEEP/work"

# git's name for each JSON conflict kind (docs/json.md).
git_kind() {
    case "$1" in
        content | binary | symlink | mode) echo content ;;
        add-add) echo add/add ;;
        modify-delete) echo modify/delete ;;
        rename-delete) echo rename/delete ;;
        rename-rename) echo rename/rename ;;
        rename-collision) echo "rename involved in collision" ;;
        file-directory) echo file/directory ;;
        distinct-types) echo "distinct types" ;;
        directory-rename) echo "file location" ;;
        directory-rename-split) echo "directory rename split" ;;
        directory-rename-in-the-way | directory-rename-collision) echo "implicit dir rename" ;;
        *) echo "$1" ;;
    esac
}

init_repo() {
    [[ -d "$REPO/.git" ]] && return 0
    g init -q -b production "$REPO"
    printf '%s\n' "$PUPPET_GIT_DIR/objects" >"$REPO/.git/objects/info/alternates"
    g -C "$REPO" config remote.origin.url "$PUPPET_REPO"
    g -C "$REPO" config remote.origin.fetch "+refs/heads/*:refs/remotes/origin/*"
    g -C "$REPO" config branch.production.remote origin
    g -C "$REPO" config branch.production.merge refs/heads/production
    g -C "$REPO" config gc.auto 0
}

# R = a random number below $1 (bash's RANDOM, seeded per case, so a case
# is the same on every run; never called in a subshell, which would not
# advance the sequence).
below() {
    R=$(((RANDOM * 32768 + RANDOM) % $1))
}

# R = a random line of stdin (empty if none).
pick_line() {
    local lines=()
    mapfile -t lines
    R=""
    ((${#lines[@]})) || return 0
    local n=${#lines[@]}
    below "$n"
    R="${lines[$R]}"
}

# Writes a commit of <tree> on TIP with message file <msg>, <author>
# ("Name <email>") and <date> ("<epoch> +0000"), byte for byte (commit-tree
# would rewrite a message that is not UTF-8), with an `encoding` header when
# ENCODING is set; sets TIP.
commit() {
    local tree="$1" msg="$2" author="$3" date="$4"
    {
        printf 'tree %s\nparent %s\nauthor %s %s\ncommitter %s %s\n' "$tree" "$TIP" "$author" "$date" \
            "$GIT_COMMITTER_NAME <$GIT_COMMITTER_EMAIL>" "$date"
        [[ -z "$ENCODING" ]] || printf 'encoding %s\n' "$ENCODING"
        printf '\n'
        cat "$msg"
    } >"$W/commit"
    TIP="$(g -C "$REPO" hash-object -t commit -w "$W/commit")"
}

# The mirror is a partial clone: a few large blobs are missing. Keeps the
# paths of <tree>s whose blobs are missing out of the working tree (a
# non-cone sparse checkout), so that checking out and rebasing do not need
# them; a case whose merges need one fails in git and is skipped.
exclude_missing_blobs() {
    local t
    for t in "$@"; do g -C "$REPO" ls-tree -r --full-tree "$t"; done |
        awk '$2 == "blob" { print $3 "\t" $4 }' | sort -u >"$W/blobs"
    cut -f1 "$W/blobs" | g -C "$REPO" cat-file --batch-check='%(objectname) %(objecttype)' |
        awk '$2 == "missing" { print $1 }' >"$W/missing"
    {
        echo '/*'
        { grep -F -f "$W/missing" "$W/blobs" || true; } | cut -f2 | sed 's|^|!/|'
    } >"$REPO/.git/info/sparse-checkout"
    g -C "$REPO" config core.sparseCheckout true
}

# The in-memory cherry-pick of <commit> onto <onto>, with <base> as the
# merge base; prints the tree, fails on a conflict or a missing blob.
merged_tree() {
    local out
    out="$(g -C "$REPO" merge-tree --write-tree --no-messages --merge-base="$1" "$2" "$3" 2>/dev/null)" || return 1
    printf '%s\n' "${out%%$'\n'*}"
}

# A local subject, sometimes with what labels must keep byte for byte.
# Writes the message file $W/msg and sets ENCODING (or leaves it empty).
local_message() {
    local subject="$1" roll
    below 100
    roll=$R
    if ((roll < 10)); then
        printf '%s\r\n\r\nbody\r\n' "$subject" >"$W/msg"
    elif ((roll < 18)); then
        printf '%s caf\xe9\n' "$subject" >"$W/msg"
        ENCODING=ISO-8859-1
    elif ((roll < 23)); then
        printf '%s \xff\xfe\n' "$subject" >"$W/msg"
    else
        printf '%s\n' "$subject" >"$W/msg"
    fi
}

# P = a random path that upstream commit <u> modified and that <tree> has
# as a regular file; empty if none.
path_upstream_modified() {
    local u="$1" tree="$2"
    pick_line < <(g -C "$REPO" diff-tree -r --no-commit-id --diff-filter=M --name-only "$u^" "$u")
    P="$R"
    [[ -n "$P" ]] || return 0
    g -C "$REPO" ls-tree "$tree" -- "$P" | grep -q '^100644 blob ' || P=""
}

# The blob of <path> in <tree>.
blob_of() {
    g -C "$REPO" rev-parse --verify -q "$1:$2"
}

# A local hack on <path> of <tree> near a line upstream commit <u> changed:
# a line inserted or replaced there. Sets TREE.
hack_near() {
    local tree="$1" path="$2" u="$3" line blob n mode
    line="$(g -C "$REPO" diff -U0 "$u^" "$u" -- "$path" | sed -n 's/^@@ -\([0-9]*\).*/\1/p' | head -1)"
    line="${line:-1}"
    g -C "$REPO" cat-file blob "$(blob_of "$tree" "$path")" >"$W/file" || return 1
    below 3
    n=$((R + line - 1))
    ((n >= 1)) || n=1
    below 2
    mode=$R
    awk -v n="$n" -v mode="$mode" -v text="# local hack $n" '
        NR == n { if (mode == 0) { print text; next } else { print; print text; next } }
        { print } END { if (NR < n) print text }' "$W/file" >"$W/file.new"
    blob="$(g -C "$REPO" hash-object -w "$W/file.new")"
    TREE="$(tree_with "$tree" "$path" "$blob")"
}

# Builds the local stack of case <k> on B; sets TIP and N_PATCHES.
build_stack() {
    local n i roll u p tree blob date author
    TIP="$B"
    N_PATCHES=0
    below 16
    n=$((1 + R))
    date="$(g -C "$REPO" log -1 --format=%ct "$B")"
    mapfile -t UPSTREAM < <(g -C "$REPO" rev-list --first-parent --no-merges "$B..$U" | head -3000)
    ((${#UPSTREAM[@]} > 0)) || return 0
    for ((i = 0; i < n; i++)); do
        date=$((date + 3600))
        below 100
        roll=$R
        below ${#UPSTREAM[@]}
        u="${UPSTREAM[$R]}"
        ENCODING=""
        tree="$(g -C "$REPO" rev-parse "$TIP^{tree}")"
        author="Local Admin <admin@example.org>"
        if ((roll < 40)); then
            # A real change of B..U, picked early: whole, partly, or older.
            tree="$(merged_tree "$u^" "$TIP" "$u")" || continue
            g -C "$REPO" cat-file commit "$u" | sed '1,/^$/d' >"$W/msg"
            author="$(g -C "$REPO" log -1 --format='%an <%ae>' "$u")"
            path_upstream_modified "$u" "$tree"
            p="$P"
            if ((roll >= 30)) && [[ -n "$p" ]]; then
                g -C "$REPO" cat-file blob "$(blob_of "$tree" "$p")" >"$W/file"
                printf '# TODO: older patchset\n' >>"$W/file"
                tree="$(tree_with "$tree" "$p" "$(g -C "$REPO" hash-object -w "$W/file")")"
            elif ((roll >= 22)) && [[ -n "$p" ]] && blob="$(blob_of "$TIP" "$p")"; then
                tree="$(tree_with "$tree" "$p" "$blob")"
            fi
            commit "$tree" "$W/msg" "$author" "$date +0000"
        elif ((roll < 45)); then
            # A revert of an older commit.
            pick_line < <(g -C "$REPO" rev-list --first-parent --no-merges -n 400 "$B")
            p="$R"
            tree="$(merged_tree "$p" "$TIP" "$p^")" || continue
            printf 'Revert "%s"\n\nThis reverts commit %s.\n' "$(g -C "$REPO" log -1 --format=%s "$p")" "$p" >"$W/msg"
            commit "$tree" "$W/msg" "$author" "$date +0000"
        elif ((roll < 52)); then
            local_message "HACK: an empty commit to mark the sync $i"
            commit "$tree" "$W/msg" "$author" "$date +0000"
        else
            path_upstream_modified "$u" "$tree"
            p="$P"
            if ((roll < 62)) || [[ -z "$p" ]]; then
                # A file added in an existing directory (upstream may move it).
                pick_line < <(g -C "$REPO" ls-tree -d -r --name-only "$B" -- modules hieradata)
                p="${R:-modules}/local_hack_$i.pp"
                blob="$(printf 'class local_hack_%s {}\n' "$i" | g -C "$REPO" hash-object -w --stdin)"
                tree="$(tree_with "$tree" "$p" "$blob")" || continue
                local_message "HACK: add $p"
            elif ((roll < 80)); then
                hack_near "$tree" "$p" "$u" || continue
                tree="$TREE"
                local_message "HACK: tweak $p"
            elif ((roll < 85)); then
                tree="$(tree_with "$tree" "$p" -)"
                local_message "HACK: drop $p"
            elif ((roll < 90)); then
                blob="$(blob_of "$tree" "$p")"
                tree="$(tree_with "$(tree_with "$tree" "$p" -)" "$p.local" "$blob")"
                local_message "HACK: move $p aside"
            elif ((roll < 95)); then
                tree="$(tree_with "$tree" "$p" "$(blob_of "$tree" "$p")" 100755)"
                local_message "HACK: make $p executable"
            else
                blob="$(blob_of "$tree" "$p")"
                tree="$(tree_with "$(tree_with "$tree" "$p" -)" "$p/init.pp" "$blob")"
                local_message "HACK: $p becomes a directory"
            fi
            [[ "$tree" != "$(g -C "$REPO" rev-parse "$TIP^{tree}")" ]] || continue
            commit "$tree" "$W/msg" "$author" "$date +0000"
        fi
        N_PATCHES=$((N_PATCHES + 1))
    done
}

# betadrift's answer for the checkout: one line per patch (commit, outcome,
# unmerged paths, git's names of the conflict kinds), then the result tree.
from_betadrift() {
    local rc=0
    "$BETADRIFT" check --json --repo "$REPO" >"$W/check.json" 2>"$W/check.err" || rc=$?
    ((rc <= 1)) || return 1
    # Paths keep printable ASCII only: JSON shows invalid UTF-8 lossily, and
    # git quotes control characters (the tests compare those bytes exactly).
    jq -r '.patches[] | select(.outcome != "merge-commit") |
        [.commit, .outcome, ((.conflict_paths // []) | map(gsub("[^ -~]"; "")) | sort | join(",")),
         ([.conflicts[].kind] | join(","))] | join("\u001f")' \
        "$W/check.json" | while IFS=$'\x1f' read -r c outcome paths kinds; do
        local names=() k
        IFS=, read -ra ks <<<"$kinds"
        for k in "${ks[@]}"; do names+=("$(git_kind "$k")"); done
        printf '%s\t%s\t%s\t%s\n' "$(g -C "$REPO" rev-parse "$c^{commit}")" "$outcome" "$paths" \
            "$(printf '%s\n' "${names[@]}" | sed '/^$/d' | LC_ALL=C sort | paste -sd, -)"
    done
    printf 'result_tree\t%s\t\t\n' "$(jq -r .result_tree "$W/check.json")"
}

# Identifies a commit across the rebase: author, date and the ASCII of its
# message without whitespace (git re-encodes and cleans up messages).
identity() {
    g -C "$REPO" log -1 --format='%an %ad %B' "$1" | LC_ALL=C tr -d '\200-\377 \t\r\n' | sha1sum | cut -d' ' -f1
}

# git's answer, in the same shape: the real rebase, --skip at every stop.
from_git() {
    local tip rc=0 c stopped
    tip="$(g -C "$REPO" rev-parse HEAD)"
    declare -A stops=() applied=()
    g -C "$REPO" -c core.editor=true rebase origin/production >"$W/rebase.log" 2>&1 || rc=$?
    while ((rc != 0)); do
        if grep -q 'BUG: ' "$W/rebase.log"; then
            GIT_FAILED="$(tr '\r' '\n' <"$W/rebase.log" | grep -m1 'BUG: ')"
            return 1
        fi
        stopped="$(g -C "$REPO" rev-parse -q --verify REBASE_HEAD)" || {
            GIT_FAILED="failed without stopping: $(tr '\r' '\n' <"$W/rebase.log" | grep -m1 -E '^(error|fatal)')"
            return 1
        }
        stops[$stopped]="$(g -C "$REPO" ls-files -u -z | tr '\0' '\n' | cut -f2 | LC_ALL=C tr -d '\000-\011\013-\037\177-\377' |
            LC_ALL=C sort -u | paste -sd, -)"$'\t'"$(
            tr '\r' '\n' <"$W/rebase.log" | sed -n 's/^CONFLICT (\(.*\)): .*/\1/p' | LC_ALL=C sort | paste -sd, -)"
        g -C "$REPO" clean -fdq
        rc=0
        g -C "$REPO" -c core.editor=true rebase --skip >"$W/rebase.log" 2>&1 || rc=$?
    done
    for c in $(g -C "$REPO" rev-list origin/production..HEAD); do applied[$(identity "$c")]=1; done
    g -C "$REPO" log --cherry-pick --right-only --no-merges --format=%H "origin/production...$tip" >"$W/candidates"
    for c in $(g -C "$REPO" rev-list --reverse --no-merges "origin/production..$tip"); do
        if [[ -n "${stops[$c]+x}" ]]; then
            printf '%s\tconflict\t%s\n' "$c" "${stops[$c]}"
        elif [[ -n "${applied[$(identity "$c")]+x}" ]]; then
            printf '%s\tapplies\t\t\n' "$c"
        elif ! grep -qx "$c" "$W/candidates"; then
            printf '%s\talready-upstream\t\t\n' "$c"
        else
            printf '%s\tbecomes-empty\t\t\n' "$c"
        fi
    done
    printf 'result_tree\t%s\t\t\n' "$(g -C "$REPO" rev-parse 'HEAD^{tree}')"
}

main() {
    local cases=20 seed=1 keep=0 k
    while (($#)); do
        case "$1" in
            --cases) cases="${2:?--cases needs a number}"; shift ;;
            --seed) seed="${2:?--seed needs a number}"; shift ;;
            --keep) keep=1 ;;
            -h | --help) usage; exit 0 ;;
            *) die "unknown argument: $1 (try --help)" ;;
        esac
        shift
    done
    need_tool jq
    need_puppet_repo
    find_betadrift
    mkdir -p "$SWEEP" "$W"
    init_repo
    g -C "$PUPPET_REPO" rev-list --first-parent production >"$W/first-parent"
    local total n_agree=0 n_differ=0 n_skipped=0 n_patches=0 n_stops=0 line
    total="$(wc -l <"$W/first-parent")"
    : >"$SWEEP/differences.txt"
    for ((k = seed; k < seed + cases; k++)); do
        RANDOM=$k
        local iu behind
        below 5800
        behind=$((200 + R))
        below $((total - behind - 1))
        iu=$R
        U="$(sed -n "$((iu + 1))p" "$W/first-parent")"
        B="$(sed -n "$((iu + behind + 1))p" "$W/first-parent")"
        build_stack
        line="case $k: U=${U:0:10} B=U~$behind, $N_PATCHES patches"
        if ((N_PATCHES == 0)); then
            echo "$line: skipped (no patch could be built)"
            n_skipped=$((n_skipped + 1))
            continue
        fi
        g -C "$REPO" update-ref refs/remotes/origin/production "$U"
        g -C "$REPO" update-ref refs/heads/production "$TIP"
        g -C "$REPO" rebase --abort >/dev/null 2>&1 || true
        exclude_missing_blobs "$U" "$TIP"
        if ! g -C "$REPO" checkout -q -f production 2>"$W/checkout.err"; then
            echo "$line: skipped (checkout: $(grep -m1 -E '^(error|fatal)' "$W/checkout.err"))"
            n_skipped=$((n_skipped + 1))
            continue
        fi
        g -C "$REPO" clean -fdq
        if ! from_betadrift >"$W/b"; then
            echo "$line: DIFFER (betadrift failed: $(head -1 "$W/check.err"))"
            { echo "== $line"; cat "$W/check.err"; } >>"$SWEEP/differences.txt"
            n_differ=$((n_differ + 1))
            continue
        fi
        GIT_FAILED=""
        if ! from_git >"$W/r"; then
            echo "$line: skipped (git: $GIT_FAILED)"
            n_skipped=$((n_skipped + 1))
            continue
        fi
        n_patches=$((n_patches + N_PATCHES))
        n_stops=$((n_stops + $(grep -c $'\tconflict\t' "$W/r" || true)))
        if diff -q "$W/b" "$W/r" >/dev/null; then
            echo "$line, $(grep -c $'\tconflict\t' "$W/r" || true) stops: agree"
            n_agree=$((n_agree + 1))
        else
            echo "$line: DIFFER"
            { echo "== $line"; diff --label betadrift --label git -u "$W/b" "$W/r" || true; } >>"$SWEEP/differences.txt"
            n_differ=$((n_differ + 1))
        fi
    done
    echo "seeds $seed..$((seed + cases - 1)): $((n_agree + n_differ)) cases compared ($n_patches patches, $n_stops stops):" \
        "$n_agree agree, $n_differ differ; $n_skipped skipped"
    ((keep)) || rm -rf -- "$W"
    ((n_differ == 0))
}

main "$@"
