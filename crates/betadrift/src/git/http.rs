//! betadrift's one HTTP(S) client: git's smart HTTP protocol for
//! `sync --fetch`, and the upstream SHA an `--upstream-sha-url` serves.
//!
//! libgit2 built with its own HTTPS support initialises OpenSSL, and loads
//! every system CA certificate, the moment it starts: on a puppetmaster that
//! costs `betadrift status` some 30 ms on every run, to support a fetch that
//! only `sync --fetch` does. So libgit2 is built without TLS, and this module
//! registers an `http`/`https` transport that speaks the (tiny) smart HTTP
//! framing over ureq, which sets up TLS only when a request is made. Both
//! uses make their client with [`agent`], so TLS is set up one way.

use std::io::{Read, Write};
use std::sync::Once;
use std::time::Duration;

use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};

use crate::error::{Error, Result};

/// Registers the transport once per process, before the first fetch.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for scheme in ["http", "https"] {
            // SAFETY: git2 requires that no other thread uses libgit2 while a
            // transport is registered; betadrift registers from the main
            // thread before its one fetch, and `Once` makes it happen once.
            #[allow(unsafe_code)]
            let registered =
                unsafe { git2::transport::register(scheme, |remote| Transport::smart(remote, true, Http::new())) };
            if let Err(e) = registered {
                eprintln!("betadrift: warning: cannot register the {scheme} transport: {}", e.message());
            }
        }
    });
}

/// An HTTP(S) client: native TLS with the platform's CA roots, an HTTP
/// error status as an error, and the given connect and overall timeouts
/// (`None`: none).
fn agent(connect: Option<Duration>, global: Option<Duration>) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(connect)
        .timeout_global(global)
        .http_status_as_error(true)
        .build()
        .into()
}

/// Fetches a small text document over HTTP(S), with the system's CA roots.
pub fn fetch_text(url: &str) -> Result<String> {
    let fail = |message: String| Error::Usage(format!("cannot read upstream SHA from {url}: {message}"));
    let agent = agent(None, Some(Duration::from_secs(20)));
    let mut response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    response.body_mut().with_config().limit(4096).read_to_string().map_err(|e| fail(e.to_string()))
}

struct Http {
    agent: ureq::Agent,
}

impl Http {
    fn new() -> Http {
        Http { agent: agent(Some(Duration::from_secs(30)), None) }
    }
}

impl SmartSubtransport for Http {
    fn action(&self, url: &str, action: Service) -> Result<Box<dyn SmartSubtransportStream>, git2::Error> {
        let base = url.trim_end_matches('/');
        let (method, url, content_type) = match action {
            Service::UploadPackLs => ("GET", format!("{base}/info/refs?service=git-upload-pack"), None),
            Service::UploadPack => {
                ("POST", format!("{base}/git-upload-pack"), Some("application/x-git-upload-pack-request"))
            }
            Service::ReceivePackLs | Service::ReceivePack => {
                return Err(git2::Error::from_str("betadrift only fetches; it never pushes"));
            }
        };
        Ok(Box::new(Exchange {
            agent: self.agent.clone(),
            method,
            url,
            content_type,
            body: Vec::new(),
            response: None,
        }))
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

/// One request: writes are the request body, reads the response body.
struct Exchange {
    agent: ureq::Agent,
    method: &'static str,
    url: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    response: Option<Box<dyn Read + Send>>,
}

impl Exchange {
    fn send(&mut self) -> std::io::Result<()> {
        let fail = |e: ureq::Error| std::io::Error::other(format!("{} {}: {e}", self.method, self.url));
        let response = match self.method {
            "GET" => self.agent.get(&self.url).header("Git-Protocol", "version=0").call().map_err(fail)?,
            _ => self
                .agent
                .post(&self.url)
                .header("Content-Type", self.content_type.unwrap_or("application/octet-stream"))
                .header("Accept", "application/x-git-upload-pack-result")
                .send(&self.body[..])
                .map_err(fail)?,
        };
        self.response = Some(Box::new(response.into_body().into_reader()));
        Ok(())
    }
}

impl Read for Exchange {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.response.is_none() {
            self.send()?;
        }
        self.response.as_mut().expect("sent above").read(buf)
    }
}

impl Write for Exchange {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.body.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
