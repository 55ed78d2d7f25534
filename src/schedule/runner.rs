//! The long-running scheduler behind `gazette serve`: fetches feeds on their own clock, runs each
//! digest's slots once (claimed in SQLite first), resumes interrupted issues at start, and stops
//! cleanly. Time comes from the `Gazette`'s clock, so tests drive it without sleeping.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{decide, runs_between, slot_key, Due};
use crate::config::{Digest, Feed};
use crate::pipeline::Gazette;

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
}

/// The scheduler of one process.
pub struct Runner<'a> {
    pub gazette: &'a Gazette,
    /// Set on SIGTERM / Ctrl-C: no new work is started.
    pub stop: Arc<AtomicBool>,
}

impl Runner<'_> {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// At start: recover deliveries that were in flight, finish interrupted issues, and deal with
    /// slots missed while the server was down (within the lookback of each digest's window).
    pub async fn start(&self) -> Result<Vec<(String, DateTime<Utc>, SlotOutcome)>> {
        let g = self.gazette;
        let now = g.now();
        let in_doubt = g.store.recover_in_flight(now)?;
        if in_doubt > 0 {
            tracing::warn!(
                in_doubt,
                "deliveries in flight at the last stop are marked unknown (not resent)"
            );
        }
        for issue in g.store.unfinished_issues()? {
            if self.stopping() {
                break;
            }
            tracing::info!(issue = issue.id, digest = %issue.digest, queued = issue.queued, "resuming interrupted issue");
            let view = g.stored_view(issue.id)?;
            g.deliver(issue.id, &view, &|_| {}, Some(&self.stop))
                .await?;
        }
        // Only the latest slot missed while down is considered: it runs if younger than
        // `catch_up`, otherwise it is skipped and logged.
        let mut out = Vec::new();
        let tz = g.config.newsletter.timezone;
        for d in &g.config.digests {
            if let Some(prev) = super::previous_run(&d.cron, tz, now)
                .filter(|p| *p > now - d.window.max(d.catch_up))
            {
                out.extend(
                    self.run_due(d, prev - chrono::Duration::seconds(1), now)
                        .await?,
                );
            }
        }
        Ok(out)
    }

    /// One pass at `now`: fetches the feeds that are due, then runs the slots in `(after, now]`.
    /// Returns what each slot did.
    pub async fn tick(
        &self,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>, SlotOutcome)>> {
        let g = self.gazette;
        self.fetch_due(now).await?;
        let mut out = Vec::new();
        for d in &g.config.digests {
            if self.stopping() {
                break;
            }
            out.extend(self.run_due(d, after, now).await?);
        }
        Ok(out)
    }

    async fn run_due(
        &self,
        d: &Digest,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>, SlotOutcome)>> {
        let tz = self.gazette.config.newsletter.timezone;
        let due = runs_between(&d.cron, tz, after, now);
        let mut out = Vec::new();
        for (slot, decision) in decide(&due, now, d.catch_up) {
            if self.stopping() {
                break;
            }
            let outcome = match decision {
                Due::Run => self.run_slot(d, slot).await?,
                Due::TooOld => self.skip(d, slot, "missed by more than catch_up")?,
                Due::Superseded => self.skip(d, slot, "superseded by a later slot")?,
            };
            out.push((d.name.clone(), slot, outcome));
        }
        Ok(out)
    }

    fn skip(&self, d: &Digest, slot: DateTime<Utc>, why: &'static str) -> Result<SlotOutcome> {
        let g = self.gazette;
        if !g.store.claim_slot(
            &d.name,
            &slot_key(slot),
            Some(&format!("skipped: {why}")),
            g.now(),
        )? {
            return Ok(SlotOutcome::AlreadyClaimed);
        }
        tracing::warn!(digest = %d.name, slot = %slot, "slot skipped: {why}");
        Ok(SlotOutcome::Skipped(why))
    }

    /// Claims the slot, fetches once more, builds the issue for the window since the previous
    /// issue, stores it and delivers it.
    pub async fn run_slot(&self, d: &Digest, slot: DateTime<Utc>) -> Result<SlotOutcome> {
        let g = self.gazette;
        let key = slot_key(slot);
        if !g.store.claim_slot(&d.name, &key, None, g.now())? {
            return Ok(SlotOutcome::AlreadyClaimed);
        }
        tracing::info!(digest = %d.name, slot = %slot, "running scheduled issue");
        let result = self.build_and_send(d, &key).await;
        let outcome_text = match &result {
            Ok(SlotOutcome::Issue {
                id,
                number,
                sent,
                failed,
            }) => format!("issue {id} (#{number}): {sent} sent, {failed} failed"),
            Ok(SlotOutcome::Empty) => "empty: nothing sent".into(),
            Ok(o) => format!("{o:?}"),
            Err(e) => format!("failed: {e:#}"),
        };
        g.store.set_slot_outcome(&d.name, &key, &outcome_text)?;
        match &result {
            Ok(_) => {
                tracing::info!(digest = %d.name, slot = %slot, outcome = %outcome_text, "slot done")
            }
            Err(e) => {
                tracing::error!(digest = %d.name, slot = %slot, error = %format!("{e:#}"), "slot failed")
            }
        }
        result
    }

    async fn build_and_send(&self, d: &Digest, key: &str) -> Result<SlotOutcome> {
        let g = self.gazette;
        let feeds: Vec<&Feed> = g.config.feeds.iter().collect();
        crate::ingest::fetch_feeds(&g.config, &feeds, &g.store, g.now(), &|_| {}).await?;
        g.summarize_pending().await?;
        let plan = g.plan(d, None)?;
        if plan.story_count() == 0 && !d.send_empty {
            return Ok(SlotOutcome::Empty);
        }
        let recipients = g.recipients(&d.name)?;
        let (id, number, view) = g.publish(&plan, &recipients, Some(key))?;
        let counts = g.deliver(id, &view, &|_| {}, Some(&self.stop)).await?;
        Ok(SlotOutcome::Issue {
            id,
            number,
            sent: counts.sent,
            failed: counts.failed,
        })
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

    /// When the loop should wake next: the earliest next slot or feed fetch, at most a minute on.
    pub fn next_wake(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let g = self.gazette;
        let tz = g.config.newsletter.timezone;
        let slots = g
            .config
            .digests
            .iter()
            .filter_map(|d| super::next_runs(&d.cron, tz, now, 1).into_iter().next());
        slots
            .min()
            .unwrap_or(now)
            .min(now + chrono::Duration::seconds(60))
            .max(now + chrono::Duration::seconds(1))
    }

    /// Runs until `stop` is set: start-up work, then ticks. Logs the next run of each digest.
    pub async fn run(&self, wake: Arc<tokio::sync::Notify>) -> Result<()> {
        let g = self.gazette;
        self.start().await?;
        let tz = g.config.newsletter.timezone;
        let mut after = g.now();
        for d in &g.config.digests {
            if let Some(next) = super::next_runs(&d.cron, tz, after, 1).first() {
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
            for (digest, _, outcome) in self.tick(after, now).await? {
                if let SlotOutcome::Issue { .. } | SlotOutcome::Empty = outcome {
                    if let Some(d) = g.config.digests.iter().find(|d| d.name == digest) {
                        if let Some(next) = super::next_runs(&d.cron, tz, now, 1).first() {
                            tracing::info!(digest = %d.name, next = %next.with_timezone(&tz).to_rfc3339(), "next issue");
                        }
                    }
                }
            }
            after = now;
        }
        tracing::info!("stopped: remaining deliveries stay queued for the next start");
        Ok(())
    }
}
