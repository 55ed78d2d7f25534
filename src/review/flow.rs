//! How drafts move with time: planned (under the digest's planning lock, by
//! `Gazette::next_issue`), mailed to the editors, held or released at their slot, released at
//! once by `send` after approval. Every step is a guarded transition in the store, so `send`,
//! `serve` and a second `serve` can all try it: one does it, the others find it done.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::mail::{self, Kind};
use super::policy::{decide, Action, Caller};
use super::{load, open, Draft, Review, Status};
use crate::config::{DeliveryTime, Digest, ReviewPolicy};
use crate::pipeline::{Gazette, NextIssue, Plan, PlanArgs, Recipient};
use crate::render::IssueView;
use crate::schedule::{local, next_runs, slot_key};
use crate::store::{Created, NewReview, Recipients, Released};

/// Each pick of a plan: (story id, ids of its cluster members), in issue order.
pub fn picks(plan: &Plan) -> Vec<(i64, Vec<i64>)> {
    plan.selection
        .sections
        .iter()
        .flat_map(|s| &s.picks)
        .map(|p| {
            (
                plan.stories[p.index].id,
                p.also.iter().map(|&i| plan.stories[i].id).collect(),
            )
        })
        .collect()
}

/// The next issue of a reviewed digest, under its planning lock: its open draft if it has one,
/// else a new draft for `args.slot` (for `send`: the next slot that has no issue yet), stored
/// with no deliveries.
pub fn plan_draft(
    g: &Gazette,
    digest: &Digest,
    policy: ReviewPolicy,
    args: &PlanArgs<'_>,
) -> Result<NextIssue> {
    if let Some(r) = open(g, &digest.name)? {
        return Ok(NextIssue::Review(Box::new(r)));
    }
    // The key the issue is stored under (the slot's, or a local digest's edition), and its
    // deadline (the slot, or the edition's first zone's slot).
    let (key, deadline) = match (args.slot, args.edition) {
        (Some(k), Some(edition)) => (k.to_string(), first_slot(g, digest, edition)?),
        (Some(k), None) => (k.to_string(), crate::store::parse_ts(k)),
        (None, _) => free_slot(g, digest)?,
    };
    let deadline = slot_key(deadline);
    if g.store.issue_id_for_slot(&digest.name, &key)?.is_some() {
        // Released before its slot (approved, then `send`): the slot has had its issue.
        return Ok(NextIssue::Empty);
    }
    let plan = g.plan(digest, args.intro)?;
    if plan.story_count() == 0 && !digest.send_empty {
        return Ok(NextIssue::Empty);
    }
    let state = serde_json::to_string(&Draft::from_view(&plan.view, &picks(&plan)))?;
    let review = NewReview {
        slot: &deadline,
        policy: policy.as_str(),
        state: &state,
    };
    let id = match g
        .store_plan(
            &plan,
            Recipients::Rows(&[]),
            false,
            Some(&key),
            Some(review),
        )?
        .0
    {
        Created::Stored(id, _) => id,
        Created::Superseded(id) => {
            return Ok(match load(g, id)? {
                Some(r) if r.is_open() => NextIssue::Review(Box::new(r)),
                _ => match g.store.issue(id)? {
                    Some(i) if i.queued > 0 => NextIssue::Unfinished(i),
                    _ => NextIssue::Empty,
                },
            })
        }
    };
    tracing::info!(digest = %digest.name, issue = id, slot = %key, "draft planned for review");
    let r = load(g, id)?.with_context(|| format!("draft {id} just stored"))?;
    Ok(NextIssue::Review(Box::new(r)))
}

/// The first slot after now that has no issue, the one the scheduler would draft next: the key
/// its issue is stored under and its deadline.
fn free_slot(g: &Gazette, digest: &Digest) -> Result<(String, DateTime<Utc>)> {
    let slots = next_slots(g, digest, g.now(), 8)?;
    for (key, at) in &slots {
        if g.store.issue_id_for_slot(&digest.name, key)?.is_none() {
            return Ok((key.clone(), *at));
        }
    }
    slots
        .into_iter()
        .next()
        .with_context(|| format!("digest {}: its schedule has no next run", digest.name))
}

