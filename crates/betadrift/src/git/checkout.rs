//! Which repository and which upstream a command works on.
//!
//! A puppetmaster follows one of three kinds of upstream: a remote-tracking
//! ref (`origin/production`), a file holding a SHA, or a URL serving one
//! (deployment-prep follows config-master's `puppet-sha1.txt`, the commit
//! production has puppet-merged). Commands resolve it here, the same way.

use std::path::{Path, PathBuf};

use git2::Oid;

use crate::config::{Config, RepoConfig, UpstreamSource};
use crate::error::{Error, Result};
use crate::git::repo::{HeadBranch, Repo, Upstream};

/// What the command line says about the upstream.
#[derive(Debug, Clone, Default)]
pub struct UpstreamArgs {
    /// `--upstream REV`
    pub rev: Option<String>,
    /// `--upstream-sha-file PATH`
    pub sha_file: Option<PathBuf>,
    /// `--upstream-sha-url URL`
    pub sha_url: Option<String>,
}

impl UpstreamArgs {
    fn source(&self) -> Result<Option<UpstreamSource>> {
        let given: Vec<UpstreamSource> = [
            self.rev.clone().map(UpstreamSource::Ref),
            self.sha_file.clone().map(UpstreamSource::ShaFile),
            self.sha_url.clone().map(UpstreamSource::ShaUrl),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() > 1 {
            return Err(Error::Usage("give only one of --upstream, --upstream-sha-file and --upstream-sha-url".into()));
        }
        Ok(given.into_iter().next())
    }
}

/// An opened repository with its branch and upstream resolved.
#[derive(Debug)]
pub struct Checkout {
    pub repo: Repo,
    pub head: HeadBranch,
    pub upstream: Upstream,
    /// The config entry for this repository, if there is one.
    pub repo_config: Option<RepoConfig>,
}

impl Checkout {
    /// Opens the repository at `path` (or the current directory) and resolves
    /// its upstream: command line first, then the config entry, then git.
    pub fn open(path: Option<&Path>, args: &UpstreamArgs, config: &Config) -> Result<Checkout> {
        let repo = open_repo(path)?;
        let repo_config = repo.workdir().and_then(|w| config.repository_for(w)).cloned();
        Checkout::resolve(repo, args, repo_config)
    }

    /// Resolves branch and upstream of an opened repository.
    pub fn resolve(repo: Repo, args: &UpstreamArgs, repo_config: Option<RepoConfig>) -> Result<Checkout> {
        let head = repo.head_branch()?;
        if let Some(want) = repo_config.as_ref().and_then(|c| c.branch.as_ref())
            && *want != head.name
        {
            return Err(Error::Usage(format!(
                "{} is on branch {} but the config says {want}; switch branches or fix the config",
                repo.display_path().display(),
                head.name
            )));
        }
        let configured = match &repo_config {
            Some(c) => c.upstream_source()?,
            None => None,
        };
        let upstream = match args.source()?.or(configured) {
            None => repo.resolve_upstream(&head, None)?,
            Some(UpstreamSource::Ref(rev)) => repo.resolve_upstream(&head, Some(&rev))?,
            Some(UpstreamSource::ShaFile(file)) => {
                let oid = parse_sha(&read_sha_file(&file)?, &file.display().to_string())?;
                repo.require_commit(oid, &file.display().to_string())?
            }
            Some(UpstreamSource::ShaUrl(url)) => {
                let oid = parse_sha(&crate::git::http::fetch_text(&url)?, &url)?;
                repo.require_commit(oid, &url)?
            }
        };
        Ok(Checkout { repo, head, upstream, repo_config })
    }

    /// Whether the repository is marked as holding secrets.
    pub fn private(&self) -> bool {
        self.repo_config.as_ref().is_some_and(|c| c.private)
    }

    /// The name reports use for this repository.
    pub fn name(&self) -> String {
        repo_name(&self.repo, self.repo_config.as_ref())
    }

    /// The consent policy file of this repository.
    pub fn policy_file(&self, config: &Config) -> PathBuf {
        config.state.policy_for(self.repo.git_dir(), &self.name())
    }
}

/// The name of a repository in reports and state paths: its config entry's,
/// else its path.
pub fn repo_name(repo: &Repo, repo_config: Option<&RepoConfig>) -> String {
    match repo_config {
        Some(c) => c.display_name(),
        None => repo.display_path().display().to_string(),
    }
}

/// Opens the checkout containing `path` (or the current directory), without
/// resolving branch or upstream: for commands that only need its files.
pub fn open_repo(path: Option<&Path>) -> Result<Repo> {
    let start = match path {
        Some(p) => p.to_owned(),
        None => std::env::current_dir().map_err(|e| Error::io("reading", ".", e))?,
    };
    Repo::discover(&start)
}

/// The most of an upstream SHA file that is read: a SHA and a newline fit
/// many times over; `/dev/zero` must not fill the memory.
const SHA_FILE_MAX: u64 = 4096;

/// The text of an upstream SHA file: a regular file (a FIFO would block the
/// timer forever, a device never end), its first [`SHA_FILE_MAX`] bytes.
fn read_sha_file(file: &Path) -> Result<String> {
    use std::io::Read;
    let what = "reading upstream SHA file";
    let meta = std::fs::metadata(file).map_err(|e| Error::io(what, file, e))?;
    if !meta.is_file() {
        return Err(Error::Usage(format!(
            "upstream SHA file {} is not a regular file; name the file that holds the SHA (e.g. puppet-sha1.txt)",
            file.display()
        )));
    }
    let mut text = Vec::new();
    let opened = std::fs::File::open(file).map_err(|e| Error::io(what, file, e))?;
    opened.take(SHA_FILE_MAX).read_to_end(&mut text).map_err(|e| Error::io(what, file, e))?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// Reads one full SHA-1 from the text of a SHA file.
pub fn parse_sha(text: &str, source: &str) -> Result<Oid> {
    let word = text.split_whitespace().next().unwrap_or("");
    if word.len() != 40 || !word.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!(
            "{source} does not hold a 40-character commit id (got {:?}); check the file or URL",
            crate::support::escape::terminal_short(word.as_bytes(), 60)
        )));
    }
    Oid::from_str(word).map_err(|e| Error::Usage(format!("{source}: {}", e.message())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_files_hold_one_full_sha() {
        let oid = parse_sha("d3590882967af82c73dec71ad2ea7228dbf048f9\n", "f").unwrap();
        assert_eq!(oid.to_string(), "d3590882967af82c73dec71ad2ea7228dbf048f9");
        assert!(parse_sha("d359088", "f").is_err());
        assert!(parse_sha("", "f").is_err());
        assert!(parse_sha("<html>error</html>", "f").is_err());
    }
}
