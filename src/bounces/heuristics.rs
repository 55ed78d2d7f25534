//! Bounces that are not RFC 3464 reports (Exim, qmail, Exchange 2003, Gmail's old text DSNs,
//! IMail, Courier's text, appliances...): is this a bounce, and which address failed. The rules
//! are MTA-generic — who sent it, what its subject and text say, where an address sits in the
//! text — not keyed to any one MTA's wording.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use super::mail::Mail;
use super::text::{address_spans, addresses};

fn re(s: &str) -> Regex {
    Regex::new(s).expect("static regex")
}

/// Who sends bounces: the mailer daemon, the postmaster, a "mail delivery system", nobody (<>).
static DAEMON: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)mailer.?daemon|post.?master|mail.?delivery|delivery.?(status|subsystem|system)|mail.?administrator|system administrator|mail.?system|(?-u:\b)daemon(?-u:\b)|^\s*<?>?\s*$",
    )
});

static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)undeliver|undelivered|not delivered|non.?deliver|delivery (status|failure|failed|notification|problem|report|error|has failed|delayed|warning)|returned mail|returning message|return(ed|ing) to sender|mail delivery|(?-u:\b)fail(ed|ure)(?-u:\b)|failure notice|could not (be )?(delivered|send)|mail system error|error sending|delayed mail|message delivery|bounced?(?-u:\b)|unzustellbar|non remis|no entregado|rejected",
    )
});

static FAILURE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(could ?not|couldn't|cannot|can't|was not|wasn't|not able to) (be )?(delivered|deliver|sent|send|reach)|not (be )?delivered|undeliverable|undelivered|delivery (has )?failed|delivery to the following|failed permanently|permanent (fatal )?error|did not reach|unable to deliver|following (address|recipient)|rejected your message|error (occurred )?(while|when) (trying to )?deliver|error delivering|trouble delivering|delivery (problems|errors)|has been delayed|non.?delivery|failed to deliver|return(ed|ing) to sender|failed (address|recipient)|not relayed|an error has occurred|delivery status notification|message (was )?(rejected|refused)|mail(box)? (is )?unavailable|no such (user|mailbox|recipient|address)|invalid (user|recipient|address|mailbox)|user unknown|unknown user|does not exist",
    )
});

/// Delay warnings: the message is still queued.
static DELAY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?-u:\b)delay(ed)?(?-u:\b)|warning message only|will be retried|still (being )?(retried|trying)|will (keep|continue) (trying|to try)|not yet been delivered|(do not|don't|no) need to re-?send|temporary failure report",
    )
});

/// Words on a line that say something failed there.
static TROUBLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)fail|error|unknown|reject|refus|undeliver|deliver|unable|invalid|exist|rcpt|recipient|could not|no such|denied|disabled|quota|full|expired|timed out|unreachable|problem|[45][0-9][0-9]",
    )
});

/// Words on a line that name the sender, a helper or a header rather than the failed address.
static NOT_RECIPIENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?-u:\b)from(?-u:\b)|sender|reply-to|return-path|envelope-from|send mail to|contact|hello|dear|message-id",
    )
});

/// The header lines that start a list of failed addresses ("The following addresses failed:").
static LIST_HEAD: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)following|recipient|address"));

/// What the headers and text say about a message being a bounce.
#[derive(Debug, Default)]
pub struct Signals {
    /// From the mailer daemon, the postmaster, a mail delivery system.
    pub daemon_sender: bool,
    /// Return-Path `<>`: sent with the null envelope sender, as bounces are.
    pub null_sender: bool,
    /// Auto-Submitted other than `no`.
    pub automatic: bool,
    /// An original message is attached or quoted.
    pub returns_original: bool,
    /// List-Id, List-Unsubscribe or Precedence: bulk/list: a mailing, not a notification.
    pub bulk: bool,
    pub bounce_subject: bool,
    pub failure_text: bool,
    pub delay_text: bool,
    /// Addresses of `X-Failed-Recipients` (Exim, Gmail).
    pub failed_header: Vec<String>,
}

