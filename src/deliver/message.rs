//! Builds emails as the bytes that go on the wire: multipart/alternative (text, then HTML) or,
//! for a reader who chose plain text, a single text/plain part; explicit Message-ID and Date,
//! List-Id, List-Unsubscribe (HTTPS + mailto) and List-Unsubscribe-Post (RFC 8058); then
//! [`seal`]s them, DKIM-signed over those headers when keys are configured (`dkim`).
//!
//! An issue's messages differ only in a few headers and in the recipient's fields, so a
//! [`Frame`] encodes the headers every message of a copy shares and the MIME parts' framing
//! once; per recipient only To, Message-ID, Date, List-Unsubscribe and X-Gazette-Delivery are
//! encoded, and the bodies are written straight into the message ([`EncodedPart::write`]).
//! Header values go through lettre's encoders only, so no header can be injected.

use anyhow::{Context, Result};
use lettre::message::header::{self, HeaderName, HeaderValue, Headers};
use lettre::message::Mailbox;

use crate::render::{Piece, Values};

/// Everything one message needs (for mails sent one at a time: confirmations, reviews).
pub struct Email<'a> {
    pub from: &'a Mailbox,
    pub reply_to: Option<&'a Mailbox>,
    pub to: Mailbox,
    pub subject: &'a str,
    pub text: String,
    /// `None`: a single text/plain part (the reader chose plain text).
    pub html: Option<String>,
    pub message_id: &'a str,
    pub date: std::time::SystemTime,
    /// `List-Id` value, e.g. `"Policy Wire weekly" <weekly.digest.example.org>`.
    pub list_id: Option<&'a str>,
    pub unsubscribe_url: Option<&'a str>,
    pub unsubscribe_mailto: Option<&'a str>,
    /// The VERP return path (MAIL FROM) and the token for `X-Gazette-Delivery`; None: the
    /// envelope sender is the From address.
    pub verp: Option<(lettre::Address, &'a str)>,
}

/// A message as it goes on the wire: its envelope and its bytes (signed, when DKIM is on).
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub envelope: lettre::address::Envelope,
    pub bytes: Vec<u8>,
}

/// The message's bytes, signed by `signer` (the last step: nothing changes them after).
pub fn seal(message: Outgoing, signer: Option<&super::dkim::Signer>, now: i64) -> Outgoing {
    match signer {
        Some(s) => Outgoing {
            bytes: s.sign(&message.bytes, now),
            envelope: message.envelope,
        },
        None => message,
    }
}

/// Builds one message (unsigned: see [`seal`]).
pub fn build(email: Email<'_>) -> Result<Outgoing> {
    let frame = Frame::new(&Letterhead {
        from: email.from,
        reply_to: email.reply_to,
        subject: email.subject,
        list_id: email.list_id,
        one_click: email.unsubscribe_url.is_some(),
        html: email.html.is_some(),
    });
    let text = quoted_printable(&email.text);
    let html = email
        .html
        .as_deref()
        .map(quoted_printable)
        .unwrap_or_default();
    frame.message(
        &Recipient {
            to: &email.to,
            message_id: email.message_id,
            date: email.date,
            unsubscribe_url: email.unsubscribe_url,
            unsubscribe_mailto: email.unsubscribe_mailto,
            verp: email.verp,
        },
        text.len() + html.len(),
        |out| out.extend_from_slice(&text),
        |out| out.extend_from_slice(&html),
    )
}

/// What every message of one kind shares.
pub struct Letterhead<'a> {
    pub from: &'a Mailbox,
    pub reply_to: Option<&'a Mailbox>,
    pub subject: &'a str,
    /// `List-Id` value (see [`list_id`]).
    pub list_id: Option<&'a str>,
    /// The messages carry List-Unsubscribe, so List-Unsubscribe-Post says it takes one click.
    pub one_click: bool,
    /// Text and HTML (multipart/alternative), or text alone.
    pub html: bool,
}

