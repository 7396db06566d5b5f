#!/usr/bin/env bash
# Builds the benchmark scenario from a real operations/puppet clone: a
# puppetmaster checkout whose `production` is an old upstream commit B plus
# ~40 local patches, and whose `origin/production` is the upstream tip U.
#
#   BETADRIFT_PUPPET_REPO=/path/to/operations-puppet bench/make-puppet-scenario.sh [--rebuild]
#
# Result: $BETADRIFT_BENCH_DIR/puppet (default /tmp/betadrift-bench/puppet) and
# $BETADRIFT_BENCH_DIR/scenario-summary.txt. Like a puppetmaster's, the
# checkout is a full clone with objects of its own, in packs: it takes the
# real repository's packs by hard link (a copy across file systems).
#
# Everything is made with plumbing (merge-tree, commit-tree) under fixed
# identities and dates, so the same mirror gives the same commit ids on every
# build. An existing scenario built from the same mirror by the same recipe is
# reused unless --rebuild is given.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Bump when the recipe changes: a scenario built by another recipe is rebuilt.
RECIPE=2

# How the stack is made; overridable for experiments, not needed normally.
UPSTREAM_REV="${BETADRIFT_BENCH_UPSTREAM:-production}"
BEHIND="${BETADRIFT_BENCH_BEHIND:-3000}" # B = U~BEHIND
SNAPSHOT_SPAN=2000                       # snapshot bases lie in B~SNAPSHOT_SPAN..B
N_TAGS=30                                # snapshot tags, the newest at the last sync
N_MERGED=15                              # real changes merged later
N_OLDER=8                                # older patchsets of changes merged later
N_REVERTED=3                             # changes merged later, then reverted (at most)
POOL_AGE_DAYS=240                        # picks were authored at most this long before B

# Whoever runs the sync timer commits every rebased patch.
SYNC_NAME="root"
SYNC_EMAIL="root@deployment-puppetserver-1.deployment-prep.eqiad1.wikimedia.cloud"


# --- small plumbing helpers ------------------------------------------------------

# Work files of one build (deleted at the end).
W=""

# Splits a commit into author fields and a message file (cached per commit).
# Sets A_NAME, A_EMAIL, A_DATE ("<epoch> <tz>"), A_TIME (epoch), MSGFILE.
load_commit() {
    local c="$1" raw="$W/commits/$1" line
    if [[ ! -f "$raw.msg" ]]; then
        g -C "$REPO" cat-file commit "$c" >"$raw"
        sed '1,/^$/d' "$raw" >"$raw.msg"
        sed -n '/^author /{s/^author //;p;q}' "$raw" >"$raw.author"
    fi
    line="$(cat "$raw.author")"
    A_NAME="${line%% <*}"
    A_EMAIL="${line#* <}"
    A_EMAIL="${A_EMAIL%%>*}"
    A_DATE="${line##*> }"
    A_TIME="${A_DATE%% *}"
    MSGFILE="$raw.msg"
}

# Writes a commit; sets NEW_COMMIT. Committer is always the sync timer.
make_commit() {
    local tree="$1" parent="$2" msgfile="$3" name="$4" email="$5" date="$6" committed="$7"
    NEW_COMMIT="$(GIT_AUTHOR_NAME="$name" GIT_AUTHOR_EMAIL="$email" GIT_AUTHOR_DATE="$date" \
        GIT_COMMITTER_NAME="$SYNC_NAME" GIT_COMMITTER_EMAIL="$SYNC_EMAIL" GIT_COMMITTER_DATE="$committed" \
        g -C "$REPO" commit-tree "$tree" -p "$parent" -F "$msgfile")"
}

# In-memory cherry-pick of <commit> (relative to <base>) onto <onto>, as
# `git rebase` does it. Sets PICKED_TREE; returns 1 on conflict.
pick_tree() {
    local base="$1" onto="$2" commit="$3" out rc=0
    out="$(g -C "$REPO" merge-tree --write-tree --no-messages --merge-base="$base" "$onto" "$commit")" || rc=$?
    case "$rc" in
        0) PICKED_TREE="${out%%$'\n'*}" ;;
        1) return 1 ;;
        *) die "git merge-tree failed ($rc) picking $commit onto $onto" ;;
    esac
}

tree_of() {
    g -C "$REPO" rev-parse --verify "$1^{tree}"
}

# Whether every blob a commit's diff touches is present (the mirror is a
# partial clone: a few large blobs are missing, and nothing may fetch them).
# Sets BLOBS_OK (a status would switch off `set -e` inside, in a condition).
check_blobs() {
    g -C "$REPO" diff-tree -r --no-commit-id --raw "$1" >"$W/raw"
    awk '{ if ($3 !~ /^0+$/) print $3; if ($4 !~ /^0+$/) print $4 }' "$W/raw" >"$W/blobs"
    g -C "$REPO" cat-file --batch-check <"$W/blobs" >"$W/blobs.check"
    if grep -q ' missing$' "$W/blobs.check"; then BLOBS_OK=0; else BLOBS_OK=1; fi
}

# Rounds an epoch up to the next 10-minute mark (the sync timer's cadence).
ceil10() {
    echo $(((($1 + 599) / 600) * 600))
}

