//! `gazette build`: render the next issue of a digest without sending it (stdout or `--out`);
//! `--explain` says why each story in the window was kept or dropped.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{fetch::fetch_with_progress, output, Out};
use crate::cli::{BuildArgs, Format};
use crate::pipeline::{Gazette, Plan};

pub async fn run(g: &Gazette, args: BuildArgs, out: Out) -> Result<ExitCode> {
    let digest = g.config.digest(args.digest.as_deref())?.clone();
    if args.fetch {
        fetch_with_progress(g, out).await?;
    }
    let plan = g.plan(&digest, args.intro.as_deref())?;
    if args.explain {
        explain(&plan, out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rendered = g.renderer.render(&plan.view, None)?;
    let body = match args.format {
        Format::Html => rendered.html.into_bytes(),
        Format::Text => rendered.text.into_bytes(),
        Format::Markdown => rendered.markdown.into_bytes(),
        Format::Eml => eml(g, &plan).await?,
    };
    let path = match (&args.out, args.open) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(std::env::temp_dir().join(format!(
            "gazette-{}-{}.{}",
            digest.name,
            plan.view.number,
            extension(args.format)
        ))),
        (None, false) => None,
    };
    match &path {
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(p, &body).with_context(|| format!("write {}", p.display()))?;
            if !out.quiet {
                eprintln!(
                    "wrote {} ({} stories, {} bytes)",
                    p.display(),
                    plan.story_count(),
                    body.len()
                );
            }
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&body)?;
        }
    }
    if let (true, Some(p)) = (args.open, &path) {
        open_in_browser(p)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn extension(f: Format) -> &'static str {
    match f {
        Format::Html => "html",
        Format::Text => "txt",
        Format::Markdown => "md",
        Format::Eml => "eml",
    }
}

/// The message one subscriber would get (addressed to `from`, as a sample).
async fn eml(g: &Gazette, plan: &Plan) -> Result<Vec<u8>> {
    let tokens = g.tokens()?;
    let clock = || g.now();
    let tick = |_: &crate::store::Delivery| {};
    let sender = crate::deliver::Sender {
        config: &g.config,
        store: g.store.clone(),
        renderer: &g.renderer,
        relays: &[],
        tokens: &tokens,
        dkim: None,
        clock: &clock,
        tick: &tick,
        stop: None,
        patience: crate::deliver::Patience::UntilDone,
    };
    let from = &g.config.newsletter.from;
    let d = crate::store::Delivery {
        id: 0,
        issue_id: 0,
        subscriber_id: None,
        email: from.email.to_string(),
        name: from.name.clone(),
        status: crate::model::DeliveryStatus::Queued,
        message_id: format!(
            "<preview.{}.{}@{}>",
            plan.digest.name,
            plan.view.number,
            from.email.domain()
        ),
        attempts: 0,
        reply: None,
        variant: None,
        relay: None,
    };
    Ok(sender.composer(&plan.view)?.compose(&d).await?.bytes)
}

fn open_in_browser(path: &std::path::Path) -> Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(path)
        .spawn()
        .with_context(|| format!("open {} with {opener}", path.display()))?;
    Ok(())
}

fn explain(plan: &Plan, out: Out) -> Result<()> {
    let rows: Vec<serde_json::Value> = plan
        .selection
        .explain
        .iter()
        .map(|e| {
            let s = &plan.stories[e.index];
            serde_json::json!({
                "url": s.story.url,
                "title": s.story.title,
                "source": s.source,
                "published": s.story.published.to_rfc3339(),
                "topics": e.topics.iter().map(|(t, _)| t).collect::<Vec<_>>(),
                "topic_scores": e.topics.iter().map(|(t, sc)| serde_json::json!({"topic": t, "score": sc})).collect::<Vec<_>>(),
                "score": e.score,
                "cluster": e.cluster,
                "kept": e.kept,
                "reason": e.reason,
                "merged": e.merged.iter().map(|j| joined(plan, j)).collect::<Vec<_>>(),
            })
        })
        .collect();
    if out.json {
        return output::json(&serde_json::json!({
            "digest": plan.digest.name,
            "window": {"from": plan.window_from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "to": plan.window_to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)},
            "stories": rows,
        }));
    }
    println!(
        "{}: window {} → {}",
        plan.digest.name,
        plan.window_from
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        plan.window_to
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let table: Vec<Vec<String>> = plan
        .selection
        .explain
        .iter()
        .map(|e| {
            let s = &plan.stories[e.index];
            vec![
                if e.kept {
                    "kept".into()
                } else {
                    "dropped".into()
                },
                format!("{:.2}", e.score),
                e.cluster.to_string(),
                e.topics
                    .iter()
                    .map(|(t, _)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                truncate(&s.story.title, 60),
                e.reason.clone(),
            ]
        })
        .collect();
    output::table(
        &["", "score", "cluster", "topics", "title", "reason"],
        &table,
    );
    Ok(())
}

/// One join of the clustering as `--explain --json` shows it: the story this one was found
/// to report the same event as, how, with which score and shared terms.
fn joined(plan: &Plan, j: &crate::select::Joined) -> serde_json::Value {
    // A story sent in an earlier issue is not in the plan: only the fact is shown.
    let (url, title) = match j.with {
        Some(k) => (
            plan.stories[k].story.url.clone(),
            Some(plan.stories[k].story.title.clone()),
        ),
        None => (None, None),
    };
    serde_json::json!({
        "with": {"url": url, "title": title, "sent": j.sent.is_some()},
        "how": j.how,
        "score": j.score,
        "terms": j.terms,
    })
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}
