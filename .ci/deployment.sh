#!/usr/bin/env bash
# Checks the deployment files: the systemd units (systemd-analyze verify,
# which must print nothing: it warns about unknown keys without failing;
# --man=no, as the man pages their Documentation= names come with the package),
# the alert rules (promtool check rules) and the Puppet class (puppet parser
# validate, puppet epp validate). Needs a release build of betadrift, which
# the units' ExecStart= is pointed at.
set -euo pipefail
cd "$(dirname "$0")/.."

binary="${CARGO_TARGET_DIR:-target}/release/betadrift"
[[ -x $binary ]] || { echo "deployment.sh: no release build at $binary (cargo build --release)" >&2; exit 2; }
binary=$(cd "$(dirname "$binary")" && pwd)/betadrift

units=$(mktemp -d)
trap 'rm -rf "$units"' EXIT
instance='betadrift-sync@srv-git-operations-puppet'
for unit in betadrift-report.service betadrift-report.timer betadrift-sync@.service betadrift-sync@.timer; do
    sed "s|/usr/local/bin/betadrift|$binary|g" "docs/systemd/$unit" > "$units/$unit"
done
mkdir "$units/$instance.service.d"
cp docs/systemd/betadrift-sync-strict.conf "$units/$instance.service.d/"
said=$(cd "$units" && SYSTEMD_UNIT_PATH="$units:" systemd-analyze verify --man=no \
    betadrift-report.service betadrift-report.timer "$instance.service" "$instance.timer" 2>&1) || {
    echo "$said" >&2
    exit 1
}
if [[ -n $said ]]; then
    echo "systemd-analyze verify: $said" >&2
    exit 1
fi
echo "systemd-analyze verify: 4 units and the strict drop-in ok"

promtool check rules docs/prometheus/betadrift-alerts.yml

# puppet writes its state under $HOME; keep it out of the real one.
puppet_home=$(mktemp -d)
HOME=$puppet_home puppet parser validate docs/puppet/betadrift/manifests/init.pp
HOME=$puppet_home puppet epp validate docs/puppet/betadrift/templates/config.toml.epp
rm -rf "$puppet_home"
echo "puppet parser validate: docs/puppet ok"
