//! `gazette send`: the one-off digest. Finishes any interrupted issue first, fetches, plans the
//! next issue, stores it with a queued delivery per recipient, and delivers. `--dry-run` writes
//! the messages to the file outbox and stores nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{fetch::fetch_with_progress, output, Out};
use crate::cli::SendArgs;
use crate::deliver::{self, Sender, Transport};
use crate::ingest::FeedStatus;
use crate::model::DeliveryStatus;
use crate::pipeline::{Gazette, Recipient};
use crate::store::{Delivery, DeliveryCounts};

pub async fn run(g: &Gazette, args: SendArgs, out: Out) -> Result<ExitCode> {
    let digest = g.config.digest(args.digest.as_deref())?.clone();
    let tokens = g.tokens()?;
    let dkim = g.dkim()?;
    let mut failed = false;
    let mut resumed = 0;
    if !args.dry_run {
        // Fail early on a bad delivery URL, before anything is stored.
        Transport::from_url(&g.config.delivery.url, g.config.delivery.connections)?;
        let in_doubt = g.store.recover_in_flight(g.now())?;
        if in_doubt > 0 {
            eprintln!("{in_doubt} delivery(ies) were in flight when gazette last stopped: marked unknown, not resent (see `gazette issues show`)");
        }
        for issue in g
            .store
            .unfinished_issues()?
            .into_iter()
            .filter(|i| i.digest == digest.name)
        {
            say(
                out,
                &format!(
                    "resuming issue #{} of {} ({} queued)",
                    issue.number, issue.digest, issue.queued
                ),
            );
            let view = g.stored_view(issue.id)?;
            let counts = deliver(g, issue.id, &view, issue.queued as u64, out).await?;
            failed |= counts.failed > 0 || counts.unknown > 0;
            resumed += 1;
            report(out, issue.id, issue.number, &digest.name, counts);
        }
    }
    if !args.no_fetch {
        let outcomes = fetch_with_progress(g, out).await?;
        let new: usize = outcomes.iter().map(|o| o.new).sum();
        let errors: Vec<_> = outcomes
            .iter()
            .filter(|o| o.status == FeedStatus::Error)
            .collect();
        say(
            out,
            &format!(
                "fetched {} feeds: {new} new stories, {} failed",
                outcomes.len(),
                errors.len()
            ),
        );
        for e in errors {
            eprintln!("  {}", e.error.as_deref().unwrap_or("error"));
        }
    }
    let plan = g.plan(&digest, args.intro.as_deref())?;
    if plan.story_count() == 0 && !digest.send_empty {
        let last = g.store.last_issue(&digest.name)?;
        let since = match &last {
            Some(i) => format!("since issue #{}", i.number),
            None => format!("in the last {}", humanize(digest.window)),
        };
        if let Some(i) = last.filter(|i| i.queued == 0 && resumed == 0) {
            say(
                out,
                &format!(
                    "issue #{} of {} is already delivered ({} sent, {} failed, {} unknown): nothing to resend",
                    i.number, i.digest, i.sent, i.failed, i.unknown
                ),
            );
        }
        say(
            out,
            &format!("no new stories for {} {since}: nothing sent", digest.name),
        );
        return Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    let recipients = recipients(g, &args, &digest.name)?;
    if args.dry_run {
        return dry_run(g, &plan.view, recipients, &tokens, dkim, out).await;
    }
    if recipients.is_empty() {
        anyhow::bail!(
            "no confirmed subscribers for digest {:?}: add one with `gazette subscribers add EMAIL`, or pass --to ADDR",
            digest.name
        );
    }
    let (id, number, view) = g.publish(&plan, &recipients, None)?;
    say(
        out,
        &format!(
            "issue #{number} of {}: {} stories, {} recipients",
            digest.name,
            plan.story_count(),
            recipients.len()
        ),
    );
    let counts = deliver(g, id, &view, recipients.len() as u64, out).await?;
    report(out, id, number, &digest.name, counts);
    Ok(if failed || counts.failed > 0 || counts.unknown > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn say(out: Out, msg: &str) {
    if !out.quiet && !out.json {
        eprintln!("{msg}");
    }
}

fn humanize(d: chrono::Duration) -> String {
    if d.num_hours() % 24 == 0 {
        format!("{} days", d.num_days())
    } else {
        format!("{} hours", d.num_hours())
    }
}

fn recipients(g: &Gazette, args: &SendArgs, digest: &str) -> Result<Vec<Recipient>> {
    if args.to.is_empty() {
        return g.recipients(digest);
    }
    args.to
        .iter()
        .map(|a| {
            let mailbox: lettre::message::Mailbox = a
                .parse()
                .with_context(|| format!("--to {a:?}: not an email address"))?;
            let email = mailbox.email.to_string();
            let sub = g.store.subscriber(&email)?;
            Ok(Recipient {
                subscriber_id: sub.as_ref().map(|s| s.id),
                email,
                name: mailbox.name.or(sub.and_then(|s| s.name)),
            })
        })
        .collect()
}

async fn deliver(
    g: &Gazette,
    issue_id: i64,
    view: &crate::render::IssueView,
    total: u64,
    out: Out,
) -> Result<DeliveryCounts> {
    let bar = output::progress(total, "sending", out);
    let tick = |d: &Delivery| {
        bar.set_message(d.email.clone());
        bar.inc(1);
    };
    let counts = g.deliver(issue_id, view, &tick, None).await;
    bar.finish_and_clear();
    counts
}

fn report(out: Out, id: i64, number: i64, digest: &str, c: DeliveryCounts) {
    if out.json {
        println!(
            "{}",
            serde_json::json!({"issue": id, "digest": digest, "number": number, "sent": c.sent, "failed": c.failed, "queued": c.queued, "unknown": c.unknown})
        );
    } else if !out.quiet {
        println!(
            "issue #{number} of {digest} (id {id}): {} sent, {} failed, {} queued, {} unknown",
            c.sent, c.failed, c.queued, c.unknown
        );
        if c.failed > 0 || c.unknown > 0 {
            println!("details: gazette issues show {id}");
        }
    }
}

/// Writes every recipient's message (or one preview copy to `from`) and an HTML preview to the
/// file outbox; stores nothing.
async fn dry_run(
    g: &Gazette,
    view: &crate::render::IssueView,
    mut recipients: Vec<Recipient>,
    tokens: &crate::tokens::Tokens,
    dkim: Option<std::sync::Arc<lettre::message::dkim::DkimConfig>>,
    out: Out,
) -> Result<ExitCode> {
    let dir = match g.config.delivery.url.strip_prefix("file://") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from("out/outbox"),
    };
    if recipients.is_empty() {
        let from = &g.config.newsletter.from;
        recipients.push(Recipient {
            subscriber_id: None,
            email: from.email.to_string(),
            name: from.name.clone(),
        });
    }
    let transport = Transport::Outbox(dir.clone());
    let clock = || g.now();
    let tick = |_: &Delivery| {};
    let sender = Sender {
        config: &g.config,
        store: g.store.clone(),
        renderer: &g.renderer,
        transport: &transport,
        tokens,
        dkim,
        clock: &clock,
        tick: &tick,
        stop: None,
    };
    let domain = g.config.newsletter.from.email.domain();
    let mut written = Vec::new();
    let composer = sender.composer(view)?;
    for (i, r) in recipients.iter().enumerate() {
        let d = Delivery {
            id: 0,
            issue_id: 0,
            subscriber_id: r.subscriber_id,
            email: r.email.clone(),
            name: r.name.clone(),
            status: DeliveryStatus::Queued,
            message_id: format!(
                "<dry-run.{}.{i}.{:016x}@{domain}>",
                view.digest.name,
                rand::random::<u64>()
            ),
            attempts: 0,
            reply: None,
        };
        let message = composer.compose(&d).await?;
        let name = format!(
            "{}-{}-{}.eml",
            view.digest.name,
            view.number,
            deliver::sanitize_file_name(&r.email)
        );
        transport
            .send(&message, &name)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        written.push(dir.join(name));
    }
    let preview = dir.join(format!("{}-{}.html", view.digest.name, view.number));
    let personal = crate::render::Personal {
        email: recipients[0].email.clone(),
        name: recipients[0].name.clone(),
        unsubscribe_url: tokens.unsubscribe_url(
            &g.config.newsletter.base_url,
            recipients[0].subscriber_id,
            &recipients[0].email,
        ),
    };
    std::fs::write(&preview, g.renderer.render(view, Some(&personal))?.html)
        .with_context(|| format!("write {}", preview.display()))?;
    if out.json {
        output::json(&serde_json::json!({"dry_run": true, "eml": written, "html": preview}))?;
    } else {
        println!("dry run: nothing was sent or marked as sent");
        for w in &written {
            println!("wrote {}", w.display());
        }
        println!("preview {}", preview.display());
    }
    Ok(ExitCode::SUCCESS)
}
