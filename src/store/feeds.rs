//! Per-feed fetch state: validators for conditional GET, the last outcome and error.

use super::db::{params, Db, OptionalExtension, Sql};
use anyhow::Result;

use super::{ts, Store};

/// What the store remembers about a feed between fetches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedState {
    pub title: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub error_count: i64,
    pub next_fetch: Option<String>,
}

/// What a successful fetch learned about a feed.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchRecord<'a> {
    /// `new`, `unchanged` or `not_modified`.
    pub status: &'a str,
    pub title: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    /// When a scheduled fetch should next ask (interval, Cache-Control, ttl).
    pub next_fetch: Option<chrono::DateTime<chrono::Utc>>,
}

/// What one fetch of one feed writes (see [`Store::record_fetches`]).
#[derive(Debug)]
pub enum FetchWrite<'a> {
    /// Fetched (or not modified, with no stories): its stories and what was learned. An empty
    /// `record.status` is filled in: `new` or `unchanged`.
    Fetched {
        url: &'a str,
        stories: &'a [crate::model::Story],
        /// Leads already picked, by position in `stories` (may be shorter, or empty).
        leads: &'a [Option<crate::model::StoredLead>],
        record: FetchRecord<'a>,
    },
    /// Failed (`status`: `error` or `rate_limited`): nothing seen before is touched.
    Failed {
        url: &'a str,
        status: &'a str,
        error: &'a str,
        next_fetch: Option<chrono::DateTime<chrono::Utc>>,
    },
}

impl Store {
    /// Writes the fetches of many feeds in one transaction (one fsync), each feed in its own
    /// savepoint, so that one feed's failure leaves the others written. Returns, per write, the
    /// ids of the new stories (none for a failure) or why that feed's write failed.
    pub fn record_fetches(
        &self,
        writes: &[FetchWrite<'_>],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Result<Vec<i64>, String>>> {
        self.write(|tx| {
            writes
                .iter()
                .map(|w| {
                    tx.execute_batch("SAVEPOINT feed")?;
                    let done = write_one(tx, w, now);
                    if done.is_err() {
                        tx.execute_batch("ROLLBACK TO feed")?;
                    }
                    tx.execute_batch("RELEASE feed")?;
                    Ok(done.map_err(|e| format!("{e:#}")))
                })
                .collect()
        })
    }

    /// The state of the feed at `url` (default when never fetched).
    pub fn feed_state(&self, url: &str) -> Result<FeedState> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT title, etag, last_modified, last_status, last_error, error_count, next_fetch
                 FROM feeds WHERE url = ?1",
                [url],
                |r| {
                    Ok(FeedState {
                        title: r.get(0)?,
                        etag: r.get(1)?,
                        last_modified: r.get(2)?,
                        last_status: r.get(3)?,
                        last_error: r.get(4)?,
                        error_count: r.get(5)?,
                        next_fetch: r.get(6)?,
                    })
                },
            )
            .optional()?;
        Ok(row.unwrap_or_default())
    }
}

/// One feed's fetch, inside the group's transaction.
fn write_one(
    tx: &Db<'_>,
    w: &FetchWrite<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<i64>> {
    match w {
        FetchWrite::Fetched {
            url,
            stories,
            leads,
            record,
        } => {
            let feed_id = ensure_feed(tx, url)?;
            let new = super::stories::insert(tx, feed_id, stories, leads, now)?;
            let status = match record.status {
                "" if new.is_empty() => "unchanged",
                "" => "new",
                s => s,
            };
            // Validators and the title are only replaced when the new value is present.
            tx.prepare_cached(
                "UPDATE feeds SET title = COALESCE(?2, title), etag = COALESCE(?3, etag),
                 last_modified = COALESCE(?4, last_modified), last_fetch = ?5, last_status = ?6,
                 last_error = NULL, error_count = 0, next_fetch = ?7, failing_since = NULL
                 WHERE id = ?1",
            )?
            .execute(params![
                feed_id,
                record.title,
                record.etag,
                record.last_modified,
                ts(now),
                status,
                record.next_fetch.map(ts)
            ])?;
            Ok(new)
        }
        FetchWrite::Failed {
            url,
            status,
            error,
            next_fetch,
        } => {
            // Nothing seen before is touched: validators and stories stay.
            let feed_id = ensure_feed(tx, url)?;
            tx.prepare_cached(
                "UPDATE feeds SET last_fetch = ?2, last_status = ?5, last_error = ?3,
                 error_count = error_count + 1, next_fetch = ?4,
                 failing_since = COALESCE(failing_since, ?2) WHERE id = ?1",
            )?
            .execute(params![feed_id, ts(now), error, next_fetch.map(ts), status])?;
            Ok(Vec::new())
        }
    }
}

pub(super) fn ensure_feed(tx: &Db<'_>, url: &str) -> Result<i64> {
    tx.prepare_cached("INSERT INTO feeds (url) VALUES (?1) ON CONFLICT (url) DO NOTHING")?
        .execute([url])?;
    tx.prepare_cached("SELECT id FROM feeds WHERE url = ?1")?
        .query_row([url], |r| r.get(0))
}
