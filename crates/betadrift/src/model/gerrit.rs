//! What `betadrift pick CHANGE[/PATCHSET]` names: a Gerrit change (by
//! number, Change-Id or URL) and maybe one of its patchsets.
//!
//! People copy whatever they have at hand: the number from a Phabricator
//! comment, the Change-Id from a commit message, the URL from the browser
//! (`https://gerrit.wikimedia.org/r/c/operations/puppet/+/1234567/3`, or
//! the short `https://gerrit.wikimedia.org/r/1234567`). All of them mean
//! the same change.

use crate::error::{Error, Result};

/// A change, as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRef {
    /// The change number (`_number`).
    Number(u64),
    /// The Change-Id (`I` and 40 hex digits).
    ChangeId(String),
}

/// A change and maybe one patchset of it (else the current one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSpec {
    pub change: ChangeRef,
    pub patchset: Option<u32>,
}

impl ChangeSpec {
    /// Parses `CHANGE[/PATCHSET]`: `1234567`, `1234567/3`, `I…`, `I…/3`,
    /// or a change URL (`…/+/1234567[/3]`, `…/r/1234567`, `…#/c/1234567/3`).
    pub fn parse(text: &str) -> Result<ChangeSpec> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "'{}': {why}; name a change as 1234567, 1234567/3, a Change-Id (I…) or a Gerrit change URL",
                crate::support::escape::terminal_short(text.as_bytes(), 120)
            ))
        };
        let trimmed = text.trim().trim_end_matches('/');
        let path =
            if trimmed.contains("://") { url_tail(trimmed).ok_or_else(|| bad("not a change URL"))? } else { trimmed };
        let (change, patchset) = match path.split_once('/') {
            Some((c, p)) => {
                (c, Some(p.parse::<u32>().ok().filter(|&p| p > 0).ok_or_else(|| bad("the patchset is not a number"))?))
            }
            None => (path, None),
        };
        let change = if let Ok(n) = change.parse::<u64>() {
            if n == 0 {
                return Err(bad("change 0 does not exist"));
            }
            ChangeRef::Number(n)
        } else {
            let hex = change.strip_prefix(['I', 'i']).unwrap_or("");
            if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("not a change number or Change-Id"));
            }
            ChangeRef::ChangeId(format!("I{}", hex.to_ascii_lowercase()))
        };
        Ok(ChangeSpec { change, patchset })
    }
}

/// The `NUMBER[/PATCHSET]` of a change URL: after `/+/`, else after `/c/`
/// when no project precedes it, else the last one or two path segments.
fn url_tail(url: &str) -> Option<&str> {
    let path = url.split_once("://")?.1.split_once('/').map_or("", |(_, p)| p);
    let path = path.split(['?']).next().unwrap_or("");
    if let Some((_, tail)) = path.split_once("/+/") {
        return Some(tail.trim_end_matches('/'));
    }
    let path = path.rsplit_once("#/c/").map_or(path, |(_, t)| t);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match segments.as_slice() {
        [.., a, b] if numeric(a) && numeric(b) => {
            let start = path.len() - b.len() - a.len() - 1;
            Some(&path[start..])
        }
        [.., a] if numeric(a) => Some(&path[path.len() - a.len()..]),
        _ => None,
    }
}

/// The Gerrit a checkout picks from: the REST base and the git URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// `[gerrit] url` (else `[links] gerrit`), e.g. `https://gerrit.wikimedia.org/r/`.
    pub url: String,
    /// Where patchsets are fetched from: `[gerrit] fetch_url`, else `<url>/<project>`.
    pub fetch_url: String,
    pub timeout: std::time::Duration,
}

