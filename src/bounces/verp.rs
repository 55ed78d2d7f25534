//! What ties a bounce to one delivery without guessing: the TOKEN of the VERP address
//! `bounces+TOKEN@domain` the bounce was sent to (or that the returned original names as its
//! Return-Path), and an `X-Gazette-Delivery` header quoted from the original.

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::mail::Mail;

/// Where the VERP address lives: its local part before `+` and, when known, its domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerpAddress {
    pub local_part: String,
    pub domain: Option<String>,
}

impl Default for VerpAddress {
    /// `bounces+TOKEN@` at any domain.
    fn default() -> Self {
        VerpAddress {
            local_part: "bounces".into(),
            domain: None,
        }
    }
}

impl VerpAddress {
    /// From the configured bounce address (`bounces@news.example.org`).
    pub fn from_address(address: &str) -> Option<VerpAddress> {
        let (local, domain) = address.trim().rsplit_once('@')?;
        (!local.is_empty() && !domain.is_empty()).then(|| VerpAddress {
            local_part: local.to_string(),
            domain: Some(domain.to_ascii_lowercase()),
        })
    }

    /// The compiled matcher; its first group is the token.
    pub fn pattern(&self) -> Regex {
        let domain = self
            .domain
            .as_deref()
            .map_or_else(|| r"[A-Za-z0-9.-]+".to_string(), regex::escape);
        Regex::new(&format!(
            r"(?i)(?:^|[^A-Za-z0-9._%+-]){}\+([A-Za-z0-9_=.-]+)@(?:{domain})(?-u:\b)",
            regex::escape(&self.local_part)
        ))
        .expect("escaped pattern")
    }
}

/// Header fields of the bounce that carry the address it was sent to.
const ENVELOPE_FIELDS: &[&str] = &[
    "to",
    "delivered-to",
    "x-original-to",
    "original-recipient",
    "envelope-to",
    "x-envelope-to",
    "x-rcpt-to",
];

/// The VERP token: from the bounce's envelope fields first, then anywhere in the message (the
/// original's Return-Path, a DSN's sender field).
pub fn token(mail: &Mail, raw: &[u8], pattern: &Regex) -> Option<String> {
    let find = |text: &[u8]| {
        let token = pattern.captures(text)?.get(1)?.as_bytes();
        let token = std::str::from_utf8(token).ok()?.trim_end_matches('.');
        Some(token.to_string())
    };
    ENVELOPE_FIELDS
        .iter()
        .flat_map(|name| mail.headers.all(name))
        .find_map(|v| find(v.as_bytes()))
        .or_else(|| find(raw))
}

/// An `X-Gazette-Delivery` field at the start of a line, also when quoted with `>`.
static DELIVERY_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^[> \t]*X-Gazette-Delivery:[ \t]*([^\s]+)").expect("static regex")
});

/// The value of an `X-Gazette-Delivery` header in a returned original or anywhere in the text.
pub fn delivery_header(mail: &Mail, raw: &[u8]) -> Option<String> {
    if let Some(v) = mail
        .originals
        .iter()
        .find_map(|h| h.get("x-gazette-delivery"))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        return Some(v.to_string());
    }
    let value = DELIVERY_FIELD.captures(raw)?.get(1)?.as_bytes();
    Some(String::from_utf8_lossy(value).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token() {
        let raw = b"To: bounces+AbC-12_x@news.example.org\r\nFrom: MAILER-DAEMON@mx.example.net\r\n\r\nbody";
        let mail = Mail::parse(raw);
        assert_eq!(
            token(&mail, raw, &VerpAddress::default().pattern()).as_deref(),
            Some("AbC-12_x")
        );
        let other = VerpAddress::from_address("bounces@other.example").unwrap();
        assert_eq!(token(&mail, raw, &other.pattern()), None);
    }

    #[test]
    fn finds_the_quoted_delivery_header() {
        let raw = b"From: MAILER-DAEMON@mx.example.net\r\n\r\n--- original ---\r\nReturn-Path: <news@example.org>\r\nX-Gazette-Delivery: 42.7\r\n\r\n";
        let mail = Mail::parse(raw);
        assert_eq!(delivery_header(&mail, raw).as_deref(), Some("42.7"));
    }
}