utc() {
    date -u -d "@$1" "$2"
}

# --- line editing for the local hacks --------------------------------------------
# Hacks name exact lines of the files at B, so a changed mirror fails loudly
# instead of producing a different scenario.

# edit_lines MODE ANCHOR OLD NEW: on stdin, replace / insert NEW after / insert
# NEW before the line equal to OLD. Without ANCHOR, OLD must occur exactly
# once; with one, the first OLD after the line equal to ANCHOR is used.
edit_lines() {
    MODE="$1" ANCHOR="$2" OLD="$3" NEW="$4" awk '
        BEGIN { mode = ENVIRON["MODE"]; anchor = ENVIRON["ANCHOR"]; old = ENVIRON["OLD"]; new = ENVIRON["NEW"]
                armed = (anchor == ""); hits = 0 }
        !armed { if ($0 == anchor) armed = 1; print; next }
        $0 == old && !(anchor != "" && hits > 0) {
            hits++
            if (mode == "replace") print new
            else if (mode == "after") { print; print new }
            else { print new; print }
            next
        }
        { print }
        END { if (hits != 1) { printf "edit_lines: %d lines equal to \"%s\"%s\n", hits, old,
                                   (anchor == "" ? "" : " after \"" anchor "\"") > "/dev/stderr"; exit 3 } }'
}

# --- the local hacks -------------------------------------------------------------
# Each: id, author date, author, Change-Id or not, Bug or "", file, subject,
# body; and a function hack_<id> that edits the file (stdin to stdout).
declare -a HACKS=()
declare -A H_DATE=() H_AUTHOR=() H_CID=() H_BUG=() H_FILE=() H_SUBJECT=() H_BODY=()

hack() {
    HACKS+=("$1")
    H_DATE[$1]="$2" H_AUTHOR[$1]="$3" H_CID[$1]="$4" H_BUG[$1]="$5" H_FILE[$1]="$6" H_SUBJECT[$1]="$7" H_BODY[$1]="${8:-}"
}

# Invented people: the scenario must not put words in real people's mouths.
TAMSIN="Tamsin Okafor <tokafor@example.org>"
RADU="Radu Lindqvist <rlindqvist@example.org>"
MIREILLE="Mireille Sato <msato@example.org>"
ROOT="root <$SYNC_EMAIL>"
DP=hieradata/cloud/eqiad1/deployment-prep

hack h01 2023-10-12T14:03:11Z "$TAMSIN" cid T347812 "$DP/common.yaml" \
    "deployment-prep: give memcached 4000M" \
    "The beta memcached instances evict constantly since the parser cache
moved there."
hack_h01() { edit_lines replace "" "profile::memcached::size: 3000" "profile::memcached::size: 4000"; }

# Collides: upstream deletes this file (modify/delete).
hack h02 2023-11-02T09:41:27Z "$ROOT" - "" "$DP/hosts/deployment-deploy03.yaml" \
    "HACK: deploy03: keep the puppet client bucket"
hack_h02() {
    edit_lines replace "" "profile::base::labs::cleanup_puppet_client_bucket: true" \
        "profile::base::labs::cleanup_puppet_client_bucket: false  # HACK: debugging scap, do not clean"
}

hack h03 2023-11-20T16:25:02Z "$RADU" cid "" modules/profile/manifests/beta/autoupdater.pp \
    "beta: autoupdater: run after the scap scripts are in place" \
    "The first run on a new deployment host fails otherwise."
hack_h03() {
    edit_lines replace "" "        require =>  Class['::scap::scripts']" \
        "        require => [Class['::scap::scripts'], File['/usr/local/bin/wmf-beta-mwconfig-update']],"
}

hack h04 2023-12-05T11:12:40Z "$MIREILLE" - "" modules/beta/templates/wmf-beta-autoupdate.py.erb \
    "TEMP: wmf-beta-autoupdate: always log at DEBUG"
hack_h04() {
    edit_lines replace "" "    logging.basicConfig(level=options.log_level)" \
        "    logging.basicConfig(level=logging.DEBUG)  # TEMP: chasing the hourly failures"
}

hack h05 2024-01-09T10:30:55Z "$TAMSIN" - "" "$DP/common.yaml" \
    "TEMP: swift: 4 object server workers" \
    "deployment-ms-be instances run out of memory with 12."
hack_h05() {
    edit_lines replace "" "profile::swift::storage::object_server_default_workers: 12" \
        "profile::swift::storage::object_server_default_workers: 4"
}

hack h06 2024-01-22T15:08:19Z "$ROOT" - "" manifests/site.pp \
    "HACK: site.pp: warn about cherry-picks on every beta instance"
hack_h06() {
    edit_lines after "" "        require role::wmcs::instance  # lint:ignore:wmf_styleguide" \
        "        # HACK: beta puppetmaster only
        include profile::beta::motd  # lint:ignore:wmf_styleguide"
}

hack h07 2024-02-06T13:44:02Z "$RADU" cid "" modules/profile/manifests/beta/motd.pp \
    "beta: motd: name the puppetmaster that serves the instance"
hack_h07() {
    edit_lines before "" "}" "    motd::script { 'beta_puppetmaster':
        ensure   => present,
        priority => 2,
        content  => \"#!/bin/sh\\necho 'Puppet: deployment-puppetserver-1 (local cherry-picks!)'\\n\",
    }"
}