/// A reviewed digest's next `n` slots after `after`: the key each issue is stored under and its
/// deadline. A local digest's slot is an edition, stored under the edition's key, whose deadline
/// is its first zone's slot (the editors approve one issue for every zone).
fn next_slots(
    g: &Gazette,
    d: &Digest,
    after: DateTime<Utc>,
    n: usize,
) -> Result<Vec<(String, DateTime<Utc>)>> {
    Ok(match d.delivery {
        DeliveryTime::Newsletter => next_runs(&d.cron, g.config.newsletter.timezone, after, n)
            .into_iter()
            .map(|at| (slot_key(at), at))
            .collect(),
        DeliveryTime::Local => {
            let zones = crate::schedule::runner::zones(g, d)?;
            local::next_first_slots(&d.cron, &zones, after, n)
                .into_iter()
                .map(|(edition, at)| (local::edition_key(edition), at))
                .collect()
        }
    })
}

/// A local digest's edition's first slot across its readers' zones.
fn first_slot(g: &Gazette, d: &Digest, edition: chrono::NaiveDateTime) -> Result<DateTime<Utc>> {
    let zones = crate::schedule::runner::zones(g, d)?;
    local::first_slot(edition, &zones)
        .with_context(|| format!("digest {}: no time zone to deliver in", d.name))
}

/// Mails the editors what they have not been told yet: the review mail once, and once the
/// draft is held, the held notice once (one mail saying both when it was held from the start).
/// A mail that reached no editor is given back, to be tried again by the next pass.
pub async fn notify(g: &Gazette, r: &Review) -> Result<()> {
    if !r.is_open() || g.config.newsletter.editors.is_empty() {
        return Ok(());
    }
    let now = g.now();
    let held = r.status == Status::Held;
    let kind = if !r.mailed && g.store.claim_review_mail(r.issue, false, now)? {
        if held {
            g.store.claim_review_mail(r.issue, true, now)?;
        }
        Kind::Review { held }
    } else if held && !r.held_told && g.store.claim_review_mail(r.issue, true, now)? {
        Kind::Held
    } else {
        return Ok(());
    };
    match mail::send(g, r, kind).await {
        Ok(reached) => {
            let what = match kind {
                Kind::Review { held: false } => "mailed the review link to",
                Kind::Review { held: true } => "mailed the review link (held) to",
                Kind::Held => "told that the issue is held:",
            };
            g.store.log_review(
                r.issue,
                "gazette",
                &format!("{what} {}", reached.join(", ")),
                now,
            )?;
            Ok(())
        }
        Err(e) => {
            if kind != Kind::Held {
                g.store.unclaim_review_mail(r.issue, false)?;
            }
            if held {
                g.store.unclaim_review_mail(r.issue, true)?;
            }
            Err(e)
        }
    }
}

/// Writes the deliveries of a draft the rule lets go, as `who`: to `to`, else to the digest's
/// readers as [`readers`] decides them (`by_slot`), read and written inside the release's
/// transaction one at a time. With `require_recipients`, nothing is released when nobody gets it.
fn release(
    g: &Gazette,
    r: &Review,
    to: Option<&[Recipient]>,
    by_slot: bool,
    require_recipients: bool,
    by_policy: bool,
    who: &str,
) -> Result<Released> {
    let (digest, edition) = audience_of(g, r, by_slot)?;
    let view = g.stored_view(r.issue)?;
    let audience = g.audience(digest, &view, edition);
    let admit = |s: &crate::model::Subscriber| audience.recipient(s).map(Recipient::into_row);
    let rows;
    let recipients = match to {
        Some(t) => {
            rows = crate::pipeline::delivery_rows(t.to_vec());
            Recipients::Rows(&rows)
        }
        None => Recipients::Subscribers(&admit),
    };
    let from: &[&str] = if by_policy { &["draft"] } else { &["approved"] };
    let what = |n: usize| {
        if by_policy {
            format!("sent it at its slot as it stands (review = optional): {n} recipients")
        } else {
            format!("sent it: {n} recipients")
        }
    };
    g.store
        .release_review(
            r.issue,
            from,
            "approved",
            recipients,
            require_recipients,
            g.config.newsletter.from.email.domain(),
            who,
            what,
            g.now(),
        )
        .map_err(|e| crate::pipeline::no_recipients(e, &r.digest))
}

