//! The stage's only user of mail-parser: message bytes in, a flat view out — the top header
//! fields, every leaf part as text with its nesting depth, the human-readable notification and
//! the headers of the original message that a bounce returns (attached or quoted inline).

use mail_parser::decoders::html::html_to_text;
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::text::unfold;

/// Header fields in order: names lower-case, values unfolded but not decoded.
#[derive(Debug, Default, Clone)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    fn of(message: &Message<'_>) -> Headers {
        // Header offsets count from the start of the whole buffer a nested message was read
        // from (the field), not from the nested message's own start (the method).
        let raw: &[u8] = &message.raw_message;
        Headers(
            message
                .headers()
                .iter()
                .map(|h| {
                    let (start, end) = (h.offset_start as usize, h.offset_end as usize);
                    let value = raw
                        .get(start..end.min(raw.len()))
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    (h.name.as_str().to_ascii_lowercase(), unfold(&value))
                })
                .collect(),
        )
    }

    /// Header fields read from bytes (a header block, or the fields of a report part).
    pub fn parse(bytes: &[u8]) -> Option<Headers> {
        let message = MessageParser::default().parse_headers(bytes)?;
        let headers = Headers::of(&message);
        (!headers.0.is_empty()).then_some(headers)
    }
}

/// One leaf part as text.
#[derive(Debug)]
pub struct Section {
    /// `type/subtype`, lower-case.
    pub ctype: String,
    /// 0 for the message's own parts, 1 inside an attached message, and so on.
    pub depth: usize,
    /// The decoded content (HTML parts as HTML).
    pub text: String,
}

/// What the classifier reads from one message.
#[derive(Debug, Default)]
pub struct Mail {
    pub headers: Headers,
    /// The decoded Subject.
    pub subject: String,
    /// `report-type` of a top-level multipart/report, lower-case.
    pub report_type: Option<String>,
    pub sections: Vec<Section>,
    /// The human-readable text of the message itself, without the quoted original.
    pub notification: String,
    /// Header blocks of returned originals: attached messages, text/rfc822-headers parts and
    /// header blocks quoted in the notification text.
    pub originals: Vec<Headers>,
}

impl Mail {
    /// Parses message bytes; an unparsable message is an empty `Mail`.
    pub fn parse(bytes: &[u8]) -> Mail {
        let Some(message) = MessageParser::default().parse(bytes) else {
            return Mail::default();
        };
        let mut mail = Mail {
            headers: Headers::of(&message),
            subject: message.subject().unwrap_or_default().to_string(),
            report_type: message.content_type().and_then(|ct| {
                (ct.ctype().eq_ignore_ascii_case("multipart")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("report")))
                .then(|| ct.attribute("report-type").map(str::to_ascii_lowercase))
                .flatten()
            }),
            ..Mail::default()
        };
        mail.walk(&message, 0);
        if !mail
            .sections
            .iter()
            .any(|s| s.depth == 0 && !s.text.trim().is_empty())
        {
            // MIME too broken for the parser to find the parts (a boundary on a line of its
            // own, say): read the body as one plain text.
            mail.sections.push(Section {
                ctype: "text/plain".into(),
                depth: 0,
                text: String::from_utf8_lossy(body_of(bytes)).into_owned(),
            });
        }
        mail.split_notification();
        mail
    }

    /// Sections of one content type, at any depth.
    pub fn sections_of<'a>(&'a self, ctype: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.ctype == ctype)
    }

    fn walk(&mut self, message: &Message<'_>, depth: usize) {
        for part in &message.parts {
            let ctype = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "text/plain".into())
                .to_ascii_lowercase();
            let text = match &part.body {
                PartType::Multipart(_) => continue,
                PartType::Message(inner) => {
                    if depth < 3 {
                        self.originals.push(Headers::of(inner));
                        self.walk(inner, depth + 1);
                    }
                    continue;
                }
                PartType::Text(t) => t.to_string(),
                // Kept as HTML: converted only if it is the notification (see below).
                PartType::Html(h) => h.to_string(),
                PartType::Binary(b) | PartType::InlineBinary(b) => {
                    if !readable(&ctype) {
                        continue;
                    }
                    String::from_utf8_lossy(b).into_owned()
                }
            };
            if ctype == "text/rfc822-headers" {
                if let Some(h) = Headers::parse(text.as_bytes()) {
                    self.originals.push(h);
                }
            }
            self.sections.push(Section { ctype, depth, text });
        }
    }

    /// The notification is the top-level plain text (HTML when there is no plain text) up to
    /// where a quoted original begins; the quoted header block becomes an original.
    fn split_notification(&mut self) {
        let human = |s: &Section, ctype: &str| s.depth == 0 && s.ctype == ctype;
        let ctype = if self.sections.iter().any(|s| human(s, "text/plain")) {
            "text/plain"
        } else {
            "text/html"
        };
        let mut notification = String::new();
        let mut quoted = Vec::new();
        for section in self.sections.iter().filter(|s| human(s, ctype)) {
            let text = if ctype == "text/html" {
                std::borrow::Cow::Owned(html_to_text(&section.text))
            } else {
                std::borrow::Cow::Borrowed(section.text.as_str())
            };
            let (own, rest) = split_quoted(&text);
            notification.push_str(own);
            notification.push('\n');
            if let Some(h) = rest.and_then(|r| Headers::parse(r.as_bytes())) {
                quoted.push(h);
            }
        }
        self.notification = notification;
        self.originals.extend(quoted);
    }
}

