//! Signed, purpose-bound tokens for confirm, unsubscribe and manage links: HMAC-SHA256 with the
//! newsletter's secret (`GAZETTE_SECRET`, or a random one generated next to the database).
//! Unsubscribe and manage tokens never expire (RFC 8058); confirm and review tokens do.

use std::path::Path;

use anyhow::{Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a token is for; a token made for one purpose is refused for another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Unsubscribe this subscriber id.
    Unsubscribe(i64),
    /// Unsubscribe an address that has no subscriber row (a `--to` recipient).
    UnsubscribeEmail(String),
    /// Confirm this subscriber id, valid until the unix time.
    Confirm(i64, i64),
    /// Manage this subscriber id's choices and data (`/manage/{token}`).
    Manage(i64),
    /// Review a draft issue as one editor, valid until the unix time.
    Review(ReviewClaim),
}

/// Who may review which draft issue, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewClaim {
    pub issue: i64,
    /// The digest the issue belongs to (a link checks both).
    pub digest: String,
    /// The editor's address (the log names who did what by it).
    pub editor: String,
    /// Unix time after which the link no longer works.
    pub until: i64,
}

/// Makes and checks tokens.
pub struct Tokens {
    /// HMAC-SHA256 with the secret already absorbed: each MAC clones it instead of hashing the
    /// key again (two of its four compressions; two tokens go into every message).
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens { key: <redacted> }")
    }
}

impl Tokens {
    pub fn new(secret: &[u8]) -> Tokens {
        Tokens {
            keyed: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length"),
        }
    }

    /// The secret from `GAZETTE_SECRET`, else from `secret` in `data_dir` (created on first use).
    pub fn load(data_dir: &Path) -> Result<Tokens> {
        if let Ok(s) = std::env::var("GAZETTE_SECRET") {
            if s.len() < 16 {
                anyhow::bail!("GAZETTE_SECRET is too short: use at least 16 characters");
            }
            return Ok(Tokens::new(s.as_bytes()));
        }
        let path = data_dir.join("secret");
        if let Ok(s) = std::fs::read_to_string(&path) {
            return Ok(Tokens::new(s.trim().as_bytes()));
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("create {}", data_dir.display()))?;
        let bytes: [u8; 32] = rand::random();
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, &secret).with_context(|| format!("write {}", path.display()))?;
        Ok(Tokens::new(secret.as_bytes()))
    }

    /// A token for the claim.
    pub fn sign(&self, claim: &Claim) -> String {
        let payload = match claim {
            Claim::Unsubscribe(id) => format!("u:{id}"),
            Claim::UnsubscribeEmail(email) => format!("e:{email}"),
            Claim::Confirm(id, until) => format!("c:{id}:{until}"),
            Claim::Manage(id) => format!("m:{id}"),
            Claim::Review(r) => format!("r:{}:{}:{}:{}", r.issue, r.until, r.digest, r.editor),
        };
        format!(
            "{}.{}",
            B64.encode(&payload),
            B64.encode(self.mac(payload.as_bytes()))
        )
    }

    /// The claim of a token, if it is genuine (expiry is checked against `now_unix`).
    pub fn verify(&self, token: &str, now_unix: i64) -> Option<Claim> {
        let (payload_b64, mac_b64) = token.split_once('.')?;
        let payload = B64.decode(payload_b64).ok()?;
        let mac = B64.decode(mac_b64).ok()?;
        let mut m = self.keyed.clone();
        m.update(&payload);
        m.verify_slice(&mac).ok()?;
        let payload = String::from_utf8(payload).ok()?;
        let (kind, rest) = payload.split_once(':')?;
        match kind {
            "u" => Some(Claim::Unsubscribe(rest.parse().ok()?)),
            "e" => Some(Claim::UnsubscribeEmail(rest.to_string())),
            "m" => Some(Claim::Manage(rest.parse().ok()?)),
            "c" => {
                let (id, until) = rest.split_once(':')?;
                let until: i64 = until.parse().ok()?;
                (until >= now_unix).then_some(Claim::Confirm(id.parse().ok()?, until))
            }
            "r" => {
                // Digest names have no `:`; the editor's address is the rest.
                let mut parts = rest.splitn(4, ':');
                let issue = parts.next()?.parse().ok()?;
                let until: i64 = parts.next()?.parse().ok()?;
                let digest = parts.next()?.to_string();
                let editor = parts.next()?.to_string();
                (until >= now_unix).then_some(Claim::Review(ReviewClaim {
                    issue,
                    digest,
                    editor,
                    until,
                }))
            }
            _ => None,
        }
    }

    /// The one-click unsubscribe URL of a recipient.
    pub fn unsubscribe_url(&self, base: &url::Url, subscriber: Option<i64>, email: &str) -> String {
        let claim = match subscriber {
            Some(id) => Claim::Unsubscribe(id),
            None => Claim::UnsubscribeEmail(email.to_string()),
        };
        join(base, &format!("unsubscribe/{}", self.sign(&claim)))
    }

    /// The VERP token of a delivery row: `ID-MAC`, the row id in decimal and 80 bits of its
    /// HMAC in lower-case base32 (`4711-k3j5h6g7f8d9s0a1`). Short, safe in an address's local
    /// part and a URL, and case-insensitive (some mail systems lower-case what they return).
    pub fn verp(&self, delivery: i64) -> String {
        let mac = self.mac(format!("verp:{delivery}").as_bytes());
        let mut out = format!("{delivery}-");
        base32(&mac[..VERP_MAC_BYTES], &mut out);
        out
    }

    /// The delivery row a VERP token names, if the token is genuine.
    pub fn verp_delivery(&self, token: &str) -> Option<i64> {
        let (id, mac) = token.trim().split_once('-')?;
        let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
        let mut want = String::new();
        base32(
            &self.mac(format!("verp:{id}").as_bytes())[..VERP_MAC_BYTES],
            &mut want,
        );
        // Constant time: compare MACs of the two strings.
        let given = self.mac(mac.to_ascii_lowercase().as_bytes());
        (given == self.mac(want.as_bytes())).then_some(id)
    }

    /// The manage page of a subscriber; `None` for a recipient without a subscriber row.
    pub fn manage_url(&self, base: &url::Url, subscriber: Option<i64>) -> Option<String> {
        subscriber.map(|id| join(base, &format!("manage/{}", self.sign(&Claim::Manage(id)))))
    }

    /// A MAC over `data` for another purpose (e.g. a form's CSRF token), base64url; it can never
    /// pass as a link token because the purpose is part of what is signed.
    pub fn tag(&self, purpose: &str, data: &str) -> String {
        B64.encode(self.mac(format!("tag:{purpose}:{data}").as_bytes()))
    }

    /// Checks a `tag` in constant time.
    pub fn check_tag(&self, purpose: &str, data: &str, tag: &str) -> bool {
        let Ok(mac) = B64.decode(tag) else {
            return false;
        };
        let mut m = self.keyed.clone();
        m.update(format!("tag:{purpose}:{data}").as_bytes());
        m.verify_slice(&mac).is_ok()
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut m = self.keyed.clone();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }
}