# Collides: upstream turns this ferm::service into a firewall::service.
hack h08 2024-02-19T10:02:37Z "$MIREILLE" cid T357601 modules/profile/manifests/mediawiki/deployment/server.pp \
    "HACK: scap master rsync: also allow the beta bastion" \
    "Lets deployment-bastion pull from the scap master while the new
deployment host is set up."
hack_h08() {
    # shellcheck disable=SC2016  # puppet code, not shell expansions
    edit_lines replace "    ferm::service { 'rsyncd_scap_master':" '        srange => "(${deployable_networks_ferm})",' \
        '        srange => "(${deployable_networks_ferm} 172.16.0.0/21)",'
}

# Collides: upstream moves deployment_server to deploy04.
hack h09 2024-03-04T08:55:10Z "$ROOT" - "" "$DP/common.yaml" \
    "HACK: pin deployment_server to deploy03"
hack_h09() {
    edit_lines replace "" "deployment_server: deployment-deploy03.deployment-prep.eqiad1.wikimedia.cloud" \
        "deployment_server: deployment-deploy03.deployment-prep.eqiad1.wikimedia.cloud  # HACK: pinned"
}

# Becomes empty: the same one-line change upstream makes later.
hack h10 2024-03-18T17:31:09Z "$RADU" cid "" "$DP/common.yaml" \
    "TEMP: point scap at deployment-deploy04"
hack_h10() {
    edit_lines replace "" "scap::deployment_server: deployment-deploy03.deployment-prep.eqiad1.wikimedia.cloud" \
        "scap::deployment_server: deployment-deploy04.deployment-prep.eqiad1.wikimedia.cloud"
}

hack h11 2024-04-02T09:15:33Z "$MIREILLE" cid "" "$DP/hosts/deployment-mediawiki13.yaml" \
    "deployment-prep: hiera for deployment-mediawiki13" \
    "New Bookworm appserver, fewer FPM workers until it has settled."
hack_h11() {
    cat >/dev/null
    printf '%s\n' "profile::mediawiki::php::fpm_workers_multiplier: 0.5" "profile::mediawiki::php::enable_fpm: true"
}

# Depends on h09: edits the line h09 made, so it stops when h09 is skipped.
hack h12 2024-04-16T12:20:44Z "$TAMSIN" - "" "$DP/common.yaml" \
    "TEMP: deployment_server pin: say why"
hack_h12() {
    edit_lines replace "" "deployment_server: deployment-deploy03.deployment-prep.eqiad1.wikimedia.cloud  # HACK: pinned" \
        "deployment_server: deployment-deploy03.deployment-prep.eqiad1.wikimedia.cloud  # HACK: pinned until scap runs on deploy04"
}

# Depends on h01 and applies on top of it.
hack h13 2024-04-29T14:47:58Z "$TAMSIN" cid "" "$DP/common.yaml" \
    "deployment-prep: memcached 3500M, 4000M starves the host"
hack_h13() { edit_lines replace "" "profile::memcached::size: 4000" "profile::memcached::size: 3500"; }

hack h14 2024-05-08T10:10:10Z "$ROOT" - "" modules/profile/manifests/puppetmaster/frontend.pp \
    "HACK: puppetmaster frontend: no rsync timers on the single beta puppetmaster"
hack_h14() {
    edit_lines replace "" "        sync_ensure => \$sync_ensure," \
        "        sync_ensure => 'absent',  # HACK: nothing to sync from"
}

# Collides on an adjacent line: upstream changes rsync_host just above.
hack h15 2024-05-21T16:02:29Z "$RADU" cid "" "$DP/common.yaml" \
    "HACK: beta appservers: apc_shm_size 256M"
hack_h15() {
    edit_lines replace "" "profile::mediawiki::apc_shm_size: 128M" "profile::mediawiki::apc_shm_size: 256M"
}

# --- building --------------------------------------------------------------------

# U, B and their times; the sync times derived from them.
resolve_base() {
    U="$(g -C "$PUPPET_REPO" rev-parse --verify "$UPSTREAM_REV^{commit}")"
    B="$(g -C "$PUPPET_REPO" rev-parse --verify "$U~$BEHIND^{commit}")"
    U_TIME="$(g -C "$PUPPET_REPO" log -1 --format=%ct "$U")"
    B_TIME="$(g -C "$PUPPET_REPO" log -1 --format=%ct "$B")"
    # The last successful sync rebased onto B right after it was merged;
    # every sync since stopped on conflicts while fetching up to U.
    LAST_SYNC="$(ceil10 $((B_TIME + 1)))"
    FETCH_TIME="$(ceil10 $((U_TIME + 1)))"
}

# An empty non-bare repository borrowing the mirror's objects.
init_checkout() {
    local dir="$1"
    g init -q -b production "$dir"
    printf '%s\n' "$PUPPET_GIT_DIR/objects" >"$dir/.git/objects/info/alternates"
    g -C "$dir" config remote.origin.url "$PUPPET_REPO"
    g -C "$dir" config remote.origin.fetch "+refs/heads/*:refs/remotes/origin/*"
    g -C "$dir" config branch.production.remote origin
    g -C "$dir" config branch.production.merge refs/heads/production
    # No automatic gc: the benchmark must see the same repository every run.
    g -C "$dir" config gc.auto 0
    g -C "$dir" update-ref refs/remotes/origin/production "$U"
}

