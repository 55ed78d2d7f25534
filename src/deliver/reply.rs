//! What a negative SMTP reply says about whose fault it is, read from its enhanced status code
//! (RFC 3463: `class.subject.detail`), else from its basic code. Only recipient faults count
//! against a subscriber; policy, content and size refusals are the sender's to fix, and a full
//! mailbox is worth another try.

/// Whose problem a refusal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The address is bad: unknown user or domain, disabled mailbox (5.1.x, 5.2.1; a bare 550,
    /// 551 or 553). Counts against the subscriber.
    Recipient,
    /// The mailbox is full (x.2.2, 552): a soft failure, tried again later.
    MailboxFull,
    /// Refused because of the message or the sender: policy, spam, authentication (5.7.x),
    /// size (5.3.4), content (5.6.x). Never the subscriber's doing; tried again, and a run of
    /// them stops the issue with an alert.
    Sender,
    /// Anything else permanent (5.5.x protocol, 5.4.x routing, 5.3.x system, 554 with no
    /// detail): failed, not counted.
    Other,
}

/// The enhanced status code in a reply, e.g. `5.1.1`.
pub fn enhanced_code(reply: &str) -> Option<(u8, u16, u16)> {
    reply
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ':' | ',' | ';' | '<'))
        .find_map(|w| {
            let mut parts = w.trim_end_matches('.').split('.');
            let class: u8 = parts.next()?.parse().ok()?;
            let subject: u16 = parts.next()?.parse().ok()?;
            let detail: u16 = parts.next()?.parse().ok()?;
            (parts.next().is_none() && matches!(class, 2 | 4 | 5) && subject < 10 && detail < 1000)
                .then_some((class, subject, detail))
        })
}

/// The three-digit basic reply code, e.g. 550.
pub fn basic_code(reply: &str) -> Option<u16> {
    reply
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 3 && matches!(w.as_bytes()[0], b'2'..=b'5'))
        .and_then(|w| w.parse().ok())
}

/// Whose fault a permanent (5xx) refusal is.
pub fn fault(reply: &str) -> Fault {
    match enhanced_code(reply) {
        Some((_, 1, _)) | Some((_, 2, 1)) => Fault::Recipient,
        Some((_, 2, 2)) => Fault::MailboxFull,
        Some((_, 7, _)) | Some((_, 6, _)) | Some((_, 3, 4)) | Some((_, 2, 3)) => Fault::Sender,
        Some(_) => Fault::Other,
        None => match basic_code(reply) {
            Some(550 | 551 | 553) => Fault::Recipient,
            Some(552) => Fault::MailboxFull,
            _ => Fault::Other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_codes_decide_whose_fault_it_is() {
        let f = |s| fault(s);
        assert_eq!(
            f("permanent error (550): 5.1.1 <b@x.org>: Recipient address rejected: User unknown"),
            Fault::Recipient
        );
        assert_eq!(f("550 5.2.1 mailbox disabled"), Fault::Recipient);
        assert_eq!(f("552 5.2.2 mailbox full"), Fault::MailboxFull);
        assert_eq!(
            f("permanent error (550): 5.7.1 Message rejected as spam"),
            Fault::Sender
        );
        assert_eq!(f("552 5.3.4 message too big"), Fault::Sender);
        assert_eq!(f("550 5.7.26 DMARC policy"), Fault::Sender);
        assert_eq!(f("554 5.5.0 protocol"), Fault::Other);
        // Without an enhanced code, the basic code.
        assert_eq!(f("550 no such user here"), Fault::Recipient);
        assert_eq!(f("554 transaction failed"), Fault::Other);
        assert_eq!(f("552 over quota"), Fault::MailboxFull);
    }

    #[test]
    fn codes_are_found_in_lettre_error_texts() {
        assert_eq!(
            enhanced_code("permanent error (550): 5.1.1 <b@x>: unknown"),
            Some((5, 1, 1))
        );
        assert_eq!(enhanced_code("version 1.2.3 of x"), None);
        assert_eq!(basic_code("permanent error (550): no"), Some(550));
        assert_eq!(
            enhanced_code("550 5.7.26 Unauthenticated"),
            Some((5, 7, 26))
        );
    }
}
