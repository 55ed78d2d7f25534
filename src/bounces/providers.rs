//! Provider webhook payloads read into classifications: Postmark's bounce and spam-complaint
//! webhooks, SendGrid's event webhook, Mailgun's event webhooks, Amazon SES through SNS (the
//! notification itself is read by [`super::ses`]) and gazette's own generic JSON. Pure: the
//! signatures are checked before (see [`super::signature`]), the recording after.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::reason::{self, Reason};
use super::text::{enhanced_code, first_address, normalize};
use super::{Classification, Kind};

/// One event of a webhook request.
#[derive(Debug, Clone)]
pub struct Event {
    pub classification: Classification,
    /// The provider's id of the event (what makes recording it idempotent).
    pub id: String,
    /// When it happened, as the provider says.
    pub occurred: Option<DateTime<Utc>>,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn address(s: &str) -> Option<String> {
    first_address(s).or_else(|| normalize(s))
}

fn bare_id(s: &str) -> Option<String> {
    Some(s.trim().trim_matches(['<', '>']).trim().to_string()).filter(|s| !s.is_empty())
}

/// A failure from the server's words and status code.
fn failure(
    words: &str,
    status: Option<String>,
    reply: Option<u16>,
    kind: Option<Kind>,
) -> Classification {
    let status = status.or_else(|| enhanced_code(words).map(String::from));
    let reason = reason::from_text(words)
        .or_else(|| status.as_deref().and_then(reason::from_status))
        .unwrap_or(Reason::Unknown);
    let kind = kind.unwrap_or_else(|| reason::kind(reason, status.as_deref(), reply));
    Classification {
        status,
        counts_against_reader: reason.is_recipient_fault(),
        diagnostic: Some(words.chars().take(500).collect()).filter(|d: &String| !d.is_empty()),
        ..Classification::new(kind, reason)
    }
}

fn complaint(feedback: &str) -> Classification {
    let (reason, counts) = match feedback {
        "auth-failure" => (Reason::AuthFailure, false),
        "opt-out" => (Reason::Unsubscribe, true),
        _ => (Reason::Complaint, true),
    };
    Classification {
        counts_against_reader: counts,
        feedback_type: Some(feedback.to_string()),
        ..Classification::new(Kind::Complaint, reason)
    }
}

/// Postmark: one bounce, spam complaint or subscription change per request.
pub fn postmark(v: &Value) -> Option<Event> {
    let record = text(v, "RecordType").unwrap_or("Bounce");
    let kind = text(v, "Type").unwrap_or(record);
    let words = [text(v, "Description"), text(v, "Details")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = match (record, kind) {
        ("SpamComplaint", _) | (_, "SpamComplaint") => complaint("abuse"),
        ("SubscriptionChange", _) => subscription_change(v),
        (_, "Unsubscribe") => complaint("opt-out"),
        (_, "HardBounce" | "BadEmailAddress" | "ManuallyDeactivated") => {
            let mut c = failure(&words, None, None, Some(Kind::Hard));
            if c.reason == Reason::Unknown {
                c.reason = Reason::UserUnknown;
                c.counts_against_reader = true;
            }
            c
        }
        (_, "SoftBounce" | "Transient" | "DnsError" | "MailFull" | "TemplateRenderingFailed") => {
            failure(&words, None, None, Some(Kind::Soft))
        }
        (
            _,
            "SpamNotification" | "Blocked" | "ContentRelated" | "VirusNotification" | "DMARCPolicy",
        ) => {
            let mut c = failure(&words, None, None, Some(Kind::Hard));
            c.reason = match kind {
                "Blocked" => Reason::Blocked,
                "DMARCPolicy" => Reason::AuthFailure,
                _ => Reason::Spam,
            };
            c.counts_against_reader = false;
            c
        }
        (_, "AutoResponder") => Classification::new(Kind::Autoreply, Reason::AutoReply),
        ("Delivery", _) => Classification::new(Kind::Other, Reason::Delivered),
        _ => Classification::new(Kind::Other, Reason::Unknown),
    };
    c.recipient = text(v, "Email").or(text(v, "Recipient")).and_then(address);
    let id = match v.get("ID") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => text(v, "MessageID").map(String::from),
    }?;
    let at_text = text(v, "BouncedAt")
        .or(text(v, "ReceivedAt"))
        .or(text(v, "DeliveredAt"))
        .or(text(v, "ChangedAt"));
    // A subscription change has no ID of its own: one message's address may be suppressed and
    // reactivated later, so the change is told apart by when it happened.
    let id = match (record, at_text) {
        ("SubscriptionChange", Some(at)) => format!("{record}:{id}:{at}"),
        _ => format!("{record}:{id}"),
    };
    Some(Event {
        classification: c,
        id,
        occurred: at_text.and_then(rfc3339),
    })
}

/// Postmark's SubscriptionChange webhook: `SuppressSending` false is a reactivation (nothing
/// to do); a suppression for a spam complaint is a complaint, a manual suppression (the reader
/// unsubscribing through Postmark's link, or the account's owner) an opt-out. A suppression
/// for a hard bounce records nothing: the Bounce webhook brings that bounce itself.
fn subscription_change(v: &Value) -> Classification {
    if v.get("SuppressSending").and_then(Value::as_bool) != Some(true) {
        return Classification::new(Kind::Other, Reason::Unknown);
    }
    match text(v, "SuppressionReason") {
        Some("SpamComplaint") => complaint("abuse"),
        Some("ManualSuppression") => complaint("opt-out"),
        _ => Classification::new(Kind::Other, Reason::Unknown),
    }
}

/// SendGrid: an array of events (bounce, dropped, deferred, spamreport, unsubscribe, ...).
pub fn sendgrid(v: &Value) -> Vec<Event> {
    let Some(events) = v.as_array() else {
        return Vec::new();
    };
    events.iter().filter_map(sendgrid_event).collect()
}

fn sendgrid_event(e: &Value) -> Option<Event> {
    let event = text(e, "event")?;
    let words = text(e, "reason").or(text(e, "response")).unwrap_or("");
    let status = text(e, "status").and_then(enhanced_code).map(String::from);
    let mut c = match event {
        "bounce" => {
            let kind = match text(e, "type") {
                Some("blocked") => None,
                _ => Some(Kind::Hard),
            };
            failure(words, status, None, kind)
        }
        "dropped" if words.contains("Bounced Address") || words.contains("Invalid") => {
            let mut c = failure(words, status, None, Some(Kind::Hard));
            c.reason = Reason::UserUnknown;
            c.counts_against_reader = true;
            c
        }
        "deferred" => failure(words, status, None, Some(Kind::Soft)),
        "spamreport" => complaint("abuse"),
        "unsubscribe" | "group_unsubscribe" => complaint("opt-out"),
        "delivered" => Classification::new(Kind::Other, Reason::Delivered),
        _ => Classification::new(Kind::Other, Reason::Unknown),
    };
    c.recipient = text(e, "email").and_then(address);
    c.original_message_id = text(e, "smtp-id").and_then(bare_id);
    c.x_gazette_delivery = text(e, "gazette_delivery").map(String::from);
    let id = text(e, "sg_event_id").map(String::from).unwrap_or_else(|| {
        format!(
            "{}:{}:{}",
            event,
            text(e, "sg_message_id").unwrap_or(""),
            c.recipient.as_deref().unwrap_or("")
        )
    });
    let at = e
        .get("timestamp")
        .and_then(Value::as_i64)
        .and_then(|t| Utc.timestamp_opt(t, 0).single());
    Some(Event {
        classification: c,
        id,
        occurred: at,
    })
}

/// Mailgun: `{"signature": {...}, "event-data": {...}}`, one event per request.
pub fn mailgun(v: &Value) -> Option<Event> {
    let e = v.get("event-data")?;
    let event = text(e, "event")?;
    let ds = e.get("delivery-status");
    let words = ds
        .map(|d| {
            [text(d, "message"), text(d, "description")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let reply = ds
        .and_then(|d| d.get("code"))
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok());
    let status = ds.and_then(|d| text(d, "enhanced-code")).map(String::from);
    let mut c = match (event, text(e, "severity")) {
        ("failed", Some("temporary")) => failure(&words, status, reply, Some(Kind::Soft)),
        ("failed", _) => failure(&words, status, reply, None),
        ("complained", _) => complaint("abuse"),
        ("unsubscribed", _) => complaint("opt-out"),
        ("delivered", _) => Classification::new(Kind::Other, Reason::Delivered),
        _ => Classification::new(Kind::Other, Reason::Unknown),
    };
    c.recipient = text(e, "recipient").and_then(address);
    c.original_message_id = e
        .pointer("/message/headers/message-id")
        .and_then(Value::as_str)
        .and_then(bare_id);
    c.x_gazette_delivery = e
        .pointer("/user-variables/gazette-delivery")
        .and_then(Value::as_str)
        .map(String::from);
    let id = text(e, "id")?.to_string();
    let at = e
        .get("timestamp")
        .and_then(Value::as_f64)
        .and_then(|t| Utc.timestamp_opt(t as i64, 0).single());
    Some(Event {
        classification: c,
        id,
        occurred: at,
    })
}

/// gazette's generic JSON (`POST /webhooks/bounce`): `{"id", "timestamp", "recipient",
/// "kind", "status", "reason", "diagnostic", "delivery", "message_id", "feedback_type"}`;
/// `id` and `timestamp` (RFC 3339 or unix seconds) are required, `kind` defaults from the
/// status code.
pub fn generic(v: &Value) -> Result<Event, String> {
    let id = match v.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("\"id\" is required".into()),
    };
    let occurred = match v.get("timestamp") {
        Some(Value::String(s)) => rfc3339(s),
        Some(Value::Number(n)) => n.as_i64().and_then(|t| Utc.timestamp_opt(t, 0).single()),
        _ => None,
    }
    .ok_or("\"timestamp\" is required (RFC 3339 or unix seconds)")?;
    let words = [text(v, "reason"), text(v, "diagnostic")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let status = text(v, "status").map(String::from);
    let mut c = match text(v, "kind") {
        Some("complaint") => complaint(text(v, "feedback_type").unwrap_or("abuse")),
        Some("autoreply") => Classification::new(Kind::Autoreply, Reason::AutoReply),
        Some("other") => Classification::new(Kind::Other, Reason::Unknown),
        Some("hard") => failure(&words, status, None, Some(Kind::Hard)),
        Some("soft") => failure(&words, status, None, Some(Kind::Soft)),
        None => failure(&words, status, None, None),
        Some(k) => {
            return Err(format!(
                "\"kind\" {k:?}: use hard, soft, complaint, autoreply or other"
            ))
        }
    };
    c.recipient = text(v, "recipient").and_then(address);
    c.verp_token = text(v, "delivery").map(String::from);
    c.original_message_id = text(v, "message_id").and_then(bare_id);
    Ok(Event {
        classification: c,
        id,
        occurred: Some(occurred),
    })
}

fn rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_postmark_hard_bounce_and_a_spam_complaint() {
        let v: Value = serde_json::from_str(r#"{"RecordType":"Bounce","ID":42,"Type":"HardBounce","Email":"Ada@Example.net","Description":"The server was unable to deliver your message (ex: unknown user, mailbox not found).","Details":"smtp;550 5.1.1 The email account that you tried to reach does not exist.","BouncedAt":"2026-11-30T08:00:00.1234567Z"}"#).unwrap();
        let e = postmark(&v).unwrap();
        assert_eq!(e.classification.kind, Kind::Hard);
        assert_eq!(
            e.classification.recipient.as_deref(),
            Some("ada@example.net")
        );
        assert!(e.classification.counts_against_reader);
        assert_eq!(e.id, "Bounce:42");
        let v: Value = serde_json::from_str(r#"{"RecordType":"SpamComplaint","ID":43,"Type":"SpamComplaint","Email":"bo@example.net","BouncedAt":"2026-11-30T08:00:00Z"}"#).unwrap();
        let e = postmark(&v).unwrap();
        assert_eq!(e.classification.kind, Kind::Complaint);
        assert_eq!(e.classification.reason, Reason::Complaint);
    }

    #[test]
    fn reads_postmark_subscription_changes_by_their_reason() {
        let change = |suppress: bool, reason: &str, at: &str| {
            let v = serde_json::json!({"RecordType": "SubscriptionChange",
                "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ServerID": 23,
                "MessageStream": "outbound", "ChangedAt": at, "Recipient": "Ada@example.net",
                "Origin": "Recipient", "SuppressSending": suppress, "SuppressionReason": reason});
            postmark(&v).unwrap()
        };
        let e = change(true, "ManualSuppression", "2026-11-30T08:00:00Z");
        assert_eq!(e.classification.kind, Kind::Complaint);
        assert_eq!(e.classification.feedback_type.as_deref(), Some("opt-out"));
        assert_eq!(
            e.classification.recipient.as_deref(),
            Some("ada@example.net")
        );
        assert!(e.occurred.is_some());
        let e = change(true, "SpamComplaint", "2026-11-30T08:00:00Z");
        assert_eq!(e.classification.kind, Kind::Complaint);
        assert_eq!(e.classification.reason, Reason::Complaint);
        // The Bounce webhook carries the bounce; its suppression adds nothing.
        let e = change(true, "HardBounce", "2026-11-30T08:00:00Z");
        assert_eq!(e.classification.kind, Kind::Other);
        // A reactivation never unsubscribes anyone, and is another event than the suppression.
        let later = change(false, "ManualSuppression", "2026-12-01T08:00:00Z");
        assert_eq!(later.classification.kind, Kind::Other);
        assert_ne!(
            later.id,
            change(true, "ManualSuppression", "2026-11-30T08:00:00Z").id
        );
    }

    #[test]
    fn reads_postmark_dmarc_refusals_and_deliveries() {
        let v = serde_json::json!({"RecordType": "Bounce", "ID": 44, "Type": "DMARCPolicy",
            "Email": "cy@example.net", "Description": "DMARC policy rejection",
            "BouncedAt": "2026-11-30T08:00:00Z"});
        let e = postmark(&v).unwrap();
        assert_eq!(e.classification.kind, Kind::Hard);
        assert_eq!(e.classification.reason, Reason::AuthFailure);
        assert!(!e.classification.counts_against_reader);
        let v = serde_json::json!({"RecordType": "Delivery", "MessageID": "m-9",
            "Recipient": "cy@example.net", "DeliveredAt": "2026-11-30T08:00:00Z"});
        let e = postmark(&v).unwrap();
        assert_eq!(e.classification.kind, Kind::Other);
        assert!(e.occurred.is_some(), "a delivery is dated by DeliveredAt");
        assert_eq!(e.id, "Delivery:m-9");
    }

    #[test]
    fn provider_blocks_are_not_the_readers_fault_and_complaints_are() {
        let v = serde_json::json!([
            {"email": "ada@example.net", "timestamp": 1764489600, "event": "bounce", "type": "blocked",
             "status": "5.7.1", "reason": "550 5.7.1 Service unavailable; client host blocked using Spamhaus",
             "sg_event_id": "b1"},
            {"email": "bo@example.net", "timestamp": 1764489600, "event": "deferred",
             "response": "452 4.2.2 mailbox full", "sg_event_id": "b2"},
            {"email": "cy@example.net", "timestamp": 1764489600, "event": "dropped",
             "reason": "Bounced Address", "sg_event_id": "b3"},
            {"email": "di@example.net", "timestamp": 1764489600, "event": "unsubscribe",
             "sg_event_id": "b4"},
            {"email": "ed@example.net", "timestamp": 1764489600, "event": "open", "sg_event_id": "b5"}
        ]);
        let e = sendgrid(&v);
        let got: Vec<_> = e
            .iter()
            .map(|e| {
                (
                    e.classification.kind,
                    e.classification.counts_against_reader,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Kind::Hard, false),
                (Kind::Soft, true),
                (Kind::Hard, true),
                (Kind::Complaint, true),
                (Kind::Other, false)
            ]
        );
        assert_eq!(e[0].classification.reason, Reason::Blocked);
        assert_eq!(
            e[3].classification.feedback_type.as_deref(),
            Some("opt-out")
        );
        let mailgun_event = |data: Value| {
            mailgun(&serde_json::json!({"signature": {}, "event-data": data})).unwrap()
        };
        let e = mailgun_event(
            serde_json::json!({"id": "m1", "event": "failed", "severity": "permanent",
            "recipient": "ada@example.net", "timestamp": 1764489600.0,
            "delivery-status": {"code": 550, "enhanced-code": "5.7.1",
                "message": "5.7.1 Message rejected as spam"}}),
        );
        assert_eq!(e.classification.kind, Kind::Hard);
        assert!(!e.classification.counts_against_reader);
        let e = mailgun_event(serde_json::json!({"id": "m2", "event": "complained",
            "recipient": "bo@example.net", "timestamp": 1764489600.0,
            "message": {"headers": {"message-id": "issue-7@news.example.org"}}}));
        assert_eq!(e.classification.kind, Kind::Complaint);
        assert_eq!(e.classification.reason, Reason::Complaint);
        assert_eq!(
            e.classification.original_message_id.as_deref(),
            Some("issue-7@news.example.org")
        );
        let e = mailgun_event(serde_json::json!({"id": "m3", "event": "unsubscribed",
            "recipient": "cy@example.net", "timestamp": 1764489600.0}));
        assert_eq!(
            crate::bounces::record::effect(&e.classification),
            crate::store::Effect::Unsubscribe
        );
        assert!(
            mailgun(&serde_json::json!({"event-data": {"event": "failed"}})).is_none(),
            "no id"
        );
    }

    #[test]
    fn reads_sendgrid_and_mailgun_events() {
        let v: Value = serde_json::from_str(r#"[{"email":"ada@example.net","timestamp":1764489600,"event":"bounce","type":"bounce","status":"5.1.1","reason":"550 5.1.1 user unknown","sg_event_id":"ev1","smtp-id":"<m1@news.example.org>"},{"email":"bo@example.net","timestamp":1764489600,"event":"spamreport","sg_event_id":"ev2"}]"#).unwrap();
        let e = sendgrid(&v);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].classification.kind, Kind::Hard);
        assert_eq!(
            e[0].classification.original_message_id.as_deref(),
            Some("m1@news.example.org")
        );
        assert_eq!(e[1].classification.kind, Kind::Complaint);
        let v: Value = serde_json::from_str(r#"{"signature":{},"event-data":{"id":"mg1","event":"failed","severity":"temporary","recipient":"cy@example.net","timestamp":1764489600.5,"delivery-status":{"code":452,"message":"4.2.2 mailbox full"}}}"#).unwrap();
        let e = mailgun(&v).unwrap();
        assert_eq!(e.classification.kind, Kind::Soft);
        assert_eq!(e.classification.reason, Reason::MailboxFull);
        assert!(e.classification.counts_against_reader);
    }
}
