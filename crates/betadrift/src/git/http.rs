//! git's smart HTTP protocol for `sync --fetch`, carried by ureq.
//!
//! libgit2 built with its own HTTPS support initialises OpenSSL, and loads
//! every system CA certificate, the moment it starts: on a puppetmaster that
//! costs `betadrift status` some 30 ms on every run, to support a fetch that
//! only `sync --fetch` does. So libgit2 is built without TLS, and this module
//! registers an `http`/`https` transport that speaks the (tiny) smart HTTP
//! framing over ureq, which sets up TLS only when a request is made.

use std::io::{Read, Write};
use std::sync::Once;
use std::time::Duration;

use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};

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

struct Http {
    agent: ureq::Agent,
}

impl Http {
    fn new() -> Http {
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::NativeTls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_connect(Some(Duration::from_secs(30)))
            .http_status_as_error(true)
            .build()
            .into();
        Http { agent }
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
