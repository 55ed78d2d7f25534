//! `gazette serve`: the long-running process — the scheduler (feeds on their own clock, each
//! digest's issues once per slot). SIGTERM / Ctrl-C stops taking new work, lets the message in
//! flight finish, leaves the rest queued for the next start, and exits 0.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;

use crate::pipeline::Gazette;
use crate::schedule::runner::Runner;

pub async fn run(g: &Gazette, _bind: &str) -> Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(tokio::sync::Notify::new());
    spawn_signal_handler(stop.clone(), wake.clone());
    tracing::info!(
        digests = g.config.digests.len(),
        feeds = g.config.feeds.len(),
        "gazette serve started"
    );
    let runner = Runner { gazette: g, stop };
    runner.run(wake).await?;
    Ok(ExitCode::SUCCESS)
}

fn spawn_signal_handler(stop: Arc<AtomicBool>, wake: Arc<tokio::sync::Notify>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!("cannot listen for SIGTERM: {e}");
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("stopping: finishing the message in flight");
        stop.store(true, Ordering::SeqCst);
        wake.notify_waiters();
        wake.notify_one();
    });
}
