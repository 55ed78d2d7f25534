//! Security for every page: headers (strict CSP), CSRF checks for browser forms (Fetch Metadata
//! or Origin, plus a signed double-submit cookie), the per-IP rate limit and the client address
//! behind a trusted reverse proxy.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

use super::AppState;

/// The policy for pages that show feed content: no scripts, no plugins, no framing.
pub const CSP: &str = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The preview's policy: the same plus its own reload script and event stream.
pub const CSP_PREVIEW: &str = "default-src 'none'; img-src https: data:; \
     style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The manage page's policy: no inline script, only its own time-zone preset script.
pub const CSP_MANAGE: &str = "default-src 'none'; img-src https: data:; \
     style-src 'unsafe-inline'; script-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers every response carries (a handler may set its own CSP).
pub async fn headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    res
}

/// The name of the CSRF cookie (random per browser; forms carry its HMAC).
pub const CSRF_COOKIE: &str = "gazette_csrf";

/// The value of a cookie in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The browser's CSRF cookie, or a new one to set: (value, Set-Cookie header if new).
pub fn csrf_cookie(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    if let Some(v) = cookie(headers, CSRF_COOKIE).filter(|v| is_cookie_value(v)) {
        return (v.to_string(), None);
    }
    let bytes: [u8; 16] = rand::random();
    let value: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let secure = if state.gazette().config.newsletter.base_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let set = format!("{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{secure}");
    (value, Some(set))
}

fn is_cookie_value(v: &str) -> bool {
    v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The form token for a CSRF cookie.
pub fn csrf_token(state: &AppState, cookie_value: &str) -> String {
    state.tokens().tag("csrf", cookie_value)
}

/// Is this a same-site browser request? `Sec-Fetch-Site` when the browser sends it, else
/// `Origin` against the public base URL or the Host header; neither present: not a browser
/// cross-site form (those send at least one), so allowed.
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let base = state.gazette().config.newsletter.base_url.origin();
    if origin == base.ascii_serialization() {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    host.is_some_and(|h| origin == format!("http://{h}") || origin == format!("https://{h}"))
}

/// The full check for a browser form: same origin, and the form token matches the cookie.
pub fn csrf_ok(state: &AppState, headers: &HeaderMap, form_token: Option<&str>) -> bool {
    let (Some(cookie), Some(token)) = (cookie(headers, CSRF_COOKIE), form_token) else {
        return false;
    };
    same_origin(state, headers) && state.tokens().check_tag("csrf", cookie, token)
}

/// The client's address: the peer, or behind a trusted proxy the rightmost untrusted hop of
/// `X-Forwarded-For`.
pub fn client_ip(
    state: &AppState,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let trusted = &state.inner.options.trusted_proxies;
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// A sliding-window counter per client IP.
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request; false when the client is over its limit.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() > 10_000 {
            hits.retain(|_, q| q.back().is_some_and(|t| now - *t < self.window));
        }
        let q = hits.entry(ip).or_default();
        while q.front().is_some_and(|t| now - *t >= self.window) {
            q.pop_front();
        }
        if q.len() >= self.limit as usize {
            return false;
        }
        q.push_back(now);
        true
    }
}
