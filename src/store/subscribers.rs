//! Subscribers: one row per address (case-insensitive), with status and digests.

use super::db::{params, Db, OptionalExtension, Row, Sql};
use anyhow::Result;

use super::preferences::{consent, Consent};
use super::{parse_ts, ts, Store};
use crate::model::{Subscriber, SubscriberStatus};

/// How long a pending (unconfirmed) subscription lives.
pub const PENDING_LIFETIME_DAYS: i64 = 7;
/// Confirmation mails one address may get: at most 1 a day and 3 a week (list bombing).
pub const CONFIRM_MAILS_PER_DAY: i64 = 1;
pub const CONFIRM_MAILS_PER_WEEK: i64 = 3;

/// What a subscribe request from the web should lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupOutcome {
    /// The row is pending: send a confirmation mail for this subscriber id.
    SendConfirmation(i64),
    /// Already confirmed: nothing changes and nothing is sent.
    AlreadyConfirmed,
    /// Pending, but this address had its share of confirmation mails: nothing is sent.
    Capped,
}

/// What a confirm request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Confirmed,
    AlreadyConfirmed,
    /// No such row, or it is not pending (unsubscribed since, or expired and purged).
    NotPending,
}

/// When and from where a subscription was confirmed (consent audit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentAudit {
    pub confirmed_at: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// One address to add or update.
#[derive(Debug, Clone)]
pub struct NewSubscriber {
    pub email: String,
    pub name: Option<String>,
    /// Digest names; empty means every digest.
    pub digests: Vec<String>,
}

