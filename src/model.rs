//! The nouns the pipeline stages share. Types flow one way:
//! `FeedSpec` → `Story` → `Lead` → `Issue` (a digest's issue) → a message per recipient.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A title longer than this is cut (at ingest, and again where an issue is rendered): a feed's
/// title becomes an email's Subject and its preview line.
pub const MAX_TITLE_CHARS: usize = 300;
/// A lead's text longer than this is cut where an issue is rendered, whatever its word count
/// (one 200,000-character "word" is one word).
pub const MAX_LEAD_CHARS: usize = 2_000;

/// `s` without control characters but tab and newline (terminal escapes, C1 codes), cut to at
/// most `max_chars` characters with the "…", at the last space when there is one in the last fifth (or the
/// last 15 characters), with "…" when something was cut.
pub fn clip(s: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    let unwanted = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !s.contains(unwanted) {
        return cut(s, max_chars).map_or(s.into(), Into::into);
    }
    let clean: String = s.chars().filter(|&c| !unwanted(c)).collect();
    cut(&clean, max_chars).unwrap_or(clean).into()
}

fn cut(s: &str, max_chars: usize) -> Option<String> {
    s.char_indices().nth(max_chars)?;
    // Room for the "…": the result is at most `max_chars` characters.
    let end = s
        .char_indices()
        .nth(max_chars.saturating_sub(1))
        .map_or(s.len(), |(i, _)| i);
    let head = &s[..end];
    let head = match head.rfind(' ') {
        Some(space) if head[space..].chars().count() <= (max_chars / 5).max(15) => &head[..space],
        _ => head,
    };
    Some(format!("{}…", head.trim_end()))
}

/// A stored story: one entry of one feed, normalized by ingest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Story {
    /// Stable id: the entry's GUID, else its canonical URL, else a hash of title, date and content.
    pub guid: String,
    /// Canonical link (tracking parameters removed, resolved against the feed).
    pub url: Option<String>,
    /// Decoded, whitespace-collapsed title, without control characters, at most
    /// [`MAX_TITLE_CHARS`].
    pub title: String,
    /// Published time (fallback: updated, then first seen); never in the future.
    pub published: DateTime<Utc>,
    /// Whether the feed gave a date (false: `published` is the first-seen time).
    pub dated: bool,
    /// Whether the feed gave the entry a GUID (false: `guid` is derived from its link or text,
    /// and the entry is deduplicated by URL within its feed too).
    pub has_guid: bool,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    pub content_html: Option<String>,
    pub summary_html: Option<String>,
}

/// A story as read back from the store, with what later stages added.
#[derive(Debug, Clone, Serialize)]
pub struct StoredStory {
    pub id: i64,
    pub feed_url: String,
    /// Display name of the source: the configured feed name, else the feed's own title.
    pub source: String,
    pub story: Story,
    pub lead: Option<StoredLead>,
}

/// The lead paragraph chosen for a story, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredLead {
    /// The whole lead paragraph(s) as plain text, paragraphs separated by a blank line.
    pub text: String,
    /// The same as minimal sanitized HTML (links only).
    pub html: String,
    /// Which source the lead came from: `content`, `article` or `summary`.
    pub source: String,
}

/// Status of one delivery (issue × recipient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Written, not yet attempted.
    Queued,
    /// The SMTP transaction was started; if the process died here the outcome is unknown.
    Sending,
    Sent,
    Failed,
    /// Was `sending` when the process died: in doubt, never resent automatically.
    Unknown,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }
}

/// Status of a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberStatus {
    Pending,
    Confirmed,
    Unsubscribed,
    Bouncing,
    /// Reported our mail as spam (an ARF abuse report): unsubscribed and suppressed at once;
    /// only their own double opt-in brings them back.
    Complained,
}

impl SubscriberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Unsubscribed => "unsubscribed",
            Self::Bouncing => "bouncing",
            Self::Complained => "complained",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "confirmed" => Self::Confirmed,
            "unsubscribed" => Self::Unsubscribed,
            "bouncing" => Self::Bouncing,
            "complained" => Self::Complained,
            _ => return None,
        })
    }
}

/// A subscriber as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Subscriber {
    #[serde(skip)]
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub status: SubscriberStatus,
    /// Digest names; empty means every digest.
    pub digests: Vec<String>,
    /// What the reader chose: topics, format, time zone, pause.
    #[serde(flatten)]
    pub prefs: Preferences,
}

impl Subscriber {
    /// Does this subscriber receive the named digest?
    pub fn wants(&self, digest: &str) -> bool {
        self.digests.is_empty() || self.digests.iter().any(|d| d == digest)
    }
}

