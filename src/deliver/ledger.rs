//! Group commit for the send loop. Every ledger step (claim before the SMTP transaction, the
//! outcome after it) must be durable (`synchronous=FULL`: one fsync per commit) before the
//! sender goes on. Here the steps of the parallel connections are applied together: same guarded
//! single-row UPDATEs, same durability before each caller proceeds, fewer fsyncs.
//!
//! The writer is a future run beside the senders on the same thread: no ledger thread and no
//! cross-thread wake-ups, which cost more CPU than a message's SMTP work on the VMs measured.
//! When a step arrives, the writer waits until all but a quarter of the running senders have a
//! step waiting, or [`COMMIT_DELAY`] has passed, then commits them all (like PostgreSQL's
//! `commit_delay`). An SMTP server serves parallel connections in turn, so their replies come
//! one at a time; without the wait each commit held one or two steps (3,000 messages: 2,897
//! commits; waiting for 6 of 8, 686). Not waiting for all of them keeps the server busy
//! with the others while a group commits: when a group waited for all 4 of 4 connections, they
//! reached 75% of the rate of smtplib over 4 connections in the deliver bench; waiting for 3 of
//! 4, 105% and 124% in two runs. The commit blocks the thread, which is fine: every sender is
//! then waiting for the ledger or for its server.

use std::sync::Arc;

use anyhow::Result;
use tokio::sync::{oneshot, Notify};

use crate::store::{Applied, Step, Store};

/// Jobs in one transaction at most.
const GROUP: usize = 64;

/// How long a step may wait for the other senders' steps before it is committed anyway.
const COMMIT_DELAY: std::time::Duration = std::time::Duration::from_millis(10);

struct Job {
    steps: Vec<Step>,
    now: chrono::DateTime<chrono::Utc>,
    done: oneshot::Sender<Result<Vec<Applied>, String>>,
}

/// The steps waiting for the next commit, and the writer that commits them ([`Ledger::run`]).
pub struct Ledger {
    store: Arc<Store>,
    /// Senders still running: a group is complete when three quarters of them have a step in
    /// it.
    senders: std::sync::atomic::AtomicUsize,
    waiting: std::sync::Mutex<Waiting>,
    wake: Notify,
    /// CPU time spent committing.
    cpu: super::cpu::Meter,
}

#[derive(Default)]
struct Waiting {
    jobs: Vec<Job>,
    closed: bool,
}

impl Ledger {
    pub fn new(store: Arc<Store>, senders: usize) -> Ledger {
        Ledger {
            store,
            senders: senders.into(),
            waiting: Default::default(),
            wake: Notify::new(),
            cpu: Default::default(),
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies steps in one transaction (with those of other callers waiting at that moment);
    /// returns once they are committed. Needs [`Ledger::run`] polled alongside.
    pub async fn apply(
        &self,
        steps: Vec<Step>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Applied>> {
        let (done, rx) = oneshot::channel();
        self.waiting().jobs.push(Job { steps, now, done });
        self.wake.notify_one();
        rx.await
            .map_err(|_| anyhow::anyhow!("the ledger writer stopped"))?
            .map_err(|e| anyhow::anyhow!("delivery ledger: {e}"))
    }

    /// Commits waiting steps, a group at a time, until [`Ledger::close`] is called and nothing
    /// is left.
    pub async fn run(&self) {
        let (mut commits, mut jobs_done) = (0usize, 0usize);
        loop {
            let (empty, closed) = {
                let w = self.waiting();
                (w.jobs.is_empty(), w.closed)
            };
            if empty {
                if closed {
                    tracing::debug!(commits, jobs = jobs_done, "ledger writer done");
                    return;
                }
                self.wake.notified().await;
                continue;
            }
            // Wait for the other senders' steps, up to COMMIT_DELAY.
            let deadline = tokio::time::Instant::now() + COMMIT_DELAY;
            loop {
                let senders = self.senders.load(std::sync::atomic::Ordering::SeqCst);
                // All but a quarter of them: those still at the server keep it busy while
                // this group commits.
                let enough = senders - senders / 4;
                if self.waiting().jobs.len() >= enough.clamp(1, GROUP) {
                    break;
                }
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
            let jobs: Vec<Job> = {
                let mut w = self.waiting();
                let n = w.jobs.len().min(GROUP);
                w.jobs.drain(..n).collect()
            };
            commits += 1;
            jobs_done += jobs.len();
            self.cpu.time(|| self.commit(jobs));
        }
    }

    /// The CPU time spent committing so far.
    pub fn spent(&self) -> std::time::Duration {
        self.cpu.spent()
    }

    /// A sender stopped: groups no longer wait for its steps.
    pub fn leave(&self) {
        self.senders
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Tells [`Ledger::run`] to return once the waiting steps are committed.
    pub fn close(&self) {
        self.waiting().closed = true;
        self.wake.notify_one();
    }

    fn commit(&self, jobs: Vec<Job>) {
        let now = jobs.iter().map(|j| j.now).max().unwrap_or_default();
        let steps: Vec<Step> = jobs.iter().flat_map(|j| j.steps.iter().cloned()).collect();
        match self.store.apply(&steps, now) {
            Ok(applied) => {
                let mut applied = applied.into_iter();
                for job in jobs {
                    let mine = applied.by_ref().take(job.steps.len()).collect();
                    let _ = job.done.send(Ok(mine));
                }
            }
            Err(e) => {
                let e = format!("{e:#}");
                for job in jobs {
                    let _ = job.done.send(Err(e.clone()));
                }
            }
        }
    }
}
