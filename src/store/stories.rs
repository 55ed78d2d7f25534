//! Stories: deduplicated by GUID and by canonical URL, across feeds and runs.

use anyhow::Result;
use rusqlite::params;

use super::{feeds::ensure_feed, parse_ts, ts, Store};
use crate::model::{StoredLead, StoredStory, Story};

impl Store {
    /// Stores the stories of one feed; those already known (same GUID or same canonical URL,
    /// from any feed) are left as they are. Returns the ids of the new ones.
    pub fn insert_stories(
        &self,
        feed_url: &str,
        stories: &[Story],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<i64>> {
        self.write(|tx| {
            let feed_id = ensure_feed(tx, feed_url)?;
            let mut stmt = tx.prepare(
                "INSERT INTO stories (feed_id, guid, url, title, published, first_seen, authors,
                 categories, content_html, summary_html) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)
                 ON CONFLICT DO NOTHING",
            )?;
            let mut new = Vec::new();
            for s in stories {
                let n = stmt.execute(params![
                    feed_id,
                    s.guid,
                    s.url,
                    s.title,
                    ts(s.published),
                    ts(now),
                    serde_json::to_string(&s.authors)?,
                    serde_json::to_string(&s.categories)?,
                    s.content_html,
                    s.summary_html,
                ])?;
                if n == 1 {
                    new.push(tx.last_insert_rowid());
                }
            }
            Ok(new)
        })
    }

    /// Stores the lead chosen for a story.
    pub fn set_lead(&self, story_id: i64, lead: &StoredLead) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE stories SET lead_text = ?2, lead_html = ?3, lead_source = ?4 WHERE id = ?1",
                params![story_id, lead.text, lead.html, lead.source],
            )?;
            Ok(())
        })
    }

    /// Stories without a lead yet (to be summarized).
    pub fn stories_without_lead(&self) -> Result<Vec<StoredStory>> {
        self.query_stories("WHERE s.lead_source IS NULL", params![])
    }

    /// Stories published since `from` that no earlier issue of `digest` carried, newest first.
    pub fn stories_for_digest(
        &self,
        digest: &str,
        from: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<StoredStory>> {
        self.query_stories(
            "WHERE s.published >= ?1 AND NOT EXISTS (SELECT 1 FROM issue_stories x JOIN issues i
             ON i.id = x.issue_id WHERE x.story_id = s.id AND i.digest = ?2)",
            params![ts(from), digest],
        )
    }

    fn query_stories(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<StoredStory>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT s.id, f.url, COALESCE(f.title, f.url), s.guid, s.url, s.title, s.published,
             s.authors, s.categories, s.content_html, s.summary_html, s.lead_text, s.lead_html,
             s.lead_source FROM stories s JOIN feeds f ON f.id = s.feed_id {filter}
             ORDER BY s.published DESC, s.id"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params, |r| {
            let lead_source: Option<String> = r.get(13)?;
            Ok(StoredStory {
                id: r.get(0)?,
                feed_url: r.get(1)?,
                source: r.get(2)?,
                story: Story {
                    guid: r.get(3)?,
                    url: r.get(4)?,
                    title: r.get(5)?,
                    published: parse_ts(&r.get::<_, String>(6)?),
                    authors: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
                    categories: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
                    content_html: r.get(9)?,
                    summary_html: r.get(10)?,
                },
                lead: match (r.get::<_, Option<String>>(11)?, lead_source) {
                    (Some(text), Some(source)) if !text.is_empty() => Some(StoredLead {
                        text,
                        html: r.get::<_, Option<String>>(12)?.unwrap_or_default(),
                        source,
                    }),
                    _ => None,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many stories are stored in all.
    pub fn story_count(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM stories", [], |r| r.get(0))?)
    }
}