impl Signals {
    pub fn read(mail: &Mail) -> Signals {
        let h = &mail.headers;
        let failed_header = h.all("x-failed-recipients").flat_map(addresses).collect();
        let head = prefix(&mail.notification, 4000);
        let precedence = h.all("precedence").any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p == "bulk" || p == "list"
        });
        Signals {
            daemon_sender: DAEMON.is_match(h.get("from").unwrap_or("")),
            null_sender: h.all("return-path").any(|r| {
                r.trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
                    .is_empty()
            }),
            automatic: h
                .get("auto-submitted")
                .is_some_and(|v| !v.trim().to_ascii_lowercase().starts_with("no")),
            returns_original: !mail.originals.is_empty(),
            bulk: precedence || h.get("list-id").is_some() || h.get("list-unsubscribe").is_some(),
            bounce_subject: SUBJECT.is_match(&mail.subject),
            failure_text: FAILURE.is_match(head),
            delay_text: DELAY.is_match(&mail.subject)
                || DELAY.is_match(prefix(&mail.notification, 1500)),
            failed_header,
        }
    }

    /// Marks only a mail system puts on a message: the daemon as sender, a bounce subject,
    /// X-Failed-Recipients.
    pub fn is_strong(&self) -> bool {
        self.daemon_sender || self.bounce_subject || !self.failed_header.is_empty()
    }

    /// A bounce without a DSN: X-Failed-Recipients, or a subject or text about a failed
    /// delivery from something that behaves like a mail system (the daemon as sender, the null
    /// envelope sender, an automatic message returning an original) and not like a mailing.
    pub fn is_bounce(&self) -> bool {
        if !self.failed_header.is_empty() {
            return true;
        }
        if !(self.bounce_subject || self.failure_text) {
            return false;
        }
        let points = 2 * i32::from(self.daemon_sender)
            + 2 * i32::from(self.null_sender)
            + i32::from(self.automatic)
            + i32::from(self.returns_original)
            + i32::from(self.bounce_subject)
            + i32::from(self.failure_text)
            - 2 * i32::from(self.bulk);
        points >= 3
    }
}

/// At most the first `n` bytes of `s`, cut at a character boundary.
fn prefix(s: &str, n: usize) -> &str {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Addresses that are known not to be (or unlikely to be) the failed recipient.
#[derive(Debug, Default)]
pub struct Known {
    /// The bounce's own sender and receiver (the sender of the returned message) and the
    /// original's sender fields: unlikely, so they lose points rather than being ruled out.
    pub senders: HashSet<String>,
    /// Message-IDs, which look like addresses: ruled out.
    pub ids: HashSet<String>,
}

impl Known {
    pub fn read(mail: &Mail) -> Known {
        const OWN: &[&str] = &["from", "to", "cc", "reply-to", "sender", "return-path"];
        const ORIGINAL: &[&str] = &["from", "sender", "reply-to", "return-path", "errors-to"];
        const IDS: &[&str] = &["message-id", "in-reply-to", "references"];
        let mut known = Known::default();
        let headers = std::iter::once(&mail.headers).chain(&mail.originals);
        for (i, h) in headers.enumerate() {
            let senders = if i == 0 { OWN } else { ORIGINAL };
            for name in senders {
                known.senders.extend(h.all(name).flat_map(addresses));
            }
            for name in IDS {
                known.ids.extend(h.all(name).flat_map(addresses));
            }
        }
        for section in mail.sections_of("message/delivery-status") {
            for line in section.text.lines() {
                let sender = line
                    .split_once(':')
                    .is_some_and(|(name, _)| name.to_ascii_lowercase().ends_with("-sender"));
                if sender {
                    known.senders.extend(addresses(line));
                }
            }
        }
        known
    }
}

/// The failed address of a non-standard bounce: every address in the notification scored by
/// where it sits (alone on a line, at the start of one, under a "following recipients" line,
/// beside failure words), plus X-Failed-Recipients and the returned original's To; known
/// senders lose points, Message-IDs are never taken.
pub fn failed_recipient(mail: &Mail, signals: &Signals, known: &Known) -> Option<String> {
    let mut scores: HashMap<String, (i32, usize)> = HashMap::new();
    let mut add = |addr: String, points: i32| {
        if known.ids.contains(&addr) {
            return;
        }
        let penalty = if known.senders.contains(&addr) { 10 } else { 0 };
        let next = scores.len();
        let entry = scores.entry(addr).or_insert((0, next));
        entry.0 += points - penalty;
    };
    let lines: Vec<&str> = mail.notification.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let found: Vec<(usize, String)> = address_spans(line).collect();
        if found.is_empty() {
            continue;
        }
        let context = line_score(line, &lines[..i]);
        for (at, addr) in found {
            add(addr, context + cue_score(&line[..at]));
        }
    }
    for addr in &signals.failed_header {
        add(addr.clone(), 12);
    }
    if let Some(original) = mail.originals.first() {
        let to: Vec<String> = original.all("to").flat_map(addresses).collect();
        if to.len() == 1 {
            add(to[0].clone(), 3);
        }
        for received in original.all("received") {
            if let Some((_, rest)) = received.split_once(" for ") {
                if let Some(addr) = addresses(rest).next() {
                    add(addr, 2);
                }
            }
        }
    }
    scores
        .into_iter()
        .filter(|(_, (score, _))| *score > 0)
        .max_by_key(|(_, (score, order))| (*score, std::cmp::Reverse(*order)))
        .map(|(addr, _)| addr)
}

