//! `gazette status [--json]`: is the scheduler working, what is queued or in doubt, which feeds
//! fail, each recent issue's figures. Exit 0 when healthy, 1 when not.

use std::process::ExitCode;

use anyhow::Result;

use super::{output, Out};
use crate::pipeline::Gazette;

pub fn run(g: &Gazette, out: Out) -> Result<ExitCode> {
    let s = crate::status::status(g, None)?;
    if out.json {
        output::json(&s)?;
    } else if !out.quiet {
        println!(
            "{}: scheduler {}{}",
            if s.healthy { "healthy" } else { "NOT HEALTHY" },
            s.scheduler.state,
            s.scheduler
                .last_error
                .as_deref()
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default()
        );
        let rows: Vec<Vec<String>> = s
            .digests
            .iter()
            .map(|d| {
                vec![
                    d.digest.clone(),
                    d.last_slot.clone().unwrap_or_else(|| "-".into()),
                    d.last_outcome.clone().unwrap_or_else(|| "-".into()),
                    d.next_slot.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    d.queued.to_string(),
                    d.unknown.to_string(),
                ]
            })
            .collect();
        output::table(
            &[
                "digest",
                "last slot",
                "outcome",
                "next slot",
                "queued",
                "unknown",
            ],
            &rows,
        );
        for r in &s.relays {
            let quota = r
                .daily_quota
                .map(|q| format!(" of {q}"))
                .unwrap_or_default();
            let mut line = format!(
                "relay {}: {} sent on {}{quota}",
                r.relay, r.sent_today, r.day
            );
            if let Some(at) = r.resets_at {
                line.push_str(&format!("; quota spent until {}", at.to_rfc3339()));
            }
            if r.paused {
                line.push_str(&format!(
                    "; paused since {}: {}",
                    r.paused_since.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    r.paused_reason.as_deref().unwrap_or("")
                ));
            }
            println!("{line}");
        }
        for f in &s.feeds_failing {
            println!(
                "feed failing since {}: {}: {}",
                f.since.as_deref().unwrap_or("?"),
                f.url,
                f.error.as_deref().unwrap_or("")
            );
        }
    }
    Ok(if s.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
