//! `gazette bounces process [--dry-run] FILE...|-` and `gazette bounces list`: classify bounce,
//! complaint and auto-reply messages read from files or stdin (as an MTA's pipe hands them
//! over) and record them against their deliveries; list what was recorded.
//!
//! Exit codes of `process`: 0 when every message was read (and, without `--dry-run`, recorded
//! or found recorded already); 1 when a file could not be read; 75 (EX_TEMPFAIL) when the
//! database could not record a message, so that an MTA's pipe keeps the message and tries
//! again instead of bouncing the bounce.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;

use super::Out;
use crate::bounces::record::{Origin, Recorder};
use crate::bounces::{Classification, Classifier, VerpAddress};
use crate::cli::BouncesCmd;
use crate::config::Config;
use crate::pipeline::Gazette;
use crate::store::{Outcome, Recorded};

/// One printed row; `file`, `kind`, `recipient`, `status`, `reason`, `delivery` are the
/// contract (DESIGN.md), the rest is added detail.
#[derive(Debug, Serialize)]
struct Row<'a> {
    file: String,
    kind: &'static str,
    recipient: Option<&'a str>,
    status: Option<&'a str>,
    reason: &'static str,
    /// What ties the message to a delivery: the VERP token, else the quoted
    /// X-Gazette-Delivery value; null when neither was found.
    delivery: Option<&'a str>,
    counts_against_reader: bool,
    verp_token: Option<&'a str>,
    x_gazette_delivery: Option<&'a str>,
    original_message_id: Option<&'a str>,
    feedback_type: Option<&'a str>,
    diagnostic: Option<&'a str>,
    /// Without --dry-run: `new` or `duplicate` (recorded before).
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded: Option<&'static str>,
    /// The delivery row it was recorded against, and how it was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    matched_by: Option<&'static str>,
    /// What it did to the subscriber: none, counted, bouncing, complained, unsubscribed,
    /// operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
}

