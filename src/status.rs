//! Is gazette doing its job? The document `gazette status --json` prints and `GET /healthz`
//! serves (in full to a request with the status token): the scheduler's state, each digest's
//! last and next slot with what is still queued or in doubt, failing feeds, each recent issue's
//! figures (bounce and complaint rates, and whether its send is paused), and each relay's day
//! (sent against its quota, paused).

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::SchedulerState;
use crate::pipeline::Gazette;
use crate::schedule::health::Health;
use crate::store::health::{FailingFeed, IssueFigures};

/// A scheduler that has not written its heartbeat for this long is taken to be gone.
const HEARTBEAT_STALE: chrono::Duration = chrono::Duration::minutes(3);

/// The whole status document.
#[derive(Debug, Serialize)]
pub struct Status {
    pub healthy: bool,
    pub scheduler: Scheduler,
    pub digests: Vec<DigestStatus>,
    pub feeds_failing: Vec<FailingFeed>,
    pub issues: Vec<IssueFigures>,
    /// Each `[[relays]]` table (none without them).
    pub relays: Vec<RelayStatus>,
}

/// One relay: what it took today (UTC, on gazette's clock) against its quota, and whether a
/// sender found it unusable.
#[derive(Debug, Serialize)]
pub struct RelayStatus {
    pub relay: String,
    /// `ok`, `quota_spent` or `paused`.
    pub state: &'static str,
    /// The UTC day counted.
    pub day: String,
    /// Messages handed to it on that day.
    pub sent_today: i64,
    pub daily_quota: Option<i64>,
    pub quota_spent: bool,
    /// When the quota resets (next midnight UTC), while it is spent.
    pub resets_at: Option<DateTime<Utc>>,
    pub paused: bool,
    /// Why it was paused, since when, and until when the sender rests it (null: that run gave
    /// up on it).
    pub paused_reason: Option<String>,
    pub paused_since: Option<DateTime<Utc>>,
    pub paused_until: Option<DateTime<Utc>>,
}

/// Every relay's figures for the day of `now`.
pub fn relays(g: &Gazette, now: DateTime<Utc>) -> Result<Vec<RelayStatus>> {
    let day = crate::store::day(now);
    let usage = g.store.relay_usage(&day)?;
    let pauses = g.store.relay_pauses()?;
    Ok(g.config
        .relays
        .iter()
        .map(|r| {
            let sent_today = usage
                .iter()
                .find(|u| u.relay == r.name)
                .map_or(0, |u| u.sent);
            let quota_spent = r.daily_quota.is_some_and(|q| sent_today >= q);
            let pause = pauses.iter().find(|p| p.relay == r.name);
            RelayStatus {
                relay: r.name.clone(),
                state: match (pause.is_some(), quota_spent) {
                    (true, _) => "paused",
                    (false, true) => "quota_spent",
                    (false, false) => "ok",
                },
                day: day.clone(),
                sent_today,
                daily_quota: r.daily_quota,
                quota_spent,
                resets_at: quota_spent.then(|| crate::deliver::relays::quota_resets(now)),
                paused: pause.is_some(),
                paused_reason: pause.map(|p| p.reason.clone()),
                paused_since: pause.map(|p| p.since),
                paused_until: pause.and_then(|p| p.until),
            }
        })
        .collect())
}

/// The scheduler's state: `starting`, `ok`, `retrying`, `failing` or `stopped` as it last
/// reported; `not_running` when no `serve` ever ran on this database; `stalled` when one stopped
/// reporting without stopping cleanly.
#[derive(Debug, Serialize)]
pub struct Scheduler {
    pub state: String,
    pub last_error: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// The process (host/pid/start) that reported it.
    pub owner: Option<String>,
}

impl Scheduler {
    pub fn healthy(&self) -> bool {
        SchedulerState::parse(&self.state).map_or(self.state == "not_running", |s| s.healthy())
    }
}

/// One digest.
#[derive(Debug, Serialize)]
pub struct DigestStatus {
    pub digest: String,
    pub last_slot: Option<String>,
    pub last_outcome: Option<String>,
    pub next_slot: Option<DateTime<Utc>>,
    pub queued: i64,
    pub unknown: i64,
}

/// The scheduler's state: from this process's own runner when it has one, else as recorded in
/// the database.
pub fn scheduler(g: &Gazette, live: Option<&Health>) -> Result<Scheduler> {
    if let Some(h) = live {
        let s = h.snapshot();
        return Ok(Scheduler {
            state: s.state.as_str().into(),
            last_error: s.last_error,
            since: Some(s.since),
            owner: Some(crate::store::leases::Owner::current_key().into()),
        });
    }
    Ok(match g.store.health("scheduler")? {
        None => Scheduler {
            state: "not_running".into(),
            last_error: None,
            since: None,
            owner: None,
        },
        Some(r) => {
            let stale = r.snapshot.state != SchedulerState::Stopped
                && Utc::now() - r.updated > HEARTBEAT_STALE;
            Scheduler {
                state: if stale {
                    "stalled".into()
                } else {
                    r.snapshot.state.as_str().into()
                },
                last_error: if stale {
                    Some(format!(
                        "no heartbeat since {}: the scheduler stopped without stopping cleanly",
                        r.updated.to_rfc3339()
                    ))
                } else {
                    r.snapshot.last_error
                },
                since: Some(r.snapshot.since),
                owner: r.owner,
            }
        }
    })
}

/// The whole document.
pub fn status(g: &Gazette, live: Option<&Health>) -> Result<Status> {
    let scheduler = scheduler(g, live)?;
    let issues = g.store.issues()?;
    let mut digests = Vec::new();
    for d in &g.config.digests {
        let last = g.store.last_slot(&d.name)?;
        let mine = issues.iter().filter(|i| i.digest == d.name);
        digests.push(DigestStatus {
            digest: d.name.clone(),
            last_slot: last.as_ref().map(|(s, _)| s.clone()),
            last_outcome: last.and_then(|(_, o)| o),
            next_slot: crate::schedule::runner::next_slot(g, d, g.now()),
            queued: mine.clone().map(|i| i.queued).sum(),
            unknown: mine.map(|i| i.unknown).sum(),
        });
    }
    let figures = g.store.issue_figures(20)?;
    // An issue paused on its hard-bounce rate waits for the operator: not healthy until resumed.
    let paused = figures.iter().any(|i| i.paused.is_some() && i.queued > 0);
    Ok(Status {
        healthy: scheduler.healthy() && !paused,
        scheduler,
        digests,
        feeds_failing: g.store.failing_feeds()?,
        issues: figures,
        relays: relays(g, g.now())?,
    })
}
