//! Canonical links: resolved against the feed, tracking parameters removed. A fragment is kept:
//! links that differ only in it are different items (a release-notes page with an anchor per
//! version), and it takes the reader to the right place.

/// Query parameters that only track the reader.
fn is_tracking(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("utm_")
        || matches!(
            k.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "mc_cid"
                | "mc_eid"
                | "igshid"
                | "yclid"
                | "_hsenc"
                | "_hsmi"
                | "mkt_tok"
                | "cmpid"
                | "ncid"
                | "sr_share"
                | "smid"
                | "soc_src"
                | "soc_trk"
                | "at_medium"
                | "at_campaign"
        )
}

/// Resolves `href` against `base` and strips tracking parameters (and an empty fragment).
/// Returns None for links that are not http(s).
pub fn canonical_url(href: &str, base: Option<&url::Url>) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let mut url = match url::Url::parse(href) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(href).ok()?,
        Err(_) => return None,
    };
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    if url.fragment().is_some_and(str::is_empty) {
        url.set_fragment(None);
    }
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !is_tracking(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::canonical_url;

    #[test]
    fn strips_tracking_and_keeps_the_fragment() {
        assert_eq!(
            canonical_url("https://ex.org/a?utm_source=rss&id=3&fbclid=x#v1.2", None).as_deref(),
            Some("https://ex.org/a?id=3#v1.2")
        );
        assert_eq!(
            canonical_url("https://ex.org/a#", None).as_deref(),
            Some("https://ex.org/a")
        );
        assert_eq!(
            canonical_url("https://ex.org/a?utm_medium=feed", None).as_deref(),
            Some("https://ex.org/a")
        );
    }

    #[test]
    fn resolves_relative_links() {
        let base = url::Url::parse("https://ex.org/feeds/rss.xml").unwrap();
        assert_eq!(
            canonical_url("/2026/story", Some(&base)).as_deref(),
            Some("https://ex.org/2026/story")
        );
        assert_eq!(
            canonical_url("story.html", Some(&base)).as_deref(),
            Some("https://ex.org/feeds/story.html")
        );
        assert_eq!(canonical_url("/x", None), None);
        assert_eq!(canonical_url("javascript:alert(1)", Some(&base)), None);
    }
}
