//! Bounce events: each bounce, complaint or auto-reply read from a mailbox, a file or a
//! provider's webhook, recorded once (by its event key) against the delivery it answers, and
//! what it did to the subscriber: counted towards `bouncing` (hard or soft within a window),
//! `complained` (unsubscribed and suppressed at once), unsubscribed, or nothing. Webhook nonces
//! (ids of signed requests already taken) live here too.

use super::db::{params, Db, OptionalExtension, Sql};
use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{parse_ts, ts, Store};

/// What an event may do to the subscriber it names (decided by the bounce stage's policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing: a block that is the sender's problem, an auto-reply, a delivery report.
    None,
    /// A hard bounce caused by the recipient's address: counts towards `hard_threshold`.
    CountHard,
    /// A soft bounce caused by the recipient's mailbox: counts towards `soft_threshold` within
    /// `soft_window`.
    CountSoft,
    /// An abuse report: `complained`, unsubscribed and suppressed at once.
    Complain,
    /// An opt-out report or a List-Unsubscribe mailto request: unsubscribed.
    Unsubscribe,
    /// An authentication-failure report: the operator's to read, never the reader's doing.
    Operator,
}

/// When counted bounces make a subscriber `bouncing` (`[bounces]`).
#[derive(Debug, Clone, Copy)]
pub struct BouncePolicy {
    pub hard_threshold: i64,
    pub soft_threshold: i64,
    pub soft_window: chrono::Duration,
}

impl Default for BouncePolicy {
    fn default() -> Self {
        BouncePolicy {
            hard_threshold: 1,
            soft_threshold: 3,
            soft_window: chrono::Duration::days(30),
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewBounce {
    /// Makes recording idempotent: the same message or provider event has the same key.
    pub key: String,
    /// `hard`, `soft`, `complaint`, `autoreply` or `other`.
    pub kind: String,
    pub status: Option<String>,
    pub reason: String,
    /// The failed or complaining address, lower-case.
    pub recipient: Option<String>,
    pub effect: Effect,
    pub feedback_type: Option<String>,
    pub diagnostic: Option<String>,
    /// `file`, `maildir`, `imap`, `ses`, `postmark`, `sendgrid`, `mailgun` or `webhook`.
    pub source: String,
    /// Where the raw message or event can be found (a file, a mailbox and UID, a provider id).
    pub raw_ref: Option<String>,
    pub occurred: DateTime<Utc>,
    /// The delivery named by a signed VERP token or `X-Gazette-Delivery` header, and which.
    pub delivery: Option<(i64, &'static str)>,
    /// The Message-ID of the returned original, without `<>`.
    pub message_id: Option<String>,
}

/// What recording did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The same event was recorded before: nothing changed.
    Duplicate,
    New(RecordedBounce),
}

/// A newly recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedBounce {
    pub id: i64,
    pub delivery_id: Option<i64>,
    pub issue_id: Option<i64>,
    pub email: Option<String>,
    /// How the delivery was found: `verp`, `header`, `message-id`, `recipient`, or None.
    pub matched_by: Option<&'static str>,
    pub outcome: Outcome,
}

/// What an event did to its subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do, or nobody to do it to.
    None,
    /// Counted towards `bouncing`, below the threshold.
    Counted,
    /// The subscriber became `bouncing`.
    Bouncing,
    /// The subscriber became `complained` and is suppressed.
    Complained,
    /// The subscriber is unsubscribed.
    Unsubscribed,
    /// Reported to the operator only.
    Operator,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::None => "none",
            Outcome::Counted => "counted",
            Outcome::Bouncing => "bouncing",
            Outcome::Complained => "complained",
            Outcome::Unsubscribed => "unsubscribed",
            Outcome::Operator => "operator",
        }
    }
}

