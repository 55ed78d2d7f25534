//! Fetching bytes politely and safely: reqwest with timeouts, a body-size cap, gzip/br, an honest
//! User-Agent and conditional GET; `file://` URLs and plain paths read from disk under the same
//! cap. At most `per_host` requests run at once per host.
//!
//! Redirects (at most 5) are followed here, not by reqwest, so that every hop passes the SSRF
//! [`Guard`]: a configured feed URL is the operator's choice and may point anywhere (and so may
//! its redirects within the same host and port), but where it redirects elsewhere, and every URL
//! taken from feed content ([`Trust::FeedContent`]: article pages), may only reach public
//! addresses.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::guard::Guard;
use crate::config::{FeedLocation, Ingest};

/// Why a fetch failed; the message names what went wrong (the caller adds the URL).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status}{}", retry_after.map(|s| format!(", retry after {}s", s.as_secs())).unwrap_or_default())]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("body larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("timed out")]
    Timeout,
    #[error("too many redirects")]
    Redirects,
    /// The SSRF guard refused the address (the message names it and says why).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Network(String),
    #[error("read {path}: {error}")]
    File { path: String, error: String },
}

impl FetchError {
    /// How long the server asked us to wait (429 or 503 with Retry-After).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Validators from the last successful fetch.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A fetched body, or "not modified".
#[derive(Debug)]
pub enum Fetched {
    NotModified,
    Body {
        bytes: Vec<u8>,
        /// The URL after redirects (base for relative links).
        final_url: Option<url::Url>,
        content_type: Option<String>,
        validators: Validators,
        /// Cache-Control max-age, if the server gave one.
        max_age: Option<Duration>,
    },
}

/// Where a URL came from, which decides what it may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// A feed URL from the config: the operator's choice, any address (its redirects are
    /// guarded).
    Operator,
    /// A URL from a feed's content (an item's link): public addresses only, on every hop.
    FeedContent,
}

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;