/// Who gets a released draft: the digest's readers, each with their copy of the issue as edited.
/// With `by_slot`, a local digest's issue released by its first zone's slot (within
/// `catch_up`) waits for each reader's own slot of its edition; otherwise (`send` after an
/// approval, or an issue approved after being held) it goes to every zone at once.
pub fn readers(g: &Gazette, r: &Review, by_slot: bool) -> Result<Vec<Recipient>> {
    let (digest, edition) = audience_of(g, r, by_slot)?;
    g.readers(digest, &g.stored_view(r.issue)?, edition)
}

/// The digest of a draft and, when its readers each wait for their own slot, its edition.
fn audience_of<'g>(
    g: &'g Gazette,
    r: &Review,
    by_slot: bool,
) -> Result<(&'g Digest, Option<chrono::NaiveDateTime>)> {
    let digest = g.config.digest(Some(&r.digest))?;
    let edition = match digest.delivery {
        DeliveryTime::Local if by_slot && g.now() - r.slot <= digest.catch_up => g
            .store
            .issue_slot(r.issue)?
            .as_deref()
            .and_then(local::parse_edition_key),
        _ => None,
    };
    Ok((digest, edition))
}

/// Holds a draft whose slot passed unapproved.
fn hold(g: &Gazette, r: &Review, who: &str) -> Result<Review> {
    g.store.set_review_status(
        r.issue,
        None,
        &["draft"],
        "held",
        who,
        "held it: not approved by its slot",
        g.now(),
    )?;
    load(g, r.issue)?.with_context(|| format!("review of issue {}", r.issue))
}

/// What `send` did with a digest's open draft.
pub enum SendStep {
    /// Released: deliver it now.
    Released {
        id: i64,
        number: i64,
        recipients: usize,
        view: Box<IssueView>,
    },
    /// Not sent: the draft's status, and why, for the person who ran `send`.
    Waiting {
        id: i64,
        number: i64,
        status: Status,
        message: String,
    },
    /// Someone else released or skipped it meanwhile: look again.
    Again,
}

/// `gazette send` and an open draft: an approved one goes out at once (to `to`, or the
/// subscribers), an optional one whose slot passed goes out as it stands, a required one whose
/// slot passed is held; otherwise it waits. The editors are mailed what they were not told yet.
pub async fn on_send(
    g: &Gazette,
    r: Review,
    to: Option<&[Recipient]>,
    require_recipients: bool,
) -> Result<SendStep> {
    let now = g.now();
    let r = match decide(r.policy, r.status, r.slot, now, Caller::Send) {
        Action::Release { by_policy } => {
            return Ok(
                match release(
                    g,
                    &r,
                    to,
                    false,
                    require_recipients,
                    by_policy,
                    "gazette send",
                )? {
                    Released::Released(n) => SendStep::Released {
                        id: r.issue,
                        number: r.number,
                        recipients: n,
                        view: Box::new(g.stored_view(r.issue)?),
                    },
                    Released::Closed(_) => SendStep::Again,
                },
            );
        }
        Action::Hold => hold(g, &r, "gazette send")?,
        Action::Wait => r,
    };
    notify(g, &r).await?;
    Ok(SendStep::Waiting {
        id: r.issue,
        number: r.number,
        status: r.status,
        message: waiting(g, &r),
    })
}

/// Why an open draft was not sent, and what to do.
fn waiting(g: &Gazette, r: &Review) -> String {
    let slot = mail::local(g, r.slot);
    let d = &r.digest;
    let n = r.number;
    match (r.status, r.policy) {
        (Status::Held, _) => format!(
            "issue #{n} of {d} awaits approval: it was not approved by its slot ({slot}) and is held; \
             nobody gets it until an editor approves it (review page, or `gazette review approve {d}` \
             then `gazette send`) or skips it"
        ),
        (Status::Approved, _) => format!(
            "issue #{n} of {d} is approved and goes out at its slot ({slot})"
        ),
        (_, ReviewPolicy::Required) => format!(
            "issue #{n} of {d} awaits approval (review = required): the editors have the review link; \
             once it is approved (review page, or `gazette review approve {d}`), `gazette send` sends it \
             at once, or `gazette serve` at its slot ({slot})"
        ),
        (_, ReviewPolicy::Optional) => format!(
            "issue #{n} of {d} is a draft under review (review = optional): it goes out at its slot \
             ({slot}) as it stands, or at once after `gazette review approve {d}` and `gazette send`"
        ),
    }
}