# Commits of B..U that are worth putting on the stack, one line each:
#   <commit> <author time> <kind: pick|reverted>
find_candidates() {
    local c t n_files n_lines cid subject reverts=() oldest=$((LAST_SYNC - POOL_AGE_DAYS * 86400))
    declare -A is_reverted=() cid_count=()
    # (Lists go through files, not process substitutions: a failing git must
    # stop the build, not pass for an empty list.)
    # Reverts inside the range, and what they revert.
    g -C "$REPO" log --first-parent --format=%H --grep='^This reverts commit' "$B..$U" >"$W/reverts"
    while read -r c; do
        g -C "$REPO" log -1 --format=%B "$c" >"$W/m"
        sed -n 's/^This reverts commit \([0-9a-f]\{40\}\).*/\1/p' "$W/m" >"$W/m.targets"
        while read -r t; do is_reverted[$t]=1; done <"$W/m.targets"
        reverts+=("$c")
    done <"$W/reverts"
    g -C "$REPO" log --first-parent --format='%(trailers:key=Change-Id,valueonly,separator=%x2C)' "$B..$U" >"$W/cids"
    while read -r cid; do if [[ -n "$cid" ]]; then cid_count[$cid]=$((${cid_count[$cid]:-0} + 1)); fi; done <"$W/cids"
    g -C "$REPO" log --first-parent --reverse --no-merges \
        --format='%H %at %(trailers:key=Change-Id,valueonly,separator=%x2C) %s' "$B..$U" >"$W/range"
    log "B..U has ${#reverts[@]} reverts"

    while IFS=' ' read -r c t cid subject; do
        ((t < LAST_SYNC - 86400)) || continue # authored before the last sync
        [[ "$cid" =~ ^I[0-9a-f]{40}$ && "${cid_count[$cid]}" == 1 ]] || continue
        local kind=pick
        if [[ -n "${is_reverted[$c]+x}" ]]; then
            kind=reverted
        else
            ((t >= oldest)) || continue
            [[ "$subject" != Revert* ]] || continue
            g -C "$REPO" log -1 --format=%B "$c" >"$W/m"
            ! grep -q '^This reverts commit' "$W/m" || continue
        fi
        g -C "$REPO" diff-tree -r --no-commit-id --numstat "$c" >"$W/numstat"
        read -r n_files n_lines < <(awk '{ f++; l += $1 + $2 } $1 == "-" { bin = 1 } END { print (bin ? 99 : f + 0), l + 0 }' "$W/numstat")
        ((n_files >= 1 && n_files <= 5 && n_lines <= 200)) || continue
        check_blobs "$c"
        if ((!BLOBS_OK)); then
            log "skipping $c: blobs missing from the partial clone"
            continue
        fi
        pick_tree "$c^" "$B" "$c" || continue
        [[ "$PICKED_TREE" != "$(tree_of "$B")" ]] || continue
        printf '%s %s %s\n' "$c" "$t" "$kind"
    done <"$W/range"
}

# Older patchset of C, as Gerrit's patchset 1 would have been: C minus its
# last hunk (variant "minus-hunk") or C plus a TODO comment line (variant
# "extra-line"). Sets VARIANT_COMMIT and VARIANT, or VARIANT_COMMIT="" if
# neither works. Like the variant_* functions (VARIANT_OK), it reports through
# a variable rather than its status: a function called as a condition runs
# without `set -e`, and a git failure inside must stop the build.
make_older_patchset() {
    local c="$1" prefer="$2" v other=minus-hunk
    [[ "$prefer" != minus-hunk ]] || other=extra-line
    for v in "$prefer" "$other"; do
        "variant_$v" "$c"
        if ((VARIANT_OK)); then
            load_commit "$c"
            make_commit "$VARIANT_TREE" "$c^" "$MSGFILE" "$A_NAME" "$A_EMAIL" "$A_DATE" "$A_DATE"
            VARIANT_COMMIT="$NEW_COMMIT" VARIANT="$v"
            return 0
        fi
    done
    VARIANT_COMMIT=""
}

variant_minus-hunk() {
    local c="$1" patch="$W/ps.patch" total last_file hunks_in_last cut_at
    VARIANT_OK=0
    g -C "$REPO" diff --no-color --no-ext-diff --full-index -U3 "$c^" "$c" >"$patch"
    total="$(grep -c '^@@ ' "$patch" || true)"
    ((total >= 2)) || return 0
    # The last hunk is at the end of the patch: cut it off, with its file's
    # header when it is that file's only hunk.
    last_file="$(grep -n '^diff --git ' "$patch" | tail -1 | cut -d: -f1)"
    hunks_in_last="$(tail -n +"$last_file" "$patch" | grep -c '^@@ ' || true)"
    if ((hunks_in_last >= 2)); then
        cut_at="$(grep -n '^@@ ' "$patch" | tail -1 | cut -d: -f1)"
    else
        cut_at="$last_file"
    fi
    head -n $((cut_at - 1)) "$patch" >"$patch.partial"
    GIT_INDEX_FILE="$W/index" g -C "$REPO" read-tree "$c^"
    # The cut patch comes from the same trees, so it must apply.
    GIT_INDEX_FILE="$W/index" g -C "$REPO" apply --cached "$patch.partial"
    VARIANT_TREE="$(GIT_INDEX_FILE="$W/index" g -C "$REPO" write-tree)"
    if [[ "$VARIANT_TREE" != "$(tree_of "$c^")" && "$VARIANT_TREE" != "$(tree_of "$c")" ]]; then VARIANT_OK=1; fi
}

