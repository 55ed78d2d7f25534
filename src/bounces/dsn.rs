//! RFC 3464 delivery status notifications: the per-message and per-recipient field groups of a
//! message/delivery-status part, or of DSN fields that a bounce carries in its text.

use super::text::{enhanced_code, first_address, unfold};

/// What a DSN says about one recipient (RFC 3464 section 2.3).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub final_recipient: Option<String>,
    pub original_recipient: Option<String>,
    pub action: Option<Action>,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
}

/// The `Action` field; `expired` is not in the RFC but some relays write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
    Expired,
}

/// The parsed notification: the envelope id of the per-message group and every recipient group.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Dsn {
    pub envelope_id: Option<String>,
    pub recipients: Vec<Recipient>,
}

impl Recipient {
    /// The address the message was sent to: Original-Recipient (what the sender gave) when it
    /// is an address, else Final-Recipient.
    pub fn address(&self) -> Option<String> {
        self.original_recipient
            .as_deref()
            .and_then(address_of)
            .or_else(|| self.final_recipient.as_deref().and_then(address_of))
    }

    /// A success report: delivered, relayed or expanded (or, without an Action, a 2.x.x
    /// Status). Anything else in a DSN is a failure or a delay.
    pub fn is_success(&self) -> bool {
        match self.action {
            Some(a) => matches!(a, Action::Delivered | Action::Relayed | Action::Expanded),
            None => self.status.as_deref().is_some_and(|s| s.starts_with('2')),
        }
    }

    fn is_empty(&self) -> bool {
        self == &Recipient::default()
    }
}

impl Dsn {
    /// The recipient group the notification is about: the first failed one, else the first
    /// delayed one, else the first one.
    pub fn main_recipient(&self) -> Option<&Recipient> {
        let with = |pred: fn(&Recipient) -> bool| self.recipients.iter().find(|r| pred(r));
        with(|r| !r.is_success() && r.action != Some(Action::Delayed))
            .or_else(|| with(|r| !r.is_success()))
            .or_else(|| self.recipients.first())
    }

    /// Adds the groups of another notification (a report may hold several parts).
    pub fn extend(&mut self, other: Dsn) {
        self.envelope_id = self.envelope_id.take().or(other.envelope_id);
        self.recipients.extend(other.recipients);
    }
}

/// Reads DSN fields from text: groups are separated by blank lines, and a recipient field seen
/// twice in one group starts a new group (some writers leave out the blank line).
pub fn parse(text: &str) -> Dsn {
    let mut dsn = Dsn::default();
    let mut current = Recipient::default();
    for (name, value) in fields(text) {
        let Some(name) = name else {
            flush(&mut dsn, &mut current);
            continue;
        };
        let value = unfold(&value);
        match name.to_ascii_lowercase().as_str() {
            "original-envelope-id" => dsn.envelope_id = Some(value).filter(|v| !v.is_empty()),
            "final-recipient" => {
                if current.final_recipient.is_some() {
                    flush(&mut dsn, &mut current);
                }
                current.final_recipient = Some(value);
            }
            "original-recipient" => {
                if current.original_recipient.is_some() {
                    flush(&mut dsn, &mut current);
                }
                current.original_recipient = Some(value);
            }
            "action" => current.action = action(&value),
            "status" => current.status = enhanced_code(&value).map(String::from),
            "diagnostic-code" => current.diagnostic = Some(diagnostic(&value)),
            _ => {}
        }
    }
    flush(&mut dsn, &mut current);
    dsn
}

fn flush(dsn: &mut Dsn, current: &mut Recipient) {
    let group = std::mem::take(current);
    let is_recipient = group.final_recipient.is_some() || group.original_recipient.is_some();
    if !group.is_empty() && (is_recipient || group.action.is_some()) {
        dsn.recipients.push(group);
    }
}

/// `(Some(name), value)` per field with its continuation lines; `(None, _)` at a blank line.
fn fields(text: &str) -> Vec<(Option<&str>, String)> {
    let mut out: Vec<(Option<&str>, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            out.push((None, String::new()));
        } else if line.starts_with([' ', '\t']) {
            if let Some((Some(_), value)) = out.last_mut() {
                value.push('\n');
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            let name = name.trim_end();
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if valid {
                out.push((Some(name), value.to_string()));
            }
        }
    }
    out
}

fn action(value: &str) -> Option<Action> {
    let word = value.split_whitespace().next()?.to_ascii_lowercase();
    Some(match word.trim_end_matches(';') {
        "failed" | "failure" => Action::Failed,
        "delayed" => Action::Delayed,
        "delivered" => Action::Delivered,
        "relayed" => Action::Relayed,
        "expanded" => Action::Expanded,
        "expired" => Action::Expired,
        _ => return None,
    })
}

/// The address in an address field (`rfc822; a@b.org`, `<a@b.org>`).
fn address_of(value: &str) -> Option<String> {
    let value = value.split_once(';').map_or(value, |(_, v)| v);
    first_address(value)
}

/// A Diagnostic-Code without its type (`smtp; 550 ...` → `550 ...`).
fn diagnostic(value: &str) -> String {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.contains(' ') => rest.trim().to_string(),
        _ => value.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_groups() {
        let dsn = parse(
            "Reporting-MTA: dns; mx.example.org\nOriginal-Envelope-Id: abc\n\n\
             Final-Recipient: rfc822; Ada@Example.org\nAction: failed\nStatus: 5.1.1\n\
             Diagnostic-Code: smtp; 550 5.1.1 <ada@example.org>:\n    user unknown\n\n\
             Final-Recipient: rfc822;bob@example.org\nAction: delayed\nStatus: 4.4.1\n",
        );
        assert_eq!(dsn.envelope_id.as_deref(), Some("abc"));
        assert_eq!(dsn.recipients.len(), 2);
        let first = dsn.main_recipient().unwrap();
        assert_eq!(first.address().as_deref(), Some("ada@example.org"));
        assert_eq!(first.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            first.diagnostic.as_deref(),
            Some("550 5.1.1 <ada@example.org>: user unknown")
        );
        assert_eq!(dsn.recipients[1].action, Some(Action::Delayed));
    }

    #[test]
    fn a_repeated_recipient_field_starts_a_group() {
        let dsn = parse("Final-Recipient: rfc822; a@x.org\nAction: delivered\nFinal-Recipient: rfc822; b@x.org\nAction: failed\n");
        assert_eq!(dsn.recipients.len(), 2);
        assert_eq!(
            dsn.main_recipient().and_then(Recipient::address).as_deref(),
            Some("b@x.org")
        );
    }
}