/// A shared, polite HTTP fetcher.
#[derive(Clone)]
pub struct Fetcher {
    /// For the first request to an operator's URL: the system resolver.
    open: reqwest::Client,
    /// For everything else: the guard is the resolver.
    guarded: reqwest::Client,
    guard: Guard,
    max_bytes: u64,
    per_host: usize,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl Fetcher {
    pub fn new(cfg: &Ingest) -> anyhow::Result<Fetcher> {
        let guard = Guard::new(cfg.allow_private.clone());
        let builder = || {
            reqwest::Client::builder()
                .user_agent(cfg.user_agent.clone())
                .connect_timeout(cfg.connect_timeout)
                .timeout(cfg.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .gzip(true)
                .brotli(true)
                .deflate(true)
                .no_proxy()
        };
        Ok(Fetcher {
            open: builder().build()?,
            guarded: builder().dns_resolver(Arc::new(guard.clone())).build()?,
            guard,
            max_bytes: cfg.max_bytes,
            per_host: cfg.per_host,
            hosts: Default::default(),
        })
    }

    /// Fetches a configured feed, conditionally when validators are given.
    pub async fn fetch(
        &self,
        location: &FeedLocation,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        match location {
            FeedLocation::File(path) => self.read_file(path),
            FeedLocation::Http(url) => self.fetch_url(url, Trust::Operator, validators).await,
        }
    }

    /// Fetches an http(s) URL, every hop checked as `trust` says.
    pub async fn fetch_url(
        &self,
        url: &url::Url,
        trust: Trust,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let permit = self.host_slot(url).acquire_owned().await;
        let out = self.get(url, trust, validators).await;
        drop(permit);
        out
    }

    /// How many requests may run at once to one host (`ingest.per_host`).
    pub fn per_host(&self) -> usize {
        self.per_host
    }

    /// The semaphore that lets at most `per_host` requests run at once to the URL's host.
    pub fn host_slot(&self, url: &url::Url) -> Arc<Semaphore> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
            .clone()
    }

    fn read_file(&self, path: &Path) -> Result<Fetched, FetchError> {
        let err = |e: std::io::Error| FetchError::File {
            path: path.display().to_string(),
            error: e.to_string(),
        };
        let bytes = read_regular_file(path, self.max_bytes).map_err(|e| match e {
            ReadError::TooLarge => FetchError::TooLarge {
                limit: self.max_bytes,
            },
            ReadError::Io(e) => err(e),
        })?;
        Ok(Fetched::Body {
            bytes,
            final_url: None,
            content_type: None,
            validators: Validators::default(),
            max_age: None,
        })
    }

    /// One GET, following redirects by hand: the first hop of an operator's URL goes anywhere,
    /// every other hop must pass the guard. Does not wait for the host's turn (`fetch_url` does).
    pub async fn get(
        &self,
        start: &url::Url,
        trust: Trust,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let mut url = start.clone();
        let mut hops = 0;
        let mut resp = loop {
            // A redirect that stays on the operator's host reaches nothing new.
            let same_host = url.host() == start.host()
                && url.port_or_known_default() == start.port_or_known_default();
            let guarded = trust == Trust::FeedContent || (hops > 0 && !same_host);
            if guarded {
                self.guard.check_url(&url).map_err(FetchError::Refused)?;
            }
            let client = if guarded { &self.guarded } else { &self.open };
            let mut req = client.get(url.clone()).header(
                reqwest::header::ACCEPT,
                "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
            );
            if let Some(etag) = &validators.etag {
                req = req.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
            let resp = req.send().await.map_err(classify)?;
            if !resp.status().is_redirection() || resp.status() == reqwest::StatusCode::NOT_MODIFIED
            {
                break resp;
            }
            let Some(next) =
                header(&resp, reqwest::header::LOCATION).and_then(|l| url.join(&l).ok())
            else {
                break resp;
            };
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(FetchError::Redirects);
            }
            url = next;
        };
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            let retry_after =
                header(&resp, reqwest::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v));
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        if resp.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err(FetchError::TooLarge {
                limit: self.max_bytes,
            });
        }
        let validators = Validators {
            etag: header(&resp, reqwest::header::ETAG),
            last_modified: header(&resp, reqwest::header::LAST_MODIFIED),
        };
        let max_age = header(&resp, reqwest::header::CACHE_CONTROL).and_then(|v| parse_max_age(&v));
        let content_type = header(&resp, reqwest::header::CONTENT_TYPE);
        let final_url = Some(resp.url().clone());
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if bytes.len() as u64 + chunk.len() as u64 > self.max_bytes {
                return Err(FetchError::TooLarge {
                    limit: self.max_bytes,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            bytes,
            final_url,
            content_type,
            validators,
            max_age,
        })
    }
}

fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers().get(name)?.to_str().ok().map(str::to_string)
}

fn classify(e: reqwest::Error) -> FetchError {
    // A refusal by the guard (as reqwest's resolver) is the guard's message, not a network error.
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<super::guard::Refused>() {
            return FetchError::Refused(r.0.clone());
        }
        src = s.source();
    }
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_redirect() {
        FetchError::Redirects
    } else {
        // The source chain holds the useful part ("connection refused", "dns error").
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg = format!("{msg}: {s}");
            src = s.source();
        }
        FetchError::Network(msg)
    }
}

/// `Retry-After` is seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let secs = (when.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .num_seconds()
        .max(0);
    Some(Duration::from_secs(secs as u64))
}

fn parse_max_age(v: &str) -> Option<Duration> {
    v.split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|n| n.trim().parse().ok())
        .map(Duration::from_secs)
}

/// Why [`read_regular_file`] gave nothing.
#[derive(Debug)]
pub enum ReadError {
    TooLarge,
    Io(std::io::Error),
}

/// A regular file's bytes, at most `max_bytes` of them. A device (`/dev/zero`), a pipe that
/// may never be written or a directory is refused before it is opened, and the read stops at
/// the limit whatever the file's size said.
pub fn read_regular_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::Io(std::io::Error::other("not a regular file")));
    }
    if meta.len() > max_bytes {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .map_err(ReadError::Io)?
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_max_age() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            parse_max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(parse_max_age("no-cache"), None);
    }
}
