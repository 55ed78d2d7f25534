//! The long-running scheduler behind `gazette serve`: fetches feeds on their own clock, runs each
//! digest's slots once (claimed in the database first), and never gives up: an issue whose
//! delivery fails keeps its queued rows, which are tried again at least once a minute, and later
//! slots resume it instead of planning another. A reviewed digest's draft is planned, held or
//! released by [`crate::review`] on every tick and at its slot. Every failure is logged and
//! recorded in [`Health`] (`GET /healthz`, `gazette status`). Time comes from the `Gazette`'s
//! clock, so tests drive it without sleeping.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};

mod local;

pub use local::{next_slot, zones};

use super::health::{Health, State};
use super::{decide, runs_between, slot_key, Due};
use crate::config::{DeliveryTime, Digest, Feed};
use crate::deliver::Patience;
use crate::pipeline::{Gazette, NextIssue, PlanArgs};
use crate::review::SlotStep;

/// What a slot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotOutcome {
    /// Another process (or an earlier run) had claimed it.
    AlreadyClaimed,
    /// Claimed, skipped: older than `catch_up`, or superseded by a later slot.
    Skipped(&'static str),
    /// No stories in the window and `send_empty` is off.
    Empty,
    /// Issue stored and delivered: (issue id, number, sent, failed).
    Issue {
        id: i64,
        number: i64,
        sent: i64,
        failed: i64,
    },
    /// An earlier issue of the digest still had queued deliveries: the slot delivered those
    /// instead of planning another.
    Resumed { id: i64, number: i64 },
    /// A local-delivery zone's slot: the edition's issue was planned at an earlier zone's slot;
    /// this zone's copies were delivered (the issue's totals so far).
    Local {
        id: i64,
        number: i64,
        sent: i64,
        failed: i64,
    },
    /// The issue is stored but its delivery failed; its queued rows are tried again on every
    /// tick.
    Retrying { id: i64, number: i64, error: String },
    /// The slot failed before an issue was stored (fetch, planning, the database).
    Failed(String),
    /// A reviewed digest's draft was not approved by its slot (`review = "required"`): held
    /// until an editor approves or skips it.
    Held { id: i64, number: i64 },
    /// A reviewed digest's draft is for a later slot, or was released by another process.
    AwaitingReview { id: i64, number: i64 },
}

impl SlotOutcome {
    /// The health this outcome leaves the scheduler in, with the error.
    fn trouble(&self) -> Option<(State, String)> {
        match self {
            SlotOutcome::Retrying { id, number, error } => {
                Some((State::Retrying, format!("issue {id} (#{number}): {error}")))
            }
            SlotOutcome::Failed(error) => Some((State::Failing, error.clone())),
            _ => None,
        }
    }
}

/// The worse of two troubles: a failing step before a delivery being retried.
fn worse(a: Option<(State, String)>, b: Option<(State, String)>) -> Option<(State, String)> {
    match (a, b) {
        (Some(a), _) if a.0 == State::Failing => Some(a),
        (_, Some(b)) if b.0 == State::Failing => Some(b),
        (a, b) => a.or(b),
    }
}

/// The scheduler of one process.
pub struct Runner<'a> {
    pub gazette: &'a Gazette,
    /// Set on SIGTERM / Ctrl-C: no new work is started.
    pub stop: Arc<AtomicBool>,
    /// What it last did, for `/healthz`.
    pub health: Arc<Health>,
}