fn upsert_one(
    tx: &Db<'_>,
    r: &NewSubscriber,
    status: SubscriberStatus,
    source: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SubscriberUpsert> {
    let digests_json = serde_json::to_string(&r.digests)?;
    let (email, name) = (r.email.as_str(), r.name.as_deref());
    let existing: Option<(Option<String>, String, String, bool)> = tx
        .query_row(
            "SELECT name, digests, status, unsubscribed_at IS NOT NULL FROM subscribers
             WHERE email = ?1",
            [email],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()?;
    // A reader who unsubscribed or was erased, and asked again through the form, is pending
    // until their own confirmation: the operator cannot confirm them instead.
    if let Some((_, _, s, unsubscribed)) = &existing {
        if status == SubscriberStatus::Confirmed
            && s == SubscriberStatus::Pending.as_str()
            && (*unsubscribed || suppressed(tx, email)?.is_some())
        {
            return Ok(SubscriberUpsert::Suppressed(
                "unsubscribed earlier and asked again: only their own confirmation subscribes them",
            ));
        }
    }
    match existing.map(|(n, d, s, _)| (n, d, s)) {
        None => match suppressed(tx, email)?.as_deref() {
            Some("erased") => Ok(SubscriberUpsert::Suppressed(
                "erased at the reader's request",
            )),
            Some(_) => Ok(SubscriberUpsert::Suppressed(
                "suppressed (removed after unsubscribing, bouncing or a complaint)",
            )),
            None => insert_new(tx, r, status, source, now),
        },
        Some((_, _, s)) if s == SubscriberStatus::Unsubscribed.as_str() => {
            Ok(SubscriberUpsert::Suppressed("unsubscribed earlier"))
        }
        Some((_, _, s)) if s == SubscriberStatus::Bouncing.as_str() => {
            Ok(SubscriberUpsert::Suppressed("bouncing"))
        }
        Some((_, _, s)) if s == SubscriberStatus::Complained.as_str() => Ok(
            SubscriberUpsert::Suppressed("complained (reported our mail as spam)"),
        ),
        Some((n, d, s)) if n.as_deref() == name && d == digests_json && s == status.as_str() => {
            Ok(SubscriberUpsert::Unchanged)
        }
        Some((_, d, s)) => {
            tx.execute(
                "UPDATE subscribers SET name = ?2, digests = ?3, status = ?4, failures = 0 WHERE email = ?1",
                params![email, name, digests_json, status.as_str()],
            )?;
            let id: i64 = tx.query_row(
                "SELECT id FROM subscribers WHERE email = ?1",
                [email],
                |r| r.get(0),
            )?;
            if s != status.as_str() && status == SubscriberStatus::Confirmed {
                consent(
                    tx,
                    id,
                    Consent::Confirmed,
                    source,
                    Some("by the operator"),
                    now,
                )?;
            }
            if d != digests_json {
                let detail = format!("digests {digests_json}");
                consent(tx, id, Consent::Preferences, source, Some(&detail), now)?;
            }
            Ok(SubscriberUpsert::Updated)
        }
    }
}

/// Inserts a new subscriber and logs its consent.
fn insert_new(
    tx: &Db<'_>,
    r: &NewSubscriber,
    status: SubscriberStatus,
    source: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SubscriberUpsert> {
    let digests_json = serde_json::to_string(&r.digests)?;
    let (email, name) = (r.email.as_str(), r.name.as_deref());
    let confirmed = (status == SubscriberStatus::Confirmed).then(|| ts(now));
    let id = tx.insert(
        "INSERT INTO subscribers (email, name, status, digests, created, confirmed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            email,
            name,
            status.as_str(),
            digests_json,
            ts(now),
            confirmed
        ],
    )?;
    consent(
        tx,
        id,
        Consent::Subscribed,
        source,
        Some(&digests_json),
        now,
    )?;
    if status == SubscriberStatus::Confirmed {
        consent(
            tx,
            id,
            Consent::Confirmed,
            source,
            Some("by the operator"),
            now,
        )?;
    }
    Ok(SubscriberUpsert::Added)
}

/// What an add or import did to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriberUpsert {
    Added,
    Updated,
    Unchanged,
    /// The address unsubscribed, bounced, or was removed after that: left as it is (only the
    /// subscriber's own double opt-in can subscribe it again). Says which.
    Suppressed(&'static str),
}

/// Why an address with no row is suppressed, if it is.
fn suppressed(tx: &Db<'_>, email: &str) -> Result<Option<String>> {
    tx.query_row(
        "SELECT reason FROM suppressions WHERE hash = ?1",
        [crate::model::suppression_hash(email)],
        |r| r.get(0),
    )
    .optional()
}

/// Keeps an address suppressed (by its hash) after its row is gone.
pub(super) fn suppress(
    tx: &Db<'_>,
    email: &str,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO suppressions (hash, reason, created) VALUES (?1, ?2, ?3)
         ON CONFLICT (hash) DO UPDATE SET reason = ?2",
        params![crate::model::suppression_hash(email), reason, ts(now)],
    )?;
    Ok(())
}

impl Store {
    /// Adds a subscriber or updates name, digests and status of an existing one.
    pub fn upsert_subscriber(
        &self,
        email: &str,
        name: Option<&str>,
        digests: &[String],
        status: SubscriberStatus,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SubscriberUpsert> {
        let row = NewSubscriber {
            email: email.to_string(),
            name: name.map(str::to_string),
            digests: digests.to_vec(),
        };
        Ok(self
            .upsert_subscribers(std::slice::from_ref(&row), status, now)?
            .remove(0))
    }

    /// Adds or updates many subscribers in one transaction (an import). An address that
    /// unsubscribed stays unsubscribed: re-importing an old list never re-subscribes anyone.
    pub fn upsert_subscribers(
        &self,
        rows: &[NewSubscriber],
        status: SubscriberStatus,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<SubscriberUpsert>> {
        self.upsert_subscribers_from(rows, status, "cli", now)
    }

    /// [`Store::upsert_subscribers`], with the source the consent log records (`cli`,
    /// `import`).
    pub fn upsert_subscribers_from(
        &self,
        rows: &[NewSubscriber],
        status: SubscriberStatus,
        source: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<SubscriberUpsert>> {
        self.write(|tx| {
            rows.iter()
                .map(|r| upsert_one(tx, r, status, source, now))
                .collect()
        })
    }

    /// Removes a subscriber's row; past deliveries keep the address, queued ones are closed
    /// unsent. An address that had
    /// unsubscribed, was bouncing or complained stays suppressed, by a hash of it. Returns None when there
    /// was no such row, else the suppression reason, if any.
    pub fn remove_subscriber(
        &self,
        email: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Option<String>>> {
        self.write(|tx| {
            let status: Option<String> = tx
                .query_row(
                    "SELECT status FROM subscribers WHERE email = ?1",
                    [email],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(status) = status else {
                return Ok(None);
            };
            let keep = matches!(status.as_str(), "unsubscribed" | "bouncing" | "complained");
            if keep {
                suppress(tx, email, &status, now)?;
            }
            // Removed means no more mail: an issue still queued for them is closed unsent.
            tx.execute(
                "UPDATE deliveries SET status = 'failed', reply = ?3 || 'subscriber is removed',
                 updated = ?2 WHERE status = 'queued'
                 AND subscriber_id = (SELECT id FROM subscribers WHERE email = ?1)",
                params![email, ts(now), super::deliveries::SKIPPED],
            )?;
            tx.execute(
                "UPDATE deliveries SET subscriber_id = NULL WHERE email = ?1",
                [email],
            )?;
            tx.execute("DELETE FROM subscribers WHERE email = ?1", [email])?;
            Ok(Some(keep.then_some(status)))
        })
    }

    /// Suppresses an address that has no row (an import of someone who unsubscribed
    /// elsewhere). Returns false when the address has a row (its status decides).
    pub fn suppress_address(
        &self,
        email: &str,
        reason: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        self.write(|tx| {
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM subscribers WHERE email = ?1)",
                [email],
                |r| r.get(0),
            )?;
            if !known {
                suppress(tx, email, reason, now)?;
            }
            Ok(!known)
        })
    }

    /// Why an address is suppressed by hash (its row is gone), if it is.
    pub fn suppression(&self, email: &str) -> Result<Option<String>> {
        suppressed(&self.conn()?.db(), email)
    }

    /// Every subscriber, ordered by address.
    pub fn subscribers(&self) -> Result<Vec<Subscriber>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers ORDER BY email"
        ))?;
        let rows = stmt.query_map(params![], row_to_subscriber)?;
        rows.collect::<Result<_, _>>()
    }

    /// Every subscriber in turn, without holding them all (enqueueing a large list).
    pub fn each_subscriber(&self, mut f: impl FnMut(Subscriber)) -> Result<()> {
        each_subscriber(&self.conn()?.db(), |s| {
            f(s);
            Ok(())
        })
    }

    /// One subscriber by address.
    pub fn subscriber(&self, email: &str) -> Result<Option<Subscriber>> {
        let conn = self.conn()?;
        conn.query_row(
            &format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE email = ?1"),
            [email],
            row_to_subscriber,
        )
        .optional()
    }

    /// One subscriber by id.
    pub fn subscriber_by_id(&self, id: i64) -> Result<Option<Subscriber>> {
        let conn = self.conn()?;
        conn.query_row(
            &format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE id = ?1"),
            [id],
            row_to_subscriber,
        )
        .optional()
    }

    /// When the subscriber's current subscribe request began (None: no request pending).
    pub fn pending_since(&self, id: i64) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let conn = self.conn()?;
        let since: Option<Option<String>> = conn
            .query_row(
                "SELECT pending_since FROM subscribers WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(since.flatten().map(|s| parse_ts(&s)))
    }

    /// Sets a subscriber's status (with the method, for unsubscribes).
    pub fn set_subscriber_status(
        &self,
        id: i64,
        status: SubscriberStatus,
        method: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            let when = ts(now);
            match status {
                SubscriberStatus::Confirmed => tx.execute(
                    "UPDATE subscribers SET status = 'confirmed', confirmed_at = ?2, failures = 0 WHERE id = ?1",
                    params![id, when],
                )?,
                SubscriberStatus::Unsubscribed => {
                    consent(tx, id, Consent::Unsubscribed, method.unwrap_or("cli"), None, now)?;
                    tx.execute(
                        "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?2,
                         unsubscribe_method = ?3 WHERE id = ?1",
                        params![id, when, method],
                    )?
                }
                other => tx.execute(
                    "UPDATE subscribers SET status = ?2 WHERE id = ?1",
                    params![id, other.as_str()],
                )?,
            };
            Ok(())
        })
    }
}

