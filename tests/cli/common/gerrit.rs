//! A stand-in for Gerrit and Phabricator: a local HTTP server (127.0.0.1,
//! a random port, one thread) that answers with the documented formats or
//! with whatever failure a test asks for, and a bare repository with
//! `refs/changes/NN/NNNNNN/P` refs to fetch patchsets from. No network.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Sandbox;

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// Waits this long before answering (a slow server).
    pub delay: Duration,
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply { status: 200, body: body.into(), delay: Duration::ZERO }
    }

    /// `status` with a short text body.
    pub fn status(status: u16) -> Reply {
        Reply { status, body: format!("error {status}\n").into_bytes(), delay: Duration::ZERO }
    }

    /// 200 after `delay`.
    pub fn slow(body: impl Into<Vec<u8>>, delay: Duration) -> Reply {
        Reply { status: 200, body: body.into(), delay }
    }
}

/// One request as the server saw it: the request line and the body.
#[derive(Debug, Clone)]
pub struct Seen {
    pub line: String,
    pub body: String,
}

type Handler = Arc<Mutex<Box<dyn FnMut(&Seen) -> Reply + Send>>>;

/// The local HTTP server.
pub struct FakeServer {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    handler: Handler,
}

impl FakeServer {
    /// Starts the server on 127.0.0.1 with a random port; `handler` answers.
    pub fn start(handler: impl FnMut(&Seen) -> Reply + Send + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let handler: Handler = Arc::new(Mutex::new(Box::new(handler)));
        let (s, h) = (seen.clone(), handler.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, h) = (s.clone(), h.clone());
                std::thread::spawn(move || serve(stream, &s, &h));
            }
        });
        FakeServer { port, seen, handler }
    }

    /// Answers from now on with `handler`.
    pub fn answer(&self, handler: impl FnMut(&Seen) -> Reply + Send + 'static) {
        *self.handler.lock().unwrap() = Box::new(handler);
    }

    /// `http://127.0.0.1:PORT/r/`, the Gerrit URL of the config.
    pub fn gerrit_url(&self) -> String {
        format!("http://127.0.0.1:{}/r/", self.port)
    }

    /// `http://127.0.0.1:PORT/`, the Phabricator URL of the config.
    pub fn phabricator_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// How many requests came in.
    pub fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, handler: &Handler) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let request = Seen { line: line.trim_end().to_owned(), body: String::from_utf8_lossy(&body).into_owned() };
    seen.lock().unwrap().push(request.clone());
    let reply = (handler.lock().unwrap())(&request);
    std::thread::sleep(reply.delay);
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        reply.body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply.body);
}

/// A Gerrit `ChangeInfo` as `/changes/?o=CURRENT_REVISION&o=DETAILED_ACCOUNTS` gives it.
pub fn change_info(number: u64, change_id: &str, status: &str, current: (&str, u32)) -> serde_json::Value {
    let (sha, patchset) = current;
    serde_json::json!({
        "id": format!("operations%2Fpuppet~production~{change_id}"),
        "project": "operations/puppet",
        "branch": "production",
        "hashtags": [],
        "change_id": change_id,
        "subject": format!("change {number}"),
        "status": status,
        "created": "2026-11-01 10:00:00.000000000",
        "updated": "2026-11-20 10:00:00.000000000",
        "submit_type": "CHERRY_PICK",
        "mergeable": true,
        "insertions": 1,
        "deletions": 1,
        "total_comment_count": 0,
        "unresolved_comment_count": 0,
        "has_review_started": true,
        "meta_rev_id": "0123456789abcdef0123456789abcdef01234567",
        "_number": number,
        "owner": {"_account_id": 1000096, "name": "Ana Costa", "email": "ana@example.org", "username": "acosta"},
        "current_revision": sha,
        "revisions": {sha: {"kind": "REWORK", "_number": patchset, "created": "2026-11-20 10:00:00.000000000",
            "uploader": {"_account_id": 1000096}, "ref": format!("refs/changes/{:02}/{number}/{patchset}", number % 100),
            "fetch": {}}},
        "submittable": false,
        "requirements": []
    })
}

/// A `/changes/` answer: the XSSI prefix, then the list.
pub fn gerrit_body(changes: &[serde_json::Value]) -> Vec<u8> {
    format!(")]}}'\n{}", serde_json::Value::Array(changes.to_vec())).into_bytes()
}

/// A bare repository standing in for Gerrit's git side, patchsets made on
/// `base` of `upstream` with the real git.
pub struct GerritRepo {
    pub bare: PathBuf,
    work: PathBuf,
}

impl GerritRepo {
    /// A bare repository with everything of `upstream` (the scenario's upstream.git).
    pub fn new(sandbox: &Sandbox, upstream: &Path) -> GerritRepo {
        let bare = sandbox.path().join("gerrit.git");
        let work = sandbox.path().join("gerrit-work");
        sandbox.git(sandbox.path(), &["clone", "-q", "--bare", upstream.to_str().unwrap(), bare.to_str().unwrap()]);
        sandbox.git(sandbox.path(), &["clone", "-q", upstream.to_str().unwrap(), work.to_str().unwrap()]);
        GerritRepo { bare, work }
    }

    /// Uploads a patchset: on `base`, the files `files` (path, content),
    /// with `message`, as `refs/changes/NN/<change>/<patchset>`; returns its commit.
    pub fn upload(
        &self,
        sandbox: &Sandbox,
        base: &str,
        change: u64,
        patchset: u32,
        files: &[(&str, &str)],
        message: &str,
    ) -> String {
        sandbox.git(&self.work, &["checkout", "-q", "--detach", base]);
        for (path, content) in files {
            std::fs::write(self.work.join(path), content).unwrap();
            sandbox.git(&self.work, &["add", path]);
        }
        sandbox.git(&self.work, &["commit", "-q", "-m", message]);
        let refname = format!("refs/changes/{:02}/{change}/{patchset}", change % 100);
        sandbox.git(&self.work, &["push", "-q", self.bare.to_str().unwrap(), &format!("HEAD:{refname}")]);
        sandbox.git(&self.work, &["rev-parse", "HEAD"]).trim().to_owned()
    }
}
