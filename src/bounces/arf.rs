//! RFC 5965 feedback reports (ARF): complaints a reader's provider forwards when they press
//! "spam", and RFC 6591 authentication-failure (DMARC forensic) reports.

use super::mail::{Headers, Mail};
use super::text::{first_address, unfold};

/// The fields of a `message/feedback-report` part that matter here.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// `abuse`, `auth-failure`, `fraud`, `not-spam`, `opt-out`, `virus`, `other`, lower-case.
    pub feedback_type: String,
    /// The complaining reader, when the report names them.
    pub recipient: Option<String>,
}

impl Report {
    /// A report a reader caused (a complaint) rather than one about our authentication.
    pub fn is_complaint(&self) -> bool {
        !matches!(self.feedback_type.as_str(), "auth-failure" | "not-spam")
    }
}

/// The feedback report of a message, if it carries one: a message/feedback-report part,
/// `Feedback-Type` fields in the text of a report whose MIME structure is broken, or a
/// multipart/report of report-type feedback-report whatever its fields say.
pub fn parse(mail: &Mail) -> Option<Report> {
    let declared = mail.report_type.as_deref() == Some("feedback-report");
    let fields = mail
        .sections_of("message/feedback-report")
        .map(|s| s.text.as_str())
        .find(|t| has_feedback_type(t))
        .or_else(|| {
            mail.sections
                .iter()
                .filter(|s| s.depth == 0 && s.ctype.starts_with("text/"))
                .map(|s| s.text.as_str())
                .find(|t| has_feedback_type(t))
        })
        .or_else(|| {
            let part = mail.sections_of("message/feedback-report").next();
            declared.then(|| part.map_or("", |s| s.text.as_str()))
        })?;
    let fields = Headers::parse(fields.as_bytes()).unwrap_or_default();
    let feedback_type = fields
        .get("feedback-type")
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("abuse")
        .to_ascii_lowercase();
    let redacted = fields.get("redacted-address").is_some();
    let recipient = fields
        .all("original-rcpt-to")
        .chain(fields.all("removal-recipient"))
        .find_map(first_address)
        .or_else(|| {
            let original = mail.originals.first()?;
            original
                .get("x-hmxmroriginalrecipient")
                .and_then(first_address)
                .or_else(|| {
                    (!redacted)
                        .then(|| sole_address(original.get("to")?))
                        .flatten()
                })
        });
    Some(Report {
        feedback_type,
        recipient,
    })
}

fn has_feedback_type(text: &str) -> bool {
    text.lines()
        .any(|l| l.len() > 14 && l.as_bytes()[..14].eq_ignore_ascii_case(b"feedback-type:"))
}

/// The address of a To field naming exactly one mailbox.
fn sole_address(to: &str) -> Option<String> {
    let to = unfold(to);
    let mut found = super::text::addresses(&to);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(fields: &str, original: &str) -> Option<Report> {
        let raw = format!(
            "From: fbl@isp.example\r\nTo: fbl@news.example.org\r\nSubject: report\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n\
             --b\r\nContent-Type: message/feedback-report\r\n\r\n{fields}\r\n\
             --b\r\nContent-Type: message/rfc822\r\n\r\n{original}\r\n--b--\r\n"
        );
        parse(&Mail::parse(raw.as_bytes()))
    }

    #[test]
    fn reads_the_complaining_reader() {
        let r = report(
            "Feedback-Type: abuse\r\nUser-Agent: x/1\r\nVersion: 1\r\n",
            "From: News <news@example.org>\r\nTo: <Reader@Example.net>\r\nSubject: hi\r\n\r\nbody",
        )
        .unwrap();
        assert_eq!(r.feedback_type, "abuse");
        assert_eq!(r.recipient.as_deref(), Some("reader@example.net"));
        assert!(r.is_complaint());
    }

    #[test]
    fn a_redacted_report_names_nobody() {
        let r = report(
            "Feedback-Type: abuse\r\nRedacted-Address: redacted\r\n",
            "From: news@example.org\r\nTo: redacted@example.net\r\n\r\nbody",
        )
        .unwrap();
        assert_eq!(r.recipient, None);
    }

    #[test]
    fn a_declared_report_without_fields_is_still_a_complaint() {
        let r = report(
            "User-Agent: x/1\r\n",
            "From: news@example.org\r\nTo: c@example.net\r\n\r\nbody",
        )
        .unwrap();
        assert_eq!(r.feedback_type, "abuse");
        assert_eq!(r.recipient.as_deref(), Some("c@example.net"));
    }

    #[test]
    fn auth_failure_is_not_a_complaint() {
        let r = report(
            "Feedback-Type: auth-failure\r\nOriginal-Rcpt-To: a@example.net\r\nAuth-Failure: dmarc\r\n",
            "From: news@example.org\r\nTo: b@example.net\r\n\r\nbody",
        )
        .unwrap();
        assert!(!r.is_complaint());
        assert_eq!(r.recipient.as_deref(), Some("a@example.net"));
    }
}