/// A recorded event as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BounceEvent {
    pub id: i64,
    pub delivery: Option<i64>,
    pub issue: Option<i64>,
    pub recipient: Option<String>,
    pub kind: String,
    pub status: Option<String>,
    pub reason: String,
    pub counts_against_reader: bool,
    pub feedback_type: Option<String>,
    pub diagnostic: Option<String>,
    pub source: String,
    pub raw_ref: Option<String>,
    pub matched_by: Option<String>,
    pub outcome: Option<String>,
    pub occurred: DateTime<Utc>,
    pub recorded: DateTime<Utc>,
}

/// The delivery an event answers: (id, issue, email, subscriber).
type Target = (i64, i64, String, Option<i64>);

fn find_delivery(tx: &Db<'_>, e: &NewBounce) -> Result<Option<(Target, &'static str)>> {
    let by_id = |id: i64| -> anyhow::Result<Option<Target>> {
        tx.query_row(
            "SELECT id, issue_id, email, subscriber_id FROM deliveries WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
    };
    if let Some((id, how)) = e.delivery {
        if let Some(t) = by_id(id)? {
            return Ok(Some((t, how)));
        }
    }
    if let Some(mid) = &e.message_id {
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM deliveries WHERE message_id = '<' || ?1 || '>'",
                [mid],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(t) = id.map(by_id).transpose()?.flatten() {
            return Ok(Some((t, "message-id")));
        }
    }
    if let Some(email) = &e.recipient {
        // The latest message that went to the address.
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM deliveries WHERE email = ?1 AND status IN ('sent', 'unknown')
                 ORDER BY id DESC LIMIT 1",
                [email],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(t) = id.map(by_id).transpose()?.flatten() {
            return Ok(Some((t, "recipient")));
        }
    }
    Ok(None)
}

/// Applies an event's effect to the subscriber (by id) and says what it did.
fn apply(
    tx: &Db<'_>,
    sub: Option<i64>,
    e: &NewBounce,
    policy: &BouncePolicy,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    if e.effect == Effect::Operator {
        return Ok(Outcome::Operator);
    }
    let Some(id) = sub else {
        return Ok(Outcome::None);
    };
    let row: Option<(String, String, Option<String>)> = tx
        .query_row(
            "SELECT email, status, COALESCE(confirmed_at, created) FROM subscribers WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((email, status, since)) = row else {
        return Ok(Outcome::None);
    };
    // Only bounces since the subscriber (last) confirmed count: their own opt-in starts afresh.
    let since = since.unwrap_or_default();
    let count = |kind: &str, from: &str| -> anyhow::Result<i64> {
        tx.query_row(
            "SELECT COUNT(*) FROM bounce_events WHERE email = ?1 AND kind = ?2 AND counted = 1
             AND occurred >= ?3",
            params![email, kind, from],
            |r| r.get(0),
        )
    };
    let bounce = |n: i64, threshold: i64| -> Result<Outcome> {
        if n < threshold.max(1) || status != "confirmed" {
            return Ok(Outcome::Counted);
        }
        tx.execute(
            "UPDATE subscribers SET status = 'bouncing' WHERE id = ?1",
            [id],
        )?;
        Ok(Outcome::Bouncing)
    };
    match e.effect {
        Effect::None | Effect::Operator => Ok(Outcome::None),
        Effect::CountHard => bounce(count("hard", &since)?, policy.hard_threshold),
        Effect::CountSoft => {
            let window = ts(now - policy.soft_window).max(since);
            bounce(count("soft", &window)?, policy.soft_threshold)
        }
        Effect::Complain => {
            tx.execute(
                "UPDATE subscribers SET status = 'complained', pending_since = NULL,
                 unsubscribed_at = COALESCE(unsubscribed_at, ?2), unsubscribe_method = 'complaint'
                 WHERE id = ?1",
                params![id, ts(now)],
            )?;
            super::subscribers::suppress(tx, &email, "complained", now)?;
            Ok(Outcome::Complained)
        }
        Effect::Unsubscribe => {
            if matches!(status.as_str(), "unsubscribed" | "complained") {
                return Ok(Outcome::None);
            }
            tx.execute(
                "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?2,
                 unsubscribe_method = 'opt-out report', pending_since = NULL WHERE id = ?1",
                params![id, ts(now)],
            )?;
            Ok(Outcome::Unsubscribed)
        }
    }
}

impl Store {
    /// Records one event against its delivery (found by the signed token, else the original's
    /// Message-ID, else the latest message sent to the recipient) and applies its effect to
    /// the subscriber, in one transaction. The same `key` twice records once.
    pub fn record_bounce(
        &self,
        e: &NewBounce,
        policy: &BouncePolicy,
        now: DateTime<Utc>,
    ) -> Result<Recorded> {
        self.write(|tx| {
            let seen: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM bounce_events WHERE event_key = ?1)",
                [&e.key],
                |r| r.get(0),
            )?;
            if seen {
                return Ok(Recorded::Duplicate);
            }
            let found = find_delivery(tx, e)?;
            let email = found
                .as_ref()
                .map(|((_, _, email, _), _)| email.to_lowercase())
                .or_else(|| e.recipient.clone());
            let sub: Option<i64> = match &found {
                Some(((_, _, _, sub), _)) if sub.is_some() => *sub,
                _ => match &email {
                    Some(addr) => tx
                        .query_row("SELECT id FROM subscribers WHERE email = ?1", [addr], |r| {
                            r.get(0)
                        })
                        .optional()?,
                    None => None,
                },
            };
            let counted = matches!(e.effect, Effect::CountHard | Effect::CountSoft);
            let id = tx.insert(
                "INSERT INTO bounce_events (event_key, delivery_id, issue_id, email, kind, status,
                 reason, counted, feedback_type, diagnostic, source, raw_ref, matched_by,
                 occurred, recorded)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
                    e.key,
                    found.as_ref().map(|(t, _)| t.0),
                    found.as_ref().map(|(t, _)| t.1),
                    email,
                    e.kind,
                    e.status,
                    e.reason,
                    counted,
                    e.feedback_type,
                    e.diagnostic,
                    e.source,
                    e.raw_ref,
                    found.as_ref().map(|(_, how)| *how),
                    ts(e.occurred),
                    ts(now),
                ],
            )?;
            let outcome = apply(tx, sub, e, policy, now)?;
            tx.execute(
                "UPDATE bounce_events SET outcome = ?2 WHERE id = ?1",
                params![id, outcome.as_str()],
            )?;
            Ok(Recorded::New(RecordedBounce {
                id,
                delivery_id: found.as_ref().map(|(t, _)| t.0),
                issue_id: found.as_ref().map(|(t, _)| t.1),
                email,
                matched_by: found.map(|(_, how)| how),
                outcome,
            }))
        })
    }

    /// Recorded events, newest first (at most `limit`), optionally of one issue only.
    pub fn bounce_events(&self, issue: Option<i64>, limit: usize) -> Result<Vec<BounceEvent>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, delivery_id, issue_id, email, kind, status, reason, counted,
             feedback_type, diagnostic, source, raw_ref, matched_by, outcome, occurred, recorded
             FROM bounce_events WHERE CAST(?1 AS BIGINT) IS NULL OR issue_id = ?1
             ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![issue, limit as i64], |r| {
            Ok(BounceEvent {
                id: r.get(0)?,
                delivery: r.get(1)?,
                issue: r.get(2)?,
                recipient: r.get(3)?,
                kind: r.get(4)?,
                status: r.get(5)?,
                reason: r.get(6)?,
                counts_against_reader: r.get(7)?,
                feedback_type: r.get(8)?,
                diagnostic: r.get(9)?,
                source: r.get(10)?,
                raw_ref: r.get(11)?,
                matched_by: r.get(12)?,
                outcome: r.get(13)?,
                occurred: parse_ts(&r.get::<_, String>(14)?),
                recorded: parse_ts(&r.get::<_, String>(15)?),
            })
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// Takes a signed webhook request's id once: false when it was taken before (a replay).
    /// Ids older than `keep` are forgotten (requests that old are refused by their time).
    pub fn take_nonce(
        &self,
        provider: &str,
        nonce: &str,
        keep: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM webhook_nonces WHERE seen < ?1",
                [ts(now - keep)],
            )?;
            let n = tx.execute(
                "INSERT INTO webhook_nonces (provider, nonce, seen) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                params![provider, nonce, ts(now)],
            )?;
            Ok(n == 1)
        })
    }

    /// Gives back an id taken by [`Store::take_nonce`] when its request then failed (the
    /// event could not be recorded, the subscription not confirmed), so that the provider's
    /// retry is taken rather than refused as a replay.
    pub fn release_nonce(&self, provider: &str, nonce: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM webhook_nonces WHERE provider = ?1 AND nonce = ?2",
                params![provider, nonce],
            )?;
            Ok(())
        })
    }

    /// An issue's hard bounces and messages tried so far: (tried, hard). Tried is sent plus
    /// failed; hard counts each delivery once, whether the server refused the address during
    /// the SMTP session or a hard bounce came back later, whatever its cause.
    pub fn hard_bounces(&self, issue_id: i64) -> Result<(i64, i64)> {
        let conn = self.conn()?;
        let tried: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM deliveries WHERE issue_id = ?1 AND status IN ('sent', 'failed')",
            )?
            .query_row([issue_id], |r| r.get(0))?;
        // Refused during the session (failed and counted), plus the other deliveries that a
        // late hard bounce names: both read through indexes, cheap enough for the send loop.
        let hard: i64 = conn
            .prepare_cached(
                "SELECT (SELECT COUNT(*) FROM deliveries WHERE issue_id = ?1 AND status = 'failed'
                         AND counted = 1)
                      + (SELECT COUNT(DISTINCT b.delivery_id) FROM bounce_events b
                         JOIN deliveries d ON d.id = b.delivery_id
                         WHERE b.issue_id = ?1 AND b.kind = 'hard'
                         AND NOT (d.status = 'failed' AND d.counted = 1))",
            )?
            .query_row([issue_id], |r| r.get(0))?;
        Ok((tried, hard))
    }

    /// Whether the operator resumed the issue after a pause (it is not paused again).
    pub fn pause_exempt(&self, issue_id: i64) -> Result<bool> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                "SELECT pause_exempt FROM issues WHERE id = ?1",
                [issue_id],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// Why an issue's send is paused, if it is.
    pub fn paused(&self, issue_id: i64) -> Result<Option<String>> {
        let conn = self.conn()?;
        Ok(conn
            .query_row("SELECT paused FROM issues WHERE id = ?1", [issue_id], |r| {
                r.get(0)
            })
            .optional()?
            .flatten())
    }

    /// Pauses an issue's send with the reason (not one the operator resumed). Returns whether
    /// it is paused now.
    pub fn pause_issue(&self, issue_id: i64, reason: &str) -> Result<bool> {
        self.write(|tx| {
            tx.execute(
                "UPDATE issues SET paused = ?2 WHERE id = ?1 AND paused IS NULL AND pause_exempt = 0",
                params![issue_id, reason],
            )?;
            let paused: Option<String> = tx
                .query_row("SELECT paused FROM issues WHERE id = ?1", [issue_id], |r| {
                    r.get(0)
                })
                .optional()?
                .flatten();
            Ok(paused.is_some())
        })
    }

    /// Lifts an issue's pause for good (the rate rule no longer applies to it). Returns false
    /// when it was not paused.
    pub fn resume_issue(&self, issue_id: i64) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE issues SET paused = NULL, pause_exempt = 1 WHERE id = ?1 AND paused IS NOT NULL",
                [issue_id],
            )?;
            Ok(n == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SubscriberStatus;

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::days(day)
    }

    fn event(key: &str, kind: &str, effect: Effect, day: i64) -> NewBounce {
        NewBounce {
            key: key.into(),
            kind: kind.into(),
            status: None,
            reason: "test".into(),
            recipient: Some("ada@example.org".into()),
            effect,
            feedback_type: None,
            diagnostic: None,
            source: "file".into(),
            raw_ref: None,
            occurred: at(day),
            delivery: None,
            message_id: None,
        }
    }

    fn store() -> Store {
        let s = Store::open_in_memory().unwrap();
        s.upsert_subscriber(
            "ada@example.org",
            None,
            &[],
            SubscriberStatus::Confirmed,
            at(0),
        )
        .unwrap();
        s
    }

    fn status(s: &Store) -> SubscriberStatus {
        s.subscriber("ada@example.org").unwrap().unwrap().status
    }

    fn outcome(r: Recorded) -> Outcome {
        match r {
            Recorded::New(r) => r.outcome,
            Recorded::Duplicate => panic!("duplicate"),
        }
    }

    #[test]
    fn soft_bounces_count_within_the_window_and_decay() {
        let s = store();
        let p = BouncePolicy::default();
        let soft = |k: &str, day| event(k, "soft", Effect::CountSoft, day);
        assert_eq!(
            outcome(s.record_bounce(&soft("a", 1), &p, at(1)).unwrap()),
            Outcome::Counted
        );
        assert_eq!(
            outcome(s.record_bounce(&soft("b", 2), &p, at(2)).unwrap()),
            Outcome::Counted
        );
        // The first two are older than 30 days at day 40: they no longer count.
        assert_eq!(
            outcome(s.record_bounce(&soft("c", 40), &p, at(40)).unwrap()),
            Outcome::Counted
        );
        assert_eq!(
            outcome(s.record_bounce(&soft("d", 41), &p, at(41)).unwrap()),
            Outcome::Counted
        );
        assert_eq!(status(&s), SubscriberStatus::Confirmed);
        assert_eq!(
            outcome(s.record_bounce(&soft("e", 42), &p, at(42)).unwrap()),
            Outcome::Bouncing
        );
        assert_eq!(status(&s), SubscriberStatus::Bouncing);
        // The same event again records nothing.
        assert_eq!(
            s.record_bounce(&soft("e", 42), &p, at(43)).unwrap(),
            Recorded::Duplicate
        );
    }

    #[test]
    fn hard_bounces_meet_their_threshold_and_blocks_never_count() {
        let s = store();
        let p = BouncePolicy {
            hard_threshold: 2,
            ..BouncePolicy::default()
        };
        let blocked = event("x", "hard", Effect::None, 1);
        assert_eq!(
            outcome(s.record_bounce(&blocked, &p, at(1)).unwrap()),
            Outcome::None
        );
        let hard = |k: &str| event(k, "hard", Effect::CountHard, 2);
        assert_eq!(
            outcome(s.record_bounce(&hard("a"), &p, at(2)).unwrap()),
            Outcome::Counted
        );
        assert_eq!(
            outcome(s.record_bounce(&hard("b"), &p, at(2)).unwrap()),
            Outcome::Bouncing
        );
    }

    #[test]
    fn a_complaint_suppresses_and_an_opt_out_unsubscribes() {
        let s = store();
        let p = BouncePolicy::default();
        let opt_out = event("o", "complaint", Effect::Unsubscribe, 1);
        assert_eq!(
            outcome(s.record_bounce(&opt_out, &p, at(1)).unwrap()),
            Outcome::Unsubscribed
        );
        assert_eq!(status(&s), SubscriberStatus::Unsubscribed);
        let abuse = event("c", "complaint", Effect::Complain, 2);
        assert_eq!(
            outcome(s.record_bounce(&abuse, &p, at(2)).unwrap()),
            Outcome::Complained
        );
        assert_eq!(status(&s), SubscriberStatus::Complained);
        assert_eq!(
            s.suppression("ada@example.org").unwrap().as_deref(),
            Some("complained")
        );
        let auth = event("a", "complaint", Effect::Operator, 3);
        assert_eq!(
            outcome(s.record_bounce(&auth, &p, at(3)).unwrap()),
            Outcome::Operator
        );
    }
}
