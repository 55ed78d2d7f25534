//! The bounce mailboxes behind `gazette serve`: every `[bounces] poll_interval` the Maildir
//! and the IMAP mailbox are read, and each message is recorded against its delivery (see
//! `bounces::record`). A failing source is logged and tried again on the next poll; it never
//! stops the scheduler or the web app.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::bounces::record::Recorder;
use crate::bounces::{imap, maildir};
use crate::pipeline::Gazette;

/// Reads each configured source once; returns how many messages were processed.
pub async fn poll_once(g: &Gazette) -> anyhow::Result<usize> {
    let cfg = &g.config.bounces;
    let tokens = g.tokens()?;
    let recorder = Recorder::new(&g.store, &tokens, cfg);
    let mut processed = 0;
    let mut failure = None;
    if let Some(dir) = &cfg.maildir {
        match maildir::process(dir, &recorder, g.now()) {
            Ok(p) => {
                processed += p.processed;
                if p.processed + p.left > 0 {
                    tracing::info!(maildir = %dir.display(), processed = p.processed, left = p.left, "bounce Maildir read");
                }
            }
            Err(e) => failure = Some(e.context(format!("bounce Maildir {}", dir.display()))),
        }
    }
    if let Some(imap_cfg) = &cfg.imap {
        match imap::poll(imap_cfg, &recorder, g.now()).await {
            Ok(p) => {
                processed += p.processed;
                if p.processed + p.left > 0 {
                    tracing::info!(host = %imap_cfg.host, mailbox = %imap_cfg.mailbox, processed = p.processed, left = p.left, "bounce mailbox read");
                }
            }
            Err(e) => failure = Some(e.context("bounce mailbox")),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(processed),
    }
}

/// Polls the sources until `stop` is set (returns at once when none is configured).
pub async fn run(g: &Gazette, stop: &AtomicBool) {
    let cfg = &g.config.bounces;
    if cfg.maildir.is_none() && cfg.imap.is_none() {
        return;
    }
    while !stop.load(Ordering::SeqCst) {
        if let Err(e) = poll_once(g).await {
            tracing::error!(error = %format!("{e:#}"), "reading bounces failed; trying again at the next poll");
        }
        let until = tokio::time::Instant::now() + cfg.poll_interval;
        while tokio::time::Instant::now() < until && !stop.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(250).min(cfg.poll_interval)).await;
        }
    }
}
