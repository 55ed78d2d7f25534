//! The delivery ledger: one row per (issue, recipient), moved through
//! queued → sending → sent | failed, each step its own committed transaction, so that a crash
//! never loses a delivery and never sends one twice. A row found in `sending` after a crash is
//! in doubt and becomes `unknown`: it is reported, never resent automatically.

use super::db::{params, Db, OptionalExtension, Params, Row, Sql};
use anyhow::Result;

use super::{ts, Store};
use crate::model::DeliveryStatus;

/// One delivery row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    pub id: i64,
    pub issue_id: i64,
    #[serde(skip)]
    pub subscriber_id: Option<i64>,
    pub email: String,
    pub name: Option<String>,
    pub status: DeliveryStatus,
    pub message_id: String,
    pub attempts: i64,
    pub reply: Option<String>,
    /// The copy planned for this row (`model::Variant::from_column`); `None`: HTML with every
    /// section.
    #[serde(skip)]
    pub variant: Option<String>,
    /// The `[[relays]]` name the row was last handed to (`None`: `[delivery] url`, or not yet).
    pub relay: Option<String>,
}

/// How the reply of a row closed unsent begins: its reader may no longer receive mail
/// (unsubscribed, paused or removed since the issue was planned). Such a row is `failed` in
/// the ledger, but not a failure of the job.
pub const SKIPPED: &str = "skipped: ";

impl Delivery {
    /// Closed unsent because its reader may no longer receive mail ([`SKIPPED`]).
    pub fn skipped(&self) -> bool {
        self.status == DeliveryStatus::Failed
            && self
                .reply
                .as_deref()
                .is_some_and(|r| r.starts_with(SKIPPED))
    }
}

/// Counts of an issue's deliveries by status.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct DeliveryCounts {
    pub queued: i64,
    /// Being sent right now (by this or another process).
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub unknown: i64,
    /// Of `failed`: closed unsent because the reader may no longer receive mail (unsubscribed,
    /// paused or removed since the issue was planned). Counted only by a sender's own tally.
    #[serde(skip)]
    pub skipped: i64,
}

/// What claiming a queued row for sending found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The row is ours (`sending`, attempts + 1): send it now.
    Claimed,
    /// The subscriber may no longer receive mail; the row is closed with this reason.
    Skipped(String),
    /// The row was not queued any more (another sender took it): do not send.
    Gone,
    /// The relay's daily quota is spent: the row stays queued, for another relay or the next
    /// day.
    QuotaSpent,
}

/// One message counted against a relay's day (`relay_usage`), reserved with the claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub relay: String,
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The relay's `daily_quota` (None: counted, never refused).
    pub quota: Option<i64>,
}

/// One transition of a delivery row.
#[derive(Debug, Clone)]
pub enum Step {
    /// queued → sending (or closed as skipped when the subscriber may no longer receive mail).
    /// With a named relay, one message of its day is reserved first, under its quota: when the
    /// quota is spent the row stays queued (`Claim::QuotaSpent`); when the row is not claimed
    /// the reservation is given back in the same transaction.
    Claim { id: i64, relay: Option<Reservation> },
    /// Gives back a reservation whose message was never tried (the relay could not be used, or
    /// the message could not be built).
    GiveBack(Reservation),
    /// sending → sent, with the server's reply; resets the subscriber's failure streak.
    Sent { id: i64, reply: String },
    /// sending → queued without spending the attempt: the server could not be used at all, so
    /// nothing was tried for this recipient (the row's relay is cleared; the reservation is
    /// given back by a `GiveBack` step beside it).
    Release { id: i64, reply: String },
    /// sending → queued after a transient failure (4xx, dropped connection), due at
    /// `next_attempt`.
    Retry {
        id: i64,
        reply: String,
        next_attempt: chrono::DateTime<chrono::Utc>,
    },
    /// sending → unknown: the connection failed after the message went out and before the
    /// server answered. Reported, never resent automatically.
    Unknown { id: i64, reply: String },
    /// sending → failed for good. With `bounce_after` (the server refused the address: a
    /// recipient fault, see `deliver::reply`) it adds to the subscriber's streak of permanent
    /// failures, and at `bounce_after` in a row the subscriber becomes `bouncing`. Other
    /// failures (out of attempts, a refusal that is the sender's to fix, a message that cannot
    /// be built) do not count against the subscriber.
    Failed {
        id: i64,
        reply: String,
        bounce_after: Option<i64>,
    },
}

