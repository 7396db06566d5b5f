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
fn pack_count(checkout: &Path) -> usize {
    std::fs::read_dir(checkout.join(".git/objects/pack"))
        .map(|d| d.filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "pack"))).count())
        .unwrap_or(0)
}

/// Leaves `n` more packs in the checkout, each with one new blob, as
/// repeated fetches and pushes do.
fn add_packs(sandbox: &Sandbox, checkout: &Path, n: usize) {
    for i in 0..n {
        let blob = checkout.join(format!("blob-{i}"));
        std::fs::write(&blob, format!("pack {i}\n")).unwrap();
        let oid = sandbox.git(checkout, &["hash-object", "-w", &blob.to_string_lossy()]);
        std::fs::remove_file(&blob).unwrap();
        // Reachable (a ref names it), or repack would leave it out.
        sandbox.git(checkout, &["update-ref", &format!("refs/extra/blob-{i}"), oid.trim()]);
        sandbox.git(checkout, &["repack", "-q"]);
    }
}

#[test]
fn a_rewrite_runs_gits_automatic_maintenance() {
    let sandbox = Sandbox::new();
    let built = clean_demo(&sandbox);
    add_packs(&sandbox, &built.checkout, 5);
    sandbox.git(&built.checkout, &["config", "gc.autoPackLimit", "3"]);
    let before = pack_count(&built.checkout);
    assert!(before > 3, "{before} packs");
    let run = sandbox.betadrift(&built.checkout, &["sync"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("warning"), "{}", run.stdout);
    // One pack of what is reachable, and git's cruft pack of the rest.
    let after = pack_count(&built.checkout);
    assert!(after <= 2, "git gc --auto repacked the {before} packs, leaving {after}");
    sandbox.git(&built.checkout, &["fsck", "--no-progress"]);
}

#[test]
fn maintenance_follows_the_repositorys_settings() {
    let sandbox = Sandbox::new();
    let built = clean_demo(&sandbox);
    add_packs(&sandbox, &built.checkout, 5);
    sandbox.git(&built.checkout, &["config", "gc.autoPackLimit", "3"]);
    sandbox.git(&built.checkout, &["config", "gc.auto", "0"]);
    let before = pack_count(&built.checkout);
    let run = sandbox.betadrift(&built.checkout, &["sync"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(pack_count(&built.checkout), before, "gc.auto=0: no repack");
}
