//! Group commit for the send loop. Every ledger step (claim before the SMTP transaction, the
//! outcome after it) must be durable (`synchronous=FULL`: one fsync per commit) before the
//! sender goes on, and one fsync per step would cap the loop at about one commit's latency per
//! step. Here the steps of the parallel connections that arrive while a commit is running are
//! applied together in the next transaction: same guarded single-row UPDATEs, same durability
//! before each caller proceeds, fewer fsyncs.
//!
//! Parallel connections rarely reach the ledger at the same instant (the SMTP server serves
//! them in turn), so, like PostgreSQL's `commit_delay`, the writer waits up to
//! [`COMMIT_DELAY`] for the other senders' steps before it commits; with one sender it never
//! waits.

use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::oneshot;

use crate::store::{Applied, Step, Store};

/// Jobs in one transaction at most.
const GROUP: usize = 64;

/// How long the writer waits for the other senders' steps before committing.
pub const COMMIT_DELAY: Duration = Duration::from_millis(2);

struct Job {
    steps: Vec<Step>,
    now: chrono::DateTime<chrono::Utc>,
    done: oneshot::Sender<Result<Vec<Applied>, String>>,
}

/// A writer thread applying ledger steps in groups; stops when dropped.
pub struct Ledger {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ledger {
    /// Starts the writer for `senders` parallel senders (each waits for its own step).
    pub fn start(store: Arc<Store>, senders: usize) -> Ledger {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("gazette-ledger".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    let deadline = Instant::now() + COMMIT_DELAY;
                    while jobs.len() < senders.clamp(1, GROUP) {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match rx.recv_timeout(left) {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    while jobs.len() < GROUP {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    let now = jobs.iter().map(|j| j.now).max().unwrap_or_default();
                    let steps: Vec<Step> =
                        jobs.iter().flat_map(|j| j.steps.iter().cloned()).collect();
                    match store.apply(&steps, now) {
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
            })
            .expect("spawn the ledger thread");
        Ledger {
            jobs: Some(tx),
            thread: Some(thread),
        }
    }

    /// Applies steps in one transaction (with those of other callers waiting at that moment);
    /// returns once they are committed.
    pub async fn apply(
        &self,
        steps: Vec<Step>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Applied>> {
        let (done, rx) = oneshot::channel();
        self.jobs
            .as_ref()
            .expect("ledger running")
            .send(Job { steps, now, done })
            .map_err(|_| anyhow::anyhow!("the ledger writer stopped"))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the ledger writer stopped"))?
            .map_err(|e| anyhow::anyhow!("delivery ledger: {e}"))
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
