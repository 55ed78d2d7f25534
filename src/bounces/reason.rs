//! Why a delivery failed: the reason read from a server's words (Diagnostic-Code, the
//! notification text), else from the RFC 3463 status code; and the kind that follows from it.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::text::class;
use super::Kind;

/// The cause of a bounce, or what a non-bounce is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The address does not exist (also: moved, syntax the server refuses).
    UserUnknown,
    /// The mailbox exists but is disabled, suspended or inactive.
    MailboxDisabled,
    /// The recipient's domain does not exist or takes no mail.
    HostUnknown,
    /// The mailbox is full (soft).
    MailboxFull,
    /// Our message is over the recipient's size limit.
    MessageTooLarge,
    /// Retried until the queue lifetime ran out, or timed out (soft).
    Expired,
    /// DNS trouble, loops, dropped connections (soft).
    NetworkError,
    /// Rate limits, too many connections (soft).
    Throttled,
    /// The receiving system failed or was unavailable (soft).
    SystemError,
    /// Still being retried: a delay warning (soft).
    Delayed,
    /// Our sending host or IP is on a block list or has a poor reputation.
    Blocked,
    /// Our message was judged spam, or its content was refused.
    Spam,
    /// Refused by the receiver's policy.
    Policy,
    /// SPF, DKIM, DMARC or reverse-DNS checks failed.
    AuthFailure,
    /// Our envelope sender was refused.
    SenderRejected,
    /// The receiving server will not relay for us.
    RelayDenied,
    /// A feedback report (ARF) from a reader or their provider.
    Complaint,
    /// A reader's mail client asking to unsubscribe through the List-Unsubscribe mailto
    /// address (kind complaint, feedback type opt-out): unsubscribe rather than suppress.
    Unsubscribe,
    /// An automatic reply (vacation, out of office).
    AutoReply,
    /// A success report (DSN Action: delivered, relayed, expanded).
    Delivered,
    /// Not a bounce, or no cause could be read.
    Unknown,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 21] = [
        Reason::UserUnknown,
        Reason::MailboxDisabled,
        Reason::HostUnknown,
        Reason::MailboxFull,
        Reason::MessageTooLarge,
        Reason::Expired,
        Reason::NetworkError,
        Reason::Throttled,
        Reason::SystemError,
        Reason::Delayed,
        Reason::Blocked,
        Reason::Spam,
        Reason::Policy,
        Reason::AuthFailure,
        Reason::SenderRejected,
        Reason::RelayDenied,
        Reason::Complaint,
        Reason::Unsubscribe,
        Reason::AutoReply,
        Reason::Delivered,
        Reason::Unknown,
    ];

    /// The short label printed in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::UserUnknown => "user unknown",
            Reason::MailboxDisabled => "mailbox disabled",
            Reason::HostUnknown => "domain unknown",
            Reason::MailboxFull => "mailbox full",
            Reason::MessageTooLarge => "message too large",
            Reason::Expired => "expired",
            Reason::NetworkError => "network error",
            Reason::Throttled => "rate limited",
            Reason::SystemError => "system error",
            Reason::Delayed => "delayed",
            Reason::Blocked => "blocked",
            Reason::Spam => "blocked as spam",
            Reason::Policy => "policy",
            Reason::AuthFailure => "auth failure",
            Reason::SenderRejected => "sender rejected",
            Reason::RelayDenied => "relaying denied",
            Reason::Complaint => "complaint",
            Reason::Unsubscribe => "unsubscribe request",
            Reason::AutoReply => "auto-reply",
            Reason::Delivered => "delivered",
            Reason::Unknown => "unknown",
        }
    }

    /// The reader's own mailbox is at fault: these count towards `bouncing`.
    pub fn is_recipient_fault(self) -> bool {
        matches!(
            self,
            Reason::UserUnknown
                | Reason::MailboxDisabled
                | Reason::HostUnknown
                | Reason::MailboxFull
        )
    }

    /// The kind this reason implies regardless of the status code, if any.
    fn kind(self) -> Option<Kind> {
        match self {
            Reason::MailboxFull
            | Reason::Expired
            | Reason::NetworkError
            | Reason::Throttled
            | Reason::SystemError
            | Reason::Delayed => Some(Kind::Soft),
            Reason::UserUnknown
            | Reason::MailboxDisabled
            | Reason::HostUnknown
            | Reason::RelayDenied => Some(Kind::Hard),
            _ => None,
        }
    }
}

/// Serialized as its label ("user unknown"), as the CLI prints it.
impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::str::FromStr for Reason {
    type Err = String;

    /// The inverse of [`Reason::as_str`] (for values read back from the store).
    fn from_str(s: &str) -> Result<Reason, String> {
        Reason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown bounce reason {s:?}"))
    }
}

