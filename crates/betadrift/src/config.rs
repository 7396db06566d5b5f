//! The configuration file: which repositories a puppetmaster syncs, where
//! their upstream SHA comes from, and site settings (links, thresholds,
//! state locations, the post-update command).
//!
//! Every key is optional. With no file at all betadrift works from git alone:
//! the repository is found from the current directory and its upstream from
//! the branch's tracking configuration.

use std::path::{Path, PathBuf};

use jiff::SignedDuration;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::support::clock::parse_duration;

/// Environment variable naming the config file, like `--config`.
pub const CONFIG_ENV: &str = "BETADRIFT_CONFIG";
/// The system-wide config file, read when present.
pub const SYSTEM_CONFIG: &str = "/etc/betadrift/config.toml";

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub links: Links,
    #[serde(default)]
    pub stale: Stale,
    #[serde(default)]
    pub state: State,
    #[serde(default)]
    pub sync: Sync,
    #[serde(default)]
    pub gerrit: Gerrit,
    #[serde(default)]
    pub phabricator: Phabricator,
    #[serde(default)]
    pub pick: Pick,
    #[serde(default, rename = "repository")]
    pub repositories: Vec<RepoConfig>,
    /// Where this config was read from (not a key).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Base URLs for links to Gerrit changes and Phabricator tasks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Links {
    #[serde(default = "default_gerrit")]
    pub gerrit: String,
    #[serde(default = "default_phabricator")]
    pub phabricator: String,
}

impl Default for Links {
    fn default() -> Self {
        Links { gerrit: default_gerrit(), phabricator: default_phabricator() }
    }
}

fn default_gerrit() -> String {
    "https://gerrit.wikimedia.org/r/".into()
}

fn default_phabricator() -> String {
    "https://phabricator.wikimedia.org/".into()
}

impl Links {
    /// The Gerrit search URL for a Change-Id.
    pub fn change(&self, change_id: &str) -> String {
        format!("{}/q/{change_id}", self.gerrit.trim_end_matches('/'))
    }

    /// The Phabricator URL of a task (`T123456`, as a task displays).
    pub fn task(&self, task: impl std::fmt::Display) -> String {
        format!("{}/{task}", self.phabricator.trim_end_matches('/'))
    }
}

/// The Gerrit instance `pick` fetches from and whose live change state
/// `status` and `report` show (`--online` or `online = true`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gerrit {
    /// Base URL of both the REST API and git, e.g. `https://gerrit.wikimedia.org/r/`.
    /// Default for `pick`: `[links] gerrit`; the live state needs it set.
    pub url: Option<String>,
    /// The project, e.g. `operations/puppet`; default: the branch remote's
    /// URL with `url` taken off its front.
    pub project: Option<String>,
    /// Where `pick` fetches patchsets from; default: `<url>/<project>`.
    pub fetch_url: Option<String>,
    /// Ask Gerrit for the live state in `status` and `report` without `--online`.
    #[serde(default)]
    pub online: bool,
    /// How long one request may take.
    #[serde(default = "default_timeout", deserialize_with = "de_duration")]
    pub timeout: SignedDuration,
    /// How long a fetched state is used before Gerrit is asked again.
    #[serde(default = "default_cache_ttl", deserialize_with = "de_duration")]
    pub cache_ttl: SignedDuration,
}

impl Default for Gerrit {
    fn default() -> Self {
        Gerrit {
            url: None,
            project: None,
            fetch_url: None,
            online: false,
            timeout: default_timeout(),
            cache_ttl: default_cache_ttl(),
        }
    }
}

fn default_timeout() -> SignedDuration {
    SignedDuration::from_secs(10)
}

fn default_cache_ttl() -> SignedDuration {
    SignedDuration::from_mins(10)
}

/// The Phabricator whose task state `status` and `report` show for the
/// tasks patches link (`Bug: T123456`), with `--online` or `online = true`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phabricator {
    /// Base URL, e.g. `https://phabricator.wikimedia.org/`; unset: tasks are not asked.
    pub url: Option<String>,
    /// A file holding the Conduit API token, readable only by its owner.
    pub token_file: Option<PathBuf>,
    /// Ask Phabricator in `status` and `report` without `--online`.
    #[serde(default)]
    pub online: bool,
    /// How long one request may take.
    #[serde(default = "default_timeout", deserialize_with = "de_duration")]
    pub timeout: SignedDuration,
    /// How long a fetched task state is used before Phabricator is asked again.
    #[serde(default = "default_cache_ttl", deserialize_with = "de_duration")]
    pub cache_ttl: SignedDuration,
}

impl Default for Phabricator {
    fn default() -> Self {
        Phabricator {
            url: None,
            token_file: None,
            online: false,
            timeout: default_timeout(),
            cache_ttl: default_cache_ttl(),
        }
    }
}

