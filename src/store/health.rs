//! What an operator asks of the database: the scheduler's last reported state (with a
//! heartbeat), each digest's last slot, failing feeds and each issue's figures.

use super::db::{params, OptionalExtension, Sql};
use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{parse_ts, ts, Store};
use crate::model::{HealthSnapshot as Snapshot, SchedulerState as State};

/// A process's health as last recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub owner: Option<String>,
    pub snapshot: Snapshot,
    /// When it was last written (wall clock): a heartbeat.
    pub updated: DateTime<Utc>,
}

/// A feed whose last fetch failed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailingFeed {
    pub url: String,
    pub since: Option<String>,
    pub error: Option<String>,
}

/// One issue's delivery figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssueFigures {
    pub issue: i64,
    pub digest: String,
    pub number: i64,
    pub sent: i64,
    pub failed: i64,
    pub queued: i64,
    pub unknown: i64,
    /// Hard bounces per message tried: addresses refused during the SMTP session, and hard
    /// bounces that came back later (mail, webhooks), whatever their cause.
    pub bounce_rate: f64,
    /// Spam complaints (abuse reports) per message sent.
    pub complaint_rate: f64,
    /// Soft bounces that came back later, per message sent.
    pub soft_bounce_rate: f64,
    /// Why the issue's send is paused (`pause_above`), if it is.
    pub paused: Option<String>,
}

impl Store {
    /// Writes a process's health (its heartbeat).
    pub fn record_health(&self, name: &str, s: &Snapshot) -> Result<()> {
        let owner = super::leases::Owner::current_key();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO health (name, owner, state, last_error, since, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (name) DO UPDATE SET owner = ?2, state = ?3, last_error = ?4,
                 since = ?5, updated = ?6",
                params![
                    name,
                    owner,
                    s.state.as_str(),
                    s.last_error,
                    ts(s.since),
                    ts(Utc::now())
                ],
            )?;
            Ok(())
        })
    }

    /// A process's health as last recorded, if it ever was.
    pub fn health(&self, name: &str) -> Result<Option<Recorded>> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT owner, state, last_error, since, updated FROM health WHERE name = ?1",
            [name],
            |r| {
                let state: String = r.get(1)?;
                Ok(Recorded {
                    owner: r.get(0)?,
                    snapshot: Snapshot {
                        state: State::parse(&state).unwrap_or(State::Failing),
                        last_error: r.get(2)?,
                        since: parse_ts(&r.get::<_, Option<String>>(3)?.unwrap_or_default()),
                    },
                    updated: parse_ts(&r.get::<_, String>(4)?),
                })
            },
        )
        .optional()
    }

    /// The latest claimed slot of a digest and what it did.
    pub fn last_slot(&self, digest: &str) -> Result<Option<(String, Option<String>)>> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT scheduled, outcome FROM slots WHERE digest = ?1
                 ORDER BY scheduled DESC LIMIT 1",
            [digest],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
    }

    /// Feeds whose last fetch failed, with the first failure of the streak.
    pub fn failing_feeds(&self) -> Result<Vec<FailingFeed>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT url, failing_since, last_error FROM feeds
             WHERE last_status IN ('error', 'rate_limited') ORDER BY url",
        )?;
        let rows = stmt.query_map(params![], |r| {
            Ok(FailingFeed {
                url: r.get(0)?,
                since: r.get(1)?,
                error: r.get(2)?,
            })
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// The figures of the `limit` newest issues.
    pub fn issue_figures(&self, limit: usize) -> Result<Vec<IssueFigures>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT i.id, i.digest, i.number,
             COUNT(CASE WHEN d.status = 'sent' THEN 1 END),
             COUNT(CASE WHEN d.status = 'failed' THEN 1 END),
             COUNT(CASE WHEN d.status = 'queued' THEN 1 END),
             COUNT(CASE WHEN d.status IN ('sending', 'unknown') THEN 1 END),
             COUNT(CASE WHEN d.counted = 1 OR EXISTS (SELECT 1 FROM bounce_events b
                 WHERE b.delivery_id = d.id AND b.kind = 'hard') THEN 1 END),
             COUNT(CASE WHEN EXISTS (SELECT 1 FROM bounce_events b WHERE b.delivery_id = d.id
                 AND b.kind = 'complaint' AND b.reason = 'complaint') THEN 1 END),
             COUNT(CASE WHEN d.counted = 0 AND EXISTS (SELECT 1 FROM bounce_events b
                 WHERE b.delivery_id = d.id AND b.kind = 'soft') AND NOT EXISTS (SELECT 1
                 FROM bounce_events b WHERE b.delivery_id = d.id AND b.kind = 'hard') THEN 1 END),
             i.paused
             FROM issues i LEFT JOIN deliveries d ON d.issue_id = i.id
             GROUP BY i.id ORDER BY i.id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            let (sent, failed, bounced): (i64, i64, i64) = (r.get(3)?, r.get(4)?, r.get(7)?);
            let (complained, soft): (i64, i64) = (r.get(8)?, r.get(9)?);
            let tried = (sent + failed).max(1) as f64;
            Ok(IssueFigures {
                issue: r.get(0)?,
                digest: r.get(1)?,
                number: r.get(2)?,
                sent,
                failed,
                queued: r.get(5)?,
                unknown: r.get(6)?,
                bounce_rate: bounced as f64 / tried,
                complaint_rate: complained as f64 / sent.max(1) as f64,
                soft_bounce_rate: soft as f64 / sent.max(1) as f64,
                paused: r.get(10)?,
            })
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// Whether the database answers.
    pub fn ping(&self) -> Result<()> {
        self.conn()?.query_row("SELECT 1", params![], |_| Ok(()))?;
        Ok(())
    }
}
