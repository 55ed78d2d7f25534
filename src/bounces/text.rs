//! Small text finders the other files share: e-mail addresses, RFC 3463 enhanced status codes
//! and SMTP reply codes in free text.

use std::sync::LazyLock;

use regex::Regex;

fn re(s: &str) -> Regex {
    Regex::new(s).expect("static regex")
}

/// An addr-spec as it appears in bounce text: a dot-atom local part (no quoted local parts) and
/// a domain whose last label is alphabetic, so IP literals and Message-ID right sides with
/// numeric tails are not taken.
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?-u:\b)",
    )
});

/// `x.y.z` with class 2, 4 or 5, not part of a longer dotted number (IP addresses, versions).
static ENHANCED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:^|[^0-9.])([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:[^0-9.]|\.(?:[^0-9]|$)|$)")
});

/// A three-digit SMTP reply code where a server's answer would put one: at the start, after a
/// colon, bracket, "said" or similar, and followed by a space, hyphen, comma or the end.
static REPLY: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[\s:(\[<#])([45][0-5][0-9])(?:[ \-,]|$)"));

/// Every address in `text`, in order, lower-cased.
pub fn addresses(text: &str) -> impl Iterator<Item = String> + '_ {
    ADDRESS
        .find_iter(text)
        .filter_map(|m| normalize(m.as_str()))
}

/// Every address in `text` with the byte offset where it starts, lower-cased.
pub fn address_spans(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    ADDRESS
        .find_iter(text)
        .filter_map(|m| normalize(m.as_str()).map(|a| (m.start(), a)))
}

/// The first address in `text`, lower-cased.
pub fn first_address(text: &str) -> Option<String> {
    addresses(text).next()
}

/// A plausible address, lower-cased and without surrounding punctuation; None otherwise.
pub fn normalize(addr: &str) -> Option<String> {
    let addr = addr
        .trim()
        .trim_matches(|c: char| "<>\"'(),;:[]".contains(c));
    let (local, domain) = addr.rsplit_once('@')?;
    let local = local.trim_start_matches(['.', '=']);
    if local.is_empty() || local.len() > 64 || domain.len() > 253 || !domain.contains('.') {
        return None;
    }
    Some(format!("{local}@{domain}").to_ascii_lowercase())
}

/// Every enhanced status code in `text`, in order.
pub fn enhanced_codes(text: &str) -> impl Iterator<Item = &str> + '_ {
    // The finder consumes one character on each side, so adjacent codes ("5.1.1 5.1.1") need a
    // second look: scan with overlapping starts.
    let mut at = 0;
    std::iter::from_fn(move || {
        let caps = ENHANCED.captures_at(text, at)?;
        let m = caps.get(1)?;
        at = m.end();
        Some(m.as_str())
    })
}

/// The first enhanced status code in `text`.
pub fn enhanced_code(text: &str) -> Option<&str> {
    enhanced_codes(text).next()
}

/// The first SMTP reply code in `text` (e.g. 550).
pub fn reply_code(text: &str) -> Option<u16> {
    REPLY
        .captures(text)
        .and_then(|c| c.get(1))
        .and_then(|m| m.as_str().parse().ok())
}

/// The class digit of a status code ("5.1.1" → 5).
pub fn class(status: &str) -> Option<u8> {
    status
        .bytes()
        .next()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
}

/// Whether a status code says nothing beyond its class (x.0.0).
pub fn is_generic(status: &str) -> bool {
    status.ends_with(".0.0")
}

/// Folds a header or DSN field value onto one line.
pub fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, line) in value.lines().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(line.trim());
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_addresses_not_ids_or_ips() {
        let found: Vec<_> =
            addresses("<Kijitora@Example.JP>: host [192.0.2.1] id 1.2@3.4 \"a.b@c.org\":")
                .collect();
        assert_eq!(found, ["kijitora@example.jp", "a.b@c.org"]);
    }

    #[test]
    fn finds_codes_not_versions() {
        assert_eq!(
            enhanced_code("version 4.8.5.36 said 550 5.1.1 no"),
            Some("5.1.1")
        );
        assert_eq!(enhanced_code("from 192.0.2.4"), None);
        assert_eq!(enhanced_code("(#5.1.1 - chkusr)"), Some("5.1.1"));
        assert_eq!(enhanced_code("Status: 5.7.509"), Some("5.7.509"));
        assert_eq!(enhanced_codes("550-5.2.1 a 550 5.2.1.").count(), 2);
        assert_eq!(reply_code("said: 550 5.1.1 <a@b.jp>"), Some(550));
        assert_eq!(reply_code("ERROR_CODE :421, x"), Some(421));
        assert_eq!(reply_code("Size (in bytes): 222"), None);
    }
}
