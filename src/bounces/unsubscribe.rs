//! Unsubscribe requests sent to a list's RFC 2369 `List-Unsubscribe` mailto address: mail
//! clients (Apple Mail, Gmail, ...) write them on the reader's behalf when they press
//! "Unsubscribe", with the subject or body `unsubscribe`. They are opt-out feedback, like an ARF
//! `opt-out` report, from the reader's own address.

use super::mail::Mail;
use super::text::first_address;

/// The requesting reader's address, when the message is an unsubscribe request.
pub fn requester(mail: &Mail) -> Option<Option<String>> {
    let h = &mail.headers;
    let flagged = h
        .get("x-apple-unsubscribe")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let asks = |s: &str| {
        let s = s
            .trim()
            .trim_start_matches("Re:")
            .trim()
            .to_ascii_lowercase();
        s == "unsubscribe" || s.starts_with("unsubscribe ") && s.len() < 60
    };
    let body_asks = mail
        .notification
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(asks);
    (flagged || asks(&mail.subject) || body_asks).then(|| h.get("from").and_then(first_address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_a_client_unsubscribe() {
        let mail = Mail::parse(
            b"From: Reader <Reader@Example.com>\r\nTo: unsubscribe+x@news.example.org\r\nSubject: Unsubscribe\r\n\r\nThis message was automatically generated.\r\n",
        );
        assert_eq!(requester(&mail), Some(Some("reader@example.com".into())));
        let reply = Mail::parse(
            b"From: a@example.com\r\nSubject: Re: news\r\n\r\nHow do I unsubscribe from this?\r\n",
        );
        assert_eq!(requester(&reply), None);
    }
}