/// One recipient's part of a message.
pub struct Recipient<'a> {
    pub to: &'a Mailbox,
    pub message_id: &'a str,
    pub date: std::time::SystemTime,
    pub unsubscribe_url: Option<&'a str>,
    pub unsubscribe_mailto: Option<&'a str>,
    /// The VERP return path (MAIL FROM) and the token for `X-Gazette-Delivery`; None: the
    /// envelope sender is the From address.
    pub verp: Option<(lettre::Address, &'a str)>,
}

/// The headers and MIME framing that every message of one kind shares, encoded once.
///
/// Every part is quoted-printable, where `=` is always followed by two hex digits or a line
/// break, so a boundary starting with `=_` can never occur in a part: it needs no check against
/// the content, and one boundary serves every message.
pub struct Frame {
    /// From, Reply-To, Subject and List-Id.
    top: String,
    /// List-Unsubscribe-Post, MIME-Version, Content-Type, the empty line, and for
    /// multipart/alternative the text part's delimiter and headers.
    mime: String,
    /// For multipart/alternative: the end of the text part and the HTML part's delimiter and
    /// headers.
    between: Option<String>,
    /// After the last part.
    end: String,
    from: lettre::Address,
}

/// Bytes set aside for the recipient's fields when sizing a message.
const FIELDS_ROOM: usize = 4096;

const QP: &str = "Content-Transfer-Encoding: quoted-printable\r\n";
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
const TEXT_HTML: &str = "text/html; charset=utf-8";

impl Frame {
    pub fn new(l: &Letterhead<'_>) -> Frame {
        let mut top = Headers::new();
        top.set(header::From::from(lettre::message::Mailboxes::from(
            l.from.clone(),
        )));
        if let Some(r) = l.reply_to {
            top.set(header::ReplyTo::from(lettre::message::Mailboxes::from(
                r.clone(),
            )));
        }
        let subject = crate::model::clip(l.subject, crate::render::MAX_SUBJECT_CHARS);
        if subject.contains("=?") {
            // lettre writes ASCII text as it is, and a mail client would decode an encoded word
            // found in it (`=?utf-8?q?a=0D=0ABcc:…?=` from a feed's title), so such a subject is
            // encoded whole.
            top.insert_raw(HeaderValue::dangerous_new_pre_encoded(
                HeaderName::new_from_ascii_str("Subject"),
                subject.to_string(),
                encoded_words(&subject),
            ));
        } else {
            top.set(header::Subject::from(subject.into_owned()));
        }
        if let Some(list_id) = l.list_id {
            // Built by `list_id` from config values only, already encoded and free of CR/LF.
            top.insert_raw(HeaderValue::dangerous_new_pre_encoded(
                HeaderName::new_from_ascii_str("List-Id"),
                list_id.to_string(),
                list_id.to_string(),
            ));
        }
        let mut mime = String::new();
        if l.one_click {
            mime.push_str("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
        }
        mime.push_str("MIME-Version: 1.0\r\n");
        let text = format!("Content-Type: {TEXT_PLAIN}\r\n{QP}\r\n");
        let (between, end) = if l.html {
            let boundary = format!("=_{:032x}", rand::random::<u128>());
            mime.push_str(&format!(
                "Content-Type: multipart/alternative;\r\n boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n{text}"
            ));
            let between = format!("\r\n--{boundary}\r\nContent-Type: {TEXT_HTML}\r\n{QP}\r\n");
            (Some(between), format!("\r\n--{boundary}--\r\n"))
        } else {
            mime.push_str(&text);
            (None, String::new())
        };
        Frame {
            top: top.to_string(),
            mime,
            between,
            end,
            from: l.from.email.clone(),
        }
    }

    /// One recipient's message: their headers, then the text part and (in a
    /// multipart/alternative frame) the HTML part, whose quoted-printable content `text` and
    /// `html` write. `parts_len` sizes the buffer: the parts' bytes, as near as known.
    pub fn message(
        &self,
        r: &Recipient<'_>,
        parts_len: usize,
        text: impl FnOnce(&mut Vec<u8>),
        html: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Outgoing> {
        let mut own = Headers::new();
        own.set(header::To::from(lettre::message::Mailboxes::from(
            r.to.clone(),
        )));
        own.set(header::MessageId::from(r.message_id.to_string()));
        own.set(header::Date::new(r.date));
        if let Some((_, token)) = &r.verp {
            // A token of our own: base64url, no CR/LF.
            own.insert_raw(HeaderValue::dangerous_new_pre_encoded(
                HeaderName::new_from_ascii_str("X-Gazette-Delivery"),
                token.to_string(),
                token.to_string(),
            ));
        }
        if let Some(url) = r.unsubscribe_url {
            let value = match r.unsubscribe_mailto {
                Some(mailto) => format!("<{url}>, <{mailto}>"),
                None => format!("<{url}>"),
            };
            own.insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                value,
            ));
        }
        let own = own.to_string();
        let frame_len = self.top.len()
            + own.len()
            + self.mime.len()
            + self.between.as_ref().map_or(0, String::len)
            + self.end.len();
        // Room for the recipient's fields too (their links appear a few times in each part;
        // about 800 bytes in the deliver bench's message): growing a 50 KB message copies it
        // whole.
        let mut out = Vec::with_capacity(frame_len + parts_len + FIELDS_ROOM);
        out.extend_from_slice(self.top.as_bytes());
        out.extend_from_slice(own.as_bytes());
        out.extend_from_slice(self.mime.as_bytes());
        text(&mut out);
        if let Some(between) = &self.between {
            out.extend_from_slice(between.as_bytes());
            html(&mut out);
        }
        out.extend_from_slice(self.end.as_bytes());
        let sender = match &r.verp {
            // Only the envelope changes: From stays as it is. The receiving server writes the
            // envelope sender into Return-Path, where bounces go.
            Some((return_path, _)) => return_path.clone(),
            None => self.from.clone(),
        };
        let envelope = lettre::address::Envelope::new(Some(sender), vec![r.to.email.clone()])
            .context("envelope")?;
        Ok(Outgoing {
            envelope,
            bytes: out,
        })
    }
}

