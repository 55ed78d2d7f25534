//! Group commit for the send loop. Every ledger step (claim before the SMTP transaction, the
//! outcome after it) must be durable (`synchronous=FULL`: one fsync per commit) before the
//! sender goes on, and one fsync per step would cap the loop at about one commit's latency per
//! step. Here the steps of the parallel connections that arrive while a commit is running are
//! applied together in the next transaction: same guarded single-row UPDATEs, same durability
//! before each caller proceeds, fewer fsyncs.

use std::sync::Arc;

use anyhow::Result;
use tokio::sync::{mpsc, oneshot};

use crate::store::{Applied, Step, Store};

/// Steps in one transaction at most.
const GROUP: usize = 64;

struct Job {
    step: Step,
    now: chrono::DateTime<chrono::Utc>,
    done: oneshot::Sender<Result<Applied, String>>,
}

/// A writer thread applying ledger steps in groups; stops when dropped.
pub struct Ledger {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ledger {
    pub fn start(store: Arc<Store>) -> Ledger {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("gazette-ledger".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < GROUP {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    let now = jobs.iter().map(|j| j.now).max().unwrap_or_default();
                    let steps: Vec<Step> = jobs.iter().map(|j| j.step.clone()).collect();
                    match store.apply(&steps, now) {
                        Ok(applied) => {
                            for (job, a) in jobs.into_iter().zip(applied) {
                                let _ = job.done.send(Ok(a));
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

    /// Applies one step; returns once it is committed.
    pub async fn apply(&self, step: Step, now: chrono::DateTime<chrono::Utc>) -> Result<Applied> {
        let (done, rx) = oneshot::channel();
        self.jobs
            .as_ref()
            .expect("ledger running")
            .send(Job { step, now, done })
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
