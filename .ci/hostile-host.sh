#!/usr/bin/env bash
# Runs a command (the test suite) on a host that looks like a puppetmaster
# with betadrift installed and a user with opinions, to show that the tests
# are hermetic: /etc/betadrift/config.toml has a post_update that fails
# loudly and leaves a mark, a [state] dir and a stale policy; $HOME/.gitconfig
# sets core.abbrev=20 and other settings that change libgit2's and git's
# answers. The command must pass, the post_update must never run, and the
# state dir must stay empty.
#
# Usage: .ci/hostile-host.sh COMMAND [ARG...]   (as root: it writes /etc/betadrift)
set -euo pipefail

[[ $# -gt 0 ]] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
if [[ -e /etc/betadrift ]]; then
    echo "hostile-host.sh: /etc/betadrift exists on this machine; not touching a real installation" >&2
    exit 2
fi

work="$(mktemp -d)"
mark="$work/post-update-ran"
state="$work/state"
mkdir -p "$state"
cleanup() { rm -rf /etc/betadrift "$work"; }
trap cleanup EXIT

mkdir -p /etc/betadrift
cat >/etc/betadrift/config.toml <<EOF
# Written by .ci/hostile-host.sh: no test may read this file.
[stale]
after = "1m"

[state]
dir = "$state"

[sync]
snapshot_prefix = "hostile-"
post_update = ["/bin/sh", "-c", "touch '$mark'; echo 'HOSTILE post_update ran: a test read /etc/betadrift' >&2; exit 97"]
committer_name = "Hostile Host"
committer_email = "hostile@example.invalid"

[links]
gerrit = "https://hostile.invalid/gerrit"
phabricator = "https://hostile.invalid/phab"
EOF

home="$work/home"
mkdir -p "$home"
cat >"$home/.gitconfig" <<'EOF'
# Written by .ci/hostile-host.sh: no test may read this file.
[core]
	abbrev = 20
	autocrlf = true
	quotePath = false
[user]
	name = Hostile User
	email = hostile-user@example.invalid
[diff]
	algorithm = histogram
	renames = copies
[merge]
	conflictStyle = zdiff3
	renormalize = true
[rebase]
	autoStash = true
[init]
	defaultBranch = hostile
[commit]
	gpgSign = true
EOF

# cargo keeps its home where it was; everything else sees the hostile one.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
status=0
HOME="$home" XDG_CONFIG_HOME="$home/.config" "$@" || status=$?

if [[ -e "$mark" ]]; then
    echo "hostile-host.sh: a test ran the post_update command of /etc/betadrift/config.toml" >&2
    status=1
fi
if [[ -n "$(ls -A "$state")" ]]; then
    echo "hostile-host.sh: a test wrote into the [state] dir of /etc/betadrift/config.toml:" >&2
    ls -lA "$state" >&2
    status=1
fi
exit "$status"
