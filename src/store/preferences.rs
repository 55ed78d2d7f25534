//! What readers choose and what is stored about them: preferences (topics, format, time zone,
//! pause), the consent log, everything about one reader as a document, and erasure that keeps
//! only a suppression hash. Also the queries local delivery needs: readers' time zones, issues
//! by slot, and queued rows that are due (a row may wait for its reader's local time).

use std::collections::BTreeMap;

use super::db::{params, Db, OptionalExtension, Row, Sql};
use anyhow::Result;
use serde_json::{json, Value};

use super::subscribers::{row_to_subscriber, suppress, SUBSCRIBER_COLUMNS};
use super::{ts, IssueRecord, Store};
use crate::model::{MailFormat, Preferences};

/// A consent event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Consent {
    Subscribed,
    Confirmed,
    Preferences,
    Unsubscribed,
}

impl Consent {
    fn as_str(self) -> &'static str {
        match self {
            Consent::Subscribed => "subscribed",
            Consent::Confirmed => "confirmed",
            Consent::Preferences => "preferences changed",
            Consent::Unsubscribed => "unsubscribed",
        }
    }
}

/// Appends to the consent log: what happened, when, and where it came from (`web`,
/// `email-link`, `one-click`, `page`, `manage`, `cli`, `import`).
pub(super) fn consent(
    tx: &Db<'_>,
    subscriber: i64,
    event: Consent,
    source: &str,
    detail: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO consent_events (subscriber_id, at, event, source, detail)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![subscriber, ts(now), event.as_str(), source, detail])?;
    Ok(())
}

/// The preferences in the columns `topics, format, timezone, paused_until` from `start` on.
pub(super) fn preferences_of(r: &Row, start: usize) -> anyhow::Result<Preferences> {
    let topics: Option<String> = r.get(start)?;
    let format: String = r.get(start + 1)?;
    let paused: Option<String> = r.get(start + 3)?;
    Ok(Preferences {
        topics: topics
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        format: MailFormat::parse(&format).unwrap_or_default(),
        timezone: r.get(start + 2)?,
        paused_until: paused.and_then(|p| chrono::NaiveDate::parse_from_str(&p, "%Y-%m-%d").ok()),
    })
}

/// A change to a reader's choices; `None` leaves that choice as it is.
#[derive(Debug, Clone, Default)]
pub struct PreferencesChange {
    /// Digest names; empty: every digest.
    pub digests: Option<Vec<String>>,
    /// Replaces every topic choice (a digest left out: every topic).
    pub topics: Option<BTreeMap<String, Vec<String>>>,
    pub format: Option<MailFormat>,
    pub timezone: Option<Option<String>>,
    pub paused_until: Option<Option<chrono::NaiveDate>>,
}

/// One entry of the consent log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsentEvent {
    pub at: String,
    pub event: String,
    pub source: String,
    pub detail: Option<String>,
}

