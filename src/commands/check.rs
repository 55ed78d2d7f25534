//! `gazette check`: every problem in the config and templates at once; `--smtp` also opens an
//! SMTP session.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::Out;
use crate::config::{Config, Problem};
use crate::deliver::Transport;
use crate::render::Renderer;

pub async fn run(path: &Path, smtp: bool, out: Out) -> Result<ExitCode> {
    let config = match Config::from_file(path) {
        Ok(c) => c,
        Err(e) => return Ok(report(&e.0, out)),
    };
    if let Err(e) = Renderer::new(config.newsletter.templates.as_deref()) {
        let p = Problem {
            file: path.to_path_buf(),
            line: None,
            key: "newsletter.templates".into(),
            message: format!("{e:#}"),
        };
        return Ok(report(&[p], out));
    }
    if smtp {
        let transport = Transport::from_url(&config.delivery.url, 1)?;
        transport
            .test()
            .await
            .map_err(|e| anyhow::anyhow!("delivery.url {}: {e:#}", config.delivery.url))?;
    }
    if out.json {
        super::output::json(&serde_json::json!({ "ok": true, "problems": [] }))?;
    } else if !out.quiet {
        println!(
            "{}: ok ({} feeds, {} digests, {} topics{})",
            path.display(),
            config.feeds.len(),
            config.digests.len(),
            config.topics.len(),
            if smtp { ", SMTP session opened" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
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