/// Bytes of HMAC in a VERP token (80 bits: 16 base32 characters).
const VERP_MAC_BYTES: usize = 10;

/// RFC 4648 base32, lower case, no padding.
fn base32(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
}

/// `base` + a path, keeping any path prefix of `base` (a reverse proxy's sub-path).
pub fn join(base: &url::Url, path: &str) -> String {
    let mut s = base.as_str().trim_end_matches('/').to_string();
    s.push('/');
    s.push_str(path.trim_start_matches('/'));
    s
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_forgery() {
        let t = Tokens::new(b"0123456789abcdef0123");
        let tok = t.sign(&Claim::Unsubscribe(42));
        assert_eq!(t.verify(&tok, 0), Some(Claim::Unsubscribe(42)));
        let other = Tokens::new(b"another secret entirely");
        assert_eq!(other.verify(&tok, 0), None);
        let forged = format!("{}.{}", B64.encode("u:43"), tok.split_once('.').unwrap().1);
        assert_eq!(t.verify(&forged, 0), None);
        assert_eq!(t.verify("garbage", 0), None);
    }

    #[test]
    fn verp_tokens_name_their_delivery_and_survive_lower_casing() {
        let t = Tokens::new(b"0123456789abcdef0123");
        let tok = t.verp(4711);
        assert!(tok.starts_with("4711-") && tok.len() == 5 + 16, "{tok}");
        assert!(tok
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert_eq!(t.verp_delivery(&tok), Some(4711));
        assert_eq!(t.verp_delivery(&tok.to_uppercase()), Some(4711));
        let forged = tok.replacen("4711", "4712", 1);
        assert_eq!(t.verp_delivery(&forged), None);
        assert_eq!(
            Tokens::new(b"another secret entirely").verp_delivery(&tok),
            None
        );
        assert_eq!(t.verp_delivery("garbage"), None);
    }

    #[test]
    fn manage_tokens_are_bound_to_their_purpose() {
        let t = Tokens::new(b"0123456789abcdef0123");
        let manage = t.sign(&Claim::Manage(7));
        assert_eq!(t.verify(&manage, i64::MAX), Some(Claim::Manage(7)));
        assert_ne!(manage, t.sign(&Claim::Unsubscribe(7)));
        let url = t
            .manage_url(&"https://x.org/news/".parse().unwrap(), Some(7))
            .unwrap();
        assert_eq!(url, format!("https://x.org/news/manage/{manage}"));
        assert!(manage
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
    }

    #[test]
    fn review_tokens_carry_issue_digest_and_editor_and_expire() {
        let t = Tokens::new(b"0123456789abcdef0123");
        let claim = ReviewClaim {
            issue: 9,
            digest: "weekly".into(),
            editor: "ed:itor@example.org".into(),
            until: 1000,
        };
        let tok = t.sign(&Claim::Review(claim.clone()));
        assert!(tok
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        assert_eq!(t.verify(&tok, 1000), Some(Claim::Review(claim)));
        assert_eq!(t.verify(&tok, 1001), None);
        let confirm = t.sign(&Claim::Confirm(9, 1000));
        assert!(!matches!(t.verify(&confirm, 0), Some(Claim::Review(_))));
    }

    #[test]
    fn confirm_tokens_expire() {
        let t = Tokens::new(b"0123456789abcdef0123");
        let tok = t.sign(&Claim::Confirm(7, 1000));
        assert_eq!(t.verify(&tok, 999), Some(Claim::Confirm(7, 1000)));
        assert_eq!(t.verify(&tok, 1001), None);
    }
}