/// `text` as RFC 2047 encoded words (UTF-8, base64), each within the 75 characters the RFC
/// allows, folded onto continuation lines.
fn encoded_words(text: &str) -> String {
    use base64::Engine as _;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        // 42 bytes encode to 56 characters, 68 with `=?utf-8?b?` and `?=`: with `Subject: `
        // before the first, every line stays within 78.
        if chunk.len() + c.len_utf8() > 42 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|w| {
            format!(
                "=?utf-8?b?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// A body part of an issue's email, quoted-printable encoded once per issue except for the
/// recipient's fields, which are encoded per message. Each field starts on a fresh encoded line
/// (after a soft line break, `=` CRLF, which decoders remove), so the pieces encode
/// independently.
pub struct EncodedPart {
    chunks: Vec<Chunk>,
    encoded_len: usize,
}

enum Chunk {
    Encoded(Vec<u8>),
    Fill(Piece),
}

impl EncodedPart {
    pub fn new(pieces: &[Piece]) -> EncodedPart {
        let chunks: Vec<Chunk> = pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => Chunk::Encoded(quoted_printable(s)),
                other => Chunk::Fill(other.clone()),
            })
            .collect();
        let encoded_len = chunks
            .iter()
            .map(|c| match c {
                Chunk::Encoded(b) => b.len() + SOFT_BREAK.len(),
                Chunk::Fill(_) => 0,
            })
            .sum();
        EncodedPart {
            chunks,
            encoded_len,
        }
    }

    /// The part's bytes without the recipient's fields.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }

    /// Appends the part filled in with one recipient's values to `out`.
    pub fn write(&self, v: &Values, out: &mut Vec<u8>) {
        let mut field = String::new();
        for (i, chunk) in self.chunks.iter().enumerate() {
            if i > 0 && !out.ends_with(b"\r\n") {
                out.extend_from_slice(SOFT_BREAK);
            }
            match chunk {
                Chunk::Encoded(bytes) => out.extend_from_slice(bytes),
                Chunk::Fill(piece) => {
                    field.clear();
                    piece.fill(v, &mut field);
                    quoted_printable_into(&field, out);
                }
            }
        }
    }
}

const SOFT_BREAK: &[u8] = b"=\r\n";

/// The longest encoded line, not counting CRLF (RFC 2045 §6.7).
const MAX_LINE: usize = 76;

/// `s` with CRLF line endings, quoted-printable encoded, its last line short enough to take the
/// soft line break that joins it to the next piece.
pub fn quoted_printable(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    quoted_printable_into(s, &mut out);
    out
}

/// [`quoted_printable`], appended to `out`.
fn quoted_printable_into(s: &str, out: &mut Vec<u8>) {
    let start = out.len();
    let text: std::borrow::Cow<str> = match memchr::memchr(b'\n', s.as_bytes()) {
        None => s.into(),
        // A lone LF becomes CRLF, a line break on the wire (RFC 2045 §6.7 (4)).
        Some(_) => {
            let mut crlf = String::with_capacity(s.len() + s.len() / 32);
            let mut prev = '\0';
            for c in s.chars() {
                if c == '\n' && prev != '\r' {
                    crlf.push('\r');
                }
                crlf.push(c);
                prev = c;
            }
            crlf.into()
        }
    };
    out.extend_from_slice(quoted_printable::encode_to_str(text.as_bytes()).as_bytes());
    let last = memchr::memmem::rfind(&out[start..], b"\r\n").map_or(start, |i| start + i + 2);
    if out.len() - last >= MAX_LINE {
        // Break before the last few characters, never inside an `=XX` escape.
        let mut at = out.len() - 3;
        if let Some(k) = out[at - 2..at].iter().rposition(|&b| b == b'=') {
            at = at - 2 + k;
        }
        out.splice(at..at, SOFT_BREAK.iter().copied());
    }
}

/// A `List-Id` value (RFC 2919): `"Name" <digest.domain>`, the name RFC 2047-encoded when it is
/// not ASCII, the id reduced to letters, digits and dashes.
pub fn list_id(name: &str, digest: &str, domain: &str) -> String {
    use base64::Engine;
    let name: String = name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\'))
        .take(40)
        .collect();
    let phrase = if name.is_ascii() {
        format!("\"{name}\"")
    } else {
        format!(
            "=?utf-8?b?{}?=",
            base64::engine::general_purpose::STANDARD.encode(name.as_bytes())
        )
    };
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!("{phrase} <{}.{}>", clean(digest), clean(domain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn mailbox(s: &str) -> Mailbox {
        s.parse().unwrap()
    }

    /// One message from a frame, as `Composer` makes them: text and HTML parts written straight
    /// into the message.
    fn message(html: bool, verp: Option<(lettre::Address, &str)>) -> Outgoing {
        let from = mailbox("Policy Wire <digest@example.org>");
        let frame = Frame::new(&Letterhead {
            from: &from,
            reply_to: Some(&mailbox("editors@example.org")),
            subject: "Export rules, week 49",
            list_id: Some("\"Policy Wire weekly\" <weekly.example.org>"),
            one_click: true,
            html,
        });
        let to = Mailbox::new(
            Some("Zoë \"Q\" Ünïcode".into()),
            "zoe@example.net".parse().unwrap(),
        );
        let text =
            quoted_printable("Hello Zoë,\n=== a line of equals ===\n.dot first\ntrailing space \n");
        let html_part = quoted_printable("<p>Hello Zo&euml;</p>\n");
        frame
            .message(
                &Recipient {
                    to: &to,
                    message_id: "<w49.7@example.org>",
                    date: std::time::SystemTime::UNIX_EPOCH,
                    unsubscribe_url: Some("https://example.org/unsubscribe/abc"),
                    unsubscribe_mailto: Some("mailto:digest@example.org?subject=unsubscribe"),
                    verp,
                },
                0,
                |out| out.extend_from_slice(&text),
                |out| out.extend_from_slice(&html_part),
            )
            .unwrap()
    }

    #[test]
    fn a_message_reads_back_with_its_headers_and_both_parts() {
        let verp: lettre::Address = "bounces+tok@example.org".parse().unwrap();
        let m = message(true, Some((verp.clone(), "tok")));
        let parsed = MessageParser::default().parse(&m.bytes).unwrap();
        let to = parsed.to().unwrap().first().unwrap();
        assert_eq!(to.name(), Some("Zoë \"Q\" Ünïcode"));
        assert_eq!(to.address(), Some("zoe@example.net"));
        assert_eq!(parsed.subject(), Some("Export rules, week 49"));
        assert_eq!(parsed.message_id(), Some("w49.7@example.org"));
        let raw = |name: &str| {
            parsed
                .header_raw(name)
                .map(|v| v.trim().replace("\r\n ", " "))
        };
        assert_eq!(
            raw("List-Unsubscribe").as_deref(),
            Some("<https://example.org/unsubscribe/abc>, <mailto:digest@example.org?subject=unsubscribe>")
        );
        assert_eq!(
            raw("List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        assert_eq!(raw("X-Gazette-Delivery").as_deref(), Some("tok"));
        assert_eq!(
            raw("List-Id").as_deref(),
            Some("\"Policy Wire weekly\" <weekly.example.org>")
        );
        assert_eq!(
            parsed.body_text(0).as_deref(),
            Some("Hello Zoë,\r\n=== a line of equals ===\r\n.dot first\r\ntrailing space \r\n")
        );
        assert_eq!(
            parsed.body_html(0).as_deref(),
            Some("<p>Hello Zo&euml;</p>\r\n")
        );
        // Only the envelope carries the VERP address; From stays.
        assert_eq!(m.envelope.from(), Some(&verp));
        assert_eq!(m.envelope.to(), ["zoe@example.net".parse().unwrap()]);
        assert_eq!(
            parsed.from().unwrap().first().unwrap().address(),
            Some("digest@example.org")
        );
        // The boundary opens with `=_`, which no quoted-printable line can hold: its three
        // delimiter lines are the only ones that start with it.
        let text = String::from_utf8(m.bytes.clone()).unwrap();
        let boundary = text
            .split("boundary=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap();
        assert!(boundary.starts_with("=_"), "{boundary}");
        let delimiters = text
            .split("\r\n")
            .filter(|l| l.starts_with(&format!("--{boundary}")))
            .count();
        assert_eq!(delimiters, 3);
        assert!(text.split("\r\n").all(|l| l.len() <= 78), "{text}");
        assert!(text.is_ascii());
    }

    #[test]
    fn a_plain_text_frame_makes_one_part_and_the_envelope_sender_is_from() {
        let m = message(false, None);
        let text = String::from_utf8(m.bytes.clone()).unwrap();
        assert!(!text.contains("multipart"), "{text}");
        assert!(!text.contains("X-Gazette-Delivery"), "{text}");
        let parsed = MessageParser::default().parse(&m.bytes).unwrap();
        assert_eq!(parsed.parts.len(), 1);
        assert!(parsed.body_html(0).is_none_or(|h| !h.contains("<p>")));
        assert_eq!(
            parsed.body_text(0).as_deref(),
            Some("Hello Zoë,\r\n=== a line of equals ===\r\n.dot first\r\ntrailing space \r\n")
        );
        assert_eq!(
            m.envelope.from(),
            Some(&"digest@example.org".parse().unwrap())
        );
    }

    #[test]
    fn quoted_printable_ends_lines_with_crlf_and_leaves_room_for_a_soft_break() {
        // A lone LF becomes CRLF; a CRLF stays one line break.
        assert_eq!(quoted_printable("a\nb\r\nc"), b"a\r\nb\r\nc");
        // A space before a line break is encoded, as is `=`.
        assert_eq!(quoted_printable("x \ny=1"), b"x=20\r\ny=3D1");
        // A last line of 76 characters is broken, so the soft break after it stays within 76.
        let long = quoted_printable(&"u".repeat(76));
        let text = String::from_utf8(long).unwrap();
        assert!(text.split("\r\n").all(|l| l.len() < MAX_LINE), "{text}");
        assert_eq!(text.replace("=\r\n", ""), "u".repeat(76));
    }
}
