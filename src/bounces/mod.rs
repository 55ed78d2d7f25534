//! The bounce stage's parser: one message's bytes in, a [`Classification`] out — hard or soft
//! bounce, complaint, auto-reply or something else, with the failed recipient, the RFC 3463
//! status, a short reason, whether it counts against the reader, and what ties it to one
//! delivery (a VERP token, a quoted `X-Gazette-Delivery` header, the original Message-ID).
//!
//! Standards first, heuristics after: an RFC 5965 feedback report ([`arf`]) is a complaint;
//! Amazon SES's JSON notifications are read as SES documents them ([`ses`]); an RFC 3464
//! delivery status ([`dsn`]) names the recipient, action and status; a bounce without one is
//! recognised and read by MTA-generic rules ([`heuristics`]); a mail client's request to the
//! List-Unsubscribe mailto address ([`unsubscribe`]) is opt-out feedback, a complaint; an
//! RFC 3834 auto-reply ([`autoreply`]) is never a bounce. The cause comes from the server's
//! words, else from the status code ([`reason`]). Pure: no I/O, no clock, no store; sources
//! (IMAP, Maildir, webhooks) and policy (thresholds, suppression) sit on top.

mod arf;
mod autoreply;
mod bounce;
mod dsn;
mod heuristics;
pub mod imap;
mod mail;
pub mod maildir;
pub mod providers;
pub mod reason;
pub mod record;
pub mod ses;
pub mod signature;
mod text;
mod unsubscribe;
pub mod verp;

use std::sync::LazyLock;

use regex::bytes::Regex;
use serde::Serialize;

pub use reason::Reason;
pub use verp::VerpAddress;

use mail::Mail;

/// What a message is, as far as the list is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A permanent delivery failure.
    Hard,
    /// A temporary failure or delay warning.
    Soft,
    /// Feedback: an ARF report (abuse, opt-out, ..., or an authentication-failure report for
    /// the operator), an SES complaint, or an unsubscribe request to the List-Unsubscribe
    /// mailto address.
    Complaint,
    /// An automatic reply (RFC 3834, vacation, out of office).
    Autoreply,
    /// Anything else, success reports included.
    Other,
}

impl Kind {
    /// The label DESIGN.md uses (`hard`, `soft`, `complaint`, `autoreply`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hard => "hard",
            Kind::Soft => "soft",
            Kind::Complaint => "complaint",
            Kind::Autoreply => "autoreply",
            Kind::Other => "other",
        }
    }

    /// A hard or soft bounce.
    pub fn is_bounce(self) -> bool {
        matches!(self, Kind::Hard | Kind::Soft)
    }

    /// Every kind, in the order DESIGN.md lists them.
    pub const ALL: [Kind; 5] = [
        Kind::Hard,
        Kind::Soft,
        Kind::Complaint,
        Kind::Autoreply,
        Kind::Other,
    ];
}

impl std::str::FromStr for Kind {
    type Err = String;

    /// The inverse of [`Kind::as_str`] (for values read back from the store).
    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown bounce kind {s:?}"))
    }
}

/// Everything read from one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub kind: Kind,
    /// The failed or complaining address, lower-case.
    pub recipient: Option<String>,
    /// RFC 3463 enhanced status code ("5.1.1").
    pub status: Option<String>,
    pub reason: Reason,
    /// Whether this changes the reader's standing: a bounce caused by their own mailbox
    /// (unknown user, disabled mailbox, non-existent domain; a full mailbox as soft) counts
    /// towards `bouncing`, an abuse or opt-out report makes them `complained`. Blocks for
    /// policy, spam, content or authentication, and ARF auth-failure reports, never do.
    pub counts_against_reader: bool,
    /// The TOKEN of a `bounces+TOKEN@domain` address the bounce was sent to or quotes.
    pub verp_token: Option<String>,
    /// The value of an `X-Gazette-Delivery` header quoted from the returned original.
    pub x_gazette_delivery: Option<String>,
    /// The Message-ID of the returned (or complained-about) original, without `<>`.
    pub original_message_id: Option<String>,
    /// RFC 3464 Original-Envelope-Id (the ENVID given at MAIL FROM).
    pub envelope_id: Option<String>,
    /// ARF Feedback-Type (`abuse`, `auth-failure`, `opt-out`, ...), lower-case.
    pub feedback_type: Option<String>,
    /// The server's words about the failure (Diagnostic-Code, or the bounce's own line),
    /// at most 500 characters.
    pub diagnostic: Option<String>,
    /// The Message-ID of the bounce or report itself, without `<>` (what makes recording it
    /// idempotent).
    pub message_id: Option<String>,
}