/// The bytes after the first blank line.
fn body_of(bytes: &[u8]) -> &[u8] {
    let crlf = memchr::memmem::find(bytes, b"\r\n\r\n").map(|i| i + 4);
    let lf = memchr::memmem::find(bytes, b"\n\n").map(|i| i + 2);
    let start = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(bytes.len()),
    };
    &bytes[start..]
}

/// Parts worth reading as text although mail-parser keeps them as bytes.
fn readable(ctype: &str) -> bool {
    ctype.starts_with("message/")
        || ctype.starts_with("text/")
        || ctype == "application/octet-stream"
}

/// Fields that mark a quoted header block as a message's headers rather than a few "Name:
/// value" lines of a notification or a MIME part's own Content-* fields.
const MESSAGE_FIELDS: &[&str] = &[
    "received",
    "return-path",
    "message-id",
    "mime-version",
    "dkim-signature",
    "delivered-to",
    "x-received",
    "from",
];

/// Splits text where a run of at least three header fields, one of them a message field,
/// begins: (before, Some(from there on)) or (text, None).
pub fn split_quoted(text: &str) -> (&str, Option<&str>) {
    let mut run_start = None;
    let mut fields = 0;
    let mut strong = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end();
        let continuation = content.starts_with([' ', '\t']) && !content.trim().is_empty();
        if continuation && run_start.is_some() {
            offset += line.len();
            continue;
        }
        match header_name(content) {
            Some(name) => {
                if run_start.is_none() {
                    (run_start, fields, strong) = (Some(offset), 0, false);
                }
                fields += 1;
                strong |= MESSAGE_FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f));
                if fields >= 3 && strong {
                    let start = run_start.unwrap_or(offset);
                    return (&text[..start], Some(&text[start..]));
                }
            }
            None => run_start = None,
        }
        offset += line.len();
    }
    (text, None)
}

/// The field name of a line that looks like `Name: value`.
fn header_name(line: &str) -> Option<&str> {
    let (name, _) = line.split_once(':')?;
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.as_bytes()[0].is_ascii_alphabetic()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_a_quoted_header_block() {
        let text = "Your message\nTo: a@b.org\nSubject: x\n\nfailed.\n------\nReturn-Path: <s@b.org>\nReceived: by x\n  for <a@b.org>\nTo: a@b.org\n\nbody\n";
        let (own, rest) = split_quoted(text);
        assert!(own.ends_with("------\n"), "{own:?}");
        assert!(rest.unwrap().starts_with("Return-Path"));
    }
}
