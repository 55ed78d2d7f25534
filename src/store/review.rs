//! Editorial review: the `reviews` row of a draft issue (its editable state as JSON, a version
//! every save checks, the status, the slot, whether the editors were mailed) and its log.
//!
//! Invariants: a draft has no delivery rows; `release_review` writes them in the transaction
//! that marks the review released, and only from a status the caller names, so a draft is sent
//! once or never. Every change is a `BEGIN IMMEDIATE` transaction that checks the version (when
//! the caller loaded one) and appends to `review_log`.

use super::db::{params, Db, OptionalExtension, Params, Row, Sql};
use anyhow::Result;
use chrono::{DateTime, Utc};

use super::issues::insert_deliveries;
use super::{parse_ts, ts, IssueContent, Store};

/// The review row stored with a new draft issue.
pub struct NewReview<'a> {
    /// The slot the draft is for (RFC 3339, as `schedule::slot_key`).
    pub slot: &'a str,
    /// `required` or `optional`.
    pub policy: &'a str,
    /// The editable state (JSON).
    pub state: &'a str,
}

/// A stored review with its issue's number and story cursor.
#[derive(Debug, Clone)]
pub struct ReviewRow {
    pub issue_id: i64,
    pub digest: String,
    pub number: i64,
    pub slot: String,
    pub policy: String,
    /// `draft`, `approved`, `held` or `skipped`.
    pub status: String,
    pub version: i64,
    pub state: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// When the review mail went out (claimed just before sending).
    pub mailed: Option<DateTime<Utc>>,
    /// When the editors were told the draft is held.
    pub held_told: Option<DateTime<Utc>>,
    /// When its delivery rows were written (it is an ordinary issue from then on).
    pub released: Option<DateTime<Utc>>,
    /// The newest story id when the draft was planned: stories after it arrived since.
    pub story_cursor: i64,
}

/// An edit of a draft, as saved.
pub struct ReviewSave<'a> {
    pub state: &'a str,
    pub status: &'a str,
    /// The issue as it will be sent, rendered from the new state.
    pub content: &'a IssueContent,
    /// The stories the issue now carries.
    pub story_ids: &'a [i64],
    pub who: &'a str,
    pub what: &'a str,
}

/// What a save or a status change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// Done; the new version.
    Saved(i64),
    /// Someone changed the draft since the caller loaded it: the current version.
    Conflict(i64),
    /// The review is not in a status that allows this (`sent`, `skipped`, `approved`, …).
    Closed(String),
}

/// What releasing a draft did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// Delivery rows written for this many recipients.
    Released(usize),
    /// Not released: its status (`sent` when it was released already).
    Closed(String),
}

/// One line of a review's log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub who: String,
    pub what: String,
}

pub(super) fn insert_review(
    tx: &Db<'_>,
    issue_id: i64,
    digest: &str,
    r: &NewReview<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO reviews (issue_id, digest, slot, policy, status, version, state, created, updated)
         VALUES (?1, ?2, ?3, ?4, 'draft', 1, ?5, ?6, ?6)",
        params![issue_id, digest, r.slot, r.policy, r.state, ts(now)],
    )?;
    log(tx, issue_id, "gazette", "planned the draft", now)
}

fn log(tx: &Db<'_>, issue_id: i64, who: &str, what: &str, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "INSERT INTO review_log (issue_id, at, who, what) VALUES (?1, ?2, ?3, ?4)",
        params![issue_id, ts(now), who, what],
    )?;
    Ok(())
}

