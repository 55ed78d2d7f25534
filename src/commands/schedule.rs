//! `gazette schedule`: each digest's next run times, local and UTC. A digest with
//! `delivery = "local"` also lists, per time zone of its readers, when their copies go.

use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{output, Out};
use crate::config::{DeliveryTime, Digest};
use crate::pipeline::Gazette;
use crate::schedule::{local, next_runs};

/// One digest's coming runs.
struct Row {
    digest: String,
    schedule: String,
    delivery: DeliveryTime,
    /// When its issues are planned (for a local digest: each edition's first zone's slot).
    next: Vec<DateTime<Utc>>,
    /// Local delivery: each zone with its slots of the same editions.
    zones: Vec<(Tz, Vec<DateTime<Utc>>)>,
}

fn row(g: &Gazette, d: &Digest, from: DateTime<Utc>, count: usize) -> Result<Row> {
    let tz = g.config.newsletter.timezone;
    let (next, zones) = match d.delivery {
        DeliveryTime::Newsletter => (next_runs(&d.cron, tz, from, count), Vec::new()),
        DeliveryTime::Local => {
            let zones = crate::schedule::runner::zones(g, d)?;
            let editions = local::next_editions(&d.cron, &zones, from, count);
            let next = editions.iter().map(|(_, s)| s[0].at).collect();
            let per_zone = zones
                .iter()
                .map(|z| {
                    let at = editions
                        .iter()
                        .flat_map(|(_, s)| s.iter().filter(|s| s.zone == *z).map(|s| s.at))
                        .collect();
                    (*z, at)
                })
                .collect();
            (next, per_zone)
        }
    };
    Ok(Row {
        digest: d.name.clone(),
        schedule: d.schedule.clone(),
        delivery: d.delivery,
        next,
        zones,
    })
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

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
    let rows = g
        .config
        .digests
        .iter()
        .map(|d| row(g, d, from, count))
        .collect::<Result<Vec<_>>>()?;
    if out.json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                let mut v = serde_json::json!({
                    "digest": r.digest,
                    "schedule": r.schedule,
                    "timezone": tz.name(),
                    "delivery": match r.delivery {
                        DeliveryTime::Newsletter => "newsletter",
                        DeliveryTime::Local => "local",
                    },
                    "next": r.next.iter().map(rfc3339).collect::<Vec<_>>(),
                });
                if r.delivery == DeliveryTime::Local {
                    v["zones"] = r
                        .zones
                        .iter()
                        .map(|(z, at)| {
                            serde_json::json!({
                                "timezone": z.name(),
                                "next": at.iter().map(rfc3339).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                }
                v
            })
            .collect();
        return output::json(&v).map(|_| ExitCode::SUCCESS);
    }
    for r in rows {
        match r.delivery {
            DeliveryTime::Newsletter => println!("{} ({}, {}):", r.digest, r.schedule, tz.name()),
            DeliveryTime::Local => println!(
                "{} ({}, in each reader's time zone; planned at the first zone's time):",
                r.digest, r.schedule
            ),
        }
        for t in &r.next {
            println!(
                "  {}  ({})",
                t.with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z"),
                t.format("%Y-%m-%d %H:%M UTC")
            );
        }
        for (z, at) in &r.zones {
            println!("  readers in {}:", z.name());
            for t in at {
                println!(
                    "    {}  ({})",
                    t.with_timezone(z).format("%a %Y-%m-%d %H:%M %Z"),
                    t.format("%Y-%m-%d %H:%M UTC")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
