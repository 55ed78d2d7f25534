//! Editorial review (issue 21): a digest with `review = "required" | "optional"` gets each
//! issue first as a draft, planned `review_lead` before its slot; the editors are mailed a
//! preview and their own signed link to `/review/{token}`, where they drop, pin, move and
//! re-lead stories, edit the intro, add stories that arrived since, approve or skip.
//!
//! States of a draft (`reviews.status`), and what moves it:
//!
//! ```text
//!           approve                its slot, or `send`
//!   draft ───────────► approved ──────────────────────► released (deliveries written, sent)
//!     ▲                   │
//!     └───── an edit ─────┘ (withdraws the approval)
//!   draft ── its slot, required ──► held ── approve ──► approved ──► released at once
//!   draft ── its slot, optional ──────────────────────────────────► released as it stands
//!   draft, held or approved ── skip ──► skipped (never sent)
//! ```
//!
//! Invariants: a draft has no delivery rows until it is released (`store::release_review`
//! writes them in the transaction that marks it released), so `send` and `serve`'s delivery of
//! queued rows can never send one; an open draft is the digest's next issue, so nothing plans
//! another until it is released or skipped; every change checks the version the editor loaded
//! and is logged with who made it.

mod draft;
pub mod flow;
mod lead;
pub mod mail;
pub mod policy;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use draft::{Draft, Edit, EditError, Entry};
pub use flow::{at_slot, on_send, pass, plan_draft, SendStep, SlotStep};
pub use lead::{editable, edited_lead, EditedLead, LeadError};

use crate::config::ReviewPolicy;
use crate::pipeline::Gazette;
use crate::store::{IssueContent, ReviewRow, ReviewSave, Saved};

/// Where a draft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Draft,
    Approved,
    Held,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Approved => "approved",
            Status::Held => "held",
            Status::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "draft" => Status::Draft,
            "approved" => Status::Approved,
            "held" => Status::Held,
            "skipped" => Status::Skipped,
            _ => return None,
        })
    }
}

/// A review as loaded: the stored row, its draft parsed.
#[derive(Debug, Clone)]
pub struct Review {
    pub issue: i64,
    pub digest: String,
    pub number: i64,
    pub slot: DateTime<Utc>,
    pub policy: ReviewPolicy,
    pub status: Status,
    pub version: i64,
    pub draft: Draft,
    pub mailed: bool,
    pub held_told: bool,
    /// When its deliveries were written; from then on it is an ordinary issue.
    pub released: Option<DateTime<Utc>>,
    /// Stories with a greater id arrived after the draft was planned.
    pub story_cursor: i64,
}

impl Review {
    fn from_row(row: ReviewRow) -> Result<Review> {
        Ok(Review {
            issue: row.issue_id,
            digest: row.digest,
            number: row.number,
            slot: crate::store::parse_ts(&row.slot),
            policy: match row.policy.as_str() {
                "optional" => ReviewPolicy::Optional,
                _ => ReviewPolicy::Required,
            },
            status: Status::parse(&row.status).with_context(|| {
                format!("issue {}: review status {:?}", row.issue_id, row.status)
            })?,
            version: row.version,
            draft: serde_json::from_str(&row.state)
                .with_context(|| format!("issue {}: stored draft", row.issue_id))?,
            mailed: row.mailed.is_some(),
            held_told: row.held_told.is_some(),
            released: row.released,
            story_cursor: row.story_cursor,
        })
    }

    /// Not released and not skipped: it can still change, and it is the digest's next issue.
    pub fn is_open(&self) -> bool {
        self.released.is_none() && self.status != Status::Skipped
    }
}

/// The digest's open draft, if any.
pub fn open(g: &Gazette, digest: &str) -> Result<Option<Review>> {
    g.store
        .open_review(digest)?
        .map(Review::from_row)
        .transpose()
}

/// The digest's newest review, open or not.
pub fn latest(g: &Gazette, digest: &str) -> Result<Option<Review>> {
    g.store
        .latest_review(digest)?
        .map(Review::from_row)
        .transpose()
}

/// The review of an issue.
pub fn load(g: &Gazette, issue: i64) -> Result<Option<Review>> {
    g.store.review(issue)?.map(Review::from_row).transpose()
}

/// Reviews, open ones first, then the latest closed ones.
pub fn list(g: &Gazette) -> Result<Vec<Review>> {
    g.store
        .reviews(50)?
        .into_iter()
        .map(Review::from_row)
        .collect()
}

/// What a change asked of a draft did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Saved: the new version and what was logged.
    Saved { version: i64, what: String },
    /// The draft changed since the caller loaded it (the current version): nothing saved.
    Conflict { current: i64 },
    /// The draft is past changing (`sent`, `skipped`, or for approve: `approved`).
    Closed(String),
    /// The edit itself was refused.
    Refused(EditError),
}

