//! Issues: a numbered, archived rendering of a digest, with the stories it carried and one
//! delivery row per recipient, all written in one transaction.

use super::db::{params, Db, OptionalExtension, Params, Sql};
use anyhow::Result;

use super::{parse_ts, ts, Store};

/// An issue about to be stored.
pub struct NewIssue<'a> {
    pub digest: &'a str,
    pub window_from: chrono::DateTime<chrono::Utc>,
    pub window_to: chrono::DateTime<chrono::Utc>,
    pub story_ids: &'a [i64],
    /// Who gets it: one queued delivery per recipient.
    pub recipients: Recipients<'a>,
    /// Store nothing, and fail with [`NoRecipients`], when nobody gets it.
    pub require_recipients: bool,
    /// The domain of Message-IDs.
    pub message_domain: &'a str,
    /// The schedule slot this issue belongs to, if any.
    pub slot: Option<&'a str>,
    /// The newest story id when the issue was planned: the next issue starts after it.
    pub story_cursor: i64,
    /// The digest's last issue when this one was planned. If another process stored an issue
    /// of the digest since, this one is not stored ([`Created::Superseded`]).
    pub after_issue: Option<i64>,
    /// A draft for editors to review: stored with its review row and no deliveries (they are
    /// written when the draft is released).
    pub review: Option<super::NewReview<'a>>,
}

/// A delivery row to queue with a new issue.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub subscriber_id: Option<i64>,
    pub email: String,
    pub name: Option<String>,
    /// The copy planned for this recipient (`model::Variant::to_column`); `None`: HTML with
    /// every section.
    pub variant: Option<String>,
    /// Not sent before this instant (the reader's local slot); `None`: at once.
    pub not_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// Who an issue's deliveries go to.
#[derive(Clone, Copy)]
pub enum Recipients<'a> {
    /// These rows (`send --to`).
    Rows(&'a [NewDelivery]),
    /// Every subscriber this admits, read inside the issue's transaction one at a time and
    /// written at once, so that enqueueing holds nothing per reader whatever the list's size.
    Subscribers(&'a dyn Fn(&crate::model::Subscriber) -> Option<NewDelivery>),
}

/// The error of [`Store::create_issue`] when `require_recipients` is set and nobody gets the
/// issue (nothing was stored).
#[derive(Debug)]
pub struct NoRecipients;

impl std::fmt::Display for NoRecipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("nobody gets this issue")
    }
}

impl std::error::Error for NoRecipients {}

/// What storing a planned issue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// Stored: (id, number).
    Stored(i64, i64),
    /// Another process stored an issue of the digest after this one was planned (its id): the
    /// plan is stale and nothing was stored.
    Superseded(i64),
}

/// What an issue is stored with, rendered once its id and number are known.
pub struct IssueContent {
    pub subject: String,
    /// The archived (non-personal) HTML and text.
    pub html: String,
    pub text: String,
    /// The render view as JSON, so each recipient's copy can be rendered at send time.
    pub view: String,
}

/// A stored issue with its delivery counts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssueRecord {
    pub id: i64,
    pub digest: String,
    pub number: i64,
    pub created: chrono::DateTime<chrono::Utc>,
    #[serde(skip)]
    pub window_from: chrono::DateTime<chrono::Utc>,
    #[serde(skip)]
    pub window_to: chrono::DateTime<chrono::Utc>,
    #[serde(skip)]
    pub subject: String,
    pub sent: i64,
    pub failed: i64,
    pub queued: i64,
    /// In flight right now: handed to a sender that is still alive (a dead sender's rows
    /// become `unknown` when its lease expires).
    pub sending: i64,
    pub unknown: i64,
    /// Why its send paused (`pause_above`), until the operator resumes it.
    pub paused: Option<String>,
}

impl Store {
    /// Stores a new issue numbered after the digest's last one, with a queued delivery per
    /// recipient, in one transaction; `render(id, number)` gives its content.
    pub fn create_issue(
        &self,
        issue: &NewIssue<'_>,
        now: chrono::DateTime<chrono::Utc>,
        render: impl FnOnce(i64, i64) -> Result<IssueContent>,
    ) -> Result<Created> {
        self.write(|tx| {
            let last: Option<i64> = tx.query_row(
                "SELECT MAX(id) FROM issues WHERE digest = ?1",
                [issue.digest],
                |r| r.get(0),
            )?;
            if let Some(newer) = last.filter(|l| Some(*l) != issue.after_issue) {
                return Ok(Created::Superseded(newer));
            }
            let number: i64 = tx.query_row(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM issues WHERE digest = ?1",
                [issue.digest],
                |r| r.get(0),
            )?;
            let id = tx.insert(
                "INSERT INTO issues (digest, number, created, window_from, window_to, subject, html, text, view, slot, story_cursor)
                 VALUES (?1,?2,?3,?4,?5,'','','','',?6,?7)",
                params![issue.digest, number, ts(now), ts(issue.window_from), ts(issue.window_to), issue.slot, issue.story_cursor],
            )?;
            let c = render(id, number)?;
            tx.execute(
                "UPDATE issues SET subject = ?2, html = ?3, text = ?4, view = ?5 WHERE id = ?1",
                params![id, c.subject, c.html, c.text, c.view],
            )?;
            for story in issue.story_ids {
                tx.execute("INSERT INTO issue_stories (issue_id, story_id) VALUES (?1, ?2)", params![id, story])?;
            }
            if let Some(review) = &issue.review {
                super::review::insert_review(tx, id, issue.digest, review, now)?;
            }
            let n = insert_deliveries(tx, id, issue.digest, issue.message_domain, issue.recipients, now)?;
            if n == 0 && issue.require_recipients {
                // Rolls the whole issue back.
                return Err(NoRecipients.into());
            }
            Ok(Created::Stored(id, number))
        })
    }

