//! `gazette issues list|show`: past issues and their deliveries.

use std::process::ExitCode;

use anyhow::Result;

use super::{output, Out};
use crate::cli::IssuesCmd;
use crate::model::DeliveryStatus;
use crate::pipeline::Gazette;

pub fn run(g: &Gazette, cmd: IssuesCmd, out: Out) -> Result<ExitCode> {
    match cmd {
        IssuesCmd::List => {
            let issues = g.store.issues()?;
            if out.json {
                let rows: Vec<_> = issues
                    .iter()
                    .map(|i| serde_json::json!({"id": i.id, "digest": i.digest, "number": i.number, "created": i.created.to_rfc3339(), "sent": i.sent, "failed": i.failed, "queued": i.queued, "sending": i.sending, "unknown": i.unknown}))
                    .collect();
                output::json(&rows)?;
            } else {
                let rows: Vec<Vec<String>> = issues
                    .iter()
                    .map(|i| {
                        vec![
                            i.id.to_string(),
                            i.digest.clone(),
                            format!("#{}", i.number),
                            i.created.format("%Y-%m-%d %H:%M").to_string(),
                            i.sent.to_string(),
                            i.failed.to_string(),
                            i.queued.to_string(),
                            i.sending.to_string(),
                            i.unknown.to_string(),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "id", "digest", "number", "created", "sent", "failed", "queued", "sending",
                        "unknown",
                    ],
                    &rows,
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        IssuesCmd::Show { id } => {
            let Some(issue) = g.store.issue(id)? else {
                anyhow::bail!("no issue with id {id} (see `gazette issues list`)");
            };
            let deliveries = g.store.deliveries(id)?;
            let events = g.store.bounce_events(Some(id), usize::MAX >> 1)?;
            let of = |d: i64| events.iter().filter(move |e| e.delivery == Some(d));
            // Messages sent through each named relay.
            let mut by_relay = std::collections::BTreeMap::<&str, i64>::new();
            for d in deliveries
                .iter()
                .filter(|d| d.status == DeliveryStatus::Sent)
            {
                if let Some(r) = &d.relay {
                    *by_relay.entry(r.as_str()).or_default() += 1;
                }
            }
            if out.json {
                let rows: Vec<serde_json::Value> = deliveries
                    .iter()
                    .map(|d| {
                        let mut v = serde_json::to_value(d).unwrap_or_default();
                        v["bounces"] =
                            serde_json::to_value(of(d.id).collect::<Vec<_>>()).unwrap_or_default();
                        v
                    })
                    .collect();
                return output::json(&serde_json::json!({
                    "id": issue.id, "digest": issue.digest, "number": issue.number, "subject": issue.subject,
                    "created": issue.created.to_rfc3339(), "sent": issue.sent, "failed": issue.failed,
                    "queued": issue.queued, "sending": issue.sending, "unknown": issue.unknown,
                    "paused": issue.paused,
                    "relays": by_relay, "deliveries": rows,
                }))
                .map(|_| ExitCode::SUCCESS);
            }
            println!(
                "issue #{} of {} (id {}): {}",
                issue.number, issue.digest, issue.id, issue.subject
            );
            println!(
                "created {}; {} sent, {} failed, {} queued, {} sending, {} unknown",
                issue.created.to_rfc3339(),
                issue.sent,
                issue.failed,
                issue.queued,
                issue.sending,
                issue.unknown
            );
            if !by_relay.is_empty() {
                let each: Vec<String> = by_relay.iter().map(|(r, n)| format!("{r} {n}")).collect();
                println!("sent through relays: {}", each.join(", "));
            }
            if let Some(why) = &issue.paused {
                println!(
                    "paused: {why} (`gazette issues resume {}` goes on)",
                    issue.id
                );
            }
            for status in [
                DeliveryStatus::Unknown,
                DeliveryStatus::Sending,
                DeliveryStatus::Failed,
                DeliveryStatus::Queued,
                DeliveryStatus::Sent,
            ] {
                let group: Vec<_> = deliveries.iter().filter(|d| d.status == status).collect();
                if group.is_empty() {
                    continue;
                }
                println!("\n{} ({}):", status.as_str(), group.len());
                for d in group {
                    let via = d
                        .relay
                        .as_deref()
                        .map(|r| format!("  via {r}"))
                        .unwrap_or_default();
                    match &d.reply {
                        Some(r) if status != DeliveryStatus::Sent => {
                            println!("  {}{via}  {r}", d.email)
                        }
                        _ => println!("  {}{via}", d.email),
                    }
                    for e in of(d.id) {
                        println!(
                            "    {} {}: {}{} ({}, {}; {})",
                            e.recorded.format("%Y-%m-%d %H:%M"),
                            e.kind,
                            e.reason,
                            e.status
                                .as_deref()
                                .map(|s| format!(" {s}"))
                                .unwrap_or_default(),
                            e.source,
                            if e.counts_against_reader {
                                "counts against the reader"
                            } else {
                                "not held against the reader"
                            },
                            e.outcome.as_deref().unwrap_or("none"),
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        IssuesCmd::Resume { id } => {
            if !g.store.resume_issue(id)? {
                anyhow::bail!("issue {id} is not paused (see `gazette issues show {id}`)");
            }
            if !out.quiet {
                println!("issue {id} resumed: the next `gazette send` (or `serve` within a minute) delivers its queued rows; the hard-bounce pause no longer applies to it");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