impl From<Saved> for Change {
    fn from(s: Saved) -> Change {
        match s {
            Saved::Saved(version) => Change::Saved {
                version,
                what: String::new(),
            },
            Saved::Conflict(current) => Change::Conflict { current },
            Saved::Closed(s) => Change::Closed(s),
        }
    }
}

/// Applies an edit to an open draft loaded at `expected` (any version when `None`), re-renders
/// the issue as it will be sent and saves both, logged as `who`. An edit of an approved draft
/// withdraws the approval.
pub fn edit(
    g: &Gazette,
    issue: i64,
    expected: Option<i64>,
    who: &str,
    edit: Edit,
) -> Result<Change> {
    let Some(r) = load(g, issue)? else {
        return Ok(Change::Closed("missing".into()));
    };
    if !r.is_open() {
        return Ok(Change::Closed(closed_status(&r)));
    }
    if expected.is_some_and(|v| v != r.version) {
        return Ok(Change::Conflict { current: r.version });
    }
    let mut draft = r.draft.clone();
    let mut what = match draft.apply(edit) {
        Ok(w) => w,
        Err(e) => return Ok(Change::Refused(e)),
    };
    let status = match r.status {
        Status::Approved => {
            what.push_str("; the approval is withdrawn until someone approves again");
            Status::Draft
        }
        s => s,
    };
    let view = draft.to_view(&g.stored_view(issue)?);
    let rendered = g.renderer.render(&view, None)?;
    let content = IssueContent {
        subject: view.subject.clone(),
        html: rendered.html,
        text: rendered.text,
        view: serde_json::to_string(&view)?,
    };
    let state = serde_json::to_string(&draft)?;
    let saved = g.store.save_review(
        issue,
        Some(r.version),
        &ReviewSave {
            state: &state,
            status: status.as_str(),
            content: &content,
            story_ids: &draft.story_ids(),
            who,
            what: &what,
        },
        g.now(),
    )?;
    Ok(match Change::from(saved) {
        Change::Saved { version, .. } => Change::Saved { version, what },
        other => other,
    })
}

/// Approves an open draft (draft or held). A held one goes out at once (`serve` within a
/// minute, or the next `send`); one before its slot goes out at the slot, or with `send`.
pub fn approve(g: &Gazette, issue: i64, expected: Option<i64>, who: &str) -> Result<Change> {
    let what = match load(g, issue)? {
        Some(r) if r.status == Status::Held => "approved the held issue: it goes out now",
        _ => "approved the issue",
    };
    let saved = g.store.set_review_status(
        issue,
        expected,
        &["draft", "held"],
        "approved",
        who,
        what,
        g.now(),
    )?;
    Ok(with_what(saved, what))
}

/// Skips an open draft: it is never sent. Its stories stay behind its story cursor; those
/// that arrive from now on go to the next issue.
pub fn skip(g: &Gazette, issue: i64, expected: Option<i64>, who: &str) -> Result<Change> {
    let what = "skipped the issue: it will not be sent";
    let saved = g.store.set_review_status(
        issue,
        expected,
        &["draft", "held", "approved"],
        "skipped",
        who,
        what,
        g.now(),
    )?;
    Ok(with_what(saved, what))
}

fn with_what(saved: Saved, what: &str) -> Change {
    match Change::from(saved) {
        Change::Saved { version, .. } => Change::Saved {
            version,
            what: what.into(),
        },
        other => other,
    }
}

/// `sent` for a released draft, else its status.
pub fn closed_status(r: &Review) -> String {
    if r.released.is_some() {
        "sent".into()
    } else {
        r.status.as_str().into()
    }
}

/// Stories that arrived since the draft was planned and would go in the next issue (selected
/// for the digest's topics, not yet in the draft): what an editor may add.
pub fn arrived(g: &Gazette, r: &Review) -> Result<Vec<Entry>> {
    if !r.is_open() {
        return Ok(Vec::new());
    }
    // A digest no longer configured gets nothing new.
    let Ok(digest) = g.config.digest(Some(&r.digest)) else {
        return Ok(Vec::new());
    };
    let plan = g.plan(digest, None)?;
    let draft = Draft::from_view(&plan.view, &flow::picks(&plan));
    Ok(draft
        .entries
        .into_iter()
        .filter(|e| e.story > r.story_cursor && r.draft.entry(e.story).is_none())
        .collect())
}

/// Who acts from the command line, for the log.
pub fn cli_who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default();
    if user.is_empty() {
        "cli".into()
    } else {
        format!("cli:{user}")
    }
}
