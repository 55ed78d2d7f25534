//! Deliver: sends an issue's queued deliveries, each recipient's copy rendered at send time.
//! Every delivery goes queued → sending → sent | failed | unknown (or back to queued with a
//! `next_attempt` after a transient failure) in the ledger (see `store`), each step committed
//! around the SMTP transaction: a second run sends nothing twice, and a crash or a connection
//! lost after the final "." leaves only the messages then in flight in doubt (`unknown`, never
//! resent). The queued rows are paged from the database, `delivery.connections` in parallel.

mod ledger;
pub mod message;
pub mod smtp;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use crate::config::Config;
use crate::render::{IssueView, Personal, Renderer};
use crate::store::{Applied, Claim, Delivery, DeliveryCounts, Step, Store};
use crate::tokens::Tokens;
use ledger::Ledger;
pub use transport::{SendError, Transport};

/// Permanent failures in a row after which a subscriber is marked `bouncing`.
pub const BOUNCE_AFTER: i64 = 3;

/// What the send loop needs besides the ledger.
pub struct Sender<'a> {
    pub config: &'a Config,
    pub store: Arc<Store>,
    pub renderer: &'a Renderer,
    pub transport: &'a Transport,
    pub tokens: &'a Tokens,
    pub dkim: Option<&'a lettre::message::dkim::DkimConfig>,
    pub clock: &'a (dyn Fn() -> chrono::DateTime<chrono::Utc> + Sync),
    /// Called after each delivery attempt that ends a row's turn (progress bar).
    pub tick: &'a (dyn Fn(&Delivery) + Sync),
    /// Set when the process should stop: no new message is started.
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
}

/// Rows read from the ledger at a time.
const PAGE: usize = 256;

/// The wait before attempt `n + 1` after `n` transient failures: `base`, doubling, at most an
/// hour.
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let doublings = attempts.clamp(1, 20) as u32 - 1;
    base.saturating_mul(1 << doublings.min(16))
        .min(Duration::from_secs(3600))
}

/// Spaces message starts at most `max_per_second` apart, without tokio's 1 ms timer granularity
/// capping high rates (several starts may fall in one millisecond).
struct Pace {
    interval: Duration,
    next: std::sync::Mutex<tokio::time::Instant>,
}