/// Patterns in priority order: the first reason whose pattern matches the lower-cased text wins.
/// The order settles texts that say two things ("out of storage space and inactive" is full,
/// "DMARC ... service unavailable" is authentication, "service unavailable; client host blocked
/// using Spamhaus" is a block, not a system error).
static PATTERNS: LazyLock<Vec<(Reason, Regex)>> = LazyLock::new(|| {
    let table: &[(Reason, &str)] = &[
        (
            Reason::MailboxFull,
            r"mailbox (is )?full|over ?quota|quota (exceeded|exceed|full)|exceed(s|ed)? (the |its )?(allowed |storage |mailbox |disk )*(size|quota|storage)|out of (storage|disk space)|insufficient (disk )?(space|storage)|(mailbox|inbox|storage) (size )?limit|storage space|full mailbox|(inbox|mailbox) is (too )?full|too much mail|not enough (disk )?space|mailbox.{0,20}exceed",
        ),
        (
            Reason::AuthFailure,
            r"dmarc|(?-u:\b)spf(?-u:\b)|(?-u:\b)dkim(?-u:\b)|unauthenticated|authentication (level|check|failure|failed|required)|not (pass|meet).{0,60}authenticat|reverse dns|(?-u:\b)ptr(?-u:\b)|rdns",
        ),
        (
            Reason::Throttled,
            r"too many (connections|messages|recipients|concurrent|sessions|mails)|frequency limit|rate.?limit|throttl|unexpected volume|exceeded.{0,30}(rate|limit)|sending quota",
        ),
        (
            Reason::SenderRejected,
            r"sender (address |domain )?(rejected|refused|denied|blocked|verify failed|not allowed|invalid)|(envelope.)?sender .{0,30}(does not exist|not found|unknown)|mail from.{0,40}(rejected|refused)",
        ),
        (
            Reason::RelayDenied,
            r"relay(ing)? (access )?(denied|not permitted|prohibited|not allowed)|no relaying|unable to relay|not allowed to relay|we do not relay|relay not permitted",
        ),
        (
            Reason::MailboxDisabled,
            r"disabled|deactivated|inactive|suspended|account (is |has been )?(blocked|locked|closed|frozen|expired)|expired account|no longer (active|in use)",
        ),
        (
            Reason::HostUnknown,
            r"host (or domain name )?not found|host \S+ not found|domain (does not|doesn't|did not) exist|no such domain|unknown (host|domain)|(host|domain) unknown|domain (name )?not found|unrouteable (mail )?domain|(?-u:\b)null mx(?-u:\b)|(?-u:\b)nxdomain(?-u:\b)|name or service not known|host name lookup failure|domain (is )?(invalid|not valid)|bad destination system",
        ),
        (
            Reason::MessageTooLarge,
            r"message (is )?too (large|big)|message size exceeds|exceeds (the )?(maximum|max)(imum)? (allowed )?(message )?size|message length exceeds|size limit exceeded",
        ),
        (
            Reason::Expired,
            r"(?-u:\b)expired(?-u:\b)|for too long|retry time|(\d+|repeated) attempts|for (the )?(past|last) [0-9.]+ (hours|days)|timed? ?out|not reachable|unreachable|connection refused|no route to host|could not be delivered within",
        ),
        (
            Reason::NetworkError,
            r"name service error|dns (error|failure|problem)|malformed|mail loop|routing loop|loop detected|hop count|too many hops|network error|connection (reset|closed|lost|dropped)|lost connection",
        ),
        (
            Reason::UserUnknown,
            r"user unknown|unknown (user|recipient|address|local.part|mailbox)|recipient unknown|addressee unknown|no such (user|recipient|mailbox|address|account|person)|(user|mailbox|recipient|address|account|addressee|userid)s?.{0,30}(does not|doesn't|did not|may not) exist|not exist|(not|n't) (a )?(valid|known) (user|recipient|mailbox|address|account)|invalid (recipient|user|mailbox|address|final delivery|e-?mail)|(user|recipient|mailbox|address) (not found|unknown|invalid)|mailbox (not found|unavailable)|no mailbox|not recognized|unrecognized (user|recipient|address)|bad recipient|no longer (on server|exists|here|valid)|(was|wasn't|was not|not) found at|has moved|undeliverable address|(doesn't|does not) have (a|an) .{0,30}account|not listed in|no such|unknown or illegal alias",
        ),
        (
            Reason::Blocked,
            r"blocked|black.?list|block.?list|listed (in|on|at|by)|spamhaus|spamcop|(?-u:\b)rbl(?-u:\b)|dnsbl|reputation|banned|client host .{0,40}(rejected|refused)",
        ),
        (
            Reason::SystemError,
            r"system error|service (is )?(currently |temporarily )?(unavailable|not available)|service refused|try (again )?later|temporar(y|ily) (failure|error|unavailable|problem|rejected)|local error|internal (server )?error|insufficient system|server (is )?busy|i/o error|out of memory",
        ),
        (
            Reason::Spam,
            r"spam|junk|content (rejected|filter)|message content|virus|malware|phishing|unsolicited|bulk mail|suspicious|url in message",
        ),
        (
            Reason::Policy,
            r"policy|compliant|access denied|permission|not (permitted|allowed|authorized)|prohibited|administrative|restricted|preferences|header error|forbidden|refused|rejected",
        ),
    ];
    table
        .iter()
        .map(|(reason, pattern)| (*reason, Regex::new(pattern).expect("static regex")))
        .collect()
});