/// Settings of `betadrift pick`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pick {
    /// The consent recorded for a picked change when `--consent` is not
    /// given: `allow`, `ask`, `never` or `after DURATION`. Without either,
    /// `pick` asks on a terminal and refuses elsewhere.
    pub consent: Option<String>,
}

/// When a patch counts as stale.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stale {
    /// Age after which a patch is stale (`30d`, `2w`, …).
    #[serde(default = "default_stale_after", deserialize_with = "de_duration")]
    pub after: SignedDuration,
}

impl Default for Stale {
    fn default() -> Self {
        Stale { after: default_stale_after() }
    }
}

fn default_stale_after() -> SignedDuration {
    SignedDuration::from_hours(30 * 24)
}

/// Where betadrift keeps its own files.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Directory holding one state directory per repository (ledger, audit
    /// log, journal, policy). Default: `<git dir>/betadrift` of each.
    pub dir: Option<PathBuf>,
    /// The consent policy file, shared by every repository. Default:
    /// `policy.toml` in each repository's state directory.
    pub policy: Option<PathBuf>,
}

impl State {
    /// The state directory of the repository `name` whose git directory is
    /// `git_dir`: `<dir>/<name as one path component>` if `dir` is set, else
    /// `<git dir>/betadrift`. Every state file of a repository lives here.
    pub fn dir_for(&self, git_dir: &Path, name: &str) -> PathBuf {
        match &self.dir {
            Some(dir) => dir.join(slug(name)),
            None => git_dir.join("betadrift"),
        }
    }

    /// The consent policy file of that repository: `policy` if set, else
    /// `policy.toml` in its state directory.
    pub fn policy_for(&self, git_dir: &Path, name: &str) -> PathBuf {
        self.policy.clone().unwrap_or_else(|| self.dir_for(git_dir, name).join("policy.toml"))
    }
}

/// `operations/puppet` → `operations_puppet`: one path component that does
/// not start with a dot.
fn slug(name: &str) -> String {
    let s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_".contains(c) { c } else { '_' }).collect();
    if s.is_empty() { "_".into() } else { s }
}

/// Settings for history rewrites (sync, drop, prune, undo).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sync {
    /// Tag each successful sync `<prefix>YYYYmmddHHMM`, as git-sync-upstream does.
    #[serde(default = "yes")]
    pub snapshot_tags: bool,
    /// Prefix of snapshot tags, also used to backfill first-seen times.
    #[serde(default = "default_snapshot_prefix")]
    pub snapshot_prefix: String,
    /// Command run after the branch moved (argv, no shell).
    #[serde(default)]
    pub post_update: Vec<String>,
    /// Committer of rebased commits; default: the repository's git identity.
    pub committer_name: Option<String>,
    pub committer_email: Option<String>,
    /// When the rebase onto the target would stop, sync onto the newest
    /// upstream commit it does not stop on (`sync --as-far-as-possible`).
    #[serde(default)]
    pub as_far_as_possible: bool,
}

impl Default for Sync {
    fn default() -> Self {
        Sync {
            snapshot_tags: true,
            snapshot_prefix: default_snapshot_prefix(),
            post_update: Vec::new(),
            committer_name: None,
            committer_email: None,
            as_far_as_possible: false,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_snapshot_prefix() -> String {
    "snapshot-".into()
}

/// Where a repository's upstream commit comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamSource {
    /// A ref or revision, e.g. `origin/production`.
    Ref(String),
    /// A file holding the SHA (config-master's `puppet-sha1.txt` on disk).
    ShaFile(PathBuf),
    /// A URL serving the SHA.
    ShaUrl(String),
}

/// One repository the puppetmaster keeps in sync.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoConfig {
    /// A short name for reports and metrics, e.g. `operations/puppet`.
    pub name: Option<String>,
    /// The checkout.
    pub path: PathBuf,
    /// The branch the timer rebases; default: whatever HEAD is on.
    pub branch: Option<String>,
    /// The upstream as a ref.
    pub upstream: Option<String>,
    /// The upstream as a file holding a SHA.
    pub upstream_sha_file: Option<PathBuf>,
    /// The upstream as a URL serving a SHA.
    pub upstream_sha_url: Option<String>,
    /// Holds secrets: never show diff hunks or file contents.
    #[serde(default)]
    pub private: bool,
    /// Overrides `[sync] post_update` for this repository.
    pub post_update: Option<Vec<String>>,
}

impl RepoConfig {
    /// The upstream source, if one is configured. At most one may be.
    pub fn upstream_source(&self) -> Result<Option<UpstreamSource>> {
        let sources: Vec<UpstreamSource> = [
            self.upstream.clone().map(UpstreamSource::Ref),
            self.upstream_sha_file.clone().map(UpstreamSource::ShaFile),
            self.upstream_sha_url.clone().map(UpstreamSource::ShaUrl),
        ]
        .into_iter()
        .flatten()
        .collect();
        match sources.len() {
            0 | 1 => Ok(sources.into_iter().next()),
            _ => Err(Error::Usage(format!(
                "repository {}: set only one of upstream, upstream_sha_file, upstream_sha_url",
                self.path.display()
            ))),
        }
    }