impl<'a> Row<'a> {
    fn new(file: String, c: &'a Classification, recorded: Option<&Recorded>) -> Row<'a> {
        let new = match recorded {
            Some(Recorded::New(r)) => Some(r),
            _ => None,
        };
        Row {
            file,
            kind: c.kind.as_str(),
            recipient: c.recipient.as_deref(),
            status: c.status.as_deref(),
            reason: c.reason.as_str(),
            delivery: c.verp_token.as_deref().or(c.x_gazette_delivery.as_deref()),
            counts_against_reader: c.counts_against_reader,
            verp_token: c.verp_token.as_deref(),
            x_gazette_delivery: c.x_gazette_delivery.as_deref(),
            original_message_id: c.original_message_id.as_deref(),
            feedback_type: c.feedback_type.as_deref(),
            diagnostic: c.diagnostic.as_deref(),
            recorded: recorded.map(|r| match r {
                Recorded::New(_) => "new",
                Recorded::Duplicate => "duplicate",
            }),
            delivery_id: new.and_then(|r| r.delivery_id),
            matched_by: new.and_then(|r| r.matched_by),
            outcome: new.map(|r| r.outcome.as_str()),
        }
    }
}

/// `bounces process --dry-run`: classify, change nothing (a config is optional: its bounce
/// address narrows the VERP pattern).
pub fn classify_only(cmd: BouncesCmd, config: Option<&Config>, out: Out) -> Result<ExitCode> {
    let BouncesCmd::Process { files, .. } = cmd else {
        unreachable!("only process has --dry-run");
    };
    let verp = config
        .and_then(|c| c.bounces.address.as_ref())
        .and_then(|a| VerpAddress::from_address(a.as_ref()))
        .unwrap_or_default();
    let classifier = Classifier::new(&verp);
    let mut failed = false;
    let mut results = Vec::new();
    for file in &files {
        match read(file) {
            Ok(bytes) => results.push((file.display().to_string(), classifier.classify(&bytes))),
            Err(e) => {
                eprintln!("gazette: {e:#}");
                failed = true;
            }
        }
    }
    let rows: Vec<Row> = results
        .iter()
        .map(|(f, c)| Row::new(f.clone(), c, None))
        .collect();
    print(&rows, out)?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn run(g: &Gazette, cmd: BouncesCmd, out: Out) -> Result<ExitCode> {
    match cmd {
        BouncesCmd::Process { files, .. } => process(g, &files, out),
        BouncesCmd::List { issue, limit } => list(g, issue, limit, out),
        BouncesCmd::Poll => {
            let cfg = &g.config.bounces;
            if cfg.maildir.is_none() && cfg.imap.is_none() {
                anyhow::bail!("no bounce mailbox configured: set [bounces] maildir or imap");
            }
            let n = crate::schedule::bounces::poll_once(g).await?;
            if !out.quiet {
                println!("{n} messages processed");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn process(g: &Gazette, files: &[std::path::PathBuf], out: Out) -> Result<ExitCode> {
    let tokens = g.tokens()?;
    let recorder = Recorder::new(&g.store, &tokens, &g.config.bounces);
    let (mut unreadable, mut unrecorded) = (false, false);
    let mut results = Vec::new();
    for file in files {
        let bytes = match read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("gazette: {e:#}");
                unreadable = true;
                continue;
            }
        };
        let origin = Origin {
            source: "file",
            raw_ref: Some(if file == Path::new("-") {
                "stdin".into()
            } else {
                file.display().to_string()
            }),
            occurred: g.now(),
        };
        match recorder.message(&bytes, &origin, g.now()) {
            Ok((c, r)) => results.push((file.display().to_string(), c, r)),
            Err(e) => {
                eprintln!("gazette: record {}: {e:#}", file.display());
                unrecorded = true;
            }
        }
    }
    let rows: Vec<Row> = results
        .iter()
        .map(|(f, c, r)| Row::new(f.clone(), c, Some(r)))
        .collect();
    print(&rows, out)?;
    if !out.json && !out.quiet {
        for (file, _, r) in &results {
            match r {
                Recorded::Duplicate => eprintln!("{file}: recorded before; nothing changed"),
                Recorded::New(r) if r.outcome != Outcome::None => {
                    eprintln!(
                        "{file}: {}: {}",
                        r.email.as_deref().unwrap_or("?"),
                        r.outcome.as_str()
                    )
                }
                _ => {}
            }
        }
    }
    Ok(if unrecorded {
        ExitCode::from(75)
    } else if unreadable {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn list(g: &Gazette, issue: Option<i64>, limit: usize, out: Out) -> Result<ExitCode> {
    let events = g.store.bounce_events(issue, limit)?;
    if out.json {
        super::output::json(&events)?;
        return Ok(ExitCode::SUCCESS);
    }
    let cells: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.recorded.format("%Y-%m-%d %H:%M").to_string(),
                e.kind.clone(),
                e.recipient.clone().unwrap_or_else(|| "-".into()),
                e.status.clone().unwrap_or_else(|| "-".into()),
                e.reason.clone(),
                e.issue.map_or("-".into(), |i| i.to_string()),
                e.source.clone(),
                e.outcome.clone().unwrap_or_default(),
            ]
        })
        .collect();
    super::output::table(
        &[
            "RECORDED",
            "KIND",
            "RECIPIENT",
            "STATUS",
            "REASON",
            "ISSUE",
            "SOURCE",
            "OUTCOME",
        ],
        &cells,
    );
    Ok(ExitCode::SUCCESS)
}

fn print(rows: &[Row], out: Out) -> Result<()> {
    if out.json {
        super::output::json(&rows)?;
    } else if !out.quiet {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.file.clone(),
                    r.kind.to_string(),
                    r.recipient.unwrap_or("-").to_string(),
                    r.status.unwrap_or("-").to_string(),
                    r.reason.to_string(),
                    r.delivery.unwrap_or("-").to_string(),
                ]
            })
            .collect();
        super::output::table(
            &["FILE", "KIND", "RECIPIENT", "STATUS", "REASON", "DELIVERY"],
            &cells,
        );
    }
    Ok(())
}

fn read(file: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("read stdin")?;
    } else {
        bytes = std::fs::read(file).with_context(|| format!("read {}", file.display()))?;
    }
    Ok(bytes)
}
