# SPDX-License-Identifier: GPL-2.0-only
# == Class: betadrift
#
# Deploys betadrift on a Cloud VPS project puppetmaster: the Debian package,
# /etc/betadrift/config.toml, a sync timer per checkout (replacing
# git-sync-upstream) and the report timer that feeds Prometheus, the units
# made with operations/puppet's systemd::timer::job. Include it from the
# project puppetmaster's profile, e.g. in Hiera:
#
#   betadrift::repositories:
#     operations/puppet:
#       path: /srv/git/operations/puppet
#       branch: production
#       upstream_sha_url: https://config-master.wikimedia.org/puppet-sha1.txt
#     labs/private:
#       path: /srv/git/labs/private
#       branch: master
#       upstream_sha_url: https://config-master.wikimedia.org/labsprivate-sha1.txt
#       private: true
#
# See docs/sync.md and docs/report.md of betadrift.
#
# [*repositories*]
#   The checkouts, by name: path, branch, and optionally upstream_sha_url
#   and private (labs/private: true).
# [*user*]
#   The owner of the checkouts, who runs sync and report.
# [*post_update*]
#   The command run after each rewrite (an argv), or [] for none.
# [*stale_after*]
#   When a local patch counts as stale (report, prune).
# [*textfile_dir*]
#   node-exporter's textfile directory (group prometheus-node-exporter).
# [*sync_enabled*]
#   Whether betadrift sync rebases the checkouts (false: report only, for
#   a puppetmaster still synced by git-sync-upstream).
class betadrift (
    Hash[String[1], Struct[{
        'path'                       => Stdlib::Unixpath,
        'branch'                     => String[1],
        Optional['upstream_sha_url'] => Stdlib::HTTPUrl,
        Optional['private']          => Boolean,
    }]]                     $repositories,
    String[1]               $user         = 'gitpuppet',
    Array[String[1]]        $post_update  = ['/usr/bin/flock', '/run/lock/betadrift-deploy.lock',
                                             '/usr/bin/sudo', '/usr/local/bin/puppetserver-deploy-code'],
    String[1]               $stale_after  = '30d',
    Stdlib::Unixpath        $textfile_dir = '/var/lib/prometheus/node.d',
    Boolean                 $sync_enabled = true,
    Wmflib::Ensure          $ensure       = 'present',
) {
    $package_ensure = $ensure ? {
        'present' => 'installed',
        default   => 'absent',
    }
    package { 'betadrift':
        ensure => $package_ensure,
    }

    $dir_ensure = $ensure ? {
        'present' => 'directory',
        default   => 'absent',
    }
    file { '/etc/betadrift':
        ensure => $dir_ensure,
        force  => true,
        owner  => 'root',
        group  => 'root',
        mode   => '0755',
    }
    file { '/etc/betadrift/config.toml':
        ensure  => $ensure,
        owner   => 'root',
        group   => 'root',
        mode    => '0644',
        content => epp('betadrift/config.toml.epp', {
            'repositories' => $repositories,
            'post_update'  => $post_update,
            'stale_after'  => $stale_after,
        }),
    }
    # The [state] dir (ledger, audit log, journal, consent policies) and the
    # HTML and Markdown reports.
    file { ['/var/lib/betadrift', '/var/lib/betadrift/report']:
        ensure => $dir_ensure,
        force  => true,
        owner  => $user,
        group  => $user,
        mode   => '0755',
    }

    $sync_ensure = $sync_enabled ? {
        true    => $ensure,
        default => 'absent',
    }
    $repositories.each |String $name, Hash $repo| {
        $slug = regsubst($name, '[^A-Za-z0-9]+', '-', 'G')
        systemd::timer::job { "betadrift-sync-${slug}":
            ensure             => $sync_ensure,
            description        => "Rebase ${repo['path']} onto its upstream (betadrift sync)",
            command            => "/usr/bin/betadrift --config /etc/betadrift/config.toml sync --fetch --repo ${repo['path']}",
            # Ten minutes after the previous run ended, as git-sync-upstream.
            interval           => { 'start' => 'OnUnitInactiveSec', 'interval' => '10min' },
            user               => $user,
            environment        => { 'NO_COLOR' => '1' },
            logging_enabled    => false,
            # Prometheus alerts on the report instead (betadrift-alerts.yml).
            monitoring_enabled => false,
            require            => [Package['betadrift'], File['/etc/betadrift/config.toml']],
        }
    }

    systemd::timer::job { 'betadrift-report':
        ensure             => $ensure,
        description        => 'betadrift report on the puppetmaster checkouts',
        command            => "/usr/bin/betadrift --config /etc/betadrift/config.toml report --output ${textfile_dir}/betadrift.prom --output /var/lib/betadrift/report/betadrift.html --output /var/lib/betadrift/report/betadrift.md",
        # Five minutes after the syncs, every ten minutes.
        interval           => { 'start' => 'OnCalendar', 'interval' => '*:05/10' },
        user               => $user,
        environment        => { 'NO_COLOR' => '1' },
        logging_enabled    => false,
        monitoring_enabled => false,
        require            => [Package['betadrift'], File['/etc/betadrift/config.toml']],
    }
    # node-exporter's textfile directory is group prometheus-node-exporter,
    # mode 0770; the report only reads the checkouts.
    systemd::unit { 'betadrift-report.service':
        ensure   => $ensure,
        override => true,
        restart  => false,
        content  => "[Service]\nSupplementaryGroups=prometheus-node-exporter\nNice=10\nIOSchedulingClass=idle\nProtectSystem=strict\nReadWritePaths=${textfile_dir} /var/lib/betadrift\nProtectHome=yes\nPrivateTmp=yes\nNoNewPrivileges=yes\n",
    }
}
