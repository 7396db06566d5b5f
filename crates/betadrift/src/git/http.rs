//! betadrift's one HTTP(S) request: the upstream SHA an
//! `--upstream-sha-url` (or `upstream_sha_url`) serves, fetched by the
//! system's `curl`.
//!
//! betadrift links no TLS stack. It is GPL-2.0-only, and the Rust TLS
//! stacks' cryptography is not compatible with that: rustls needs ring
//! (Apache-2.0 AND ISC) or aws-lc (which includes OpenSSL-licensed code),
//! and OpenSSL itself (native-tls) is Apache-2.0 from 3.0. `curl` is on
//! every puppetmaster, brings the host's CA certificates, proxy settings
//! and security updates with it, and costs a process for one small GET.
//! Fetching a repository is git's own business (`git fetch`, see
//! [`super::cli`]).

use std::process::Command;

use crate::error::{Error, Result};
use crate::git::cli::{reason, run};

/// The most a SHA document may hold: a SHA and a newline, with room to spare.
const MAX_BYTES: usize = 4096;
/// How long the whole request may take, in seconds.
const TIMEOUT_SECONDS: &str = "20";

/// Fetches a small text document over HTTP(S) with `curl`: the host's CA
/// roots and proxy settings, redirects followed (to HTTP(S) only), an HTTP
/// error status as an error.
pub fn fetch_text(url: &str) -> Result<String> {
    let fail = |message: String| {
        Error::Usage(format!(
            "cannot read upstream SHA from {}: {message}",
            crate::support::escape::terminal(url.as_bytes())
        ))
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(fail("not an http:// or https:// URL".into()));
    }
    let mut curl = Command::new("curl");
    // `--disable` first: a ~/.curlrc must not change what is fetched.
    curl.args(["--disable", "--silent", "--show-error", "--fail", "--location"])
        .args(["--proto", "=http,https", "--proto-redir", "=http,https"])
        .args(["--max-time", TIMEOUT_SECONDS, "--max-filesize", &MAX_BYTES.to_string()])
        .args(["--", url]);
    let output = run(&mut curl, "--upstream-sha-url")?;
    if !output.status.success() {
        return Err(fail(reason(&output.stderr)));
    }
    if output.stdout.len() > MAX_BYTES {
        return Err(fail(format!("the document is larger than {MAX_BYTES} bytes; is this the URL of a SHA?")));
    }
    String::from_utf8(output.stdout).map_err(|_| fail("the document is not UTF-8 text".into()))
}
