//! `gazette fetch`: ingest every feed now; a progress bar, then a per-feed table.

use std::process::ExitCode;

use anyhow::Result;

use super::{output, Out};
use crate::ingest::{FeedOutcome, FeedStatus};
use crate::pipeline::Gazette;

pub async fn run(g: &Gazette, out: Out) -> Result<ExitCode> {
    let outcomes = fetch_with_progress(g, out).await?;
    if out.json {
        output::json(&serde_json::json!({ "feeds": outcomes }))?;
    } else if !out.quiet {
        print_table(&outcomes);
    } else {
        // `-q`: only the errors, each naming its feed.
        for o in outcomes.iter().filter(|o| o.status == FeedStatus::Error) {
            eprintln!(
                "gazette: {}: {}",
                o.url,
                o.error.as_deref().unwrap_or("failed")
            );
        }
    }
    let failed = outcomes
        .iter()
        .filter(|o| o.status == FeedStatus::Error)
        .count();
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Fetches with a progress bar (shared with `send` and `build --fetch`).
pub async fn fetch_with_progress(g: &Gazette, out: Out) -> Result<Vec<FeedOutcome>> {
    let bar = output::progress(g.config.feeds.len() as u64, "fetching feeds", out);
    let tick = |o: &FeedOutcome| {
        bar.set_message(o.url.clone());
        bar.inc(1);
    };
    let outcomes = g.refresh(&tick).await;
    bar.finish_and_clear();
    outcomes
}

pub fn print_table(outcomes: &[FeedOutcome]) {
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            vec![
                o.title.clone().unwrap_or_else(|| o.url.clone()),
                o.status.as_str().replace('_', " "),
                o.new.to_string(),
                o.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::table(&["feed", "status", "new", "error"], &rows);
    let new: usize = outcomes.iter().map(|o| o.new).sum();
    let failed = outcomes
        .iter()
        .filter(|o| o.status == FeedStatus::Error)
        .count();
    println!(
        "{} feeds, {new} new stories, {failed} failed",
        outcomes.len()
    );
}