/// What a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Claim(Claim),
    /// Whether the subscriber just became `bouncing` (always false for steps other than Failed).
    Bounced(bool),
}

impl Step {
    fn apply(&self, tx: &Db<'_>, now: chrono::DateTime<chrono::Utc>) -> Result<Applied> {
        let now = ts(now);
        Ok(match self {
            Step::Claim { id, relay } => Applied::Claim(reserve_and_claim(tx, *id, relay, &now)?),
            Step::GiveBack(r) => {
                give_back(tx, r)?;
                Applied::Bounced(false)
            }
            Step::Sent { id, reply } => {
                let n = tx.prepare_cached(
                    "UPDATE deliveries SET status = 'sent', reply = ?2, updated = ?3 WHERE id = ?1 AND status = 'sending'",
                )?
                .execute(
                    params![id, reply, now],
                )?;
                if n == 1 {
                    tx.prepare_cached(
                        "UPDATE subscribers SET failures = 0 WHERE failures != 0
                         AND id = (SELECT subscriber_id FROM deliveries WHERE id = ?1)",
                    )?
                    .execute([id])?;
                }
                Applied::Bounced(false)
            }
            Step::Retry {
                id,
                reply,
                next_attempt,
            } => {
                tx.prepare_cached(
                    "UPDATE deliveries SET status = 'queued', reply = ?2, next_attempt = ?3, updated = ?4
                     WHERE id = ?1 AND status = 'sending'",
                )?
                .execute(
                    params![id, reply, ts(*next_attempt), now],
                )?;
                Applied::Bounced(false)
            }
            Step::Release { id, reply } => {
                tx.prepare_cached(
                    "UPDATE deliveries SET status = 'queued', reply = ?2, attempts = attempts - 1, updated = ?3,
                     relay = NULL WHERE id = ?1 AND status = 'sending'",
                )?
                .execute(params![id, reply, now])?;
                Applied::Bounced(false)
            }
            Step::Unknown { id, reply } => {
                tx.prepare_cached(
                    "UPDATE deliveries SET status = 'unknown', reply = ?2, updated = ?3 WHERE id = ?1 AND status = 'sending'",
                )?
                .execute(
                    params![id, reply, now],
                )?;
                Applied::Bounced(false)
            }
            Step::Failed {
                id,
                reply,
                bounce_after,
            } => {
                let n = tx.prepare_cached(
                    "UPDATE deliveries SET status = 'failed', reply = ?2, updated = ?3, counted = ?4
                     WHERE id = ?1 AND status = 'sending'",
                )?
                .execute(
                    params![id, reply, now, bounce_after.is_some()],
                )?;
                let Some(bounce_after) = bounce_after.filter(|_| n == 1) else {
                    return Ok(Applied::Bounced(false));
                };
                tx.prepare_cached(
                    "UPDATE subscribers SET failures = failures + 1 WHERE id = (SELECT subscriber_id FROM deliveries WHERE id = ?1)",
                )?
                .execute(
                    [id],
                )?;
                let n = tx.prepare_cached(
                    "UPDATE subscribers SET status = 'bouncing' WHERE status = 'confirmed' AND failures >= ?2
                     AND id = (SELECT subscriber_id FROM deliveries WHERE id = ?1)",
                )?
                .execute(
                    params![id, bounce_after],
                )?;
                Applied::Bounced(n == 1)
            }
        })
    }
}

/// Reserves one message of the relay's day (under its quota), then claims the row; gives the
/// reservation back when the row is not claimed. One transaction: two processes can never
/// both take the last message of a quota.
fn reserve_and_claim(
    tx: &Db<'_>,
    id: i64,
    relay: &Option<Reservation>,
    now: &str,
) -> Result<Claim> {
    if let Some(r) = relay {
        if !reserve(tx, r)? {
            return Ok(Claim::QuotaSpent);
        }
    }
    let c = claim(tx, id, relay.as_ref().map(|r| r.relay.as_str()), now)?;
    if let (Some(r), false) = (relay, c == Claim::Claimed) {
        give_back(tx, r)?;
    }
    Ok(c)
}