impl Site {
    /// The Gerrit of `repo` by `config`; the project defaults to the branch
    /// remote's URL with the Gerrit URL taken off its front (and `.git`
    /// off its end).
    pub fn of(config: &crate::config::Config, repo: &crate::git::repo::Repo, branch: &str) -> Result<Site> {
        let g = &config.gerrit;
        let url = g.url.clone().unwrap_or_else(|| config.links.gerrit.clone());
        let timeout = g.timeout.unsigned_abs();
        if let Some(fetch_url) = &g.fetch_url {
            return Ok(Site { url, fetch_url: fetch_url.clone(), timeout });
        }
        let project = match &g.project {
            Some(p) => p.clone(),
            None => {
                let remote = repo.branch_remote(branch);
                let remote_url = repo.config_string(&format!("remote.{remote}.url")).unwrap_or_default();
                project_of(&url, &remote_url).ok_or_else(|| {
                    Error::Usage(format!(
                        "cannot tell the Gerrit project: remote {remote} ({}) is not under {url}; set [gerrit] project or fetch_url in the config",
                        crate::support::escape::terminal(remote_url.as_bytes())
                    ))
                })?
            }
        };
        Ok(Site { fetch_url: format!("{}/{project}", url.trim_end_matches('/')), url, timeout })
    }
}

/// `operations/puppet` from `https://gerrit.wikimedia.org/r/operations/puppet.git`
/// under `https://gerrit.wikimedia.org/r/`.
pub fn project_of(gerrit: &str, remote_url: &str) -> Option<String> {
    let base = gerrit.trim_end_matches('/');
    let rest = remote_url.strip_prefix(base)?.strip_prefix('/')?;
    let rest = rest.trim_end_matches('/');
    let project = rest.strip_suffix(".git").unwrap_or(rest);
    (!project.is_empty()).then(|| project.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_project_is_the_remote_under_gerrit() {
        let g = "https://gerrit.wikimedia.org/r/";
        assert_eq!(
            super::project_of(g, "https://gerrit.wikimedia.org/r/operations/puppet.git").as_deref(),
            Some("operations/puppet")
        );
        assert_eq!(
            super::project_of(g, "https://gerrit.wikimedia.org/r/operations/puppet").as_deref(),
            Some("operations/puppet")
        );
        assert_eq!(super::project_of(g, "https://example.org/operations/puppet"), None);
        assert_eq!(super::project_of(g, "https://gerrit.wikimedia.org/r/"), None);
    }

    use super::*;

    fn parsed(text: &str) -> (ChangeRef, Option<u32>) {
        let spec = ChangeSpec::parse(text).unwrap();
        (spec.change, spec.patchset)
    }

    #[test]
    fn numbers_change_ids_and_urls() {
        let id = format!("I{}", "a".repeat(40));
        assert_eq!(parsed("1234567"), (ChangeRef::Number(1234567), None));
        assert_eq!(parsed("1234567/3"), (ChangeRef::Number(1234567), Some(3)));
        assert_eq!(parsed(&format!("{id}/2")), (ChangeRef::ChangeId(id.clone()), Some(2)));
        assert_eq!(parsed(&format!("i{}", "A".repeat(40))), (ChangeRef::ChangeId(id.clone()), None));
        let url = "https://gerrit.wikimedia.org/r/c/operations/puppet/+/1234567/3";
        assert_eq!(parsed(url), (ChangeRef::Number(1234567), Some(3)));
        assert_eq!(
            parsed("https://gerrit.wikimedia.org/r/c/operations/puppet/+/1234567"),
            (ChangeRef::Number(1234567), None)
        );
        assert_eq!(parsed("https://gerrit.wikimedia.org/r/1234567"), (ChangeRef::Number(1234567), None));
        assert_eq!(parsed("https://gerrit.wikimedia.org/r/#/c/1234567/4/"), (ChangeRef::Number(1234567), Some(4)));
    }

    #[test]
    fn anything_else_is_refused_with_the_forms() {
        for bad in ["", "abc", "12/x", "12/0", "0", "Iabc", "https://gerrit.wikimedia.org/r/q/status:open"] {
            let err = ChangeSpec::parse(bad).unwrap_err().to_string();
            assert!(err.contains("name a change as"), "{bad}: {err}");
        }
    }
}
