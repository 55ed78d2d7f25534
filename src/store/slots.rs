//! Schedule slots: (digest, scheduled instant) claimed in a transaction before anything is sent,
//! so that a restart or a second `gazette serve` on the same database never runs a slot twice.

use super::db::{params, OptionalExtension, Sql};
use anyhow::Result;

use super::{ts, Store};

impl Store {
    /// Claims a slot; true only for the one caller that claimed it first.
    pub fn claim_slot(
        &self,
        digest: &str,
        slot: &str,
        outcome: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "INSERT INTO slots (digest, scheduled, claimed, outcome) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (digest, scheduled) DO NOTHING",
                params![digest, slot, ts(now), outcome],
            )? == 1)
        })
    }

    /// Records what a claimed slot did (`issue 12`, `empty`, `failed: …`).
    pub fn set_slot_outcome(&self, digest: &str, slot: &str, outcome: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE slots SET outcome = ?3 WHERE digest = ?1 AND scheduled = ?2",
                params![digest, slot, outcome],
            )?;
            Ok(())
        })
    }

    /// The outcome of a slot, if it was claimed (`Some(None)`: claimed, still running).
    pub fn slot_outcome(&self, digest: &str, slot: &str) -> Result<Option<Option<String>>> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT outcome FROM slots WHERE digest = ?1 AND scheduled = ?2",
            params![digest, slot],
            |r| r.get(0),
        )
        .optional()
    }

    /// Feeds due for a fetch at `now` (never fetched, or `next_fetch` passed).
    pub fn feeds_due(
        &self,
        urls: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>> {
        let mut due = Vec::new();
        for u in urls {
            let state = self.feed_state(u)?;
            let next = state.next_fetch.as_deref().map(super::parse_ts);
            if next.is_none_or(|n| n <= now) {
                due.push(u.clone());
            }
        }
        Ok(due)
    }
}
