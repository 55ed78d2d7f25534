//! The delivery ledger: one row per (issue, recipient), moved through
//! queued → sending → sent | failed, each step its own committed transaction, so that a crash
//! never loses a delivery and never sends one twice. A row found in `sending` after a crash is
//! in doubt and becomes `unknown`: it is reported, never resent automatically.

use anyhow::Result;
use rusqlite::params;

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
}

/// Counts of an issue's deliveries by status.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct DeliveryCounts {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub unknown: i64,
}

impl Store {
    /// Rows left in `sending` by a process that died become `unknown`. Returns how many.
    pub fn recover_in_flight(&self, now: chrono::DateTime<chrono::Utc>) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE deliveries SET status = 'unknown', updated = ?1,
                 reply = 'process stopped during the SMTP transaction: delivery in doubt'
                 WHERE status = 'sending'",
                [ts(now)],
            )?)
        })
    }

    /// The queued deliveries of an issue, in id order.
    pub fn queued_deliveries(&self, issue_id: i64) -> Result<Vec<Delivery>> {
        self.deliveries_where("d.issue_id = ?1 AND d.status = 'queued'", params![issue_id])
    }

    /// Every delivery of an issue.
    pub fn deliveries(&self, issue_id: i64) -> Result<Vec<Delivery>> {
        self.deliveries_where("d.issue_id = ?1", params![issue_id])
    }

    fn deliveries_where(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Delivery>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT id, issue_id, subscriber_id, email, name, status, message_id, attempts, reply
             FROM deliveries d WHERE {filter} ORDER BY id"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params, |r| {
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
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// queued → sending, just before the SMTP transaction. False if the row was not queued
    /// (another sender took it), in which case it must not be sent.
    pub fn mark_sending(&self, id: i64, now: chrono::DateTime<chrono::Utc>) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated = ?2
                 WHERE id = ?1 AND status = 'queued'",
                params![id, ts(now)],
            )? == 1)
        })
    }

    /// sending → sent, with the server's reply; resets the subscriber's failure streak.
    pub fn mark_sent(
        &self,
        id: i64,
        reply: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET status = 'sent', reply = ?2, updated = ?3 WHERE id = ?1 AND status = 'sending'",
                params![id, reply, ts(now)],
            )?;
            tx.execute(
                "UPDATE subscribers SET failures = 0 WHERE id = (SELECT subscriber_id FROM deliveries WHERE id = ?1)",
                [id],
            )?;
            Ok(())
        })
    }

    /// sending → queued again after a transient failure (4xx, dropped connection).
    pub fn mark_retry(
        &self,
        id: i64,
        reply: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET status = 'queued', reply = ?2, updated = ?3 WHERE id = ?1 AND status = 'sending'",
                params![id, reply, ts(now)],
            )?;
            Ok(())
        })
    }

    /// sending → failed for good (5xx, or out of attempts). After `bounce_after` permanent
    /// failures in a row the subscriber becomes `bouncing`. Returns whether it did.
    pub fn mark_failed(
        &self,
        id: i64,
        reply: &str,
        bounce_after: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        self.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET status = 'failed', reply = ?2, updated = ?3 WHERE id = ?1 AND status = 'sending'",
                params![id, reply, ts(now)],
            )?;
            tx.execute(
                "UPDATE subscribers SET failures = failures + 1 WHERE id = (SELECT subscriber_id FROM deliveries WHERE id = ?1)",
                [id],
            )?;
            let n = tx.execute(
                "UPDATE subscribers SET status = 'bouncing' WHERE status = 'confirmed' AND failures >= ?2
                 AND id = (SELECT subscriber_id FROM deliveries WHERE id = ?1)",
                params![id, bounce_after],
            )?;
            Ok(n == 1)
        })
    }

    /// A queued delivery whose recipient may no longer receive mail is skipped (failed, with why).
    pub fn mark_skipped(
        &self,
        id: i64,
        why: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET status = 'failed', reply = ?2, updated = ?3 WHERE id = ?1 AND status = 'queued'",
                params![id, why, ts(now)],
            )?;
            Ok(())
        })
    }

    /// Counts of an issue's deliveries by status.
    pub fn delivery_counts(&self, issue_id: i64) -> Result<DeliveryCounts> {
        let mut c = DeliveryCounts::default();
        for d in self.deliveries(issue_id)? {
            match d.status {
                DeliveryStatus::Queued => c.queued += 1,
                DeliveryStatus::Sent => c.sent += 1,
                DeliveryStatus::Failed => c.failed += 1,
                DeliveryStatus::Sending | DeliveryStatus::Unknown => c.unknown += 1,
            }
        }
        Ok(c)
    }
}