/// What the scheduler is doing (`gazette status`, `GET /healthz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SchedulerState {
    /// Starting up.
    Starting,
    /// Every slot and delivery so far went through.
    Ok,
    /// An issue's delivery failed (server down, or refusing our mail); its queued rows are
    /// tried again at least once a minute.
    Retrying,
    /// A scheduler step failed (fetch, planning, the database); tried again on the next tick.
    Failing,
    /// Stopped on request (SIGTERM).
    Stopped,
}

impl SchedulerState {
    pub fn as_str(self) -> &'static str {
        match self {
            SchedulerState::Starting => "starting",
            SchedulerState::Ok => "ok",
            SchedulerState::Retrying => "retrying",
            SchedulerState::Failing => "failing",
            SchedulerState::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<SchedulerState> {
        Some(match s {
            "starting" => SchedulerState::Starting,
            "ok" => SchedulerState::Ok,
            "retrying" => SchedulerState::Retrying,
            "failing" => SchedulerState::Failing,
            "stopped" => SchedulerState::Stopped,
            _ => return None,
        })
    }

    /// Whether digests go out as they should in this state.
    pub fn healthy(self) -> bool {
        matches!(
            self,
            SchedulerState::Starting | SchedulerState::Ok | SchedulerState::Stopped
        )
    }
}

/// A snapshot of the scheduler's health.
#[derive(Debug, Clone, Serialize)]
pub struct HealthSnapshot {
    pub state: SchedulerState,
    pub last_error: Option<String>,
    /// Since when it has been in this state.
    pub since: DateTime<Utc>,
}

/// Input from a person (CLI, CSV, web form) that cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

/// A valid email address: lettre's parser, at most 254 octets, no control characters, the
/// domain lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<EmailAddress, InvalidInput> {
        let s = raw.trim();
        let bad = |why: String| InvalidInput(format!("{raw:?} is not a valid email address{why}"));
        if s.len() > 254 || s.chars().any(char::is_control) {
            return Err(bad(String::new()));
        }
        if s.chars().any(is_bidi_control) {
            return Err(bad(": it holds a bidirectional control character".into()));
        }
        let addr: lettre::Address = s.parse().map_err(|e| bad(format!(": {e}")))?;
        // RFC 5322 allows a quoted local part (`"a b"@…`) and an address literal (`…@[10.0.0.1]`);
        // mail software, ours included, sends neither reliably, and no newsletter reader needs them.
        if addr.user().contains(['"', ' ', '\\']) || addr.domain().starts_with('[') {
            return Err(bad(
                ": quoted local parts and address literals are not accepted".into(),
            ));
        }
        Ok(EmailAddress(format!(
            "{}@{}",
            addr.user(),
            addr.domain().to_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The Unicode controls that reorder text (`U+202E` RIGHT-TO-LEFT OVERRIDE and its kin): they
/// make an address or a name read as something else (`moc.evil@…`). Right-to-left text needs
/// none of them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A subscriber's name as it goes into the `To:` header: at most 100 characters, no control
/// characters (a CR or LF would end the header), surrounding space trimmed; empty is no name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Option<DisplayName>, InvalidInput> {
        let s = raw.trim();
        if let Some(c) = s.chars().find(|&c| c.is_control() || is_bidi_control(c)) {
            return Err(InvalidInput(format!(
                "name {raw:?} holds a control character ({:?}); names go into mail headers, so line breaks and other control characters are refused",
                c
            )));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput(format!(
                "name {:?}… is longer than {} characters",
                s.chars().take(20).collect::<String>(),
                Self::MAX_CHARS
            )));
        }
        Ok((!s.is_empty()).then(|| DisplayName(s.to_string())))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The key under which an address stays suppressed after its row is deleted: a SHA-256 of the
/// lowercased address, so the address itself is not kept.
pub fn suppression_hash(email: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(email.trim().to_lowercase().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How a reader wants the email: HTML with a plain-text alternative, or plain text only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailFormat {
    #[default]
    Html,
    Text,
}

impl MailFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            MailFormat::Html => "html",
            MailFormat::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Result<MailFormat, InvalidInput> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "html" => Ok(MailFormat::Html),
            "text" => Ok(MailFormat::Text),
            other => Err(InvalidInput(format!("format {other:?}: use html or text"))),
        }
    }
}

/// What a reader chose on the manage page (or the operator with `subscribers set`, or a CSV).
/// The default is everything: every topic of every digest, HTML, the newsletter's time zone,
/// not paused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Preferences {
    /// Digest name → the topics (sections) wanted from it; a digest that is not here: every
    /// topic.
    pub topics: BTreeMap<String, Vec<String>>,
    pub format: MailFormat,
    /// An IANA time zone; `None`: the newsletter's.
    pub timezone: Option<String>,
    /// No mail before this date (in the reader's time zone); `None`: not paused.
    pub paused_until: Option<NaiveDate>,
}

impl Preferences {
    /// The topics chosen from `digest`; `None`: every topic.
    pub fn topics_of(&self, digest: &str) -> Option<&[String]> {
        self.topics
            .get(digest)
            .map(Vec::as_slice)
            .filter(|t| !t.is_empty())
    }

