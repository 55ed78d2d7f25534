//! Builds one email: multipart/alternative (text, then HTML) or, for a reader who chose plain
//! text, a single text/plain part; explicit Message-ID and Date, List-Id, List-Unsubscribe
//! (HTTPS + mailto) and List-Unsubscribe-Post (RFC 8058); then [`seal`]s it into the bytes that
//! go on the wire, DKIM-signed over those headers when keys are configured (`dkim`). Values from
//! feeds go through lettre's encoders only, so no header can be injected.

use anyhow::{Context, Result};
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::render::{Piece, Values};

/// Everything one message needs.
pub struct Email<'a> {
    pub from: &'a Mailbox,
    pub reply_to: Option<&'a Mailbox>,
    pub to: Mailbox,
    pub subject: &'a str,
    pub text: Body,
    /// `None`: a single text/plain part (the reader chose plain text).
    pub html: Option<Body>,
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
pub fn seal(message: &Message, signer: Option<&super::dkim::Signer>, now: i64) -> Outgoing {
    let bytes = message.formatted();
    Outgoing {
        envelope: message.envelope().clone(),
        bytes: match signer {
            Some(s) => s.sign(&bytes, now),
            None => bytes,
        },
    }
}

/// Assembles the message (unsigned: see [`seal`]).
pub fn build(email: Email<'_>) -> Result<Message> {
    let subject = crate::model::clip(email.subject, crate::render::MAX_SUBJECT_CHARS);
    let mut b = Message::builder()
        .from(email.from.clone())
        .to(email.to.clone())
        .message_id(Some(email.message_id.to_string()))
        .date(email.date);
    b = match subject.contains("=?") {
        // lettre writes ASCII text as it is, and a mail client would decode an encoded word
        // found in it (`=?utf-8?q?a=0D=0ABcc:…?=` from a feed's title), so such a subject is
        // encoded whole.
        true => b.raw_header(HeaderValue::dangerous_new_pre_encoded(
            HeaderName::new_from_ascii_str("Subject"),
            subject.to_string(),
            encoded_words(&subject),
        )),
        false => b.subject(subject),
    };
    if let Some(r) = email.reply_to {
        b = b.reply_to(r.clone());
    }
    if let Some((return_path, token)) = email.verp {
        // Only the envelope changes: From stays as it is. The receiving server writes the
        // envelope sender into Return-Path, where bounces go.
        let envelope =
            lettre::address::Envelope::new(Some(return_path), vec![email.to.email.clone()])
                .context("envelope")?;
        b = b
            .envelope(envelope)
            .raw_header(HeaderValue::dangerous_new_pre_encoded(
                HeaderName::new_from_ascii_str("X-Gazette-Delivery"),
                token.to_string(),
                token.to_string(),
            ));
    }
    if let Some(list_id) = email.list_id {
        // Built by `list_id` from config values only, already encoded and free of CR/LF.
        b = b.raw_header(HeaderValue::dangerous_new_pre_encoded(
            HeaderName::new_from_ascii_str("List-Id"),
            list_id.to_string(),
            list_id.to_string(),
        ));
    }
    if let Some(url) = email.unsubscribe_url {
        let mut value = format!("<{url}>");
        if let Some(mailto) = email.unsubscribe_mailto {
            value = format!("{value}, <{mailto}>");
        }
        b = b
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                value,
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_string(),
            ));
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(email.text);
    match email.html {
        Some(html) => b.multipart(
            MultiPart::alternative().singlepart(text).singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html),
            ),
        ),
        None => b.singlepart(text),
    }
    .context("build message")
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

    /// The part filled in with one recipient's values.
    pub fn body(&self, v: &Values) -> Body {
        let mut out = Vec::with_capacity(self.encoded_len + 512);
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
                    out.extend_from_slice(&quoted_printable(&field));
                }
            }
        }
        Body::dangerous_pre_encoded(out, ContentTransferEncoding::QuotedPrintable)
    }
}

const SOFT_BREAK: &[u8] = b"=\r\n";

/// The longest encoded line, not counting CRLF (RFC 2045 §6.7).
const MAX_LINE: usize = 76;

/// `s` with CRLF line endings, quoted-printable encoded, its last line short enough to take the
/// soft line break that joins it to the next piece.
fn quoted_printable(s: &str) -> Vec<u8> {
    let mut out = Body::new_with_encoding(s.to_string(), ContentTransferEncoding::QuotedPrintable)
        .map(Body::into_vec)
        .unwrap_or_default();
    let last = out
        .windows(2)
        .rposition(|w| w == b"\r\n")
        .map_or(0, |i| i + 2);
    if out.len() - last >= MAX_LINE {
        // Break before the last few characters, never inside an `=XX` escape.
        let mut at = out.len() - 3;
        if let Some(k) = out[at - 2..at].iter().rposition(|&b| b == b'=') {
            at = at - 2 + k;
        }
        out.splice(at..at, SOFT_BREAK.iter().copied());
    }
    out
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
