//! What betadrift leaves to git and to curl: the upstream SHA a URL serves
//! (fetched by `curl`, with one clear error when it fails or is missing)
//! and the automatic maintenance after a rewrite, which keeps the pack
//! count bounded.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use betadrift::scenario::Scenario;
use common::{Run, Sandbox};

/// Serves one HTTP response (`status` line and `body`) to the first request
/// on a local port; returns the URL to ask.
fn serve_once(status: &'static str, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let url = format!("http://{}/puppet-sha1.txt", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("one request");
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        let response =
            format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        let _ = stream.write_all(response.as_bytes());
    });
    url
}

/// A checkout whose stack rebases cleanly (the demo without the patches
/// that stop and without the hand edit).
fn clean_demo(sandbox: &Sandbox) -> betadrift::scenario::build::Built {
    let mut s = Scenario::demo();
    s.local.retain(|c| !c.id.starts_with("p07") && !c.id.starts_with("p08"));
    s.snapshot.clear();
    s.dirty = Default::default();
    sandbox.build(&s)
}

/// betadrift in `dir` with `PATH` set to `path`.
fn betadrift_with_path(sandbox: &Sandbox, dir: &Path, path: &Path, args: &[&str]) -> Run {
    let out = sandbox
        .command(env!("CARGO_BIN_EXE_betadrift"))
        .current_dir(dir)
        .env("PATH", path)
        .env("BETADRIFT_NOW", "2026-11-25T12:00:00Z")
        .args(args)
        .output()
        .expect("running betadrift");
    Run::from(out)
}

#[test]
fn upstream_sha_url_is_read_with_curl() {
    let sandbox = Sandbox::new();
    let built = clean_demo(&sandbox);
    let base = sandbox.git(&built.checkout, &["merge-base", "HEAD", "origin/production"]).trim().to_owned();
    let url = serve_once("200 OK", format!("{base}\n"));
    let run = sandbox.betadrift(&built.checkout, &["status", "--json", "--upstream-sha-url", &url]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let status: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(status["upstream"]["commit"].as_str(), Some(base.as_str()), "{}", run.stdout);
}

#[test]
fn an_http_error_is_one_line_and_exit_2() {
    let sandbox = Sandbox::new();
    let built = clean_demo(&sandbox);
    let url = serve_once("404 Not Found", "no such file\n".into());
    let run = sandbox.betadrift(&built.checkout, &["status", "--upstream-sha-url", &url]);
    run.assert_error("cannot read upstream SHA from http://127.0.0.1:");
    assert!(run.stderr.contains("404"), "{}", run.stderr);
}

#[test]
fn only_http_and_https_urls_are_fetched() {
    let sandbox = Sandbox::new();
    let built = clean_demo(&sandbox);
    let run = sandbox.betadrift(&built.checkout, &["status", "--upstream-sha-url", "file:///etc/passwd"]);
    run.assert_error("not an http:// or https:// URL");
}

#[test]
fn a_missing_curl_is_named() {
    let sandbox = Sandbox::new();
    let built = clean_demo(&sandbox);
    let empty = sandbox.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let run = betadrift_with_path(
        &sandbox,
        &built.checkout,
        &empty,
        &["status", "--upstream-sha-url", "https://puppetmaster.example/puppet-sha1.txt"],
    );
    run.assert_error("--upstream-sha-url needs `curl`, which is not on PATH; install it (apt-get install curl)");
}

#[test]
fn a_missing_git_is_named_by_sync_fetch() {
    let sandbox = Sandbox::new();
    let built = clean_demo(&sandbox);
    let empty = sandbox.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let run = betadrift_with_path(&sandbox, &built.checkout, &empty, &["sync", "--fetch"]);
    run.assert_error("git fetch needs `git`, which is not on PATH");
}