/// Counts one message against the relay's day unless its quota is spent; whether it did.
pub(super) fn reserve(tx: &Db<'_>, r: &Reservation) -> Result<bool> {
    let reserved = tx
        .prepare_cached(
            "INSERT INTO relay_usage (relay, day, sent) VALUES (?1, ?2, 1)
             ON CONFLICT (relay, day) DO UPDATE SET sent = relay_usage.sent + 1
             WHERE CAST(?3 AS BIGINT) IS NULL OR relay_usage.sent < CAST(?3 AS BIGINT)",
        )?
        .execute(params![r.relay, r.day, r.quota])?;
    Ok(reserved == 1)
}

pub(super) fn give_back(tx: &Db<'_>, r: &Reservation) -> Result<()> {
    tx.prepare_cached(
        "UPDATE relay_usage SET sent = sent - 1 WHERE relay = ?1 AND day = ?2 AND sent > 0",
    )?
    .execute(params![r.relay, r.day])?;
    Ok(())
}

fn claim(tx: &Db<'_>, id: i64, relay: Option<&str>, now: &str) -> Result<Claim> {
    let claimed = tx
        .prepare_cached(
            "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated = ?2,
         owner = ?3, lease_until = ?4, relay = ?5
         WHERE id = ?1 AND status = 'queued'
         AND (subscriber_id IS NULL OR EXISTS (SELECT 1 FROM subscribers s
              WHERE s.id = deliveries.subscriber_id AND s.status = 'confirmed'
              AND (s.paused_until IS NULL OR s.paused_until <= ?6)))",
        )?
        .execute(params![
            id,
            now,
            super::leases::Owner::current_key(),
            super::ts_millis(super::leases::lease_until()),
            relay,
            // A pause ends at the start of its day in the reader's zone, which is at most
            // 14 hours ahead of UTC.
            (super::parse_ts(now) + chrono::Duration::hours(14))
                .format("%Y-%m-%d")
                .to_string()
        ])?;
    if claimed == 1 {
        return Ok(Claim::Claimed);
    }
    let why: Option<String> = tx
        .query_row(
            "SELECT ?2 || 'subscriber is ' || CASE WHEN s.status = 'confirmed'
             THEN 'paused until ' || s.paused_until ELSE COALESCE(s.status, 'removed') END
             FROM deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.id = ?1 AND d.status = 'queued'",
            params![id, SKIPPED],
            |r| r.get(0),
        )
        .optional()?;
    let Some(why) = why else {
        return Ok(Claim::Gone);
    };
    tx.prepare_cached(
        "UPDATE deliveries SET status = 'failed', reply = ?2, updated = ?3 WHERE id = ?1 AND status = 'queued'",
    )?
    .execute(
        params![id, why, now],
    )?;
    Ok(Claim::Skipped(why))
}

/// The columns [`delivery_of`] reads.
const DELIVERY_COLUMNS: &str = "id, issue_id, subscriber_id, email, name, status, message_id, \
     attempts, reply, variant, relay";

fn delivery_of(r: &Row) -> Result<Delivery> {
    let status: String = r.get(5)?;
    Ok(Delivery {
        id: r.get(0)?,
        issue_id: r.get(1)?,
        subscriber_id: r.get(2)?,
        email: r.get(3)?,
        name: r.get(4)?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Unknown),
        message_id: r.get(6)?,
        attempts: r.get(7)?,
        reply: r.get(8)?,
        variant: r.get(9)?,
        relay: r.get(10)?,
    })
}