/// The reason a server's words give, if any pattern matches.
pub fn from_text(text: &str) -> Option<Reason> {
    if text.trim().is_empty() {
        return None;
    }
    let lower = text.to_lowercase();
    PATTERNS
        .iter()
        .find(|(_, re)| re.is_match(&lower))
        .map(|(reason, _)| *reason)
}

/// The reason an RFC 3463 status code gives on its own (subject and detail).
pub fn from_status(status: &str) -> Option<Reason> {
    let mut parts = status.splitn(3, '.');
    let (_, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    Some(match (subject, detail) {
        ("1", "1" | "3" | "6") => Reason::UserUnknown,
        ("1", "2" | "10") => Reason::HostUnknown,
        ("1", "7" | "8") => Reason::SenderRejected,
        ("2", "1") => Reason::MailboxDisabled,
        ("2", "2") => Reason::MailboxFull,
        ("2", "3") | ("3", "4") => Reason::MessageTooLarge,
        ("3", _) => Reason::SystemError,
        ("4", "1" | "2" | "7") => Reason::Expired,
        ("4", "3" | "6") => Reason::NetworkError,
        ("4", "4") => Reason::HostUnknown,
        ("4", "5") => Reason::Throttled,
        ("7", "1") => Reason::Policy,
        ("7", "23" | "24" | "25" | "26" | "27") => Reason::AuthFailure,
        ("7", _) => Reason::Policy,
        _ => return None,
    })
}

/// The kind of a failure: the reason decides when it implies one (a full mailbox is soft even
/// when the server said 5.x.x; an unknown user is hard), otherwise the class of the status
/// code, then of the SMTP reply code; a failure that says nothing more is hard.
pub fn kind(reason: Reason, status: Option<&str>, reply: Option<u16>) -> Kind {
    if let Some(kind) = reason.kind() {
        return kind;
    }
    let by_class = |c: u8| match c {
        4 => Some(Kind::Soft),
        5 => Some(Kind::Hard),
        _ => None,
    };
    status
        .and_then(class)
        .and_then(by_class)
        .or_else(|| reply.and_then(|r| by_class((r / 100) as u8)))
        .unwrap_or(Kind::Hard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_reasons_in_priority_order() {
        let r = |t: &str| from_text(t);
        assert_eq!(
            r("552 5.2.2 The recipient's inbox is out of storage space and inactive"),
            Some(Reason::MailboxFull)
        );
        assert_eq!(
            r("550 5.1.1 <a@b.jp>... User Unknown"),
            Some(Reason::UserUnknown)
        );
        assert_eq!(
            r("550 5.7.26 Unauthenticated email ... DMARC policy"),
            Some(Reason::AuthFailure)
        );
        assert_eq!(
            r("DNS lookup failure: host cx.example.org not found"),
            Some(Reason::HostUnknown)
        );
        assert_eq!(
            r("Name service error for name=example.org type=MX: Malformed or unexpected name server reply"),
            Some(Reason::NetworkError)
        );
        assert_eq!(
            r("550 Ip frequency limited, Blocked IP"),
            Some(Reason::Throttled)
        );
        assert_eq!(
            r("550 5.7.1 Client host blocked using Spamhaus"),
            Some(Reason::Blocked)
        );
        assert_eq!(r("nothing to see"), None);
    }

    #[test]
    fn labels_read_back() {
        for r in Reason::ALL {
            assert_eq!(r.as_str().parse::<Reason>(), Ok(r));
        }
    }

    #[test]
    fn kind_follows_reason_then_status() {
        assert_eq!(
            kind(Reason::MailboxFull, Some("5.2.2"), Some(552)),
            Kind::Soft
        );
        assert_eq!(kind(Reason::Blocked, Some("4.0.0"), Some(550)), Kind::Soft);
        assert_eq!(kind(Reason::Policy, Some("5.7.1"), None), Kind::Hard);
        assert_eq!(kind(Reason::Unknown, None, Some(421)), Kind::Soft);
        assert_eq!(kind(Reason::Unknown, None, None), Kind::Hard);
    }
}
