//! `gazette serve`: the long-running process — the scheduler (feeds on their own clock, each
//! digest's issues once per slot), the bounce mailboxes (`[bounces] maildir`, `imap`, every
//! `poll_interval`) and the web app (subscribe, confirm, unsubscribe, archive,
//! preview, `/healthz`) in one process. SIGTERM / Ctrl-C stops taking new work, lets the message
//! in flight finish, leaves the rest queued for the next start, and exits 0.
//!
//! Exit codes: 0 after a requested stop; 1 when the web app cannot run (the address is taken,
//! the database cannot be opened); 2 for a bad config. A failing slot, fetch or delivery never
//! ends the process: the scheduler records it (`gazette status`, `/healthz` answers 503) and
//! tries again within a minute.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::pipeline::Gazette;
use crate::schedule::health::Health;
use crate::schedule::runner::Runner;
use crate::web::{run_server, AppState, WebOptions};

pub async fn run(g: &Gazette, bind: SocketAddr) -> Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(tokio::sync::Notify::new());
    let (stopped_tx, mut stopped_rx) = tokio::sync::watch::channel(false);
    spawn_signal_handler(stop.clone(), wake.clone(), stopped_tx);

    let health = Arc::new(Health::default());
    // The web app gets its own handle on the same database.
    let web = AppState::new(
        Gazette::open(g.config.clone(), g.clock.clone())?,
        WebOptions {
            scheduler: Some(health.clone()),
            ..WebOptions::default()
        },
    )?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("listen on {bind}"))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        base_url = %g.config.newsletter.base_url,
        digests = g.config.digests.len(),
        feeds = g.config.feeds.len(),
        "gazette serve started"
    );
    let server = tokio::spawn(run_server(web, listener, async move {
        let _ = stopped_rx.wait_for(|s| *s).await;
    }));
    let runner = Runner {
        gazette: g,
        stop: stop.clone(),
        health,
    };
    // The bounce mailboxes are read beside the scheduler, on their own interval.
    tokio::join!(runner.run(wake), crate::schedule::bounces::run(g, &stop));
    server.await.context("web server task")??;
    Ok(ExitCode::SUCCESS)
}

fn spawn_signal_handler(
    stop: Arc<AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
    stopped: tokio::sync::watch::Sender<bool>,
) {
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
        wake.notify_one();
        let _ = stopped.send(true);
    });
}