/// What the scheduler did with an open draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotStep {
    /// Released now: deliver it.
    Released { id: i64, number: i64 },
    /// Held, waiting for an editor.
    Held { id: i64, number: i64 },
    /// Before its slot, waiting for review (or released by another process).
    Waiting { id: i64, number: i64 },
}

/// The scheduler and an open draft at `now`: released at (or after) its slot when approved or
/// optional, held when required and unapproved; editors mailed what they were not told yet.
pub async fn at_slot(g: &Gazette, r: Review, now: DateTime<Utc>) -> Result<SlotStep> {
    let (id, number) = (r.issue, r.number);
    let r = match decide(r.policy, r.status, r.slot, now, Caller::Scheduler) {
        Action::Release { by_policy } => {
            return Ok(
                match release(g, &r, None, true, false, by_policy, "gazette serve")? {
                    Released::Released(_) => SlotStep::Released { id, number },
                    Released::Closed(_) => SlotStep::Waiting { id, number },
                },
            );
        }
        Action::Hold => hold(g, &r, "gazette serve")?,
        Action::Wait => r,
    };
    notify(g, &r).await?;
    Ok(match r.status {
        Status::Held => SlotStep::Held { id, number },
        _ => SlotStep::Waiting { id, number },
    })
}

/// Why a reviewed digest's slot has nothing left to do, if so: its issue went out before the
/// slot (approved, then `send`), or an editor skipped it.
pub fn slot_done(g: &Gazette, d: &Digest, key: &str) -> Result<Option<&'static str>> {
    if d.review.is_none() {
        return Ok(None);
    }
    let Some(id) = g.store.issue_id_for_slot(&d.name, key)? else {
        return Ok(None);
    };
    let Some(r) = load(g, id)? else {
        return Ok(None);
    };
    let queued = g.store.issue(id)?.is_some_and(|i| i.queued > 0);
    Ok(match (r.released, r.status) {
        (Some(_), _) if !queued => Some("its reviewed issue went out before the slot"),
        (None, Status::Skipped) => Some("an editor skipped its issue"),
        _ => None,
    })
}

/// The scheduler's pass over a reviewed digest on every tick: moves its open draft along
/// (released when approved after being held, held or released when its slot passed while no
/// slot ran, editors mailed), or plans the next slot's draft once `review_lead` before it.
/// Returns the issue it released, for the scheduler to deliver.
pub async fn pass(g: &Gazette, d: &Digest, now: DateTime<Utc>) -> Result<Option<i64>> {
    if let Some(r) = open(g, &d.name)? {
        return Ok(match at_slot(g, r, now).await? {
            SlotStep::Released { id, .. } => Some(id),
            _ => None,
        });
    }
    let Some((key, slot)) = next_slots(g, d, now, 1)?.pop() else {
        return Ok(None);
    };
    if now < slot - d.review_lead || g.store.issue_id_for_slot(&d.name, &key)?.is_some() {
        return Ok(None);
    }
    fetch_due(g, now).await?;
    let args = PlanArgs {
        slot: Some(&key),
        edition: local::parse_edition_key(&key),
        ..Default::default()
    };
    if let NextIssue::Review(r) = g.next_issue(d, &args).await? {
        notify(g, &r).await?;
    }
    Ok(None)
}

/// Fetches the feeds whose next fetch is due, so that a draft planned right after `serve`
/// starts has the stories the slot would have (later, the scheduler's own fetch came first
/// and this finds nothing due).
async fn fetch_due(g: &Gazette, now: DateTime<Utc>) -> Result<()> {
    let urls: Vec<String> = g.config.feeds.iter().map(|f| f.url.clone()).collect();
    let due = g.store.feeds_due(&urls, now)?;
    if due.is_empty() {
        return Ok(());
    }
    let feeds: Vec<_> = g
        .config
        .feeds
        .iter()
        .filter(|f| due.contains(&f.url))
        .collect();
    crate::ingest::fetch_feeds(&g.config, &feeds, &g.store, now, &|_| {}).await?;
    g.summarize_pending().await?;
    Ok(())
}
