//! `gazette send`: the one-off digest. Finishes any interrupted issue first, fetches, plans the
//! next issue, stores it with a queued delivery per recipient, and delivers. `--dry-run` writes
//! the messages to the file outbox and stores nothing. A reviewed digest's issue goes out only
//! as `review` allows: `send` plans the draft and mails the editors, and sends it once approved.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{fetch::fetch_with_progress, output, Out};
use crate::cli::SendArgs;
use crate::deliver::{self, Patience, Sender, Transport};
use crate::ingest::FeedStatus;
use crate::model::DeliveryStatus;
use crate::pipeline::{Gazette, NextIssue, PlanArgs, Recipient};
use crate::review::SendStep;
use crate::store::{Delivery, DeliveryCounts, IssueRecord};

pub async fn run(g: &Gazette, args: SendArgs, out: Out) -> Result<ExitCode> {
    let digest = g.config.digest(args.digest.as_deref())?.clone();
    let to = explicit_recipients(g, &args)?;
    if args.dry_run {
        let feeds_failed = !args.no_fetch && fetch(g, out).await?;
        // A feed that failed fails the job (exit 1), after the dry run has done all it can.
        let with_feeds = |code: ExitCode| {
            if feeds_failed {
                ExitCode::from(1)
            } else {
                code
            }
        };
        // A reviewed digest's next issue is its open draft, as edited so far.
        if let Some(r) = crate::review::open(g, &digest.name)? {
            let recipients = match to {
                Some(to) => to,
                None => crate::review::flow::readers(g, &r, false)?,
            };
            return dry_run(g, &g.stored_view(r.issue)?, recipients, out)
                .await
                .map(with_feeds);
        }
        let plan = g.plan(&digest, args.intro.as_deref())?;
        if plan.story_count() == 0 && !digest.send_empty {
            say(out, &nothing_new(g, &digest)?);
            return Ok(with_feeds(ExitCode::SUCCESS));
        }
        let recipients = match to {
            Some(to) => to,
            None => g.readers(&plan.digest, &plan.view, None)?,
        };
        return dry_run(g, &plan.view, recipients, out)
            .await
            .map(with_feeds);
    }
    // Fail early on a bad delivery URL, before anything is stored.
    deliver::Relay::for_digest(&g.config, &digest.name)?;
    let mut failed = false;
    // First the issues that were interrupted (by a crash, or still being sent by another
    // process: the queued rows are shared out), then the feeds, then a new issue only if there
    // are new stories.
    for issue in g.store.unfinished_due_issues(Some(&digest.name), g.now())? {
        failed |= resume(g, &issue, out).await?;
    }
    if !args.no_fetch {
        // A feed that failed fails the job (exit 1); the issue still goes out.
        failed |= fetch(g, out).await?;
    }
    let plan_args = PlanArgs {
        intro: args.intro.as_deref(),
        to: to.as_deref(),
        slot: None,
        require_recipients: true,
        edition: None,
    };
    loop {
        match g.next_issue(&digest, &plan_args).await? {
            NextIssue::Unfinished(issue) => {
                let left = resume(g, &issue, out).await?;
                failed |= left;
                if g.store.issue(issue.id)?.is_some_and(|i| i.queued > 0) {
                    break;
                }
            }
            NextIssue::Planned {
                id,
                number,
                view,
                stories,
                recipients,
            } => {
                say(
                    out,
                    &format!(
                        "issue #{number} of {}: {stories} stories, {recipients} recipients",
                        digest.name
                    ),
                );
                let mine = deliver(g, id, &view, recipients as u64, out)
                    .await
                    .or_else(|e| failed_json(g, out, id, number, &digest.name, e))?;
                failed |= report(g, out, id, number, &digest.name, mine)?;
                break;
            }
            NextIssue::Empty => {
                say(out, &nothing_new(g, &digest)?);
                break;
            }
            NextIssue::Review(r) => {
                match crate::review::on_send(g, *r, to.as_deref(), true).await? {
                    SendStep::Released {
                        id,
                        number,
                        recipients,
                        view,
                    } => {
                        say(
                            out,
                            &format!(
                                "issue #{number} of {} (reviewed): {recipients} recipients",
                                digest.name
                            ),
                        );
                        let mine = deliver(g, id, &view, recipients as u64, out)
                            .await
                            .or_else(|e| failed_json(g, out, id, number, &digest.name, e))?;
                        failed |= report(g, out, id, number, &digest.name, mine)?;
                        break;
                    }
                    SendStep::Waiting {
                        id,
                        number,
                        status,
                        message,
                    } => {
                        if out.json {
                            println!(
                                "{}",
                                serde_json::json!({"issue": id, "digest": digest.name, "number": number,
                                    "sent": 0, "failed": 0, "queued": 0, "unknown": 0,
                                    "review": status, "message": message})
                            );
                        } else if !out.quiet {
                            println!("{message}");
                        }
                        break;
                    }
                    SendStep::Again => {}
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Delivers the queued rows of an issue planned earlier (by this or another process).
/// Returns whether some of its deliveries failed or are in doubt.
async fn resume(g: &Gazette, issue: &IssueRecord, out: Out) -> Result<bool> {
    say(
        out,
        &format!(
            "resuming issue #{} of {} ({} queued)",
            issue.number, issue.digest, issue.queued
        ),
    );
    let view = g.stored_view(issue.id)?;
    let mine = deliver(g, issue.id, &view, issue.queued as u64, out)
        .await
        .or_else(|e| failed_json(g, out, issue.id, issue.number, &issue.digest, e))?;
    report(g, out, issue.id, issue.number, &issue.digest, mine)
}

/// Fetches every feed; returns whether one failed.
async fn fetch(g: &Gazette, out: Out) -> Result<bool> {
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
    for e in &errors {
        eprintln!("  {}", e.error.as_deref().unwrap_or("error"));
    }
    Ok(!errors.is_empty())
}

/// Why nothing was sent: no story since the last issue.
fn nothing_new(g: &Gazette, digest: &crate::config::Digest) -> Result<String> {
    Ok(match g.store.last_issue(&digest.name)? {
        Some(i) => format!(
            "no new stories for {} since issue #{} ({} sent, {} failed, {} unknown): nothing sent",
            digest.name, i.number, i.sent, i.failed, i.unknown
        ),
        None => format!(
            "no new stories for {} in the last {}: nothing sent",
            digest.name,
            humanize(digest.window)
        ),
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

/// The `--to` addresses, if any (they replace the subscribers).
fn explicit_recipients(g: &Gazette, args: &SendArgs) -> Result<Option<Vec<Recipient>>> {
    if args.to.is_empty() {
        return Ok(None);
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
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Delivers an issue's queued rows; returns what this process did.
async fn deliver(
    g: &Gazette,
    issue_id: i64,
    view: &crate::render::IssueView,
    total: u64,
    out: Out,
) -> Result<DeliveryCounts, Stopped> {
    let bar = output::progress(total, "sending", out);
    let mine = std::sync::Mutex::new(DeliveryCounts::default());
    let tick = |d: &Delivery| {
        bar.set_message(d.email.clone());
        bar.inc(1);
        let mut c = mine.lock().unwrap_or_else(|e| e.into_inner());
        match d.status {
            DeliveryStatus::Sent => c.sent += 1,
            DeliveryStatus::Failed => {
                c.failed += 1;
                c.skipped += i64::from(d.skipped());
            }
            _ => c.unknown += 1,
        }
    };
    let done = g
        .deliver(issue_id, view, &tick, None, Patience::UntilDone)
        .await;
    bar.finish_and_clear();
    let mine = mine.into_inner().unwrap_or_else(|e| e.into_inner());
    done.map(|_| mine).map_err(|e| Stopped(mine, e))
}

/// A delivery run that stopped on an error, with what it had done by then.
struct Stopped(DeliveryCounts, anyhow::Error);

/// `send --json`'s object for one issue: this run's counts (`queued`: what is left) and the
/// issue's totals.
fn issue_json(
    id: i64,
    digest: &str,
    number: i64,
    mine: DeliveryCounts,
    total: DeliveryCounts,
) -> serde_json::Value {
    serde_json::json!({"issue": id, "digest": digest, "number": number,
        "sent": mine.sent, "failed": mine.failed, "skipped": mine.skipped,
        "queued": total.queued, "unknown": mine.unknown,
        "total": {"sent": total.sent, "failed": total.failed, "queued": total.queued,
            "sending": total.sending, "unknown": total.unknown}})
}

/// A delivery run that stopped on an error (the SMTP server unavailable) still gives its
/// issue's JSON object under `--json`, with the error and the issue's totals; the error is
/// returned as it was.
fn failed_json(
    g: &Gazette,
    out: Out,
    id: i64,
    number: i64,
    digest: &str,
    Stopped(mine, e): Stopped,
) -> Result<DeliveryCounts> {
    if out.json {
        let mut doc = issue_json(id, digest, number, mine, g.store.delivery_counts(id)?);
        doc["error"] = format!("{e:#}").into();
        println!("{doc}");
    }
    Err(e)
}

/// Prints what this process did for an issue and the issue's totals; returns whether this
/// process failed some deliveries or left some in doubt, or rows are still queued.
fn report(
    g: &Gazette,
    out: Out,
    id: i64,
    number: i64,
    digest: &str,
    mine: DeliveryCounts,
) -> Result<bool> {
    let total = g.store.delivery_counts(id)?;
    // Rows waiting for their reader's local time (delivery = "local") are the scheduler's.
    let waiting = g.store.waiting_deliveries(id, g.now())?;
    // Rows waiting for a relay's daily quota to reset go out with the next send after it.
    let (spent, all_spent) = deliver::relays::spent_relays(&g.config, &g.store, digest, g.now())?;
    let held = if all_spent { total.queued - waiting } else { 0 };
    if out.json {
        let mut doc = issue_json(id, digest, number, mine, total);
        doc["quota_spent"] = serde_json::json!(spent);
        println!("{doc}");
    } else if !out.quiet {
        println!(
            "issue #{number} of {digest} (id {id}): {} sent, {} failed, {} unknown by this run; in all {} sent, {} failed, {} queued, {} unknown",
            mine.sent, mine.failed, mine.unknown, total.sent, total.failed, total.queued, total.unknown
        );
        if mine.skipped > 0 {
            println!(
                "{} of the failed were not sent because their readers unsubscribed, paused or were removed since the issue was planned",
                mine.skipped
            );
        }
        if waiting > 0 {
            println!("{waiting} wait for their readers' local time (the scheduler sends them)");
        }
        if held > 0 {
            println!(
                "daily quota spent on every relay of {digest} ({}): {held} deliveries stay queued until it resets at {} (the next `gazette send` or `serve` after that sends them)",
                spent.join(", "),
                deliver::relays::quota_resets(g.now()).to_rfc3339()
            );
        } else if !spent.is_empty() {
            println!("daily quota spent on relay {}", spent.join(", "));
        }
        if total.failed > 0 || total.unknown > 0 {
            println!("details: gazette issues show {id}");
        }
    }
    // A reader who unsubscribed (or paused) since the issue was planned is not a failure of
    // the job: their row is closed unsent, as they asked.
    // Rows another process is still sending are its job, not a failure of this one; rows held
    // for a quota are not a failure either.
    Ok(mine.failed > mine.skipped || mine.unknown > 0 || total.queued > waiting + held)
}

/// Writes every recipient's message (or one preview copy to `from`) and an HTML preview to the
/// file outbox; stores nothing.
async fn dry_run(
    g: &Gazette,
    view: &crate::render::IssueView,
    mut recipients: Vec<Recipient>,
    out: Out,
) -> Result<ExitCode> {
    let tokens = &g.tokens()?;
    let dkim = g.dkim()?;
    let dir = match g.config.outbox() {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from("out/outbox"),
    };
    if recipients.is_empty() {
        let from = &g.config.newsletter.from;
        recipients.push(Recipient {
            subscriber_id: None,
            email: from.email.to_string(),
            name: from.name.clone(),
            ..Default::default()
        });
    }
    let transport = Transport::Outbox(dir.clone());
    let clock = || g.now();
    let tick = |_: &Delivery| {};
    let sender = Sender {
        config: &g.config,
        store: g.store.clone(),
        renderer: &g.renderer,
        relays: &[],
        tokens,
        dkim,
        clock: &clock,
        tick: &tick,
        stop: None,
        patience: Patience::UntilDone,
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
            variant: r.variant.to_column(),
            relay: None,
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
        manage_url: tokens
            .manage_url(&g.config.newsletter.base_url, recipients[0].subscriber_id)
            .unwrap_or_default(),
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