impl Pace {
    fn new(max_per_second: f64) -> Pace {
        Pace {
            interval: Duration::from_secs_f64(1.0 / max_per_second.max(0.001)),
            next: std::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    async fn wait(&self) {
        let now = tokio::time::Instant::now();
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }
}

/// What became of one row's turn.
enum Turn {
    Done,
    Requeued,
}

impl Sender<'_> {
    /// Sends every queued delivery of an issue, retrying transient failures with exponential
    /// backoff up to `delivery.max_attempts`. Returns the final counts.
    pub async fn deliver_issue(&self, issue_id: i64, view: &IssueView) -> Result<DeliveryCounts> {
        let ledger = Ledger::start(self.store.clone());
        let mut due_by = (self.clock)();
        loop {
            if self.stopping() {
                break;
            }
            self.pass(&ledger, issue_id, view, due_by).await?;
            // Rows requeued after a transient failure are due later; wait for the first one.
            let Some(due) = self.store.next_retry(issue_id)? else {
                break;
            };
            if self.stopping() {
                break;
            }
            let now = (self.clock)();
            let wait = (due - now).to_std().unwrap_or_default();
            if !wait.is_zero() {
                tracing::info!(issue = issue_id, wait = ?wait, "transient failures; waiting to retry");
                // In short steps, so that a stop request is not held up by a long backoff.
                let until = tokio::time::Instant::now() + wait;
                while tokio::time::Instant::now() < until && !self.stopping() {
                    tokio::time::sleep_until(
                        until.min(tokio::time::Instant::now() + Duration::from_millis(250)),
                    )
                    .await;
                }
            }
            // Measured against the waited-for time too, so that a pinned clock still advances.
            due_by = due.max(now);
        }
        self.transport.close().await;
        self.store.delivery_counts(issue_id)
    }

    fn stopping(&self) -> bool {
        self.stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// One pass over the rows due now, paged from the ledger, `delivery.connections` at a time
    /// and at most `max_per_second`.
    async fn pass(
        &self,
        ledger: &Ledger,
        issue_id: i64,
        view: &IssueView,
        due_by: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let pace = Pace::new(self.config.delivery.max_per_second);
        let pages = stream::try_unfold(0i64, |after| async move {
            if self.stopping() {
                return Ok(None);
            }
            let page = self.store.due_deliveries(issue_id, after, due_by, PAGE)?;
            Ok::<_, anyhow::Error>(page.last().map(|d| d.id).map(|last| (page, last)))
        });
        let turns = pages
            .map_ok(|page| stream::iter(page.into_iter().map(Ok::<_, anyhow::Error>)))
            .try_flatten()
            .map(|d| {
                let pace = &pace;
                async move {
                    let d = d?;
                    if self.stopping() {
                        return Ok(Turn::Done);
                    }
                    pace.wait().await;
                    self.send_one(ledger, &d, view).await
                }
            })
            .buffer_unordered(self.config.delivery.connections.max(1));
        let mut turns = std::pin::pin!(turns);
        while let Some(turn) = turns.next().await {
            turn?;
        }
        Ok(())
    }

    /// Claims, renders and sends one delivery, and records the outcome.
    async fn send_one(&self, ledger: &Ledger, d: &Delivery, view: &IssueView) -> Result<Turn> {
        // Rendered before the claim, so that a crash here leaves the row queued, not in doubt.
        let message = self.compose(d, view);
        match ledger
            .apply(Step::Claim { id: d.id }, (self.clock)())
            .await?
        {
            Applied::Claim(Claim::Claimed) => {}
            Applied::Claim(Claim::Skipped(why)) => {
                tracing::info!(to = %d.email, "{why}");
                (self.tick)(d);
                return Ok(Turn::Done);
            }
            _ => return Ok(Turn::Done),
        }
        let attempts = d.attempts + 1;
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                // A message we cannot build is this row's failure, not the issue's, and not the
                // subscriber's either (it does not count towards bouncing).
                let reply = format!("build message: {e:#}");
                tracing::warn!(to = %d.email, %reply, "delivery failed");
                let step = Step::Failed {
                    id: d.id,
                    reply,
                    bounce_after: None,
                };
                ledger.apply(step, (self.clock)()).await?;
                (self.tick)(d);
                return Ok(Turn::Done);
            }
        };
        let file_name = format!("issue-{}-{}.eml", d.issue_id, sanitize_file_name(&d.email));
        let result = self.transport.send(&message, &file_name).await;
        let now = (self.clock)();
        let max_attempts = i64::from(self.config.delivery.max_attempts.max(1));
        let (step, turn) = match result {
            Ok(reply) => (Step::Sent { id: d.id, reply }, Turn::Done),
            Err(SendError::Permanent(reply)) => {
                tracing::warn!(to = %d.email, %reply, "delivery failed");
                let bounce_after = Some(BOUNCE_AFTER);
                (
                    Step::Failed {
                        id: d.id,
                        reply,
                        bounce_after,
                    },
                    Turn::Done,
                )
            }
            Err(SendError::Ambiguous(reply)) => {
                tracing::warn!(to = %d.email, %reply, "delivery in doubt; not retried");
                (Step::Unknown { id: d.id, reply }, Turn::Done)
            }
            Err(SendError::Transient(reply)) if attempts >= max_attempts => {
                let reply = format!("gave up after {attempts} attempts: {reply}");
                tracing::warn!(to = %d.email, %reply, "delivery failed");
                let bounce_after = None;
                (
                    Step::Failed {
                        id: d.id,
                        reply,
                        bounce_after,
                    },
                    Turn::Done,
                )
            }
            Err(SendError::Transient(reply)) => {
                let wait = backoff(self.config.delivery.backoff_base(), attempts);
                tracing::info!(to = %d.email, %reply, ?wait, "transient failure; will retry");
                let next_attempt = now + chrono::Duration::from_std(wait).unwrap_or_default();
                (
                    Step::Retry {
                        id: d.id,
                        reply,
                        next_attempt,
                    },
                    Turn::Requeued,
                )
            }
        };
        if ledger.apply(step, now).await? == Applied::Bounced(true) {
            tracing::warn!(to = %d.email, "subscriber marked bouncing after {BOUNCE_AFTER} permanent failures in a row");
        }
        if matches!(turn, Turn::Done) {
            (self.tick)(d);
        }
        Ok(turn)
    }

    /// Renders this recipient's copy and builds the message.
    pub fn compose(&self, d: &Delivery, view: &IssueView) -> Result<lettre::Message> {
        let nl = &self.config.newsletter;
        let unsubscribe_url = self
            .tokens
            .unsubscribe_url(&nl.base_url, d.subscriber_id, &d.email);
        let personal = Personal {
            email: d.email.clone(),
            name: d.name.clone(),
            unsubscribe_url: unsubscribe_url.clone(),
        };
        let rendered = self.renderer.render_email(view, &personal)?;
        let to = lettre::message::Mailbox::new(d.name.clone(), d.email.parse()?);
        let list_id = message::list_id(
            &format!("{} {}", nl.name, view.digest.name),
            &view.digest.name,
            nl.from.email.domain(),
        );
        let mailto = self
            .config
            .delivery
            .unsubscribe_mailto
            .clone()
            .unwrap_or_else(|| nl.from.email.to_string());
        let mailto = format!("mailto:{mailto}?subject=unsubscribe");
        message::build(
            message::Email {
                from: &nl.from,
                reply_to: nl.reply_to.as_ref(),
                to,
                subject: &view.subject,
                text: rendered.text,
                html: rendered.html,
                message_id: &d.message_id,
                date: (self.clock)().into(),
                list_id: Some(&list_id),
                unsubscribe_url: Some(&unsubscribe_url),
                unsubscribe_mailto: Some(&mailto),
            },
            self.dkim,
        )
    }
}

/// A file name safe on every filesystem.
pub fn sanitize_file_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