    /// The name shown in reports: `name`, else the path.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.path.display().to_string())
    }
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<SignedDuration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

impl Config {
    /// Loads the config: `explicit` (from `--config`), else `$BETADRIFT_CONFIG`,
    /// else the system file if it exists, else the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let from_env = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        if let Some(path) = explicit.map(Path::to_owned).or(from_env) {
            return Config::read(&path);
        }
        let system = Path::new(SYSTEM_CONFIG);
        if system.exists() {
            return Config::read(system);
        }
        Ok(Config::default())
    }

    /// Reads and validates one config file.
    pub fn read(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.to_owned(),
            message: format!("cannot read it ({e}); fix the path or its permissions"),
        })?;
        let mut config = Config::parse(&text).map_err(|message| Error::Config { path: path.to_owned(), message })?;
        config.source = Some(path.to_owned());
        Ok(config)
    }

    /// Parses config text; the error names the line and column.
    pub fn parse(text: &str) -> std::result::Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        for repo in &config.repositories {
            repo.upstream_source().map_err(|e| e.to_string())?;
        }
        for (key, value) in [("[state] dir", &config.state.dir), ("[state] policy", &config.state.policy)] {
            if value.as_ref().is_some_and(|path| path.as_os_str().is_empty()) {
                return Err(format!("{key} is empty; remove the line to use the default, or name a path"));
            }
        }
        Ok(config)
    }

    /// The repository entry whose path is `workdir`, if any.
    pub fn repository_for(&self, workdir: &Path) -> Option<&RepoConfig> {
        let want = canonical(workdir);
        self.repositories.iter().find(|r| canonical(&r.path) == want)
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// One line describing a TOML error: "line L, column C: message".
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("line {line}, column {col}: {message}")
        }
        None => message,
    }
}

/// The 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_all_defaults() {
        let c = Config::parse("").unwrap();
        assert!(c.repositories.is_empty());
        assert_eq!(c.stale.after, SignedDuration::from_hours(720));
        assert_eq!(c.links.change("Iabc"), "https://gerrit.wikimedia.org/r/q/Iabc");
        assert_eq!(c.links.task("T42"), "https://phabricator.wikimedia.org/T42");
        assert_eq!(c.sync.snapshot_prefix, "snapshot-");
    }

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../../../config.example.toml");
        let c = Config::parse(text).unwrap();
        assert_eq!(c.repositories.len(), 2);
        assert!(c.repositories[1].private);
        assert_eq!(
            c.repositories[0].upstream_source().unwrap(),
            Some(UpstreamSource::ShaUrl("https://config-master.wikimedia.org/puppet-sha1.txt".into()))
        );
    }

    #[test]
    fn state_paths_default_to_the_git_dir() {
        let git_dir = Path::new("/srv/puppet/.git");
        let c = Config::parse("").unwrap();
        let name = "operations/puppet";
        assert_eq!(c.state.dir_for(git_dir, name), Path::new("/srv/puppet/.git/betadrift"));
        assert_eq!(c.state.policy_for(git_dir, name), Path::new("/srv/puppet/.git/betadrift/policy.toml"));
        let c = Config::parse("[state]\ndir = \"/var/lib/betadrift\"\n").unwrap();
        assert_eq!(c.state.dir_for(git_dir, name), Path::new("/var/lib/betadrift/operations_puppet"));
        assert_eq!(c.state.policy_for(git_dir, name), Path::new("/var/lib/betadrift/operations_puppet/policy.toml"));
        assert_eq!(c.state.dir_for(git_dir, "../.."), Path::new("/var/lib/betadrift/_____"));
        assert_eq!(c.state.dir_for(git_dir, ""), Path::new("/var/lib/betadrift/_"));
        let c =
            Config::parse("[state]\ndir = \"/var/lib/betadrift\"\npolicy = \"/etc/betadrift/policy.toml\"\n").unwrap();
        assert_eq!(c.state.policy_for(git_dir, name), Path::new("/etc/betadrift/policy.toml"));
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = Config::parse("[stale]\nafter = \"soon\"\n").unwrap_err();
        assert!(err.starts_with("line 2, column 9:"), "{err}");
        assert!(err.contains("not a duration"), "{err}");
        let err = Config::parse("[links]\ngerit = \"x\"\n").unwrap_err();
        assert!(err.starts_with("line 2, column 1:"), "{err}");
        let err =
            Config::parse("[[repository]]\npath = \"/x\"\nupstream = \"a\"\nupstream_sha_file = \"/f\"\n").unwrap_err();
        assert!(err.contains("only one of"), "{err}");
        assert!(!Config::parse("this is = = not toml").unwrap_err().contains('\n'));
    }
}