/// Status and version of a review inside a transaction: (status, version, released).
fn current(tx: &Db<'_>, issue_id: i64) -> Result<Option<(String, i64, bool)>> {
    tx.query_row(
        "SELECT status, version, released IS NOT NULL FROM reviews WHERE issue_id = ?1",
        [issue_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}

/// Why a review cannot change: `sent`, or its status when not one of `from`.
fn closed(status: &str, released: bool, from: &[&str]) -> Option<String> {
    if released {
        Some("sent".into())
    } else if !from.contains(&status) {
        Some(status.to_string())
    } else {
        None
    }
}

const SELECT: &str = "SELECT r.issue_id, r.digest, i.number, r.slot, r.policy, r.status, r.version,
    r.state, r.created, r.updated, r.mailed, r.held_told, r.released, COALESCE(i.story_cursor, 0)
    FROM reviews r JOIN issues i ON i.id = r.issue_id";

fn row(r: &Row) -> anyhow::Result<ReviewRow> {
    let t = |s: Option<String>| s.as_deref().map(parse_ts);
    Ok(ReviewRow {
        issue_id: r.get(0)?,
        digest: r.get(1)?,
        number: r.get(2)?,
        slot: r.get(3)?,
        policy: r.get(4)?,
        status: r.get(5)?,
        version: r.get(6)?,
        state: r.get(7)?,
        created: parse_ts(&r.get::<_, String>(8)?),
        updated: parse_ts(&r.get::<_, String>(9)?),
        mailed: t(r.get(10)?),
        held_told: t(r.get(11)?),
        released: t(r.get(12)?),
        story_cursor: r.get(13)?,
    })
}

impl Store {
    fn query_reviews(&self, filter: &str, p: impl Params) -> Result<Vec<ReviewRow>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!("{SELECT} {filter}"))?;
        let rows = stmt.query_map(p, row)?;
        rows.collect::<Result<_, _>>()
    }

    /// The digest's open review: a draft not released and not skipped (at most one exists,
    /// since no issue is planned after it while it is open).
    pub fn open_review(&self, digest: &str) -> Result<Option<ReviewRow>> {
        Ok(self
            .query_reviews(
                "WHERE r.digest = ?1 AND r.released IS NULL AND r.status != 'skipped'
                 ORDER BY r.issue_id DESC LIMIT 1",
                [digest],
            )?
            .pop())
    }

    /// The digest's newest review, whatever its status.
    pub fn latest_review(&self, digest: &str) -> Result<Option<ReviewRow>> {
        Ok(self
            .query_reviews(
                "WHERE r.digest = ?1 ORDER BY r.issue_id DESC LIMIT 1",
                [digest],
            )?
            .pop())
    }

    /// The review of an issue.
    pub fn review(&self, issue_id: i64) -> Result<Option<ReviewRow>> {
        Ok(self
            .query_reviews("WHERE r.issue_id = ?1", [issue_id])?
            .pop())
    }

    /// Reviews newest first: the open ones, then the `limit` latest closed ones.
    pub fn reviews(&self, limit: usize) -> Result<Vec<ReviewRow>> {
        self.query_reviews(
            "ORDER BY (r.released IS NULL AND r.status != 'skipped') DESC, r.issue_id DESC LIMIT ?1",
            [limit as i64],
        )
    }

    /// The slot key an issue was stored under (`None`: planned by hand, or no such issue).
    pub fn issue_slot(&self, issue_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_row("SELECT slot FROM issues WHERE id = ?1", [issue_id], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()?
            .flatten())
    }

    /// The issue stored for a digest's slot, if any.
    pub fn issue_id_for_slot(&self, digest: &str, slot: &str) -> Result<Option<i64>> {
        self.conn()?
            .query_row(
                "SELECT id FROM issues WHERE digest = ?1 AND slot = ?2",
                params![digest, slot],
                |r| r.get(0),
            )
            .optional()
    }

    /// Saves an edited draft (state, status, the issue's content and stories) if it is still at
    /// `expected` (when given) and open; logs it.
    pub fn save_review(
        &self,
        issue_id: i64,
        expected: Option<i64>,
        save: &ReviewSave<'_>,
        now: DateTime<Utc>,
    ) -> Result<Saved> {
        self.write(|tx| {
            let Some((status, version, released)) = current(tx, issue_id)? else {
                return Ok(Saved::Closed("missing".into()));
            };
            if let Some(why) = closed(&status, released, &["draft", "held", "approved"]) {
                return Ok(Saved::Closed(why));
            }
            if expected.is_some_and(|v| v != version) {
                return Ok(Saved::Conflict(version));
            }
            tx.execute(
                "UPDATE reviews SET state = ?2, status = ?3, version = version + 1, updated = ?4
                 WHERE issue_id = ?1",
                params![issue_id, save.state, save.status, ts(now)],
            )?;
            let c = save.content;
            tx.execute(
                "UPDATE issues SET subject = ?2, html = ?3, text = ?4, view = ?5 WHERE id = ?1",
                params![issue_id, c.subject, c.html, c.text, c.view],
            )?;
            tx.execute("DELETE FROM issue_stories WHERE issue_id = ?1", [issue_id])?;
            for story in save.story_ids {
                tx.execute(
                    "INSERT INTO issue_stories (issue_id, story_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![issue_id, story],
                )?;
            }
            log(tx, issue_id, save.who, save.what, now)?;
            Ok(Saved::Saved(version + 1))
        })
    }

    /// Moves an open review from one of `from` to `to` (at `expected` when given); logs it.
    #[allow(clippy::too_many_arguments)]
    pub fn set_review_status(
        &self,
        issue_id: i64,
        expected: Option<i64>,
        from: &[&str],
        to: &str,
        who: &str,
        what: &str,
        now: DateTime<Utc>,
    ) -> Result<Saved> {
        self.write(|tx| {
            let Some((status, version, released)) = current(tx, issue_id)? else {
                return Ok(Saved::Closed("missing".into()));
            };
            if let Some(why) = closed(&status, released, from) {
                return Ok(Saved::Closed(why));
            }
            if expected.is_some_and(|v| v != version) {
                return Ok(Saved::Conflict(version));
            }
            tx.execute(
                "UPDATE reviews SET status = ?2, version = version + 1, updated = ?3 WHERE issue_id = ?1",
                params![issue_id, to, ts(now)],
            )?;
            log(tx, issue_id, who, what, now)?;
            Ok(Saved::Saved(version + 1))
        })
    }

    /// Releases a draft in one of `from`: writes a queued delivery per recipient, sets the
    /// status to `to` and marks it released, in one transaction; logs `what(recipients)`. With
    /// `require_recipients`, fails with [`super::NoRecipients`] and changes nothing when nobody
    /// gets it.
    #[allow(clippy::too_many_arguments)]
    pub fn release_review(
        &self,
        issue_id: i64,
        from: &[&str],
        to: &str,
        recipients: super::Recipients<'_>,
        require_recipients: bool,
        message_domain: &str,
        who: &str,
        what: impl Fn(usize) -> String,
        now: DateTime<Utc>,
    ) -> Result<Released> {
        self.write(|tx| {
            let Some((status, _, released)) = current(tx, issue_id)? else {
                return Ok(Released::Closed("missing".into()));
            };
            if let Some(why) = closed(&status, released, from) {
                return Ok(Released::Closed(why));
            }
            let digest: String =
                tx.query_row("SELECT digest FROM issues WHERE id = ?1", [issue_id], |r| {
                    r.get(0)
                })?;
            tx.execute(
                "UPDATE reviews SET status = ?2, released = ?3, version = version + 1, updated = ?3
                 WHERE issue_id = ?1",
                params![issue_id, to, ts(now)],
            )?;
            let n = insert_deliveries(tx, issue_id, &digest, message_domain, recipients, now)?;
            if n == 0 && require_recipients {
                // Rolls the release back: the draft stays as it was.
                return Err(super::NoRecipients.into());
            }
            log(tx, issue_id, who, &what(n), now)?;
            Ok(Released::Released(n))
        })
    }

    /// Claims the sending of the review mail (`held`: of the "held" notice): true for the one
    /// caller that finds it not yet sent.
    pub fn claim_review_mail(&self, issue_id: i64, held: bool, now: DateTime<Utc>) -> Result<bool> {
        let sql = if held {
            "UPDATE reviews SET held_told = ?2 WHERE issue_id = ?1 AND held_told IS NULL"
        } else {
            "UPDATE reviews SET mailed = ?2 WHERE issue_id = ?1 AND mailed IS NULL"
        };
        self.write(|tx| Ok(tx.execute(sql, params![issue_id, ts(now)])? == 1))
    }

    /// Gives a claimed mail back (it could not be sent): the next pass tries again.
    pub fn unclaim_review_mail(&self, issue_id: i64, held: bool) -> Result<()> {
        let sql = if held {
            "UPDATE reviews SET held_told = NULL WHERE issue_id = ?1"
        } else {
            "UPDATE reviews SET mailed = NULL WHERE issue_id = ?1"
        };
        self.write(|tx| {
            tx.execute(sql, [issue_id])?;
            Ok(())
        })
    }

    /// Adds a line to a review's log.
    pub fn log_review(
        &self,
        issue_id: i64,
        who: &str,
        what: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write(|tx| log(tx, issue_id, who, what, now))
    }

    /// A review's log, oldest first.
    pub fn review_log(&self, issue_id: i64) -> Result<Vec<LogEntry>> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT at, who, what FROM review_log WHERE issue_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([issue_id], |r| {
            Ok(LogEntry {
                at: parse_ts(&r.get::<_, String>(0)?),
                who: r.get(1)?,
                what: r.get(2)?,
            })
        })?;
        rows.collect::<Result<_, _>>()
    }
}
