//! betadrift's HTTP(S) requests, made by the system's `curl`: the upstream
//! SHA an `--upstream-sha-url` (or `upstream_sha_url`) serves
//! ([`fetch_text`]), and the Gerrit REST and Phabricator Conduit calls of
//! the live state ([`request`]: a timeout, a cap on the body, the status
//! code handed back).
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

/// An HTTP request for [`request`].
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub url: &'a str,
    /// `application/x-www-form-urlencoded` fields: a POST; none: a GET.
    pub form: Vec<(String, String)>,
    /// How long the whole request may take.
    pub timeout: std::time::Duration,
    /// The most the body may hold; a longer one is an error.
    pub max_bytes: usize,
}

/// What the server answered: its status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Marks the line `curl --write-out` adds to stderr with the status code.
const STATUS_MARK: &str = "betadrift-http-status:";

/// Makes one request with `curl` (no `~/.curlrc`, HTTP(S) only, redirects
/// followed): the response whatever its status, or an error in words for a
/// failed connection, a timeout or a body over `max_bytes` (read no further:
/// curl is killed). The form goes to curl on its standard input, so a token
/// in it never shows in the process list.
pub fn request(req: &Request<'_>) -> std::result::Result<Response, String> {
    use std::io::{Read, Write};
    if !(req.url.starts_with("https://") || req.url.starts_with("http://")) {
        return Err("not an http:// or https:// URL".into());
    }
    let seconds = format!("{:.3}", req.timeout.as_secs_f64().max(0.001));
    let mut curl = Command::new("curl");
    curl.args(["--disable", "--silent", "--show-error", "--location"])
        .args(["--proto", "=http,https", "--proto-redir", "=http,https"])
        .args(["--max-time", &seconds, "--max-filesize", &req.max_bytes.to_string()])
        .args(["--write-out", &format!("%{{stderr}}{STATUS_MARK}%{{http_code}}\\n")]);
    if !req.form.is_empty() {
        curl.args(["--data-binary", "@-", "--header", "Content-Type: application/x-www-form-urlencoded"]);
    }
    curl.args(["--", req.url])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = curl.spawn().map_err(|e| format!("cannot run curl: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let _ = stdin.write_all(form_body(&req.form).as_bytes());
    drop(stdin);
    let mut body = Vec::new();
    let limit = req.max_bytes as u64 + 1;
    let read = child.stdout.take().expect("piped stdout").take(limit).read_to_end(&mut body);
    if body.len() > req.max_bytes {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("the response is larger than {} bytes", req.max_bytes));
    }
    let output = child.wait_with_output().map_err(|e| format!("waiting for curl: {e}"))?;
    read.map_err(|e| format!("reading curl's output: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let status = stderr.lines().find_map(|l| l.strip_prefix(STATUS_MARK)).and_then(|c| c.trim().parse::<u16>().ok());
    match status {
        Some(status) if output.status.success() && status != 0 => Ok(Response { status, body }),
        _ => Err(curl_reason(&output.stderr)),
    }
}

/// Why curl failed, in one line, without its status-code line.
fn curl_reason(stderr: &[u8]) -> String {
    let text: Vec<u8> = stderr
        .split(|&b| b == b'\n')
        .filter(|l| !l.starts_with(STATUS_MARK.as_bytes()))
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect();
    reason(&text)
}

/// `a=1&b=2`, percent-encoded as a form is.
pub fn form_body(fields: &[(String, String)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))).collect::<Vec<_>>().join("&")
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_percent_encoded() {
        let fields = vec![("constraints[ids][0]".to_owned(), "12".to_owned()), ("api.token".into(), "a b&c".into())];
        assert_eq!(form_body(&fields), "constraints%5Bids%5D%5B0%5D=12&api.token=a%20b%26c");
    }

    #[test]
    fn only_http_urls_are_requested() {
        let req = Request {
            url: "file:///etc/passwd",
            form: Vec::new(),
            timeout: std::time::Duration::from_secs(1),
            max_bytes: 10,
        };
        assert!(request(&req).unwrap_err().contains("not an http"));
    }
}