impl Runner<'_> {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn set(&self, state: State, error: Option<String>) {
        self.health.set(&self.gazette.store, state, error);
    }

    /// At start: finish interrupted issues, and deal with slots missed while the server was down
    /// (within the lookback of each digest's window).
    pub async fn start(&self) -> Result<Vec<(String, DateTime<Utc>, SlotOutcome)>> {
        let g = self.gazette;
        let now = g.now();
        let mut trouble = self.resume_unfinished().await;
        // Only the latest slot missed while down is considered: it runs if younger than
        // `catch_up`, otherwise it is skipped and logged.
        let mut out = Vec::new();
        let tz = g.config.newsletter.timezone;
        for d in &g.config.digests {
            if d.delivery == DeliveryTime::Local {
                out.extend(self.start_local(d, now).await?);
                continue;
            }
            if let Some(prev) = super::previous_run(&d.cron, tz, now)
                .filter(|p| *p > now - d.window.max(d.catch_up))
            {
                out.extend(
                    self.run_due(d, prev - chrono::Duration::seconds(1), now)
                        .await?,
                );
            }
        }
        for (_, _, o) in &out {
            trouble = worse(trouble, o.trouble());
        }
        trouble = worse(trouble, self.review_pass(now).await);
        self.settle(trouble);
        Ok(out)
    }

    /// Records the health a pass leaves: its worst trouble, or ok.
    fn settle(&self, trouble: Option<(State, String)>) {
        match trouble {
            Some((state, error)) => self.set(state, Some(error)),
            None => self.set(State::Ok, None),
        }
    }

    /// One pass at `now`: fetches the feeds that are due, retries the queued rows of issues whose
    /// delivery failed, then runs the slots in `(after, now]`. Returns what each slot did.
    pub async fn tick(
        &self,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>, SlotOutcome)>> {
        let g = self.gazette;
        let mut trouble = None;
        if let Err(e) = self.fetch_due(now).await {
            let error = format!("scheduled fetch: {e:#}");
            tracing::error!(%error, "scheduled fetch failed");
            trouble = Some((State::Failing, error));
        }
        trouble = worse(trouble, self.resume_unfinished().await);
        let mut out = Vec::new();
        for d in &g.config.digests {
            if self.stopping() {
                break;
            }
            out.extend(self.run_due(d, after, now).await?);
        }
        for (_, _, o) in &out {
            trouble = worse(trouble, o.trouble());
        }
        trouble = worse(trouble, self.review_pass(now).await);
        self.settle(trouble);
        Ok(out)
    }

    /// Moves each reviewed digest's draft along ([`crate::review::pass`]: drafts planned
    /// `review_lead` before their slot, editors mailed, drafts approved after being held
    /// released) and delivers what it released. Returns the last failure, if any.
    async fn review_pass(&self, now: DateTime<Utc>) -> Option<(State, String)> {
        let g = self.gazette;
        let mut trouble = None;
        for d in g.config.digests.iter().filter(|d| d.review.is_some()) {
            if self.stopping() {
                break;
            }
            match crate::review::pass(g, d, now).await {
                Ok(None) => {}
                Ok(Some(id)) => {
                    tracing::info!(digest = %d.name, issue = id, "reviewed issue released");
                    if let Err(e) = self.deliver(id).await {
                        let error = format!("issue {id} of {}: {e:#}", d.name);
                        tracing::error!(%error, "delivery failed; retrying within a minute");
                        trouble = worse(trouble, Some((State::Retrying, error)));
                    }
                }
                Err(e) => {
                    let error = format!("{}: review: {e:#}", d.name);
                    tracing::error!(%error, "review step failed; trying again within a minute");
                    trouble = worse(trouble, Some((State::Failing, error)));
                }
            }
        }
        trouble
    }

    /// Delivers the queued rows due now of every issue that has some (interrupted, or whose
    /// delivery failed earlier). Returns the last failure, if any.
    async fn resume_unfinished(&self) -> Option<(State, String)> {
        let g = self.gazette;
        let issues = match g.store.unfinished_due_issues(None, g.now()) {
            Ok(i) => i,
            Err(e) => return Some((State::Failing, format!("database: {e:#}"))),
        };
        let mut failure = None;
        for issue in issues {
            if self.stopping() {
                break;
            }
            if let Some(why) = &issue.paused {
                // Waits for the operator (`gazette issues resume`); said once when it paused.
                failure = Some(format!(
                    "issue {} (#{} of {}) is paused: {why}",
                    issue.id, issue.number, issue.digest
                ));
                continue;
            }
            tracing::info!(issue = issue.id, digest = %issue.digest, queued = issue.queued, "delivering queued rows of an earlier issue");
            if let Err(e) = self.deliver(issue.id).await {
                let error = format!(
                    "issue {} (#{} of {}): {e:#}",
                    issue.id, issue.number, issue.digest
                );
                tracing::error!(%error, "delivery failed; retrying within a minute");
                failure = Some(error);
            }
        }
        failure.map(|e| (State::Retrying, e))
    }

    async fn deliver(&self, issue_id: i64) -> Result<crate::store::DeliveryCounts> {
        let g = self.gazette;
        let view = g.stored_view(issue_id)?;
        g.deliver(
            issue_id,
            &view,
            &|_| {},
            Some(&self.stop),
            Patience::OnePass,
        )
        .await
    }

    async fn run_due(
        &self,
        d: &Digest,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>, SlotOutcome)>> {
        if d.delivery == DeliveryTime::Local {
            return self.run_due_local(d, after, now).await;
        }
        let tz = self.gazette.config.newsletter.timezone;
        let due = runs_between(&d.cron, tz, after, now);
        let mut out = Vec::new();
        for (slot, decision) in decide(&due, now, d.catch_up) {
            if self.stopping() {
                break;
            }
            let outcome = match decision {
                Due::Run => match self.run_slot(d, slot).await {
                    Ok(o) => o,
                    Err(e) => SlotOutcome::Failed(format!("{}: slot {slot}: {e:#}", d.name)),
                },
                Due::TooOld => self.skip(d, slot, "missed by more than catch_up")?,
                Due::Superseded => self.skip(d, slot, "superseded by a later slot")?,
            };
            out.push((d.name.clone(), slot, outcome));
        }
        Ok(out)
    }

    fn skip(&self, d: &Digest, slot: DateTime<Utc>, why: &'static str) -> Result<SlotOutcome> {
        self.skip_key(d, &slot_key(slot), why)
    }

    /// Claims the slot stored under `key` as skipped.
    fn skip_key(&self, d: &Digest, key: &str, why: &'static str) -> Result<SlotOutcome> {
        let g = self.gazette;
        if !g
            .store
            .claim_slot(&d.name, key, Some(&format!("skipped: {why}")), g.now())?
        {
            return Ok(SlotOutcome::AlreadyClaimed);
        }
        tracing::warn!(digest = %d.name, slot = %key, "slot skipped: {why}");
        Ok(SlotOutcome::Skipped(why))
    }

    /// Claims the slot, fetches once more, then delivers the digest's unfinished issue if it has
    /// one, else plans the issue for the stories since the previous one, stores it and delivers
    /// it. A slot that fails keeps what it stored; the failure is recorded, never fatal.
    pub async fn run_slot(&self, d: &Digest, slot: DateTime<Utc>) -> Result<SlotOutcome> {
        let g = self.gazette;
        let key = slot_key(slot);
        if !g.store.claim_slot(&d.name, &key, None, g.now())? {
            return Ok(SlotOutcome::AlreadyClaimed);
        }
        tracing::info!(digest = %d.name, slot = %slot, "running scheduled issue");
        let outcome = match self.build_and_send(d, &key, None).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(digest = %d.name, slot = %slot, error = %format!("{e:#}"), "slot failed");
                g.store
                    .set_slot_outcome(&d.name, &key, &format!("failed: {e:#}"))?;
                return Err(e);
            }
        };
        let text = outcome_text(&outcome);
        g.store.set_slot_outcome(&d.name, &key, &text)?;
        tracing::info!(digest = %d.name, slot = %slot, outcome = %text, "slot done");
        Ok(outcome)
    }

    /// Fetches, then delivers the digest's unfinished issue or plans and delivers the next one,
    /// stored under the slot `key` (for a local digest, the `edition`'s key).
    async fn build_and_send(
        &self,
        d: &Digest,
        key: &str,
        edition: Option<chrono::NaiveDateTime>,
    ) -> Result<SlotOutcome> {
        let g = self.gazette;
        let feeds: Vec<&Feed> = g.config.feeds.iter().collect();
        crate::ingest::fetch_feeds(&g.config, &feeds, &g.store, g.now(), &|_| {}).await?;
        g.summarize_pending().await?;
        if let Some(why) = crate::review::flow::slot_done(g, d, key)? {
            return Ok(SlotOutcome::Skipped(why));
        }
        let args = PlanArgs {
            slot: Some(key),
            edition,
            ..Default::default()
        };
        let (id, number) = match g.next_issue(d, &args).await? {
            NextIssue::Empty => return Ok(SlotOutcome::Empty),
            NextIssue::Review(r) => match crate::review::at_slot(g, *r, g.now()).await? {
                SlotStep::Released { id, number } => (id, number),
                SlotStep::Held { id, number } => return Ok(SlotOutcome::Held { id, number }),
                SlotStep::Waiting { id, number } => {
                    return Ok(SlotOutcome::AwaitingReview { id, number })
                }
            },
            NextIssue::Unfinished(issue) => {
                if let Err(e) = self.deliver(issue.id).await {
                    return Ok(self.retrying(issue.id, issue.number, e));
                }
                return Ok(SlotOutcome::Resumed {
                    id: issue.id,
                    number: issue.number,
                });
            }
            NextIssue::Planned { id, number, .. } => (id, number),
        };
        match self.deliver(id).await {
            Ok(counts) => Ok(SlotOutcome::Issue {
                id,
                number,
                sent: counts.sent,
                failed: counts.failed,
            }),
            Err(e) => Ok(self.retrying(id, number, e)),
        }
    }

    fn retrying(&self, id: i64, number: i64, e: anyhow::Error) -> SlotOutcome {
        let error = format!("{e:#}");
        tracing::error!(issue = id, %error, "delivery failed; its queued rows are retried every minute");
        SlotOutcome::Retrying { id, number, error }
    }

    /// Fetches the feeds whose next fetch time has come (interval, Cache-Control, ttl, backoff).
    async fn fetch_due(&self, now: DateTime<Utc>) -> Result<()> {
        let g = self.gazette;
        let urls: Vec<String> = g.config.feeds.iter().map(|f| f.url.clone()).collect();
        let due = g.store.feeds_due(&urls, now)?;
        if due.is_empty() {
            return Ok(());
        }
        let feeds: Vec<&Feed> = g
            .config
            .feeds
            .iter()
            .filter(|f| due.contains(&f.url))
            .collect();
        let outcomes =
            crate::ingest::fetch_feeds(&g.config, &feeds, &g.store, now, &|_| {}).await?;
        g.summarize_pending().await?;
        let new: usize = outcomes.iter().map(|o| o.new).sum();
        tracing::info!(feeds = outcomes.len(), new, "scheduled fetch");
        Ok(())
    }

    /// When the loop should wake next: the earliest next slot, at most a minute on; while a
    /// delivery is being retried, after `[delivery] retry_backoff` (at most a minute).
    pub fn next_wake(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let g = self.gazette;
        let minute = chrono::Duration::seconds(60);
        let mut latest = now + minute;
        if !self.health.snapshot().state.healthy() {
            let retry = chrono::Duration::from_std(g.config.delivery.backoff_base())
                .unwrap_or(minute)
                .min(minute);
            latest = now + retry;
        }
        let slots = g
            .config
            .digests
            .iter()
            .filter_map(|d| self.next_slot(d, now));
        slots
            .min()
            .unwrap_or(latest)
            .min(latest)
            .max(now + chrono::Duration::seconds(1))
    }

    /// Runs until `stop` is set: start-up work, then ticks at least once a minute. A failing
    /// step is logged and recorded in the health, and tried again on the next tick: the loop
    /// itself never ends on an error.
    pub async fn run(&self, wake: Arc<tokio::sync::Notify>) {
        let g = self.gazette;
        if let Err(e) = self.start().await {
            let error = format!("start: {e:#}");
            tracing::error!(%error, "scheduler start-up step failed; carrying on");
            self.set(State::Failing, Some(error));
        }
        let tz = g.config.newsletter.timezone;
        let mut after = g.now();
        for d in &g.config.digests {
            if let Some(next) = self.next_slot(d, after) {
                tracing::info!(digest = %d.name, next = %next.with_timezone(&tz).to_rfc3339(), "next issue");
            }
        }
        while !self.stopping() {
            let now = g.now();
            let wait = (self.next_wake(now) - now).to_std().unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notified() => {}
            }
            if self.stopping() {
                break;
            }
            let now = g.now();
            match self.tick(after, now).await {
                Ok(done) => {
                    for (digest, _, outcome) in done {
                        if let SlotOutcome::Issue { .. } | SlotOutcome::Empty = outcome {
                            if let Some(d) = g.config.digests.iter().find(|d| d.name == digest) {
                                if let Some(next) = self.next_slot(d, now) {
                                    tracing::info!(digest = %d.name, next = %next.with_timezone(&tz).to_rfc3339(), "next issue");
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    tracing::error!(%error, "scheduler tick failed; trying again within a minute");
                    self.set(State::Failing, Some(error));
                }
            }
            after = now;
        }
        self.set(State::Stopped, None);
        tracing::info!("stopped: remaining deliveries stay queued for the next start");
    }
}

/// What a slot did, as recorded in the slots table and logged.
fn outcome_text(outcome: &SlotOutcome) -> String {
    match outcome {
        SlotOutcome::Issue {
            id,
            number,
            sent,
            failed,
        } => format!("issue {id} (#{number}): {sent} sent, {failed} failed"),
        SlotOutcome::Empty => "empty: nothing sent".into(),
        SlotOutcome::Resumed { id, number } => {
            format!("resumed issue {id} (#{number}) instead of planning another")
        }
        SlotOutcome::Local {
            id,
            number,
            sent,
            failed,
        } => format!(
            "issue {id} (#{number}), planned at an earlier zone's slot: {sent} sent, {failed} failed so far"
        ),
        SlotOutcome::Retrying { id, number, error } => {
            format!("issue {id} (#{number}): delivery failed, retried every minute: {error}")
        }
        SlotOutcome::Held { id, number } => {
            format!("held: issue {id} (#{number}) awaits an editor's approval")
        }
        SlotOutcome::AwaitingReview { id, number } => {
            format!("issue {id} (#{number}) is a draft under review")
        }
        o => format!("{o:?}"),
    }
}
