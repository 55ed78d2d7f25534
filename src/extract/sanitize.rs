//! Minimal safe HTML for a lead: ammonia keeps `<a href>` with absolute
//! http(s) links (rel="noopener") and drops every other tag and attribute.

use std::collections::HashSet;

/// Sanitizes the walker's link-only HTML of one paragraph.
pub fn lead_html(raw: &str) -> String {
    let tags: HashSet<&str> = ["a"].into_iter().collect();
    let schemes: HashSet<&str> = ["http", "https"].into_iter().collect();
    ammonia::Builder::empty()
        .tags(tags)
        .add_tag_attributes("a", ["href"])
        .url_schemes(schemes)
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener"))
        .clean(raw)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_safe_links() {
        let out = lead_html(
            r#"<a href="https://x.example/a">x</a> <b>y</b> <a href="javascript:alert(1)">z</a>"#,
        );
        assert!(out.contains(r#"<a href="https://x.example/a" rel="noopener">x</a>"#));
        assert!(!out.contains("<b>"));
        assert!(!out.contains("javascript"));
    }
}
