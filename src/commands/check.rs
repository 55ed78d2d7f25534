//! `gazette check`: every problem in the config and templates at once; `--smtp` also opens an
//! SMTP session with `[delivery] url` or with each relay.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::Out;
use crate::config::relays::redacted;
use crate::config::{Config, Problem};
use crate::deliver::Transport;
use crate::render::Renderer;

pub async fn run(path: &Path, smtp: bool, out: Out) -> Result<ExitCode> {
    let config = match Config::from_file(path) {
        Ok(c) => c,
        Err(e) => return Ok(report(&e.0, out)),
    };
    if let Err(e) =
        Renderer::new(config.newsletter.templates.as_deref()).and_then(|r| r.check_templates())
    {
        let p = Problem {
            file: path.to_path_buf(),
            line: None,
            key: "newsletter.templates".into(),
            message: format!("{e:#}"),
        };
        return Ok(report(&[p], out));
    }
    // The delivery URLs as `send` will read them (a password over plain smtp:// is refused).
    for d in &config.digests {
        if let Err(e) = crate::deliver::Relay::for_digest(&config, &d.name) {
            let key = match config.relays.is_empty() {
                true => "delivery.url".to_string(),
                false => "relays".to_string(),
            };
            let p = Problem {
                file: path.to_path_buf(),
                line: None,
                key,
                message: format!("{e:#}"),
            };
            return Ok(report(&[p], out));
        }
    }
    let warnings = warnings(&config);
    for w in &warnings {
        if !out.json {
            eprintln!("warning: {}: {w}", path.display());
        }
    }
    // Each relay (or `[delivery] url`) with what a test session found there.
    let mut sessions = Vec::new();
    if smtp {
        let targets: Vec<(String, &str)> = if config.relays.is_empty() {
            vec![("delivery.url".to_string(), config.delivery.url.as_str())]
        } else {
            config
                .relays
                .iter()
                .map(|r| (format!("relay {}", r.name), r.url.as_str()))
                .collect()
        };
        for (what, url) in targets {
            let transport = Transport::from_url(url, 1)?;
            let found = transport
                .test()
                .await
                .map_err(|e| anyhow::anyhow!("{what} {}: {e:#}", redacted(url)))?;
            sessions.push((what, redacted(url), found));
        }
    }
    let session = (config.relays.is_empty())
        .then(|| sessions.first().map(|s| s.2.clone()))
        .flatten();
    let relay_sessions: serde_json::Map<String, serde_json::Value> = sessions
        .iter()
        .filter(|_| !config.relays.is_empty())
        .map(|(what, _, s)| {
            (
                what.trim_start_matches("relay ").to_string(),
                s.clone().into(),
            )
        })
        .collect();
    if out.json {
        super::output::json(
            &serde_json::json!({ "ok": true, "problems": [], "warnings": warnings, "smtp": session,
                "relays": relay_sessions }),
        )?;
    } else if !out.quiet {
        println!(
            "{}: ok ({} feeds, {} digests, {} topics)",
            path.display(),
            config.feeds.len(),
            config.digests.len(),
            config.topics.len(),
        );
        for (what, url, s) in &sessions {
            println!("{what} {url}: {s}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What is allowed but likely wrong: what the config itself warns of (`[delivery] url` beside
/// `[[relays]]`, ignored), a DKIM domain that does not align with the From domain (DMARC then
/// fails on DKIM, RFC 7489 §3.1.1).
fn warnings(config: &Config) -> Vec<String> {
    let mut out: Vec<String> = config
        .warnings
        .iter()
        .map(|p| match p.line {
            Some(line) => format!("{} (line {line}): {}", p.key, p.message),
            None => format!("{}: {}", p.key, p.message),
        })
        .collect();
    for d in &config.digests {
        let tz = config.newsletter.timezone;
        if crate::schedule::next_runs(&d.cron, tz, chrono::Utc::now(), 1).is_empty() {
            out.push(format!(
                "digests {:?}: schedule {:?} never fires (no such date), so the digest is never sent on its own",
                d.name, d.schedule
            ));
        }
    }
    if let Some(d) = &config.delivery.dkim_domain {
        let from = config.newsletter.from.email.domain().to_ascii_lowercase();
        let d = d.trim_end_matches('.').to_ascii_lowercase();
        if !aligned(&from, &d) {
            out.push(format!(
                "delivery.dkim_domain {d:?} does not align with the From domain {from:?}: DMARC needs the signing domain to be the From domain or a parent of it (relaxed alignment)"
            ));
        }
    }
    out
}

/// Relaxed DKIM alignment, approximated without the public-suffix list: the same domain, or one
/// a parent of the other.
fn aligned(from: &str, signer: &str) -> bool {
    from == signer || from.ends_with(&format!(".{signer}")) || signer.ends_with(&format!(".{from}"))
}

fn report(problems: &[Problem], out: Out) -> ExitCode {
    if out.json {
        let list: Vec<_> = problems
            .iter()
            .map(|p| serde_json::json!({"file": p.file, "line": p.line, "key": p.key, "message": p.message}))
            .collect();
        println!("{}", serde_json::json!({ "ok": false, "problems": list }));
    } else {
        for p in problems {
            eprintln!("{p}");
        }
        eprintln!(
            "{} problem{} found",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
    }
    ExitCode::from(2)
}