    /// Every issue, newest first, with delivery counts.
    pub fn issues(&self) -> Result<Vec<IssueRecord>> {
        self.query_issues("", params![])
    }

    /// One issue.
    pub fn issue(&self, id: i64) -> Result<Option<IssueRecord>> {
        Ok(self
            .query_issues("WHERE i.id = ?1", params![id])?
            .into_iter()
            .next())
    }

    /// The last issue of a digest.
    pub fn last_issue(&self, digest: &str) -> Result<Option<IssueRecord>> {
        Ok(self
            .query_issues("WHERE i.digest = ?1", params![digest])?
            .into_iter()
            .next())
    }

    /// Issues that still have queued deliveries (oldest first), of one digest or of all.
    pub fn unfinished_issues(&self, digest: Option<&str>) -> Result<Vec<IssueRecord>> {
        let mut v = match digest {
            Some(d) => self.query_issues(
                "WHERE i.digest = ?1 AND EXISTS (SELECT 1 FROM deliveries q
                 WHERE q.issue_id = i.id AND q.status = 'queued')",
                params![d],
            )?,
            None => self.query_issues(
                "WHERE EXISTS (SELECT 1 FROM deliveries q WHERE q.issue_id = i.id AND q.status = 'queued')",
                params![],
            )?,
        };
        v.reverse();
        Ok(v)
    }

    /// Stories carried by issues of `digest` created since `since` (for "never again").
    pub fn sent_stories(
        &self,
        digest: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(Option<String>, String, String)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT s.url, s.title, COALESCE(s.lead_text, '') FROM issue_stories x
             JOIN issues i ON i.id = x.issue_id JOIN stories s ON s.id = x.story_id
             WHERE i.digest = ?1 AND i.created >= ?2",
        )?;
        let rows = stmt.query_map(params![digest, ts(since)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// The archived HTML, text and render view of an issue.
    pub fn issue_content(&self, id: i64) -> Result<Option<(String, String, String)>> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT html, text, view FROM issues WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
    }

    pub(super) fn query_issues(
        &self,
        filter: &str,
        params: impl Params,
    ) -> Result<Vec<IssueRecord>> {
        let conn = self.conn()?;
        let sql = format!(
            "SELECT i.id, i.digest, i.number, i.created, i.window_from, i.window_to, i.subject,
             COUNT(CASE WHEN d.status = 'sent' THEN 1 END),
             COUNT(CASE WHEN d.status = 'failed' THEN 1 END),
             COUNT(CASE WHEN d.status = 'queued' THEN 1 END),
             COUNT(CASE WHEN d.status = 'unknown' THEN 1 END),
             i.paused,
             COUNT(CASE WHEN d.status = 'sending' THEN 1 END)
             FROM issues i LEFT JOIN deliveries d ON d.issue_id = i.id {filter}
             GROUP BY i.id ORDER BY i.created DESC, i.id DESC"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params, |r| {
            Ok(IssueRecord {
                id: r.get(0)?,
                digest: r.get(1)?,
                number: r.get(2)?,
                created: parse_ts(&r.get::<_, String>(3)?),
                window_from: parse_ts(&r.get::<_, String>(4)?),
                window_to: parse_ts(&r.get::<_, String>(5)?),
                subject: r.get(6)?,
                sent: r.get(7)?,
                failed: r.get(8)?,
                queued: r.get(9)?,
                unknown: r.get(10)?,
                paused: r.get(11)?,
                sending: r.get(12)?,
            })
        })?;
        rows.collect::<Result<_, _>>()
    }
}

/// Writes a queued delivery per recipient of an issue (each with its own Message-ID); how many.
pub(super) fn insert_deliveries(
    tx: &Db<'_>,
    id: i64,
    digest: &str,
    message_domain: &str,
    recipients: Recipients<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize> {
    let mut stmt = tx.prepare(
        "INSERT INTO deliveries (issue_id, subscriber_id, email, name, status, message_id, updated,
         variant, not_before)
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
    )?;
    let mut n = 0;
    let mut insert = |r: &NewDelivery| -> Result<()> {
        let nonce: u64 = rand::random();
        let mid = format!("<gazette.{digest}.{id}.{n}.{nonce:016x}@{message_domain}>");
        n += stmt.execute(params![
            id,
            r.subscriber_id,
            r.email,
            r.name,
            mid,
            ts(now),
            r.variant,
            r.not_before.map(ts)
        ])?;
        Ok(())
    };
    match recipients {
        Recipients::Rows(rows) => rows.iter().try_for_each(&mut insert)?,
        Recipients::Subscribers(admit) => {
            super::subscribers::each_subscriber(tx, |s| admit(&s).map_or(Ok(()), |r| insert(&r)))?
        }
    }
    Ok(n)
}
