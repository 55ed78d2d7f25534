//! RFC 3834 automatic responses (vacation and out-of-office replies), which are never bounces:
//! the `Auto-Submitted` field and the signs that responders used before and beside it.

use std::sync::LazyLock;

use regex::Regex;

use super::mail::Mail;

/// Subjects that vacation responders write, in the languages met most often.
static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(auto(matic|matische|matisch)?[ _-]?(reply|response|answer|antwort|antwoord)|autoreply|auto:|out of (the )?office|abwesenheit|absence|away from|vacation|urlaub|r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica|fuera de la oficina|自動応答|自動返信|自动回复)|(?-u:\b)(out of (the )?office|on vacation|auto-?reply|automatic reply|away until)(?-u:\b)",
    )
    .expect("static regex")
});

/// Body phrases of the usual away message.
static BODY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(out of (the )?office|on (vacation|holiday|leave)|away (from|until)|i am (currently )?away|limited access to (e-?mail|my e-?mail)|will (be back|return|respond)|returning (to the office )?on)(?-u:\b)",
    )
    .expect("static regex")
});

/// Header fields that only automatic responders set.
const RESPONDER_FIELDS: &[&str] = &[
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-vacation",
];

/// Whether a message that is not a bounce or a report is an automatic reply.
pub fn is_autoreply(mail: &Mail) -> bool {
    let h = &mail.headers;
    let auto_submitted = h
        .get("auto-submitted")
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.starts_with("no"));
    if auto_submitted
        .as_deref()
        .is_some_and(|v| v.starts_with("auto-replied"))
    {
        return true;
    }
    let precedence = h
        .all("precedence")
        .chain(h.all("x-precedence"))
        .any(|v| v.trim().eq_ignore_ascii_case("auto_reply"));
    if precedence || RESPONDER_FIELDS.iter().any(|f| h.get(f).is_some()) {
        return true;
    }
    if SUBJECT.is_match(&mail.subject) {
        return true;
    }
    let automatic = auto_submitted.is_some() || h.get("x-auto-response-suppress").is_some();
    automatic && BODY.is_match(&mail.notification)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str, body: &str) -> Mail {
        Mail::parse(format!("From: ada@example.net\r\n{headers}\r\n\r\n{body}").as_bytes())
    }

    #[test]
    fn sees_responders() {
        assert!(is_autoreply(&mail(
            "Auto-Submitted: auto-replied\r\nSubject: Re: news",
            "x"
        )));
        assert!(is_autoreply(&mail("Subject: Automatic reply: news", "x")));
        assert!(is_autoreply(&mail(
            "Subject: Re: news\r\nX-Autoreply: yes",
            "x"
        )));
        assert!(is_autoreply(&mail(
            "Subject: news\r\nAuto-Submitted: auto-generated",
            "I am out of the office until Monday."
        )));
        assert!(!is_autoreply(&mail(
            "Subject: Re: news",
            "Thanks, great issue!"
        )));
        assert!(!is_autoreply(&mail(
            "Subject: Re: news\r\nAuto-Submitted: no",
            "I will be back on Monday."
        )));
    }
}
