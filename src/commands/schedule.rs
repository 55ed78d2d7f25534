//! `gazette schedule`: each digest's next run times, local and UTC.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{output, Out};
use crate::pipeline::Gazette;
use crate::schedule::next_runs;

pub fn run(g: &Gazette, from: Option<&str>, count: usize, out: Out) -> Result<ExitCode> {
    let from = match from {
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .with_context(|| {
                format!("--from {s:?}: expected an RFC 3339 time such as 2027-03-14T07:00:00Z")
            })?
            .with_timezone(&chrono::Utc),
        None => g.now(),
    };
    let tz = g.config.newsletter.timezone;
    let rows: Vec<(String, String, Vec<chrono::DateTime<chrono::Utc>>)> = g
        .config
        .digests
        .iter()
        .map(|d| {
            (
                d.name.clone(),
                d.schedule.clone(),
                next_runs(&d.cron, tz, from, count),
            )
        })
        .collect();
    if out.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(name, schedule, next)| {
                serde_json::json!({
                    "digest": name,
                    "schedule": schedule,
                    "timezone": tz.name(),
                    "next": next.iter().map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).collect::<Vec<_>>(),
                })
            })
            .collect();
        return output::json(&v).map(|_| ExitCode::SUCCESS);
    }
    for (name, schedule, next) in rows {
        println!("{name} ({schedule}, {}):", tz.name());
        for t in next {
            println!(
                "  {}  ({})",
                t.with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z"),
                t.format("%Y-%m-%d %H:%M UTC")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