impl Store {
    /// A subscribe request from the web (double opt-in): a new or lapsed address becomes
    /// pending (a fresh opt-in even after an unsubscribe); a pending one keeps its name and
    /// digests; a confirmed one stays as it is.
    /// Records the confirmation mail it allows, within the per-address cap.
    pub fn request_subscription(
        &self,
        email: &str,
        name: Option<&str>,
        digests: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SignupOutcome> {
        let digests_json = serde_json::to_string(digests)?;
        self.write(|tx| {
            let existing: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, status FROM subscribers WHERE email = ?1",
                    [email],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let id = match existing {
                Some((_, status)) if status == "confirmed" => {
                    return Ok(SignupOutcome::AlreadyConfirmed)
                }
                // A request already waiting for its confirmation keeps what it asked for: a
                // form post by anyone must not rewrite the name or digests that the reader's
                // own link would then confirm.
                Some((id, status)) if status == "pending" => id,
                Some((id, _)) => {
                    tx.execute(
                        "UPDATE subscribers SET status = 'pending', digests = ?2,
                         pending_since = ?3, name = COALESCE(?4, name) WHERE id = ?1",
                        params![id, digests_json, ts(now), name],
                    )?;
                    id
                }
                None => tx.insert(
                    "INSERT INTO subscribers (email, name, status, digests, created, pending_since)
                         VALUES (?1, ?2, 'pending', ?3, ?4, ?4)",
                    params![email, name, digests_json, ts(now)],
                )?,
            };
            consent(tx, id, Consent::Subscribed, "web", Some(&digests_json), now)?;
            let count_since = |days: i64| -> anyhow::Result<i64> {
                tx.query_row(
                    "SELECT COUNT(*) FROM confirm_mails WHERE email = ?1 AND sent_at > ?2",
                    params![email, ts(now - chrono::Duration::days(days))],
                    |r| r.get(0),
                )
            };
            if count_since(1)? >= CONFIRM_MAILS_PER_DAY || count_since(7)? >= CONFIRM_MAILS_PER_WEEK
            {
                return Ok(SignupOutcome::Capped);
            }
            tx.execute(
                "INSERT INTO confirm_mails (email, sent_at) VALUES (?1, ?2)",
                params![email, ts(now)],
            )?;
            tx.execute(
                "UPDATE subscribers SET confirm_sent_at = ?2 WHERE id = ?1",
                params![id, ts(now)],
            )?;
            Ok(SignupOutcome::SendConfirmation(id))
        })
    }

    /// Confirms a pending subscriber, recording the IP and user agent of the request (consent
    /// audit). Confirming twice changes nothing.
    pub fn confirm_subscriber(
        &self,
        id: i64,
        ip: &str,
        user_agent: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ConfirmOutcome> {
        self.write(|tx| {
            let status: Option<String> = tx
                .query_row("SELECT status FROM subscribers WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            match status.as_deref() {
                Some("confirmed") => Ok(ConfirmOutcome::AlreadyConfirmed),
                Some("pending") => {
                    tx.execute(
                        "UPDATE subscribers SET status = 'confirmed', confirmed_at = ?2,
                         confirm_ip = ?3, confirm_ua = ?4, failures = 0, pending_since = NULL
                         WHERE id = ?1",
                        params![id, ts(now), ip, user_agent],
                    )?;
                    consent(tx, id, Consent::Confirmed, "email-link", None, now)?;
                    // Their own opt-in lifts an earlier suppression.
                    tx.execute(
                        "DELETE FROM suppressions WHERE hash = ?1",
                        [crate::model::suppression_hash(&email_of(tx, id)?)],
                    )?;
                    Ok(ConfirmOutcome::Confirmed)
                }
                _ => Ok(ConfirmOutcome::NotPending),
            }
        })
    }

    /// Unsubscribes at once (idempotent: an unsubscribed row keeps its first time and method,
    /// a complained one stays complained).
    /// Returns whether the row exists.
    pub fn unsubscribe(
        &self,
        id: i64,
        method: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?2,
                 unsubscribe_method = ?3, pending_since = NULL
                 WHERE id = ?1 AND status NOT IN ('unsubscribed', 'complained')",
                params![id, ts(now), method],
            )?;
            if changed == 1 {
                consent(tx, id, Consent::Unsubscribed, method, None, now)?;
            }
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM subscribers WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(exists.is_some())
        })
    }

    /// Drops pending subscriptions older than `PENDING_LIFETIME_DAYS`: rows never confirmed are
    /// deleted, lapsed re-subscriptions go back to unsubscribed. Also forgets old
    /// confirmation-mail records. Returns how many subscriptions expired.
    pub fn purge_expired_pending(&self, now: chrono::DateTime<chrono::Utc>) -> Result<usize> {
        let cutoff = ts(now - chrono::Duration::days(PENDING_LIFETIME_DAYS));
        self.write(|tx| {
            let reverted = tx.execute(
                "UPDATE subscribers SET status = 'unsubscribed', pending_since = NULL
                 WHERE status = 'pending' AND confirmed_at IS NOT NULL
                 AND COALESCE(pending_since, created) < ?1",
                [&cutoff],
            )?;
            tx.execute(
                "UPDATE deliveries SET subscriber_id = NULL WHERE subscriber_id IN
                 (SELECT id FROM subscribers WHERE status = 'pending' AND confirmed_at IS NULL
                  AND COALESCE(pending_since, created) < ?1)",
                [&cutoff],
            )?;
            let deleted = tx.execute(
                "DELETE FROM subscribers WHERE status = 'pending' AND confirmed_at IS NULL
                 AND COALESCE(pending_since, created) < ?1",
                [&cutoff],
            )?;
            tx.execute("DELETE FROM confirm_mails WHERE sent_at < ?1", [&cutoff])?;
            Ok(reverted + deleted)
        })
    }

    /// The consent audit of a subscriber.
    pub fn consent_audit(&self, id: i64) -> Result<Option<ConsentAudit>> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT confirmed_at, confirm_ip, confirm_ua FROM subscribers WHERE id = ?1",
            [id],
            |r| {
                Ok(ConsentAudit {
                    confirmed_at: r.get(0)?,
                    ip: r.get(1)?,
                    user_agent: r.get(2)?,
                })
            },
        )
        .optional()
    }
}

