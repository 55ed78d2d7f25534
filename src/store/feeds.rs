//! Per-feed fetch state: validators for conditional GET, the last outcome and error.

use anyhow::Result;
use rusqlite::{params, OptionalExtension};

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

impl Store {
    /// The state of the feed at `url` (default when never fetched).
    pub fn feed_state(&self, url: &str) -> Result<FeedState> {
        let conn = self.conn();
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

    /// Records a successful fetch. Validators and the title are only replaced when the new value
    /// is present.
    pub fn record_feed_ok(
        &self,
        url: &str,
        r: &FetchRecord<'_>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let FetchRecord {
            status,
            title,
            etag,
            last_modified,
            next_fetch,
        } = *r;
        self.write(|tx| {
            ensure_feed(tx, url)?;
            tx.execute(
                "UPDATE feeds SET title = COALESCE(?2, title), etag = COALESCE(?3, etag),
                 last_modified = COALESCE(?4, last_modified), last_fetch = ?5, last_status = ?6,
                 last_error = NULL, error_count = 0, next_fetch = ?7, failing_since = NULL
                 WHERE url = ?1",
                params![
                    url,
                    title,
                    etag,
                    last_modified,
                    ts(now),
                    status,
                    next_fetch.map(ts)
                ],
            )?;
            Ok(())
        })
    }

    /// Records a failed fetch (`status`: `error` or `rate_limited`). Nothing seen before is
    /// touched: validators and stories stay.
    pub fn record_feed_error(
        &self,
        url: &str,
        status: &str,
        error: &str,
        next_fetch: Option<chrono::DateTime<chrono::Utc>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            ensure_feed(tx, url)?;
            tx.execute(
                "UPDATE feeds SET last_fetch = ?2, last_status = ?5, last_error = ?3,
                 error_count = error_count + 1, next_fetch = ?4,
                 failing_since = COALESCE(failing_since, ?2) WHERE url = ?1",
                params![url, ts(now), error, next_fetch.map(ts), status],
            )?;
            Ok(())
        })
    }
}

pub(super) fn ensure_feed(tx: &rusqlite::Transaction<'_>, url: &str) -> Result<i64> {
    tx.execute(
        "INSERT INTO feeds (url) VALUES (?1) ON CONFLICT (url) DO NOTHING",
        [url],
    )?;
    Ok(tx.query_row("SELECT id FROM feeds WHERE url = ?1", [url], |r| r.get(0))?)
}
