//! Amazon SES notifications: the JSON that SES publishes for a bounce, complaint or delivery
//! (`notificationType`, or `eventType` for event publishing), as it arrives in a mail from an
//! SNS e-mail subscription — the same document the SES webhook will receive.

use serde_json::Value;

use super::mail::Mail;
use super::reason::{self, Reason};
use super::text::{enhanced_code, normalize};
use super::{Classification, Kind};

/// The notification in a message's text, if there is one.
pub fn parse(mail: &Mail) -> Option<Classification> {
    mail.sections
        .iter()
        .filter(|s| s.depth == 0 && s.ctype.starts_with("text/"))
        .filter(|s| s.text.contains("\"notificationType\"") || s.text.contains("\"eventType\""))
        .find_map(|s| first_json(&s.text))
        .and_then(|v| from_notification(&v))
}

/// Reads one SES notification document (or an SNS envelope whose `Message` holds one).
pub fn from_notification(value: &Value) -> Option<Classification> {
    if let Some(inner) = value.get("Message").and_then(Value::as_str) {
        return from_notification(&first_json(inner)?);
    }
    let kind = value
        .get("notificationType")
        .or_else(|| value.get("eventType"))
        .and_then(Value::as_str)?;
    let mut c = match kind {
        "Bounce" => bounce(value.get("bounce")?),
        "Complaint" => complaint(value.get("complaint")?),
        "Delivery" => {
            let mut c = Classification::new(Kind::Other, Reason::Delivered);
            c.recipient = first_recipient(value.get("delivery")?.get("recipients")?);
            c
        }
        _ => return None,
    };
    let mail = value.get("mail");
    c.original_message_id = mail
        .and_then(|m| m.pointer("/commonHeaders/messageId"))
        .and_then(Value::as_str)
        .map(|id| id.trim_matches(['<', '>', ' ']).to_string());
    c.x_gazette_delivery = mail
        .and_then(|m| m.get("headers"))
        .and_then(Value::as_array)
        .and_then(|headers| {
            headers.iter().find_map(|h| {
                let name = h.get("name")?.as_str()?;
                name.eq_ignore_ascii_case("x-gazette-delivery")
                    .then(|| h.get("value")?.as_str().map(|v| v.trim().to_string()))
                    .flatten()
            })
        });
    Some(c)
}

fn bounce(b: &Value) -> Classification {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let first = b
        .get("bouncedRecipients")
        .and_then(Value::as_array)
        .and_then(|r| r.first());
    let diagnostic = first.and_then(|r| text(r, "diagnosticCode"));
    let status = first
        .and_then(|r| text(r, "status"))
        .and_then(|s| enhanced_code(&s).map(String::from))
        .or_else(|| {
            diagnostic
                .as_deref()
                .and_then(enhanced_code)
                .map(String::from)
        });
    let by_subtype = match b.get("bounceSubType").and_then(Value::as_str) {
        Some("NoEmail") => Some(Reason::UserUnknown),
        Some("MailboxFull") => Some(Reason::MailboxFull),
        Some("MessageTooLarge") => Some(Reason::MessageTooLarge),
        Some("ContentRejected" | "AttachmentRejected") => Some(Reason::Spam),
        _ => None,
    };
    let reason = by_subtype
        .or_else(|| diagnostic.as_deref().and_then(reason::from_text))
        .or_else(|| status.as_deref().and_then(reason::from_status))
        .unwrap_or(Reason::Unknown);
    let kind = match b.get("bounceType").and_then(Value::as_str) {
        Some("Permanent") => Kind::Hard,
        _ => Kind::Soft,
    };
    Classification {
        recipient: b.get("bouncedRecipients").and_then(first_recipient),
        status,
        counts_against_reader: reason.is_recipient_fault(),
        diagnostic,
        ..Classification::new(kind, reason)
    }
}

fn complaint(c: &Value) -> Classification {
    let feedback = c
        .get("complaintFeedbackType")
        .and_then(Value::as_str)
        .unwrap_or("abuse")
        .to_ascii_lowercase();
    let (reason, counts) = if feedback == "auth-failure" {
        (Reason::AuthFailure, false)
    } else {
        (Reason::Complaint, feedback != "not-spam")
    };
    Classification {
        recipient: c.get("complainedRecipients").and_then(first_recipient),
        counts_against_reader: counts,
        feedback_type: Some(feedback),
        ..Classification::new(Kind::Complaint, reason)
    }
}

fn first_recipient(list: &Value) -> Option<String> {
    let first = list.as_array()?.first()?;
    let addr = first
        .get("emailAddress")
        .and_then(Value::as_str)
        .or_else(|| first.as_str())?;
    super::text::first_address(addr).or_else(|| normalize(addr))
}

/// The first JSON object in text (after any preamble), ignoring what follows it.
fn first_json(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    serde_json::Deserializer::from_str(&text[start..])
        .into_iter::<Value>()
        .next()?
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_permanent_bounce() {
        let v: Value = serde_json::from_str(
            r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
            "bouncedRecipients":[{"emailAddress":"Ada@Example.net","action":"failed","status":"5.1.1",
            "diagnosticCode":"smtp; 550 5.1.1 user unknown"}]},
            "mail":{"messageId":"x","headers":[{"name":"X-Gazette-Delivery","value":"7.42"}],
            "commonHeaders":{"messageId":"<issue-7@news.example.org>"}}}"#,
        )
        .unwrap();
        let c = from_notification(&v).unwrap();
        assert_eq!(c.kind, Kind::Hard);
        assert_eq!(c.recipient.as_deref(), Some("ada@example.net"));
        assert_eq!(c.status.as_deref(), Some("5.1.1"));
        assert_eq!(c.reason, Reason::UserUnknown);
        assert!(c.counts_against_reader);
        assert_eq!(c.x_gazette_delivery.as_deref(), Some("7.42"));
        assert_eq!(
            c.original_message_id.as_deref(),
            Some("issue-7@news.example.org")
        );
    }

    #[test]
    fn reads_a_complaint_inside_an_sns_envelope() {
        let inner = r#"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"bob@example.com"}],"complaintFeedbackType":"abuse"},"mail":{}}"#;
        let v = serde_json::json!({"Type": "Notification", "Message": inner});
        let c = from_notification(&v).unwrap();
        assert_eq!(c.kind, Kind::Complaint);
        assert_eq!(c.recipient.as_deref(), Some("bob@example.com"));
        assert!(c.counts_against_reader);
    }
}