impl Store {
    /// Up to `limit` queued deliveries of an issue with id > `after` that are due at `now`, in
    /// id order, reserved for this process: the send loop pages through these so memory does
    /// not grow with the list.
    ///
    /// The reservation (`owner` and a lease of [`super::leases::LEASE`] on rows that stay
    /// queued) keeps several processes sending one issue off each other's rows: each pages past
    /// the rows another holds (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, beside the other
    /// writers), so none renders a message that another then sends. It is only a hint: the
    /// claim (the row still queued) decides who sends, and the rows of a process that died
    /// are free again when their lease ends.
    pub fn due_deliveries(
        &self,
        issue_id: i64,
        after: i64,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        let skip_locked = match self.engine() {
            "postgres" => "FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        let sql = format!(
            "UPDATE deliveries SET owner = ?5, lease_until = ?7 WHERE id IN (
               SELECT d.id FROM deliveries d WHERE d.issue_id = ?1 AND d.status = 'queued'
               AND d.id > ?2
               AND (d.next_attempt IS NULL OR d.next_attempt <= ?3)
               AND (d.not_before IS NULL OR d.not_before <= ?3)
               AND (d.owner IS NULL OR d.owner = ?5 OR d.lease_until IS NULL OR d.lease_until < ?6)
               ORDER BY d.id LIMIT ?4 {skip_locked})
             RETURNING {DELIVERY_COLUMNS}"
        );
        let real_now = chrono::Utc::now();
        let mut rows = self.write_beside(|tx| {
            tx.query_map(
                &sql,
                params![
                    issue_id,
                    after,
                    ts(now),
                    limit as i64,
                    super::leases::Owner::current_key(),
                    super::ts_millis(real_now),
                    super::ts_millis(super::leases::lease_until())
                ],
                delivery_of,
            )
        })?;
        rows.sort_by_key(|d| d.id);
        Ok(rows)
    }

    /// When the first lease ends among the rows of an issue that another live process holds,
    /// in real time: queued rows it reserved ([`Store::due_deliveries`]) and rows it is
    /// sending. A sender that finished its own rows waits for those: the other process sends
    /// them, or, if it died, its reserved rows are free when their lease ends and its rows in
    /// flight are then taken over as `unknown` ([`Store::take_over_abandoned`]), so the issue
    /// does not end with rows left `sending`. The reserved rows of a process on this host that
    /// is gone are let go at once (its rows in flight are taken over when this sender ends).
    pub fn held_elsewhere(&self, issue_id: i64) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let holders: Vec<(String, String)> = self.conn()?.query_map(
            "SELECT owner, MIN(lease_until) FROM deliveries WHERE issue_id = ?1
             AND status IN ('queued', 'sending') AND owner IS NOT NULL AND owner != ?2
             AND lease_until >= ?3
             GROUP BY owner",
            params![
                issue_id,
                super::leases::Owner::current_key(),
                super::ts_millis(chrono::Utc::now())
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut first: Option<chrono::DateTime<chrono::Utc>> = None;
        for (owner, until) in holders {
            if super::leases::Owner::parse(&owner).is_some_and(|o| o.is_gone()) {
                self.let_go(issue_id, &owner)?;
            } else {
                let until = super::parse_ts(&until);
                first = Some(first.map_or(until, |f| f.min(until)));
            }
        }
        Ok(first)
    }

    /// Lets go of the queued rows of an issue that `owner` reserved
    /// ([`Store::due_deliveries`]): a sender that stops, or one that is gone.
    pub fn let_go(&self, issue_id: i64, owner: &str) -> Result<()> {
        self.write_beside(|tx| {
            tx.execute(
                "UPDATE deliveries SET owner = NULL, lease_until = NULL
                 WHERE issue_id = ?1 AND status = 'queued' AND owner = ?2",
                params![issue_id, owner],
            )
        })?;
        Ok(())
    }

    /// When the next queued delivery of an issue waiting for a retry is due. Rows that wait
    /// for their reader's local time (`not_before`) and were never tried are the scheduler's,
    /// not a retry to wait for; rows another live process holds are [`Store::held_elsewhere`].
    pub fn next_retry(&self, issue_id: i64) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let conn = self.conn()?;
        let t: Option<String> = conn.query_row(
            "SELECT MIN(COALESCE(next_attempt, '')) FROM deliveries WHERE issue_id = ?1 AND status = 'queued'
             AND (next_attempt IS NOT NULL OR not_before IS NULL)
             AND (owner IS NULL OR owner = ?2 OR lease_until IS NULL OR lease_until < ?3)",
            params![
                issue_id,
                super::leases::Owner::current_key(),
                super::ts_millis(chrono::Utc::now())
            ],
            |r| r.get(0),
        )?;
        Ok(t.map(|t| {
            if t.is_empty() {
                chrono::DateTime::<chrono::Utc>::MIN_UTC
            } else {
                super::parse_ts(&t)
            }
        }))
    }

    /// Every delivery of an issue.
    pub fn deliveries(&self, issue_id: i64) -> Result<Vec<Delivery>> {
        self.deliveries_where("d.issue_id = ?1 ORDER BY d.id", params![issue_id])
    }

    fn deliveries_where(&self, filter: &str, params: impl Params) -> Result<Vec<Delivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE {filter}");
        self.conn()?.query_map(&sql, params, delivery_of)
    }

    /// queued → sending, committed just before the SMTP transaction, in one guarded UPDATE that
    /// also checks the subscriber is still confirmed (they may have unsubscribed or started
    /// bouncing since the issue was queued). Only `Claimed` may be sent.
    pub fn claim(&self, id: i64, now: chrono::DateTime<chrono::Utc>) -> Result<Claim> {
        match self.apply(&[Step::Claim { id, relay: None }], now)?.pop() {
            Some(Applied::Claim(c)) => Ok(c),
            _ => unreachable!("one claim gives one outcome"),
        }
    }

    /// sending → sent, with the server's reply; resets the subscriber's failure streak.
    pub fn mark_sent(
        &self,
        id: i64,
        reply: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let reply = reply.to_string();
        self.apply(&[Step::Sent { id, reply }], now).map(drop)
    }

    /// sending → queued again after a transient failure, due again at `next_attempt`.
    pub fn mark_retry(
        &self,
        id: i64,
        reply: &str,
        next_attempt: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let reply = reply.to_string();
        self.apply(
            &[Step::Retry {
                id,
                reply,
                next_attempt,
            }],
            now,
        )
        .map(drop)
    }

    /// sending → unknown (see `Step::Unknown`).
    pub fn mark_unknown(
        &self,
        id: i64,
        reply: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let reply = reply.to_string();
        self.apply(&[Step::Unknown { id, reply }], now).map(drop)
    }

    /// sending → failed (see `Step::Failed`); returns whether the subscriber became `bouncing`.
    pub fn mark_failed(
        &self,
        id: i64,
        reply: &str,
        bounce_after: Option<i64>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        let reply = reply.to_string();
        Ok(matches!(
            self.apply(
                &[Step::Failed {
                    id,
                    reply,
                    bounce_after
                }],
                now
            )?
            .pop(),
            Some(Applied::Bounced(true))
        ))
    }

    /// Applies ledger steps in one `BEGIN IMMEDIATE` transaction (one fsync for all: the send
    /// loop groups the steps of its parallel connections). Each step is a guarded single-row
    /// UPDATE, so grouping changes no outcome; the caller proceeds only after the commit.
    pub fn apply(
        &self,
        steps: &[Step],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Applied>> {
        self.write(|tx| steps.iter().map(|s| s.apply(tx, now)).collect())
    }
    /// Counts of an issue's deliveries by status.
    pub fn delivery_counts(&self, issue_id: i64) -> Result<DeliveryCounts> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT status, COUNT(*) FROM deliveries WHERE issue_id = ?1 GROUP BY status",
        )?;
        let mut c = DeliveryCounts::default();
        for r in stmt.query_map([issue_id], |r| Ok((r.get(0)?, r.get(1)?)))? {
            let (status, n): (String, i64) = r?;
            match DeliveryStatus::parse(&status) {
                Some(DeliveryStatus::Queued) => c.queued += n,
                Some(DeliveryStatus::Sent) => c.sent += n,
                Some(DeliveryStatus::Failed) => c.failed += n,
                Some(DeliveryStatus::Sending) => c.sending += n,
                _ => c.unknown += n,
            }
        }
        Ok(c)
    }
}