fn email_of(tx: &Db<'_>, id: i64) -> Result<String> {
    tx.query_row("SELECT email FROM subscribers WHERE id = ?1", [id], |r| {
        r.get(0)
    })
}

/// The columns [`row_to_subscriber`] reads, in its order.
pub(super) const SUBSCRIBER_COLUMNS: &str =
    "id, email, name, status, digests, topics, format, timezone, paused_until";

/// Subscribers read a page at a time, in id order, each handed to `f`: memory does not grow with
/// the list, and `f` may write through the same connection or transaction (PostgreSQL cannot
/// run a statement while another one's rows are still streaming on that connection).
pub(super) fn each_subscriber(
    db: &Db<'_>,
    mut f: impl FnMut(Subscriber) -> Result<()>,
) -> Result<()> {
    const PAGE: i64 = 1000;
    let sql =
        format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE id > ?1 ORDER BY id LIMIT ?2");
    let mut after = 0;
    loop {
        let page = db.query_map(&sql, params![after, PAGE], row_to_subscriber)?;
        let full = page.len() as i64 == PAGE;
        for s in page {
            after = s.id;
            f(s)?;
        }
        if !full {
            return Ok(());
        }
    }
}

pub(super) fn row_to_subscriber(r: &Row) -> anyhow::Result<Subscriber> {
    let status: String = r.get(3)?;
    Ok(Subscriber {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        status: SubscriberStatus::parse(&status).unwrap_or(SubscriberStatus::Pending),
        digests: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
        prefs: super::preferences::preferences_of(r, 5)?,
    })
}
