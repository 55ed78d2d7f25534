//! DKIM signatures (RFC 6376, relaxed/relaxed), made with aws-lc-rs: RSA-SHA256, and Ed25519-SHA256
//! (RFC 8463) as a second signature, with as many selectors as configured (key rotation: sign with
//! the old and the new key while the new one's DNS record spreads). The signed headers include
//! the list headers, which RFC 8058 §4 requires for one-click unsubscribe.
//!
//! Signing works on the message's bytes as they go on the wire: the body is canonicalized and
//! hashed in one streaming pass, the signed headers are canonicalized from the header block, and
//! the `DKIM-Signature` fields are put in front. Nothing may change the bytes afterwards.

use aws_lc_rs::digest;
use base64::Engine;

pub use crate::config::dkim::{DkimKey, SigningKey};

/// The headers signed when present, in this order (lower case, as `h=` lists them).
pub const SIGNED: &[&str] = &[
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
];

/// Every signature a message gets.
#[derive(Debug, Clone)]
pub struct Signer {
    pub keys: Vec<SigningKey>,
}

impl Signer {
    /// The message with a `DKIM-Signature` field per key in front. `now` is the `t=` tag.
    pub fn sign(&self, message: &[u8], now: i64) -> Vec<u8> {
        let split = memchr::memmem::find(message, b"\r\n\r\n").map_or(message.len(), |p| p + 2);
        let (head, body) = message.split_at(split);
        let body = body.strip_prefix(b"\r\n").unwrap_or(body);
        let bh = base64::engine::general_purpose::STANDARD.encode(body_hash(body));
        let fields = header_fields(head);
        let mut signed = Vec::new();
        let mut names = Vec::new();
        for name in SIGNED {
            if let Some(f) = fields
                .iter()
                .rev()
                .find(|f| f.name.eq_ignore_ascii_case(name))
            {
                relaxed_header(name, f.value, &mut signed);
                names.push(*name);
            }
        }
        let h = names.join(":");
        let mut out = Vec::with_capacity(message.len() + 600 * self.keys.len());
        for k in &self.keys {
            let tags = format!(
                "v=1; a={}; c=relaxed/relaxed; d={}; s={}; t={now}; h={h}; bh={bh}; b=",
                k.key.algorithm(),
                k.domain,
                k.selector
            );
            let mut data = signed.clone();
            relaxed_header("dkim-signature", tags.as_bytes(), &mut data);
            // The DKIM-Signature field itself is hashed without its final CRLF.
            data.truncate(data.len() - 2);
            let b = base64::engine::general_purpose::STANDARD.encode(sign(&k.key, &data));
            out.extend_from_slice(b"DKIM-Signature: ");
            out.extend_from_slice(fold(&tags, &b).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(message);
        out
    }
}

fn sign(key: &DkimKey, data: &[u8]) -> Vec<u8> {
    match key {
        DkimKey::Rsa(k) => {
            let mut sig = vec![0; k.public_modulus_len()];
            k.sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                data,
                &mut sig,
            )
            .expect("RSA signing with a checked key");
            sig
        }
        // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data.
        DkimKey::Ed25519(k) => k
            .sign(digest::digest(&digest::SHA256, data).as_ref())
            .as_ref()
            .to_vec(),
    }
}

/// The tag list on lines of at most 78 characters: a break after a tag's `;`, and the signature
/// in pieces (whitespace inside `b=` is ignored by verifiers).
fn fold(tags: &str, b: &str) -> String {
    let mut out = String::with_capacity(tags.len() + b.len() + 64);
    let mut line = "DKIM-Signature: ".len();
    for (i, tag) in tags.trim_end_matches("; b=").split("; ").enumerate() {
        if i > 0 {
            out.push(';');
            line += 1;
            // Room for a space before the tag and the `;` after it.
            if line + 1 + tag.len() + 1 > 78 {
                out.push_str("\r\n\t");
                line = 1;
            } else {
                out.push(' ');
                line += 1;
            }
        }
        out.push_str(tag);
        line += tag.len();
    }
    out.push_str(";\r\n\tb=");
    let mut rest = b;
    let mut width = 78 - 3;
    while !rest.is_empty() {
        let (piece, more) = rest.split_at(rest.len().min(width));
        out.push_str(piece);
        rest = more;
        if !rest.is_empty() {
            out.push_str("\r\n\t");
            width = 77;
        }
    }
    out
}

/// One header field of the block: its name and its raw value (after the colon, folds included).
struct Field<'a> {
    name: &'a str,
    value: &'a [u8],
}

