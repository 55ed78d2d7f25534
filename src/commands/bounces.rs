//! `gazette bounces process [--dry-run] FILE...|-`: classify bounce, complaint and auto-reply
//! messages read from files or stdin, as an MTA's pipe hands them over.
//!
//! Recording (events against deliveries, thresholds, suppression) needs the store integration,
//! which is not built yet: without `--dry-run` the command prints the same classification, says
//! on stderr that nothing was recorded, and exits 0 so that an MTA pipe does not bounce the
//! bounce.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;

use super::Out;
use crate::bounces::{Classification, Classifier};
use crate::cli::BouncesCmd;

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
}

impl<'a> Row<'a> {
    fn new(file: String, c: &'a Classification) -> Row<'a> {
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
        }
    }
}

pub fn run(cmd: BouncesCmd, out: Out) -> Result<ExitCode> {
    let BouncesCmd::Process { files, dry_run } = cmd;
    let classifier = Classifier::default();
    let mut results = Vec::new();
    let mut failed = false;
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
        .map(|(file, c)| Row::new(file.clone(), c))
        .collect();
    if out.json {
        super::output::json(&rows)?;
    } else if !out.quiet {
        print_table(&rows);
    }
    if !dry_run && !rows.is_empty() {
        eprintln!(
            "gazette: nothing recorded: recording bounces needs the store integration (not built yet); use --dry-run to classify only"
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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

fn print_table(rows: &[Row]) {
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
