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
}

impl SubscriberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Unsubscribed => "unsubscribed",
            Self::Bouncing => "bouncing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "confirmed" => Self::Confirmed,
            "unsubscribed" => Self::Unsubscribed,
            "bouncing" => Self::Bouncing,
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