/// What changed between two sets of choices, for the consent log; `None` when nothing did.
fn describe_change(
    old: &(Vec<String>, Preferences),
    new: &(Vec<String>, Preferences),
) -> Option<String> {
    let mut parts = Vec::new();
    if old.0 != new.0 {
        parts.push(match new.0.is_empty() {
            true => "digests: all".to_string(),
            false => format!("digests: {}", new.0.join(", ")),
        });
    }
    let (o, n) = (&old.1, &new.1);
    if o.topics != n.topics {
        parts.push(match n.topics_spec() {
            s if s.is_empty() => "topics: all".to_string(),
            s => format!("topics: {s}"),
        });
    }
    if o.format != n.format {
        parts.push(format!("format: {}", n.format.as_str()));
    }
    if o.timezone != n.timezone {
        parts.push(format!(
            "timezone: {}",
            n.timezone.as_deref().unwrap_or("the newsletter's")
        ));
    }
    if o.paused_until != n.paused_until {
        parts.push(match n.paused_until {
            Some(d) => format!("paused until {d}"),
            None => "not paused".into(),
        });
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

impl Store {
    /// Applies a change to a subscriber's choices and logs it (`source`: `manage`, `cli`,
    /// `import`). `None` when there is no such subscriber, else whether anything changed.
    pub fn set_preferences(
        &self,
        id: i64,
        change: &PreferencesChange,
        source: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<bool>> {
        self.write(|tx| {
            let Some(s) = tx
                .query_row(
                    &format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE id = ?1"),
                    [id],
                    row_to_subscriber,
                )
                .optional()?
            else {
                return Ok(None);
            };
            let old = (s.digests.clone(), s.prefs.clone());
            let mut new = old.clone();
            if let Some(d) = &change.digests {
                new.0 = d.clone();
            }
            if let Some(t) = &change.topics {
                new.1.topics = t
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
            }
            if let Some(f) = change.format {
                new.1.format = f;
            }
            if let Some(z) = &change.timezone {
                new.1.timezone = z.clone();
            }
            if let Some(p) = change.paused_until {
                new.1.paused_until = p;
            }
            let Some(detail) = describe_change(&old, &new) else {
                return Ok(Some(false));
            };
            let topics = (!new.1.topics.is_empty())
                .then(|| serde_json::to_string(&new.1.topics))
                .transpose()?;
            tx.execute(
                "UPDATE subscribers SET digests = ?2, topics = ?3, format = ?4, timezone = ?5,
                 paused_until = ?6 WHERE id = ?1",
                params![
                    id,
                    serde_json::to_string(&new.0)?,
                    topics,
                    new.1.format.as_str(),
                    new.1.timezone,
                    new.1.paused_until.map(|d| d.format("%Y-%m-%d").to_string()),
                ],
            )?;
            consent(tx, id, Consent::Preferences, source, Some(&detail), now)?;
            Ok(Some(true))
        })
    }

    /// A subscriber's consent log, oldest first.
    pub fn consent_events(&self, id: i64) -> Result<Vec<ConsentEvent>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT at, event, source, detail FROM consent_events WHERE subscriber_id = ?1
             ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(ConsentEvent {
                at: r.get(0)?,
                event: r.get(1)?,
                source: r.get(2)?,
                detail: r.get(3)?,
            })
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// Everything stored about one subscriber, as the document `GET /manage/{token}/data`
    /// returns: the row, the choices, every delivery with its status, the consent log and the
    /// confirmation mails sent. `None` when there is no such subscriber.
    pub fn reader_data(&self, id: i64) -> Result<Option<Value>> {
        let consent = self.consent_events(id)?;
        let conn = self.conn()?;
        let row = conn
            .query_row(
                &format!(
                    "SELECT {SUBSCRIBER_COLUMNS}, created, confirmed_at, confirm_ip, confirm_ua,
                     confirm_sent_at, pending_since, unsubscribed_at, unsubscribe_method, failures
                     FROM subscribers WHERE id = ?1"
                ),
                [id],
                |r| {
                    let s = row_to_subscriber(r)?;
                    let get = |i: usize| r.get::<_, Option<String>>(i);
                    let row = json!({
                        "email": s.email,
                        "name": s.name,
                        "status": s.status,
                        "created": get(9)?,
                        "confirmed_at": get(10)?,
                        "confirm_ip": get(11)?,
                        "confirm_user_agent": get(12)?,
                        "confirm_sent_at": get(13)?,
                        "pending_since": get(14)?,
                        "unsubscribed_at": get(15)?,
                        "unsubscribe_method": get(16)?,
                        "failures": r.get::<_, i64>(17)?,
                    });
                    let choices = json!({
                        "digests": s.digests,
                        "topics": s.prefs.topics,
                        "format": s.prefs.format,
                        "timezone": s.prefs.timezone,
                        "paused_until": s.prefs.paused_until,
                    });
                    Ok((s.email, row, choices))
                },
            )
            .optional()?;
        let Some((email, row, choices)) = row else {
            return Ok(None);
        };
        let mut stmt = conn.prepare(
            "SELECT d.issue_id, i.digest, i.number, i.subject, d.status, d.attempts, d.updated,
             d.reply, d.message_id, d.not_before
             FROM deliveries d JOIN issues i ON i.id = d.issue_id
             WHERE d.subscriber_id = ?1 OR d.email = ?2 ORDER BY d.id",
        )?;
        let deliveries = stmt
            .query_map(params![id, email], |r| {
                Ok(json!({
                    "issue": r.get::<_, i64>(0)?,
                    "digest": r.get::<_, String>(1)?,
                    "number": r.get::<_, i64>(2)?,
                    "subject": r.get::<_, String>(3)?,
                    "status": r.get::<_, String>(4)?,
                    "attempts": r.get::<_, i64>(5)?,
                    "updated": r.get::<_, String>(6)?,
                    "reply": r.get::<_, Option<String>>(7)?,
                    "message_id": r.get::<_, String>(8)?,
                    "not_before": r.get::<_, Option<String>>(9)?,
                }))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt =
            conn.prepare("SELECT sent_at FROM confirm_mails WHERE email = ?1 ORDER BY sent_at")?;
        let mails = stmt
            .query_map([&email], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = conn.prepare(
            "SELECT b.occurred, b.kind, b.status, b.reason, b.source, b.outcome, d.issue_id
             FROM bounce_events b LEFT JOIN deliveries d ON d.id = b.delivery_id
             WHERE b.email = ?2 OR d.subscriber_id = ?1 OR d.email = ?2 ORDER BY b.id",
        )?;
        let bounces = stmt
            .query_map(params![id, email], |r| {
                Ok(json!({
                    "at": r.get::<_, String>(0)?,
                    "kind": r.get::<_, String>(1)?,
                    "status": r.get::<_, Option<String>>(2)?,
                    "reason": r.get::<_, String>(3)?,
                    "source": r.get::<_, String>(4)?,
                    "outcome": r.get::<_, Option<String>>(5)?,
                    "issue": r.get::<_, Option<i64>>(6)?,
                }))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(json!({
            "subscriber": row,
            "choices": choices,
            "deliveries": deliveries,
            "consent": consent,
            "confirmation_mails": mails,
            "bounces": bounces,
        })))
    }

    /// Erases a subscriber: the row, its consent log and confirmation-mail records are deleted,
    /// queued deliveries dropped, and past delivery rows kept for the issue's figures without
    /// the address, the name or the server's reply. Only a hash of the address stays, as a
    /// suppression, so that no `add` or `import` brings it back. Returns the erased address.
    pub fn erase_subscriber(
        &self,
        id: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>> {
        self.write(|tx| {
            let email: Option<String> = tx
                .query_row("SELECT email FROM subscribers WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(email) = email else {
                return Ok(None);
            };
            suppress(tx, &email, "erased", now)?;
            tx.execute(
                "DELETE FROM deliveries WHERE (subscriber_id = ?1 OR email = ?2) AND status = 'queued'",
                params![id, email],
            )?;
            // Bounce and complaint records keep their kind for the issue's figures, not the
            // address or the receiving server's words about it.
            tx.execute(
                "UPDATE bounce_events SET email = NULL, diagnostic = NULL, raw_ref = NULL
                 WHERE email = ?2 OR delivery_id IN
                 (SELECT id FROM deliveries WHERE subscriber_id = ?1 OR email = ?2)",
                params![id, email],
            )?;
            tx.execute(
                "UPDATE deliveries SET email = 'erased:' || id, name = NULL, subscriber_id = NULL,
                 reply = NULL WHERE subscriber_id = ?1 OR email = ?2",
                params![id, email],
            )?;
            tx.execute("DELETE FROM confirm_mails WHERE email = ?1", [&email])?;
            tx.execute("DELETE FROM subscribers WHERE id = ?1", [id])?;
            Ok(Some(email))
        })
    }

    /// The distinct (time zone, digests) pairs of confirmed subscribers: which zones a
    /// local-delivery digest has readers in (`None`: the newsletter's zone).
    pub fn reader_zones(&self) -> Result<Vec<(Option<String>, Vec<String>)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT timezone, digests FROM subscribers WHERE status = 'confirmed'",
        )?;
        let rows = stmt.query_map(params![], |r| {
            let digests: String = r.get(1)?;
            Ok((
                r.get::<_, Option<String>>(0)?,
                serde_json::from_str(&digests).unwrap_or_default(),
            ))
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// Issues (oldest first) that have queued deliveries due at `now`: rows waiting for their
    /// reader's local time do not count, so they never hold up the next issue.
    pub fn unfinished_due_issues(
        &self,
        digest: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<IssueRecord>> {
        let mut v = self.query_issues(
            "WHERE (CAST(?1 AS TEXT) IS NULL OR i.digest = ?1) AND EXISTS (SELECT 1 FROM deliveries q
             WHERE q.issue_id = i.id AND q.status = 'queued'
             AND (q.not_before IS NULL OR q.not_before <= ?2))",
            params![digest, ts(now)],
        )?;
        v.reverse();
        Ok(v)
    }

    /// The issue of a digest stored for a schedule slot (a local-delivery edition), if any.
    pub fn issue_for_slot(&self, digest: &str, slot: &str) -> Result<Option<IssueRecord>> {
        Ok(self
            .query_issues("WHERE i.digest = ?1 AND i.slot = ?2", params![digest, slot])?
            .into_iter()
            .next())
    }

    /// Queued deliveries of an issue that wait for their reader's local time after `now`.
    pub fn waiting_deliveries(
        &self,
        issue_id: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT COUNT(*) FROM deliveries WHERE issue_id = ?1 AND status = 'queued'
             AND not_before > ?2",
            params![issue_id, ts(now)],
            |r| r.get(0),
        )
    }
}
