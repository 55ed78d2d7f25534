//! The nouns the pipeline stages share. Types flow one way:
//! `FeedSpec` → `Story` → `Lead` → `Issue` (a digest's issue) → a message per recipient.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A stored story: one entry of one feed, normalized by ingest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Story {
    /// Stable id: the entry's GUID, else its canonical URL, else a hash of title, date and content.
    pub guid: String,
    /// Canonical link (tracking parameters removed, resolved against the feed).
    pub url: Option<String>,
    /// Decoded, whitespace-collapsed title.
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
        let addr: lettre::Address = s.parse().map_err(|e| bad(format!(": {e}")))?;
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

/// A subscriber's name as it goes into the `To:` header: at most 100 characters, no control
/// characters (a CR or LF would end the header), surrounding space trimmed; empty is no name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Option<DisplayName>, InvalidInput> {
        let s = raw.trim();
        if let Some(c) = s.chars().find(|c| c.is_control()) {
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
