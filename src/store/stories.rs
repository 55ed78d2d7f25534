//! Stories: deduplicated by GUID and by canonical URL, across feeds and runs.

use super::db::{params, Db, Params, Sql};
use anyhow::Result;

use super::{feeds::ensure_feed, parse_ts, ts, Store};
use crate::model::{StoredLead, StoredStory, Story};

/// Inserts the stories of one feed in `tx` (see [`Store::insert_stories`]), each with its lead
/// when `leads` has one at its position (picked while the feed was in hand; the others get
/// theirs later); the ids of the new.
pub(super) fn insert(
    tx: &Db<'_>,
    feed_id: i64,
    stories: &[Story],
    leads: &[Option<StoredLead>],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<i64>> {
    let mut seen_url = tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM stories WHERE url = ?1 AND (feed_id != ?2 OR ?3 = 1))",
    )?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO stories (feed_id, guid, url, title, published, first_seen, authors,
         categories, content_html, summary_html, dated, has_guid, lead_text, lead_html,
         lead_source)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)
         ON CONFLICT DO NOTHING RETURNING id",
    )?;
    let mut new = Vec::new();
    for (i, s) in stories.iter().enumerate() {
        let lead = leads.get(i).and_then(Option::as_ref);
        if let Some(url) = &s.url {
            if seen_url.query_row(params![url, feed_id, !s.has_guid], |r| r.get(0))? {
                continue;
            }
        }
        let id: Vec<i64> = stmt
            .query_map(
                params![
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
                    s.dated,
                    s.has_guid,
                    lead.map(|l| &l.text),
                    lead.map(|l| &l.html),
                    lead.map(|l| &l.source),
                ],
                |r| r.get(0),
            )?
            .collect::<Result<_>>()?;
        new.extend(id);
    }
    Ok(new)
}

impl Store {
    /// Stores the stories of one feed. A story is its GUID within its feed: one already known
    /// (same GUID) is left as it is. A story with the URL of one stored from another feed is
    /// the same story seen twice and is skipped too; within one feed, items that share a link
    /// but have their own GUIDs are different stories (a podcast's episodes linking to its
    /// home page), and only items without a GUID are deduplicated by URL. Returns the ids of the
    /// new ones.
    pub fn insert_stories(
        &self,
        feed_url: &str,
        stories: &[Story],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<i64>> {
        self.write(|tx| {
            let feed_id = ensure_feed(tx, feed_url)?;
            insert(tx, feed_id, stories, &[], now)
        })
    }

    /// Which of these GUIDs are stored already.
    pub fn known_guids<'g>(
        &self,
        guids: impl IntoIterator<Item = &'g str>,
    ) -> Result<std::collections::HashSet<&'g str>> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM stories WHERE guid = ?1)")?;
        let mut known = std::collections::HashSet::new();
        for guid in guids {
            if stmt.query_row([guid], |r| r.get::<_, bool>(0))? {
                known.insert(guid);
            }
        }
        Ok(known)
    }

    /// Stores the lead chosen for a story.
    pub fn set_lead(&self, story_id: i64, lead: &StoredLead) -> Result<()> {
        self.set_leads(&[(story_id, lead.clone())])
    }

    /// Stores the leads chosen for many stories, in one transaction.
    pub fn set_leads(&self, leads: &[(i64, StoredLead)]) -> Result<()> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "UPDATE stories SET lead_text = ?2, lead_html = ?3, lead_source = ?4 WHERE id = ?1",
            )?;
            for (id, lead) in leads {
                stmt.execute(params![id, lead.text, lead.html, lead.source])?;
            }
            Ok(())
        })
    }

    /// Stories without a lead yet (to be summarized).
    pub fn stories_without_lead(&self) -> Result<Vec<StoredStory>> {
        self.query_stories("WHERE s.lead_source IS NULL", params![])
    }

    /// The stories the next issue of `digest` may take: first seen after its previous issue was
    /// planned (story id above that cursor), published (or, undated, first seen) since
    /// `from`, up to story id `upto` (the cursor the new issue will record), and carried by no
    /// issue of the digest. Newest first. A story left out of an issue is below its cursor, so
    /// it never rolls into the next one.
    pub fn stories_for_digest(
        &self,
        digest: &str,
        from: chrono::DateTime<chrono::Utc>,
        upto: i64,
    ) -> Result<Vec<StoredStory>> {
        self.query_stories(
            "WHERE s.published >= ?1 AND s.id <= ?3 AND s.id > (SELECT COALESCE(MAX(story_cursor), 0)
             FROM issues WHERE digest = ?2) AND NOT EXISTS (SELECT 1 FROM issue_stories x
             JOIN issues i ON i.id = x.issue_id WHERE x.story_id = s.id AND i.digest = ?2)",
            params![ts(from), digest, upto],
        )
    }

    /// The id of the newest story: the cursor an issue planned now records.
    pub fn story_cursor(&self) -> Result<i64> {
        self.conn()?
            .query_row("SELECT COALESCE(MAX(id), 0) FROM stories", params![], |r| {
                r.get(0)
            })
    }

    fn query_stories(&self, filter: &str, params: impl Params) -> Result<Vec<StoredStory>> {
        let conn = self.conn()?;
        let sql = format!(
            "SELECT s.id, f.url, COALESCE(f.title, f.url), s.guid, s.url, s.title, s.published,
             s.authors, s.categories, s.content_html, s.summary_html, s.lead_text, s.lead_html,
             s.lead_source, s.dated, s.has_guid FROM stories s JOIN feeds f ON f.id = s.feed_id {filter}
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
                    dated: r.get(14)?,
                    has_guid: r.get(15)?,
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
        rows.collect::<Result<_, _>>()
    }

    /// The content (else summary) of the latest `per_feed` stories of each of these feeds that
    /// already have a lead: the feed's recent items, to tell its boilerplate from a new story.
    pub fn recent_fragments(
        &self,
        feed_urls: &[&str],
        per_feed: usize,
    ) -> Result<Vec<(String, String)>> {
        let mut urls: Vec<&str> = feed_urls.to_vec();
        urls.sort_unstable();
        urls.dedup();
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT url, fragment FROM (
               SELECT f.url AS url, COALESCE(NULLIF(TRIM(s.content_html), ''), s.summary_html) AS fragment,
                      ROW_NUMBER() OVER (PARTITION BY s.feed_id ORDER BY s.id DESC) AS n
               FROM stories s JOIN feeds f ON f.id = s.feed_id
               WHERE f.url = ?1 AND s.lead_source IS NOT NULL) recent
             WHERE n <= ?2 AND fragment IS NOT NULL",
        )?;
        let mut out = Vec::new();
        for url in urls {
            let rows = stmt.query_map(params![url, per_feed as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    /// How many stories are stored in all.
    pub fn story_count(&self) -> Result<i64> {
        self.conn()?
            .query_row("SELECT COUNT(*) FROM stories", params![], |r| r.get(0))
    }
}
