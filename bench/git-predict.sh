#!/usr/bin/env bash
# Predicts, with the git CLI alone and without touching the checkout, what
# `git rebase <upstream>` of HEAD will do: the baseline `betadrift check` is
# timed against, and the oracle bench/compare-check.sh holds it to.
#
#   bench/git-predict.sh [--repo PATH] [--upstream REV]
#
# Like the rebase, it skips commits whose patch is already upstream
# (`git log --cherry-pick`), then replays the others in memory one by one
# (`git merge-tree --merge-base=<parent>` + `git commit-tree`), leaving out
# those that conflict, as `git rebase --skip` would, and those that come out
# empty. Prints one line per local commit, oldest first, tab-separated:
#   picked|skipped-as-upstream|dropped-empty|conflict  <commit>  <conflicting paths, comma-separated>  <subject>
# then `result-tree <tree>`. Exit status as `betadrift check`: 0 when every
# patch applies, 1 when the rebase would stop, 2 on error.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


main() {
    local repo=. upstream='@{upstream}'
    while (($#)); do
        case "$1" in
            --repo) repo="${2:?--repo needs a path}"; shift ;;
            --upstream) upstream="${2:?--upstream needs a revision}"; shift ;;
            -h | --help) usage; exit 0 ;;
            *) die "unknown argument: $1 (try --help)" ;;
        esac
        shift
    done
    local up head
    up="$(g -C "$repo" rev-parse --verify "$upstream^{commit}")" || die "cannot resolve $upstream in $repo"
    head="$(g -C "$repo" rev-parse --verify 'HEAD^{commit}')"

    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand now
    trap "rm -rf -- $(printf '%q' "$tmp")" EXIT

    # What the rebase will try to apply: local commits whose patch-id is not
    # upstream already.
    # (Lists go through files, not process substitutions: a failing git
    # must stop the script, not pass for an empty list.)
    declare -A todo=()
    local c
    g -C "$repo" log --cherry-pick --right-only --no-merges --reverse --format=%H "$up...$head" >"$tmp/todo"
    while read -r c; do todo[$c]=1; done <"$tmp/todo"
    g -C "$repo" log --reverse --no-merges --format='%H%x09%P%x09%s' "$up..$head" >"$tmp/local"

    local cur="$up" cur_tree parent subject rc tree stopped=0
    cur_tree="$(g -C "$repo" rev-parse "$up^{tree}")"
    while IFS=$'\t' read -r c parent subject; do
        if [[ -z "${todo[$c]+x}" ]]; then
            printf 'skipped-as-upstream\t%s\t\t%s\n' "$c" "$subject"
            continue
        fi
        rc=0
        g -C "$repo" merge-tree --write-tree -z --name-only --no-messages \
            --merge-base="$parent" "$cur" "$c" >"$tmp/out" || rc=$?
        local parts=()
        mapfile -d '' parts <"$tmp/out"
        case "$rc" in
            0)
                tree="${parts[0]}"
                if [[ "$tree" == "$cur_tree" ]]; then
                    printf 'dropped-empty\t%s\t\t%s\n' "$c" "$subject"
                else
                    cur="$(g -C "$repo" commit-tree "$tree" -p "$cur" -m "pick $c")"
                    cur_tree="$tree"
                    printf 'picked\t%s\t\t%s\n' "$c" "$subject"
                fi
                ;;
            1)
                # The conflicted-file section lists a path once per stage.
                printf 'conflict\t%s\t%s\t%s\n' "$c" \
                    "$(printf '%s\n' "${parts[@]:1}" | sed '/^$/,$d' | awk '!seen[$0]++' | paste -sd, -)" "$subject"
                stopped=1
                ;;
            *) die "git merge-tree failed ($rc) on $c" ;;
        esac
    done <"$tmp/local"
    printf 'result-tree\t%s\n' "$cur_tree"
    return "$stopped"
}

main "$@"