impl Classification {
    /// A classification with nothing found beyond its kind and reason (for sources that
    /// classify by other means, such as provider webhooks).
    pub fn new(kind: Kind, reason: Reason) -> Classification {
        Classification {
            kind,
            recipient: None,
            status: None,
            reason,
            counts_against_reader: false,
            verp_token: None,
            x_gazette_delivery: None,
            original_message_id: None,
            envelope_id: None,
            feedback_type: None,
            diagnostic: None,
            message_id: None,
        }
    }
}

/// A reusable classifier: holds the compiled VERP pattern of the configured bounce address.
#[derive(Debug, Clone)]
pub struct Classifier {
    verp: Regex,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier::new(&VerpAddress::default())
    }
}

impl Classifier {
    pub fn new(verp: &VerpAddress) -> Classifier {
        Classifier {
            verp: verp.pattern(),
        }
    }

    /// Classifies one message from its raw bytes (RFC 5322, CRLF or LF).
    pub fn classify(&self, bytes: &[u8]) -> Classification {
        let mail = Mail::parse(bytes);
        let mut c = read(&mail);
        c.verp_token = verp::token(&mail, bytes, &self.verp);
        c.x_gazette_delivery = c
            .x_gazette_delivery
            .or_else(|| verp::delivery_header(&mail, bytes));
        c.original_message_id = c.original_message_id.or_else(|| original_message_id(&mail));
        c.message_id = mail.headers.get("message-id").and_then(bracketed);
        c
    }
}

/// Classifies one message with the default VERP address (`bounces+TOKEN@` any domain).
pub fn classify(bytes: &[u8]) -> Classification {
    static DEFAULT: LazyLock<Classifier> = LazyLock::new(Classifier::default);
    DEFAULT.classify(bytes)
}

/// Feedback report, SES notification, delivery status, then bounce heuristics, then an
/// unsubscribe request, then auto-reply; else other. A read receipt (RFC 8098) is other.
fn read(mail: &Mail) -> Classification {
    if let Some(report) = arf::parse(mail) {
        return complaint(report);
    }
    if let Some(c) = ses::parse(mail) {
        return c;
    }
    if mail.report_type.as_deref() == Some("disposition-notification") {
        return Classification::new(Kind::Other, Reason::Unknown);
    }
    let dsn = bounce::dsn_of(mail);
    let signals = heuristics::Signals::read(mail);
    if let Some(r) = dsn.main_recipient() {
        if !r.is_success() {
            return bounce::classify(mail, &dsn, &signals);
        }
        let mut c = Classification::new(Kind::Other, Reason::Delivered);
        c.recipient = r.address();
        c.status = r.status.clone();
        c.envelope_id = dsn.envelope_id.clone();
        return c;
    }
    let autoreply = autoreply::is_autoreply(mail);
    let report = mail.report_type.as_deref() == Some("delivery-status");
    // An auto-reply can talk like a bounce ("will not be delivered until I return"): only a
    // mail system's own marks outweigh a responder's.
    if report || (signals.is_bounce() && (signals.is_strong() || !autoreply)) {
        return bounce::classify(mail, &dsn, &signals);
    }
    if let Some(from) = unsubscribe::requester(mail) {
        let mut c = Classification::new(Kind::Complaint, Reason::Unsubscribe);
        c.recipient = from;
        c.feedback_type = Some("opt-out".into());
        c.counts_against_reader = true;
        return c;
    }
    if autoreply {
        Classification::new(Kind::Autoreply, Reason::AutoReply)
    } else {
        Classification::new(Kind::Other, Reason::Unknown)
    }
}

fn complaint(report: arf::Report) -> Classification {
    let counts = report.is_complaint();
    let (kind, reason) = match report.feedback_type.as_str() {
        "auth-failure" => (Kind::Complaint, Reason::AuthFailure),
        "not-spam" => (Kind::Other, Reason::Unknown),
        _ => (Kind::Complaint, Reason::Complaint),
    };
    let mut c = Classification::new(kind, reason);
    c.counts_against_reader = counts && kind == Kind::Complaint;
    c.recipient = report.recipient;
    c.feedback_type = Some(report.feedback_type);
    c
}

/// The id inside `<...>` (or the whole trimmed value), if not empty.
fn bracketed(v: &str) -> Option<String> {
    let v = v.trim();
    let v = v
        .find('<')
        .and_then(|s| v[s + 1..].find('>').map(|e| &v[s + 1..s + 1 + e]))
        .unwrap_or(v);
    Some(v.trim().to_string()).filter(|v| !v.is_empty())
}

fn original_message_id(mail: &Mail) -> Option<String> {
    mail.originals
        .iter()
        .find_map(|h| h.get("message-id"))
        .and_then(bracketed)
        .or_else(|| mail.headers.get("in-reply-to").and_then(bracketed))
}
