//! `[bounces]` validated: the VERP address, the mailbox sources (IMAP, Maildir), the webhook
//! credentials and the policy (thresholds, the pause rule). Secrets are kept in [`Secret`],
//! whose `Debug` never shows them.

use std::path::{Path, PathBuf};

use super::raw::RawBounces;
use super::{parse_duration, resolve, Report};

/// A password or key: printed as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An IMAP mailbox to read bounces from.
#[derive(Debug, Clone)]
pub struct Imap {
    pub host: String,
    pub port: u16,
    /// `imaps://` (TLS from the start); `imap://` only to a loopback host.
    pub tls: bool,
    pub user: String,
    pub password: Secret,
    pub mailbox: String,
    /// Where processed messages are moved.
    pub processed: String,
}

/// The validated `[bounces]` table.
#[derive(Debug, Clone)]
pub struct Bounces {
    /// The VERP base address (`bounces@news.example.org`).
    pub address: Option<lettre::Address>,
    pub imap: Option<Imap>,
    pub maildir: Option<PathBuf>,
    pub poll_interval: std::time::Duration,
    pub webhook_token: Option<Secret>,
    pub hard_threshold: i64,
    pub soft_threshold: i64,
    pub soft_window: chrono::Duration,
    pub pause_above: f64,
    pub postmark: Option<(String, Secret)>,
    /// SendGrid's verification key: base64 of a DER SubjectPublicKeyInfo (P-256).
    pub sendgrid_public_key: Option<Vec<u8>>,
    pub mailgun_signing_key: Option<Secret>,
    pub ses_topic_arn: Option<String>,
    pub ses_certificate: Option<PathBuf>,
    pub webhook_max_age: chrono::Duration,
}

impl Default for Bounces {
    fn default() -> Self {
        validate(&RawBounces::default(), Path::new("."), &mut |_, _| {})
    }
}

impl Bounces {
    /// The thresholds, as the store applies them.
    pub fn policy(&self) -> crate::store::BouncePolicy {
        crate::store::BouncePolicy {
            hard_threshold: self.hard_threshold,
            soft_threshold: self.soft_threshold,
            soft_window: self.soft_window,
        }
    }
}

pub(super) fn validate(raw: &RawBounces, base: &Path, report: &mut Report<'_>) -> Bounces {
    let address = raw
        .address
        .as_deref()
        .and_then(|a| match a.trim().parse::<lettre::Address>() {
            Ok(addr) if !addr.user().contains('+') => Some(addr),
            Ok(_) => {
                report(
                    "bounces.address",
                    format!("{a:?}: leave out the +TOKEN part, gazette adds it"),
                );
                None
            }
            Err(e) => {
                report(
                    "bounces.address",
                    format!("not an email address {a:?}: {e}"),
                );
                None
            }
        });
    let mut dur = |key: &str, s: &str, fallback: chrono::Duration| {
        parse_duration(s).unwrap_or_else(|e| {
            report(key, e);
            fallback
        })
    };
    let poll_interval = dur(
        "bounces.poll_interval",
        &raw.poll_interval,
        chrono::Duration::minutes(1),
    );
    let soft_window = dur(
        "bounces.soft_window",
        &raw.soft_window,
        chrono::Duration::days(30),
    );
    let webhook_max_age = dur(
        "bounces.webhook_max_age",
        &raw.webhook_max_age,
        chrono::Duration::days(1),
    );
    if raw.hard_threshold < 1 {
        report("bounces.hard_threshold", "must be at least 1".into());
    }
    if raw.soft_threshold < 1 {
        report("bounces.soft_threshold", "must be at least 1".into());
    }
    if !(raw.pause_above > 0.0 && raw.pause_above <= 1.0) {
        report(
            "bounces.pause_above",
            "must be a rate above 0 and at most 1 (1 never pauses)".into(),
        );
    }
    let imap = raw.imap.as_deref().and_then(|u| match imap(u, raw) {
        Ok(i) => Some(i),
        Err(e) => {
            report("bounces.imap", e);
            None
        }
    });
    let postmark = match (&raw.postmark_user, &raw.postmark_password) {
        (Some(u), Some(p)) => Some((u.clone(), Secret::new(p))),
        (None, None) => None,
        _ => {
            report(
                "bounces.postmark_user",
                "postmark_user and postmark_password go together".into(),
            );
            None
        }
    };
    let sendgrid_public_key = raw.sendgrid_public_key.as_deref().and_then(|k| {
        use base64::Engine;
        let clean: String = k.split_whitespace().collect();
        match base64::engine::general_purpose::STANDARD.decode(clean) {
            Ok(der) if !der.is_empty() => Some(der),
            _ => {
                report(
                    "bounces.sendgrid_public_key",
                    "not base64 (paste the verification key SendGrid shows)".into(),
                );
                None
            }
        }
    });
    let ses_certificate = raw.ses_certificate.as_deref().map(|p| resolve(base, p));
    if let Some(p) = &ses_certificate {
        if !p.is_file() {
            report(
                "bounces.ses_certificate",
                format!("certificate file {} does not exist", p.display()),
            );
        }
    }
    let maildir = raw.maildir.as_deref().map(|p| resolve(base, p));
    let secret = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(Secret::new);
    Bounces {
        address,
        imap,
        maildir,
        poll_interval: poll_interval
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(60))
            .max(std::time::Duration::from_secs(1)),
        webhook_token: secret(&raw.webhook_token),
        hard_threshold: raw.hard_threshold.max(1),
        soft_threshold: raw.soft_threshold.max(1),
        soft_window,
        pause_above: raw.pause_above,
        postmark,
        sendgrid_public_key,
        mailgun_signing_key: secret(&raw.mailgun_signing_key),
        ses_topic_arn: raw.ses_topic_arn.clone(),
        ses_certificate,
        webhook_max_age,
    }
}

/// `imaps://user@host[:port]/MAILBOX`; the password from the URL, `imap_password` or
/// `GAZETTE_IMAP_PASSWORD`.
fn imap(raw_url: &str, raw: &RawBounces) -> Result<Imap, String> {
    let url = url::Url::parse(raw_url).map_err(|e| format!("{raw_url:?}: {e}"))?;
    let (tls, port) = match url.scheme() {
        "imaps" => (true, 993),
        "imap" => (false, 143),
        s => {
            return Err(format!(
                "unsupported scheme {s:?}: use imaps://user@host/INBOX"
            ))
        }
    };
    let host = url
        .host_str()
        .ok_or("no host: use imaps://user@host/INBOX")?
        .trim_matches(['[', ']'])
        .to_string();
    if !tls && !crate::deliver::transport::is_loopback(&host) {
        return Err(format!(
            "imap:// would send the password in clear text to {host}; use imaps://"
        ));
    }
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    if url.username().is_empty() {
        return Err("no user: use imaps://user@host/INBOX".into());
    }
    let password = url
        .password()
        .map(decode)
        .or_else(|| raw.imap_password.clone())
        .or_else(|| std::env::var("GAZETTE_IMAP_PASSWORD").ok())
        .unwrap_or_default();
    let mailbox = decode(url.path().trim_start_matches('/'));
    Ok(Imap {
        host,
        port: url.port().unwrap_or(port),
        tls,
        user: decode(url.username()),
        password: Secret::new(password),
        mailbox: if mailbox.is_empty() {
            "INBOX".into()
        } else {
            mailbox
        },
        processed: raw.imap_processed.clone(),
    })
}
