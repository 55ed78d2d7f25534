//! Subscribers: one row per address (case-insensitive), with status and digests.

use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use super::{ts, Store};
use crate::model::{Subscriber, SubscriberStatus};

/// What an add or import did to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriberUpsert {
    Added,
    Updated,
    Unchanged,
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
        let digests_json = serde_json::to_string(digests)?;
        self.write(|tx| {
            let existing: Option<(Option<String>, String, String)> = tx
                .query_row(
                    "SELECT name, digests, status FROM subscribers WHERE email = ?1",
                    [email],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            match existing {
                None => {
                    let confirmed = (status == SubscriberStatus::Confirmed).then(|| ts(now));
                    tx.execute(
                        "INSERT INTO subscribers (email, name, status, digests, created, confirmed_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![email, name, status.as_str(), digests_json, ts(now), confirmed],
                    )?;
                    Ok(SubscriberUpsert::Added)
                }
                Some((n, d, s)) if n.as_deref() == name && d == digests_json && s == status.as_str() => {
                    Ok(SubscriberUpsert::Unchanged)
                }
                Some(_) => {
                    tx.execute(
                        "UPDATE subscribers SET name = ?2, digests = ?3, status = ?4, failures = 0
                         WHERE email = ?1",
                        params![email, name, digests_json, status.as_str()],
                    )?;
                    Ok(SubscriberUpsert::Updated)
                }
            }
        })
    }

    /// Removes a subscriber's row; past deliveries keep the address. Returns whether one existed.
    pub fn remove_subscriber(&self, email: &str) -> Result<bool> {
        self.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET subscriber_id = NULL WHERE email = ?1",
                [email],
            )?;
            Ok(tx.execute("DELETE FROM subscribers WHERE email = ?1", [email])? == 1)
        })
    }

    /// Every subscriber, ordered by address.
    pub fn subscribers(&self) -> Result<Vec<Subscriber>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, email, name, status, digests FROM subscribers ORDER BY email")?;
        let rows = stmt.query_map([], row_to_subscriber)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One subscriber by address.
    pub fn subscriber(&self, email: &str) -> Result<Option<Subscriber>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT id, email, name, status, digests FROM subscribers WHERE email = ?1",
                [email],
                row_to_subscriber,
            )
            .optional()?)
    }

    /// One subscriber by id.
    pub fn subscriber_by_id(&self, id: i64) -> Result<Option<Subscriber>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT id, email, name, status, digests FROM subscribers WHERE id = ?1",
                [id],
                row_to_subscriber,
            )
            .optional()?)
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
                SubscriberStatus::Unsubscribed => tx.execute(
                    "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?2,
                     unsubscribe_method = ?3 WHERE id = ?1",
                    params![id, when, method],
                )?,
                other => tx.execute(
                    "UPDATE subscribers SET status = ?2 WHERE id = ?1",
                    params![id, other.as_str()],
                )?,
            };
            Ok(())
        })
    }
}

fn row_to_subscriber(r: &rusqlite::Row<'_>) -> rusqlite::Result<Subscriber> {
    let status: String = r.get(3)?;
    Ok(Subscriber {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        status: SubscriberStatus::parse(&status).unwrap_or(SubscriberStatus::Pending),
        digests: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
    })
}
