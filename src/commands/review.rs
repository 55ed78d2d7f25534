//! `gazette review list|show|drop|pin|approve|skip`: the review page's main actions from the
//! command line, logged as `cli:$USER`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use super::{output, Out};
use crate::cli::ReviewCmd;
use crate::pipeline::Gazette;
use crate::review::{self, mail::local, Change, Edit, Review};

pub fn run(g: &Gazette, cmd: ReviewCmd, out: Out) -> Result<ExitCode> {
    match cmd {
        ReviewCmd::List => list(g, out),
        ReviewCmd::Show { digest } => show(g, &digest, out),
        ReviewCmd::Drop { digest, url } => by_url(g, &digest, &url, out, Edit::Drop),
        ReviewCmd::Pin { digest, url } => by_url(g, &digest, &url, out, Edit::Pin),
        ReviewCmd::Approve { digest } => {
            let r = open_draft(g, &digest)?;
            let change = review::approve(g, r.issue, None, &review::cli_who())?;
            let done = match &change {
                Change::Closed(s) if s == "approved" => "is approved already".to_string(),
                _ => {
                    let when = if r.slot <= g.now() {
                        "it goes out with the next `gazette send` (or `gazette serve` within a minute)"
                            .to_string()
                    } else {
                        format!(
                            "it goes out at its slot ({}), or now with `gazette send`",
                            local(g, r.slot)
                        )
                    };
                    format!("approved: {when}")
                }
            };
            report(g, &r, change, &done, out)
        }
        ReviewCmd::Skip { digest } => {
            let r = open_draft(g, &digest)?;
            let change = review::skip(g, r.issue, None, &review::cli_who())?;
            report(g, &r, change, "skipped: it will not be sent", out)
        }
    }
}

/// The digest's open draft, or an error saying why there is none.
fn open_draft(g: &Gazette, digest: &str) -> Result<Review> {
    let d = g.config.digest(Some(digest))?;
    if let Some(r) = review::open(g, &d.name)? {
        return Ok(r);
    }
    match d.review {
        None => anyhow::bail!(
            "digest {digest} is not reviewed: set review = \"required\" or \"optional\" in its [[digests]] table"
        ),
        Some(_) => anyhow::bail!(
            "digest {digest} has no open draft: `gazette send` plans one (or `gazette serve`, review_lead before the slot)"
        ),
    }
}

/// Applies an edit to the story with this URL in the digest's open draft; tries again if the
/// draft changed meanwhile.
fn by_url(
    g: &Gazette,
    digest: &str,
    url: &str,
    out: Out,
    edit: fn(i64) -> Edit,
) -> Result<ExitCode> {
    for _ in 0..3 {
        let r = open_draft(g, digest)?;
        let Some(entry) = r.draft.entries.iter().find(|e| e.view.url == url) else {
            anyhow::bail!(
                "no story with URL {url} in issue #{} of {digest} (see `gazette review show {digest}`)",
                r.number
            );
        };
        let change = review::edit(g, r.issue, None, &review::cli_who(), edit(entry.story))?;
        if let Change::Conflict { .. } = change {
            continue;
        }
        return report(g, &r, change, "", out);
    }
    anyhow::bail!("issue of {digest}: the draft kept changing; try again")
}