variant_extra-line() {
    local c="$1" path line blob
    VARIANT_OK=0
    g -C "$REPO" diff-tree -r --no-commit-id --name-status --diff-filter=AM "$c" >"$W/ps.files"
    while IFS=$'\t' read -r _ path; do
        case "$path" in *.pp | *.yaml | *.yml | *.py | *.sh | *.rb | *.erb | *.conf | *.cfg) ;; *) continue ;; esac
        # First line C adds to the file.
        g -C "$REPO" diff -U0 "$c^" "$c" -- "$path" >"$W/ps.diff"
        line="$(sed -n 's/^@@ -[0-9,]* +\([0-9]*\)\(,\([0-9]*\)\)\{0,1\} @@.*/\1 \3/p' "$W/ps.diff" |
            awk '$2 == "" || $2 > 0 { print $1; exit }')"
        [[ -n "$line" ]] || continue
        g -C "$REPO" cat-file blob "$c:$path" >"$W/ps.orig"
        awk -v n="$line" '{ print } NR == n { match($0, /^[ \t-]*/); print substr($0, 1, RLENGTH) "# TODO: revisit once this is rolled out everywhere" }' \
            "$W/ps.orig" >"$W/ps.blob"
        blob="$(g -C "$REPO" hash-object -w --no-filters "$W/ps.blob")"
        VARIANT_TREE="$(tree_with "$(tree_of "$c")" "$path" "$blob")"
        VARIANT_OK=1
        return 0
    done <"$W/ps.files"
}

