//! One bounce read in full: the recipient (DSN first, then the heuristics), the status code,
//! the reason, the kind and whether it counts against the reader.

use super::dsn::{self, Action, Dsn, Recipient};
use super::heuristics::{self, Signals};
use super::mail::Mail;
use super::reason::{self, Reason};
use super::text::{class, enhanced_codes, is_generic, reply_code};
use super::{Classification, Kind};

/// The delivery status of a message: its message/delivery-status parts, else DSN fields
/// written in its other parts (relays that put the report in the text, broken MIME).
pub fn dsn_of(mail: &Mail) -> Dsn {
    let mut out = Dsn::default();
    let is_report =
        |c: &str| c == "message/delivery-status" || c == "message/global-delivery-status";
    for section in mail.sections.iter().filter(|s| is_report(&s.ctype)) {
        out.extend(dsn::parse(&section.text));
    }
    if out.recipients.is_empty() {
        let others = mail
            .sections
            .iter()
            .filter(|s| !is_report(&s.ctype) && s.ctype != "text/html");
        for section in others {
            out.extend(dsn::parse(&section.text));
        }
    }
    out
}

/// Builds the classification of a message known to be a bounce.
pub fn classify(mail: &Mail, dsn: &Dsn, signals: &Signals) -> Classification {
    let group = dsn.main_recipient();
    let recipient = group
        .and_then(Recipient::address)
        .or_else(|| heuristics::failed_recipient(mail, signals, &heuristics::Known::read(mail)));
    let diagnostic = group
        .and_then(|g| g.diagnostic.as_deref())
        .filter(|d| !d.trim().is_empty());
    let notification = mail.notification.as_str();
    let action = group.and_then(|g| g.action);
    let status = status(
        group.and_then(|g| g.status.as_deref()),
        diagnostic,
        notification,
    );
    let reply = diagnostic
        .and_then(reply_code)
        .or_else(|| reply_code(notification));
    let delayed = match action {
        Some(a) => a == Action::Delayed,
        None => signals.delay_text,
    };
    let reason = diagnostic
        .and_then(reason::from_text)
        .or_else(|| reason::from_text(notification))
        .or_else(|| status.as_deref().and_then(reason::from_status))
        .unwrap_or(match action {
            _ if delayed => Reason::Delayed,
            Some(Action::Expired) => Reason::Expired,
            _ => Reason::Unknown,
        });
    let kind = if delayed {
        Kind::Soft
    } else {
        reason::kind(reason, status.as_deref(), reply)
    };
    Classification {
        recipient,
        status,
        counts_against_reader: reason.is_recipient_fault(),
        envelope_id: dsn.envelope_id.clone(),
        diagnostic: diagnostic
            .map(str::to_string)
            .or_else(|| evidence_line(notification))
            .map(|d| d.chars().take(500).collect()),
        ..Classification::new(kind, reason)
    }
}

/// The DSN's Status, made specific from the text when it only gives a class (5.0.0 with
/// "550 5.7.25 ..." in the diagnostic); without a Status, the first failure code in the text.
fn status(dsn: Option<&str>, diagnostic: Option<&str>, notification: &str) -> Option<String> {
    let texts = [diagnostic.unwrap_or(""), notification];
    let mut codes = texts
        .into_iter()
        .flat_map(enhanced_codes)
        .filter(|c| matches!(class(c), Some(4 | 5)));
    match dsn {
        Some(s) if is_generic(s) => {
            let specific = codes.find(|c| class(c) == class(s) && !is_generic(c));
            Some(specific.unwrap_or(s).to_string())
        }
        Some(s) => Some(s.to_string()),
        None => codes.next().map(str::to_string),
    }
}

/// The first notification line that quotes a server's reply.
fn evidence_line(notification: &str) -> Option<String> {
    notification
        .lines()
        .map(str::trim)
        .find(|l| reply_code(l).is_some() || enhanced_codes(l).next().is_some())
        .map(str::to_string)
}