/// Prints what a change did; exit 1 when it did nothing.
fn report(g: &Gazette, r: &Review, change: Change, done: &str, out: Out) -> Result<ExitCode> {
    let now = review::load(g, r.issue)?.context("the review just changed")?;
    let (ok, what) = match change {
        Change::Saved { what, .. } if done.is_empty() => (true, what),
        Change::Saved { .. } => (true, done.to_string()),
        Change::Closed(s) if s == "approved" && !done.is_empty() => (true, done.to_string()),
        Change::Closed(s) => (false, format!("not changed: it is {s}")),
        Change::Conflict { .. } => (false, "not changed: it changed meanwhile".into()),
        Change::Refused(e) => (false, format!("not changed: {e}")),
    };
    if out.json {
        output::json(
            &json!({"digest": now.digest, "issue": now.issue, "number": now.number,
            "status": now.status, "version": now.version, "changed": ok, "what": what}),
        )?;
    } else if !out.quiet || !ok {
        let line = format!("issue #{} of {}: {what}", now.number, now.digest);
        if ok {
            println!("{line}");
        } else {
            eprintln!("gazette: {line}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn list(g: &Gazette, out: Out) -> Result<ExitCode> {
    let reviews = review::list(g)?;
    if out.json {
        let rows: Vec<Value> = reviews
            .iter()
            .map(|r| {
                json!({"digest": r.digest, "issue": r.issue, "number": r.number,
                    "status": r.status, "open": r.is_open(), "sent": r.released.is_some(),
                    "slot": crate::schedule::slot_key(r.slot), "stories": r.draft.shown().count(),
                    "version": r.version})
            })
            .collect();
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = reviews
        .iter()
        .map(|r| {
            vec![
                r.digest.clone(),
                format!("#{}", r.number),
                r.issue.to_string(),
                review::closed_status(r),
                local(g, r.slot),
                r.draft.shown().count().to_string(),
            ]
        })
        .collect();
    output::table(
        &["digest", "number", "issue", "status", "slot", "stories"],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

fn show(g: &Gazette, digest: &str, out: Out) -> Result<ExitCode> {
    let d = g.config.digest(Some(digest))?;
    let r = match review::open(g, &d.name)? {
        Some(r) => r,
        None => review::latest(g, &d.name)?.with_context(|| {
            format!("digest {digest} has no reviewed issue yet: `gazette send` plans its draft")
        })?,
    };
    let log = g.store.review_log(r.issue)?;
    let arrived = review::arrived(g, &r)?;
    let stories: Vec<Value> = r
        .draft
        .shown()
        .map(|e| {
            json!({"url": e.view.url, "title": e.view.title, "source": e.view.source,
                "lead": e.view.lead_text, "pinned": e.pinned, "lead_edited": e.lead_edited,
                "added": e.added})
        })
        .collect();
    let dropped: Vec<Value> = r
        .draft
        .entries
        .iter()
        .filter(|e| e.dropped)
        .map(|e| json!({"url": e.view.url, "title": e.view.title, "source": e.view.source}))
        .collect();
    let arrived_json: Vec<Value> = arrived
        .iter()
        .map(|e| json!({"url": e.view.url, "title": e.view.title, "source": e.view.source, "lead": e.view.lead_text}))
        .collect();
    if out.json {
        output::json(&json!({
            "digest": r.digest, "issue": r.issue, "number": r.number, "status": r.status,
            "policy": r.policy.as_str(), "slot": crate::schedule::slot_key(r.slot),
            "version": r.version, "sent": r.released.is_some(),
            "subject": g.store.issue(r.issue)?.map(|i| i.subject),
            "intro": r.draft.intro_markdown,
            "stories": stories, "dropped": dropped, "arrived": arrived_json, "log": log,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "issue #{} of {} (id {}): {}, review = {}, slot {}",
        r.number,
        r.digest,
        r.issue,
        review::closed_status(&r),
        r.policy.as_str(),
        local(g, r.slot)
    );
    for (i, e) in r.draft.shown().enumerate() {
        let pin = if e.pinned { " [pinned]" } else { "" };
        println!("\n{:>2}.{pin} {} ({})", i + 1, e.view.title, e.view.source);
        println!("    {}", e.view.url);
        println!("    {}", e.view.lead_text.replace('\n', "\n    "));
    }
    if !dropped.is_empty() {
        println!("\ndropped:");
        for e in r.draft.entries.iter().filter(|e| e.dropped) {
            println!("  {} ({})", e.view.title, e.view.url);
        }
    }
    if !arrived.is_empty() {
        println!("\narrived since the draft (add them on the review page):");
        for e in &arrived {
            println!("  {} ({})", e.view.title, e.view.url);
        }
    }
    println!("\nlog:");
    for l in &log {
        println!("  {}  {}: {}", local(g, l.at), l.who, l.what);
    }
    Ok(ExitCode::SUCCESS)
}