/// Points for every address on `line`, given the lines before it: a line that is little more
/// than the address, failure words on it, a "following recipients" line above it.
fn line_score(line: &str, before: &[&str]) -> i32 {
    let mut score = 2;
    let rest = addresses_removed(line);
    if rest.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
        score += 6;
    }
    if TROUBLE.is_match(&rest) {
        score += 4;
    }
    let previous = before.iter().rev().filter(|l| !l.trim().is_empty()).take(2);
    if previous
        .into_iter()
        .any(|l| LIST_HEAD.is_match(l) && TROUBLE.is_match(l))
    {
        score += 4;
    }
    score
}

/// Points for one address from the text before it on its line: first on the line (after
/// list marks and brackets) gains, a sender or helper cue right before it loses.
fn cue_score(before: &str) -> i32 {
    let lead = before.trim_start_matches(|c: char| c.is_whitespace() || "<\"'*->".contains(c));
    if lead.is_empty() {
        return 6;
    }
    let near = suffix(before, 30);
    let mut score = 0;
    if NOT_RECIPIENT.is_match(near) {
        score -= 8;
    }
    if lead.to_ascii_lowercase().starts_with("to:") {
        score -= 4;
    }
    score
}

/// At most the last `n` bytes of `s`, cut at a character boundary.
fn suffix(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn addresses_removed(line: &str) -> String {
    let mut out = line.to_string();
    for addr in addresses(line).collect::<Vec<_>>() {
        if let Some(at) = out.to_ascii_lowercase().find(&addr) {
            out.replace_range(at..at + addr.len(), " ");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounce(body: &str) -> (Mail, Signals) {
        let raw = format!(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: news@example.org\r\n\
             Subject: Mail delivery failed\r\n\r\n{body}"
        );
        let mail = Mail::parse(raw.as_bytes());
        let signals = Signals::read(&mail);
        (mail, signals)
    }

    #[test]
    fn picks_the_listed_address() {
        let (mail, signals) = bounce(
            "A message that you sent could not be delivered. The following address(es) failed:\r\n\r\n  \
             ada@example.net\r\n    host mx.example.net: 550 5.1.1 user unknown\r\n\r\n\
             Please send mail to <postmaster@example.net> for help.\r\n",
        );
        assert!(signals.is_bounce());
        assert_eq!(
            failed_recipient(&mail, &signals, &Known::read(&mail)).as_deref(),
            Some("ada@example.net")
        );
    }

    #[test]
    fn never_picks_the_sender() {
        let (mail, signals) =
            bounce("Hello news@example.org, delivery to bob@example.net failed: no such user.\r\n");
        assert_eq!(
            failed_recipient(&mail, &signals, &Known::read(&mail)).as_deref(),
            Some("bob@example.net")
        );
    }
}