# The plan: every patch with its arrival time, in stack order. Lines:
#   <arrival> <kind> <source> <variant commit or ->
# kind: merged | older | reverted | hack; source: upstream commit or hack id.
make_plan() {
    local cands="$W/candidates" picks=() reverted=() n i idx c t kind
    find_candidates >"$cands"
    while read -r c t kind; do
        if [[ "$kind" == reverted ]]; then reverted+=("$c"); else picks+=("$c $t"); fi
    done <"$cands"
    n=${#picks[@]}
    log "pool: $n changes merged later and authored before the last sync, ${#reverted[@]} merged then reverted"
    (( n >= N_MERGED + N_OLDER )) || die "only $n usable changes in B..U; need $((N_MERGED + N_OLDER))"
    : >"$W/plan"
    # Evenly over the pool, every third an older patchset.
    local total=$((N_MERGED + N_OLDER)) n_variant=0
    for ((i = 0; i < total; i++)); do
        idx=$((i * n / total))
        read -r c t <<<"${picks[$idx]}"
        kind=merged variant=-
        if ((i % 3 == 1 && n_variant < N_OLDER)); then
            local prefer=extra-line
            ((n_variant % 2)) || prefer=minus-hunk
            make_older_patchset "$c" "$prefer"
            if [[ -n "$VARIANT_COMMIT" ]]; then
                kind=older variant="$VARIANT_COMMIT"
                n_variant=$((n_variant + 1))
                echo "$c $VARIANT" >>"$W/variants"
            fi
        fi
        echo "$(arrival "$c" "$t") $kind $c $variant" >>"$W/plan"
    done
    for c in "${reverted[@]:0:N_REVERTED}"; do
        load_commit "$c"
        echo "$(arrival "$c" "$A_TIME") reverted $c -" >>"$W/plan"
    done
    local h
    for h in "${HACKS[@]}"; do
        t="$(date -u -d "${H_DATE[$h]}" +%s)"
        echo "$(arrival "$h" "$t") hack $h -" >>"$W/plan"
    done
    sort -n -k1,1 -k3,3 -o "$W/plan" "$W/plan"
}

# When a patch reached the puppetmaster: some hours to three days after it
# was written (hash-derived, so stable), and before the last sync.
arrival() {
    local hours=$((16#$(printf '%s' "$1" | sha1sum | cut -c1-4) % 72 + 1)) t
    t=$(($2 + hours * 3600))
    ((t < LAST_SYNC - 600)) || t=$((LAST_SYNC - 600))
    echo "$t"
}

# The message of a hack.
hack_message() {
    local h="$1" out="$W/hack.msg"
    {
        printf '%s\n' "${H_SUBJECT[$h]}"
        [[ -z "${H_BODY[$h]}" ]] || printf '\n%s\n' "${H_BODY[$h]}"
        if [[ -n "${H_BUG[$h]}" || "${H_CID[$h]}" == cid ]]; then
            echo
            [[ -z "${H_BUG[$h]}" ]] || printf 'Bug: %s\n' "${H_BUG[$h]}"
            [[ "${H_CID[$h]}" != cid ]] || printf 'Change-Id: I%s\n' "$(printf 'betadrift bench hack %s' "$h" | sha1sum | cut -c1-40)"
        fi
    } >"$out"
    MSGFILE="$out"
}

# Builds B + the plan; writes the manifest (one line per patch, stack order):
#   <commit> TAB <kind> TAB <source> TAB <arrival>
build_stack() {
    local tip="$B" arrival kind src variant path blob tree h who who_email
    : >"$W/manifest"
    while read -r arrival kind src variant; do
        case "$kind" in
            hack)
                h="$src" path="${H_FILE[$h]}"
                if g -C "$REPO" cat-file -e "$tip:$path" 2>/dev/null; then
                    g -C "$REPO" cat-file blob "$tip:$path" >"$W/old"
                else
                    : >"$W/old"
                fi
                "hack_$h" <"$W/old" >"$W/new" || die "hack $h: cannot edit $path (has the file changed at B?)"
                ! cmp -s "$W/old" "$W/new" || die "hack $h changes nothing in $path"
                blob="$(g -C "$REPO" hash-object -w --no-filters "$W/new")"
                tree="$(tree_with "$(tree_of "$tip")" "$path" "$blob")"
                hack_message "$h"
                who="${H_AUTHOR[$h]}"
                who_email="${who#*<}"
                make_commit "$tree" "$tip" "$MSGFILE" "${who%% <*}" "${who_email%>}" \
                    "$(date -u -d "${H_DATE[$h]}" +%s) +0000" "$LAST_SYNC +0000"
                ;;
            merged | older | reverted)
                local from="$src"
                [[ "$kind" != older ]] || from="$variant"
                if ! pick_tree "$from^" "$tip" "$from"; then
                    log "dropping $kind $src: it conflicts with the patches before it"
                    continue
                fi
                if [[ "$PICKED_TREE" == "$(tree_of "$tip")" ]]; then
                    log "dropping $kind $src: empty on top of the patches before it"
                    continue
                fi
                load_commit "$from"
                make_commit "$PICKED_TREE" "$tip" "$MSGFILE" "$A_NAME" "$A_EMAIL" "$A_DATE" "$LAST_SYNC +0000"
                ;;
        esac
        tip="$NEW_COMMIT"
        printf '%s\t%s\t%s\t%s\n' "$tip" "$kind" "$src" "$arrival" >>"$W/manifest"
    done <"$W/plan"
    g -C "$REPO" update-ref refs/heads/production "$tip"
    STACK_TIP="$tip"
}

# Snapshot tags: the newest is the last sync (HEAD); each older one replays
# the patches that had arrived by then onto the upstream commit of that day.
# Going back in time, a patch that does not replay cleanly leaves the stack
# for good, so membership only grows with time, as on a real puppetmaster.
build_snapshots() {
    local span_base times=() bases=() i t tip p parent
    span_base="$(g -C "$REPO" rev-parse --verify "$B~$SNAPSHOT_SPAN")"
    # Upstream commits of B~SPAN..B with commit times, oldest first.
    g -C "$REPO" log --first-parent --format='%H %ct' -n $((SNAPSHOT_SPAN + 1)) "$B" | tac >"$W/upstream-times"
    local first last
    first="$(ceil10 $(($(g -C "$REPO" log -1 --format=%ct "$span_base") + 600)))"
    last=$((LAST_SYNC - 2 * 86400))
    for ((i = 0; i < N_TAGS - 1; i++)); do
        t=$((first + (last - first) * i / (N_TAGS - 2)))
        t=$((t - t % 600)) # the timer fires on 10-minute marks
        times+=("$t")
        # The newest upstream commit made before the sync (commit times are
        # monotonic enough on a linear history; the index never goes back).
        bases+=("$(awk -v t="$t" '$2 <= t - 300 { c = $1 } END { print c }' "$W/upstream-times")")
        [[ -n "${bases[i]}" ]] || die "no upstream commit before $(utc "$t" +%FT%TZ)"
    done
    # Membership, newest to oldest.
    declare -A member=()
    while IFS=$'\t' read -r p _ _ arrival; do member[$p]=1; done <"$W/manifest"
    : >"$W/tags"
    g -C "$REPO" tag "snapshot-$(utc "$LAST_SYNC" +%Y%m%d%H%M)" "$STACK_TIP"
    printf '%s\t%s\t%s\t%s\n' "snapshot-$(utc "$LAST_SYNC" +%Y%m%d%H%M)" "$STACK_TIP" "$B" "$(wc -l <"$W/manifest")" >>"$W/tags"
    for ((i = N_TAGS - 2; i >= 0; i--)); do
        t="${times[i]}" tip="${bases[i]}"
        local count=0
        while IFS=$'\t' read -r p _ _ arrival; do
            [[ -n "${member[$p]+x}" ]] || continue
            if ((arrival > t)); then unset "member[$p]"; continue; fi
            parent="$(g -C "$REPO" rev-parse "$p^")"
            if ! pick_tree "$parent" "$tip" "$p" || [[ "$PICKED_TREE" == "$(tree_of "$tip")" ]]; then
                unset "member[$p]"
                continue
            fi
            load_commit "$p"
            make_commit "$PICKED_TREE" "$tip" "$MSGFILE" "$A_NAME" "$A_EMAIL" "$A_DATE" "$t +0000"
            tip="$NEW_COMMIT"
            count=$((count + 1))
        done <"$W/manifest"
        g -C "$REPO" tag "snapshot-$(utc "$t" +%Y%m%d%H%M)" "$tip"
        printf '%s\t%s\t%s\t%s\n' "snapshot-$(utc "$t" +%Y%m%d%H%M)" "$tip" "${bases[i]}" "$count" >>"$W/tags"
        # Remember, per patch, the oldest tag so far that holds it.
        for p in "${!member[@]}"; do FIRST_TAG[$p]="snapshot-$(utc "$t" +%Y%m%d%H%M)"; done
    done
}

# Worktree, index and FETCH_HEAD as the puppetmaster has them.
finish_checkout() {
    local dir="$1"
    g -C "$dir" reset -q --hard production
    # Stat data written in the same second as the files is "racy": git and
    # libgit2 would re-hash those files on every status. Re-index once the
    # clock has moved on, so every run sees a settled index.
    sleep 2
    g -C "$dir" read-tree HEAD
    g -C "$dir" update-index -q --refresh
    printf '%s\t\tbranch '\''production'\'' of %s\n' "$U" "$PUPPET_REPO" >"$dir/.git/FETCH_HEAD"
    touch -d "@$FETCH_TIME" "$dir/.git/FETCH_HEAD"
    # An admin's uncommitted debugging, and a file nobody added yet.
    printf '%s\n' "# debugging T363117, revert me" >>"$dir/$DP/common.yaml"
    printf '%s\n' "profile::mediawiki::php::enable_fpm: true" >"$dir/$DP/hosts/deployment-jobrunner05.yaml"
}

# A puppetmaster's checkout is a full clone: its objects are its own, in
# packs (git gc packs what the syncs leave loose). The build borrows the
# mirror's objects through an alternate; at the end the checkout takes the
# mirror's packs by hard link, packs every loose object (its own and any
# of the mirror's) beside them, and drops the alternate, so no object is
# looked up through another repository.
own_objects() {
    local dir="$1" objects="$1/.git/objects" f
    find "$objects" "$PUPPET_GIT_DIR/objects" -path '*/objects/[0-9a-f][0-9a-f]/*' -type f |
        sed -E 's#.*/([0-9a-f]{2})/([0-9a-f]{38})$#\1\2#' >"$W/loose"
    g -C "$dir" pack-objects -q "$objects/pack/pack" <"$W/loose" >/dev/null
    for f in "$PUPPET_GIT_DIR"/objects/pack/*; do
        [[ -f "$f" ]] || continue
        ln -f -- "$f" "$objects/pack/" 2>/dev/null || cp -f -- "$f" "$objects/pack/"
    done
    rm -f -- "$objects/info/alternates"
    g -C "$dir" prune-packed
    g -C "$dir" cat-file -e "$U^{tree}" || die "the checkout lost upstream objects when it took the mirror's packs"
}

# --- summary -----------------------------------------------------------------------

write_summary() {
    local out="$1" rebase="$2" c kind src arrival pos=0 subj outcome paths
    declare -A outcome_of=() paths_of=() n_kind=() n_outcome=()
    while IFS=$'\t' read -r c outcome paths; do
        [[ "$c" == result_tree ]] && { REBASE_TREE="$outcome"; continue; }
        outcome_of[$c]="$outcome" paths_of[$c]="$paths"
        n_outcome[$outcome]=$((${n_outcome[$outcome]:-0} + 1))
    done <"$rebase"
    while IFS=$'\t' read -r c kind src arrival; do n_kind[$kind]=$((${n_kind[$kind]:-0} + 1)); done <"$W/manifest"
    {
        echo "betadrift benchmark scenario (recipe $RECIPE)"
        echo "checkout     $SCENARIO"
        echo "mirror       $PUPPET_REPO"
        echo "upstream U   $U  origin/production, committed $(utc "$U_TIME" +%FT%TZ)"
        echo "base B       $B  U~$BEHIND, committed $(utc "$B_TIME" +%FT%TZ)"
        echo "HEAD         $STACK_TIP  production, $(wc -l <"$W/manifest") local patches, committed $(utc "$LAST_SYNC" +%FT%TZ) (last sync)"
        echo "FETCH_HEAD   mtime $(utc "$FETCH_TIME" +%FT%TZ)"
        echo "worktree     1 modified tracked file ($DP/common.yaml), 1 untracked ($DP/hosts/deployment-jobrunner05.yaml)"
        echo
        echo "patches per kind:"
        for kind in merged older reverted hack; do
            printf '  %-9s %3d  %s\n' "$kind" "${n_kind[$kind]:-0}" "$(kind_label "$kind")"
        done
        if [[ -s "$W/variants" ]]; then
            echo "  older patchsets: $(awk '{ n[$2]++ } END { for (k in n) printf "%s%d %s", (s++ ? ", " : ""), n[k], k }' "$W/variants")"
        fi
        echo
        echo "snapshot tags: $(wc -l <"$W/tags"), $(tail -1 "$W/tags" | cut -f1) .. $(head -1 "$W/tags" | cut -f1)"
        echo "  (tag, upstream base, patches it holds; newest first)"
        while IFS=$'\t' read -r c tip base count; do
            printf '  %s  base %s  %2d patches\n' "$c" "${base:0:12}" "$count"
        done <"$W/tags"
        echo
        echo "stack, oldest first (kind; git rebase onto U; first snapshot holding it):"
        while IFS=$'\t' read -r c kind src arrival; do
            pos=$((pos + 1))
            subj="$(g -C "$REPO" log -1 --format=%s "$c")"
            printf '  %2d %s %-8s %-16s %-22s %s\n' "$pos" "${c:0:10}" "$kind" "${outcome_of[$c]:-?}" \
                "${FIRST_TAG[$c]:-snapshot-$(utc "$LAST_SYNC" +%Y%m%d%H%M)}" "$subj"
        done <"$W/manifest"
        echo
        echo "git rebase origin/production, --skip at each stop:"
        for outcome in applies already-upstream becomes-empty conflict; do
            printf '  %-17s %3d\n' "$outcome" "${n_outcome[$outcome]:-0}"
        done
        echo "  stops, in order:"
        pos=0
        while IFS=$'\t' read -r c kind src arrival; do
            pos=$((pos + 1))
            [[ "${outcome_of[$c]:-}" == conflict ]] || continue
            printf '    #%-2d %s %s  [%s]\n' "$pos" "${c:0:10}" "$(g -C "$REPO" log -1 --format=%s "$c")" "${paths_of[$c]}"
        done <"$W/manifest"
        echo "  result tree $REBASE_TREE"
        echo
        echo "# Machine-readable, for bench/compare-check.sh:"
        while IFS=$'\t' read -r c outcome paths; do
            printf 'rebase\t%s\t%s\t%s\n' "$c" "$outcome" "$paths"
        done <"$rebase"
    } >"$out"
}

kind_label() {
    case "$1" in
        merged) echo "real changes merged later (cherry-picked from B..U)" ;;
        older) echo "older patchsets of changes merged later (same Change-Id, other content)" ;;
        reverted) echo "changes merged later, then reverted upstream" ;;
        hack) echo "local hacks (deployment-prep hiera, profiles, site.pp)" ;;
    esac
}

# --- reuse -----------------------------------------------------------------------

stamp_text() {
    printf 'recipe=%s\nmirror=%s\nupstream=%s\nbase=%s\n' "$RECIPE" "$PUPPET_REPO" "$U" "$B"
}

# Whether the scenario on disk was built from this mirror by this recipe and
# still looks as built (nobody rebased it, the worktree is still dirty).
reusable() {
    local stamp="$BENCH_DIR/scenario.stamp" head
    [[ -f "$stamp" && -f "$SUMMARY" && -d "$SCENARIO/.git" ]] || return 1
    [[ "$(sed '/^head=/d' "$stamp")" == "$(stamp_text)" ]] || return 1
    head="$(sed -n 's/^head=//p' "$stamp")"
    [[ "$(g -C "$SCENARIO" rev-parse -q --verify HEAD)" == "$head" ]] || return 1
    [[ "$(g -C "$SCENARIO" rev-parse -q --verify refs/remotes/origin/production)" == "$U" ]] || return 1
    [[ -n "$(g -C "$SCENARIO" status --porcelain --untracked-files=normal)" ]] || return 1
    [[ ! -d "$SCENARIO/.git/rebase-merge" && ! -d "$SCENARIO/.git/rebase-apply" ]]
}

main() {
    local rebuild=0
    while (($#)); do
        case "$1" in
            --rebuild) rebuild=1 ;;
            -h | --help) usage; exit 0 ;;
            *) die "unknown argument: $1 (try --help)" ;;
        esac
        shift
    done
    need_puppet_repo
    resolve_base
    mkdir -p "$BENCH_DIR"
    if ((!rebuild)) && reusable; then
        log "reusing $SCENARIO (built from the same mirror and recipe; --rebuild to start over)"
        cat "$SUMMARY"
        return 0
    fi

    local building="$BENCH_DIR/puppet.building"
    rm -rf -- "$building" "$BENCH_DIR/scenario.stamp"
    W="$(mktemp -d "$BENCH_DIR/work.XXXXXX")"
    mkdir -p "$W/commits"
    REPO="$building"
    declare -gA FIRST_TAG=()
    log "building in $building: B=$B U=$U"
    init_checkout "$building"
    make_plan
    log "plan: $(wc -l <"$W/plan") patches; building the stack"
    build_stack
    log "stack: $(wc -l <"$W/manifest") patches; building $N_TAGS snapshot tags"
    build_snapshots
    finish_checkout "$building"
    own_objects "$building"

    rm -rf -- "$SCENARIO"
    mv -- "$building" "$SCENARIO"
    REPO="$SCENARIO"
    log "simulating the sync: git rebase origin/production in a scratch clone"
    rebase_with_skips "$SCENARIO" "$W/rebase"
    write_summary "$SUMMARY" "$W/rebase"
    { stamp_text; printf 'head=%s\n' "$STACK_TIP"; } >"$BENCH_DIR/scenario.stamp"
    rm -rf -- "$W"
    cat "$SUMMARY"
}

main "$@"
