//! URL checks: every `href` the renderer emits is an absolute http(s) (or mailto) URL.

use url::Url;

/// The normalized URL when `s` is an absolute `http`/`https` URL with a host and no user info
/// (`http://bank.example@evil.example/` reads as one address and goes to another).
pub fn absolute_http(s: &str) -> Option<String> {
    let url = Url::parse(s.trim()).ok()?;
    is_web(&url).then(|| url.into())
}

/// Like [`absolute_http`], also accepting `mailto:` (unsubscribe addresses, intro links).
pub fn absolute_link(s: &str) -> Option<String> {
    let url = Url::parse(s.trim()).ok()?;
    (url.scheme() == "mailto" || is_web(&url)).then(|| url.into())
}

fn is_web(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_web_urls_pass() {
        assert_eq!(
            absolute_http("https://a.example/x?y=1").as_deref(),
            Some("https://a.example/x?y=1")
        );
        assert_eq!(absolute_http("/relative"), None);
        assert_eq!(absolute_http("javascript:alert(1)"), None);
        assert_eq!(absolute_http("file:///etc/passwd"), None);
        assert_eq!(
            absolute_link("mailto:u@example.org").as_deref(),
            Some("mailto:u@example.org")
        );
        assert_eq!(absolute_http("mailto:u@example.org"), None);
        assert_eq!(absolute_http("http://bank.example@evil.example/"), None);
    }
}