    /// The reader's time zone, or `default` (the newsletter's) when none was chosen or the
    /// stored name is no longer known.
    pub fn zone(&self, default: chrono_tz::Tz) -> chrono_tz::Tz {
        self.timezone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .unwrap_or(default)
    }

    /// Whether a copy going out at `at` falls in the pause: before `paused_until` in the
    /// reader's own time zone.
    pub fn paused_at(&self, at: DateTime<Utc>, default: chrono_tz::Tz) -> bool {
        self.paused_until
            .is_some_and(|until| at.with_timezone(&self.zone(default)).date_naive() < until)
    }

    /// `topics` as written in CSV and on the command line: `weekly:privacy,ai;daily:trade`.
    pub fn topics_spec(&self) -> String {
        self.topics
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(d, t)| format!("{d}:{}", t.join(",")))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// Parses `weekly:privacy,ai` (one digest) or `weekly:privacy,ai;daily:trade` (several) into
/// digest → topics; `weekly:` (no topics) means every topic of `weekly`.
pub fn parse_topics_spec(spec: &str) -> Result<BTreeMap<String, Vec<String>>, InvalidInput> {
    let mut out = BTreeMap::new();
    for group in spec.split(';').map(str::trim).filter(|g| !g.is_empty()) {
        let (digest, topics) = group.split_once(':').ok_or_else(|| {
            InvalidInput(format!(
                "topics {group:?}: write DIGEST:TOPIC,TOPIC (e.g. weekly:privacy,ai)"
            ))
        })?;
        let mut topics: Vec<String> = topics
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        topics.sort();
        topics.dedup();
        out.insert(digest.trim().to_string(), topics);
    }
    Ok(out)
}

/// An IANA time zone name, checked; `""` is none (the newsletter's).
pub fn parse_timezone(s: &str) -> Result<Option<String>, InvalidInput> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    s.parse::<chrono_tz::Tz>()
        .map(|tz| Some(tz.name().to_string()))
        .map_err(|_| {
            InvalidInput(format!(
                "time zone {s:?} is not an IANA name such as Europe/Berlin"
            ))
        })
}

/// A pause date as `YYYY-MM-DD`; `""` is no pause.
pub fn parse_pause_date(s: &str) -> Result<Option<NaiveDate>, InvalidInput> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| InvalidInput(format!("date {s:?}: write YYYY-MM-DD, e.g. 2027-01-10")))
}

/// Which copy of an issue one delivery gets: its format and, when not every section, the
/// topics of the sections it keeps. Stored with the delivery row when the issue is planned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Variant {
    pub format: MailFormat,
    /// Topic names of the sections kept (sections without a topic are always kept); `None`:
    /// every section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<String>>,
}

impl Variant {
    /// As stored in `deliveries.variant`: `None` for the default copy (HTML, every section).
    pub fn to_column(&self) -> Option<String> {
        (*self != Variant::default()).then(|| serde_json::to_string(self).unwrap_or_default())
    }

    /// From `deliveries.variant`; anything unreadable is the default copy.
    pub fn from_column(s: Option<&str>) -> Variant {
        s.and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod clip_tests {
    use super::{clip, DisplayName, EmailAddress};

    #[test]
    fn addresses_mail_cannot_reach_and_text_that_reorders_itself_are_refused() {
        for bad in [
            "\"a b\"@example.com",
            "x@[127.0.0.1]",
            "ctl@exa\u{202e}mple.com",
            "a\\b@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            EmailAddress::parse(" Ada.Lovelace+news@Example.ORG ")
                .unwrap()
                .as_str(),
            "Ada.Lovelace+news@example.org"
        );
        assert!(DisplayName::parse("Ada \u{202e}ecalevol").is_err());
        assert!(DisplayName::parse("\u{5d3}\u{5e0}\u{5d4} \u{5db}\u{5d4}\u{5df}").is_ok());
    }

    #[test]
    fn clip_cuts_at_a_space_and_drops_control_characters() {
        assert_eq!(clip("short title", 300), "short title");
        assert!(matches!(
            clip("short title", 300),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(clip("one two three four", 10), "one two…");
        // No space near the end: cut inside the word.
        assert_eq!(clip(&"A".repeat(20), 10), format!("{}…", "A".repeat(9)));
        // What was cut once is not cut again.
        let once = clip(&"word ".repeat(100), 300).into_owned();
        assert_eq!(clip(&once, 300), once);
        assert_eq!(clip("red\u{1b}[31m\u{9b}x\tok\n", 300), "red[31mx\tok\n");
        assert_eq!(clip("ünïcödé wörds here", 9), "ünïcödé…");
        assert_eq!(clip("ünïcödé", 7), "ünïcödé");
    }
}