fn header_fields(head: &[u8]) -> Vec<Field<'_>> {
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < head.len() {
        let end = memchr::memchr(b'\n', &head[i..]).map_or(head.len(), |p| i + p + 1);
        let next_is_continuation = head.get(end).is_some_and(|c| *c == b' ' || *c == b'\t');
        if !next_is_continuation {
            let field = &head[start..end];
            if let Some(colon) = memchr::memchr(b':', field) {
                if let Ok(name) = std::str::from_utf8(&field[..colon]) {
                    fields.push(Field {
                        name: name.trim(),
                        value: &field[colon + 1..],
                    });
                }
            }
            start = end;
        }
        i = end;
    }
    fields
}

/// `name:value\r\n` in relaxed form: name lower case, folds undone, runs of whitespace one space,
/// none at either end of the value.
fn relaxed_header(name: &str, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(name.to_ascii_lowercase().as_bytes());
    out.push(b':');
    let mut space = false;
    let mut started = false;
    for &c in value {
        match c {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => space = started,
            c => {
                if space {
                    out.push(b' ');
                    space = false;
                }
                out.push(c);
                started = true;
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// SHA-256 of the body in relaxed form (RFC 6376 §3.4.4): whitespace runs one space, none at
/// line ends, empty lines at the end dropped, a final CRLF. One pass. A run of lines that are
/// already in relaxed form (CRLF-ended, no whitespace to fix, not empty) is hashed as the bytes
/// it is, in one update: a quoted-printable body is almost only such lines, and hashing each
/// 76-character line on its own cost more than the hash itself.
fn body_hash(body: &[u8]) -> digest::Digest {
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut empty_lines = 0usize;
    let mut line_buf = Vec::new();
    // Where the run of lines hashed as they are starts, if one is open.
    let mut run: Option<usize> = None;
    let mut at = 0;
    while at < body.len() {
        let (end, next) = match memchr::memchr(b'\n', &body[at..]) {
            Some(p) => (at + p, at + p + 1),
            None => (body.len(), body.len()),
        };
        let raw = &body[at..end];
        let crlf = end < body.len() && raw.ends_with(b"\r");
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let clean = !line.ends_with(b" ")
            && !line.ends_with(b"\t")
            && memchr::memchr(b'\t', line).is_none()
            && memchr::memmem::find(line, b"  ").is_none();
        if !line.is_empty() && clean && crlf && empty_lines == 0 {
            run.get_or_insert(at);
            at = next;
            continue;
        }
        if let Some(start) = run.take() {
            ctx.update(&body[start..at]);
        }
        let canonical: &[u8] = if clean {
            line
        } else {
            line_buf.clear();
            let mut space = false;
            for &c in line {
                if c == b' ' || c == b'\t' {
                    space = true;
                } else {
                    if space {
                        line_buf.push(b' ');
                        space = false;
                    }
                    line_buf.push(c);
                }
            }
            &line_buf
        };
        // A line of whitespace only is empty too.
        if canonical.is_empty() {
            empty_lines += 1;
            at = next;
            continue;
        }
        for _ in 0..empty_lines {
            ctx.update(b"\r\n");
        }
        empty_lines = 0;
        if clean && crlf {
            run = Some(at);
        } else {
            ctx.update(canonical);
            ctx.update(b"\r\n");
        }
        at = next;
    }
    if let Some(start) = run {
        ctx.update(&body[start..at]);
    }
    ctx.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_hex(body: &[u8]) -> String {
        body_hash(body)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The relaxed body as RFC 6376 §3.4.4 describes it, line by line: the reference the
    /// one-pass hash is checked against.
    fn relaxed_body_by_the_book(body: &[u8]) -> Vec<u8> {
        let wsp = regex::Regex::new("[ \t]+").unwrap();
        let text = String::from_utf8_lossy(body);
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| {
                let l = l.strip_suffix('\r').unwrap_or(l);
                wsp.replace_all(l, " ").trim_end_matches(' ').to_string()
            })
            .collect();
        if text.ends_with('\n') {
            lines.pop();
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
            .iter()
            .flat_map(|l| [l.as_bytes(), b"\r\n"])
            .flatten()
            .copied()
            .collect()
    }

    #[test]
    fn the_one_pass_hash_matches_the_rfc_on_mixed_bodies() {
        let pieces: [&[u8]; 10] = [
            b"plain line\r\n",
            b" \t \r\n",
            b"\r\n",
            b"two  spaces\r\n",
            b"tab\there\r\n",
            b"trailing \r\n",
            b"bare lf\n",
            b"=3D quoted-printable soft break=\r\n",
            b" leading space\r\n",
            b"no newline at all",
        ];
        // Every sequence of up to 4 pieces (the last piece only at the end).
        let mut bodies: Vec<Vec<u8>> = vec![Vec::new()];
        let mut last = bodies.clone();
        for _ in 0..4 {
            last = last
                .iter()
                .filter(|b| !b.ends_with(b"no newline at all"))
                .flat_map(|b| pieces.map(|p| [b.as_slice(), p].concat()))
                .collect();
            bodies.extend(last.iter().cloned());
        }
        assert_eq!(
            bodies.len(),
            1 + 10 + 90 + 810 + 7_290,
            "every sequence once"
        );
        for body in &bodies {
            let reference = digest::digest(&digest::SHA256, &relaxed_body_by_the_book(body));
            assert_eq!(
                body_hash(body).as_ref(),
                reference.as_ref(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn relaxed_body_follows_rfc_6376() {
        // RFC 6376 §3.4.6's example body, relaxed: " C \r\nD E\r\n" with the empty lines gone.
        let relaxed = hash_hex(b" C \r\nD \t E\r\n\r\n\r\n");
        let expected = {
            let d = digest::digest(&digest::SHA256, b" C\r\nD E\r\n");
            d.as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(relaxed, expected);
        // An empty body hashes as the empty string; a missing final CRLF is added.
        let empty: String = digest::digest(&digest::SHA256, b"")
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash_hex(b""), empty);
        assert_eq!(hash_hex(b"a\r\n\r\n"), hash_hex(b"a"));
    }

    #[test]
    fn relaxed_headers_follow_rfc_6376() {
        let mut out = Vec::new();
        // RFC 6376 §3.4.6: "A: X" and "B : Y\t\r\n\tZ  " become "a:X" and "b:Y Z".
        relaxed_header("A", b" X\r\n", &mut out);
        let fields = header_fields(b"B : Y\t\r\n\tZ  \r\n");
        relaxed_header(
            &fields[0].name.to_ascii_lowercase(),
            fields[0].value,
            &mut out,
        );
        assert_eq!(out, b"a:X\r\nb:Y Z\r\n");
    }

    #[test]
    fn folded_lines_stay_short() {
        let tags = "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1; t=1; h=from:to:subject:date:message-id:mime-version:list-id:list-unsubscribe:list-unsubscribe-post; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=";
        let folded = fold(tags, &"A".repeat(344));
        for line in format!("DKIM-Signature: {folded}").split("\r\n") {
            assert!(line.len() <= 78 || !line.contains(' '), "{line}");
        }
        let unfolded: String = folded.replace("\r\n\t", " ");
        assert!(unfolded.starts_with("v=1; a=rsa-sha256;"));
        assert!(
            !unfolded.contains(";;") && !unfolded.contains("; ;"),
            "{unfolded}"
        );
        assert!(unfolded.contains(&format!("b={}", "A".repeat(75))));
    }
}
