//! The article-page cache: a page is fetched once, whatever happens to it.

use super::db::{params, OptionalExtension, Sql};
use anyhow::Result;

use super::{ts, Store};

impl Store {
    /// A cached page: (status, body). Status is `ok` or an error message.
    pub fn cached_page(&self, url: &str) -> Result<Option<(String, Option<String>)>> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT status, body FROM pages WHERE url = ?1",
            [url],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
    }

    /// Caches a fetched page (or the error that stopped it).
    pub fn store_page(
        &self,
        url: &str,
        status: &str,
        body: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO pages (url, fetched, status, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (url) DO UPDATE SET fetched = ?2, status = ?3, body = ?4",
                params![url, ts(now), status, body],
            )?;
            Ok(())
        })
    }
}
