//! Deliver: sends an issue's queued deliveries, each recipient's copy rendered at send time.
//! Every delivery goes queued → sending → sent | failed in the ledger (see `store`), committed
//! around the SMTP transaction: a second run sends nothing twice, and a crash leaves at most the
//! one message in flight in doubt (`unknown`).

pub mod message;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use futures_util::stream::{self, StreamExt};

use crate::config::Config;
use crate::model::SubscriberStatus;
use crate::render::{IssueView, Personal, Renderer};
use crate::store::{Delivery, DeliveryCounts, Store};
use crate::tokens::Tokens;
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

impl Sender<'_> {
    /// Sends every queued delivery of an issue, retrying transient failures with exponential
    /// backoff up to `delivery.max_attempts`. Returns the final counts.
    pub async fn deliver_issue(&self, issue_id: i64, view: &IssueView) -> Result<DeliveryCounts> {
        let max_attempts = i64::from(self.config.delivery.max_attempts.max(1));
        let mut backoff = Duration::from_secs(1);
        loop {
            let queued = self.store.queued_deliveries(issue_id)?;
            if queued.is_empty() || self.stopping() {
                break;
            }
            let transient = self.send_batch(&queued, view, max_attempts).await?;
            if transient == 0 {
                break;
            }
            tracing::info!(issue = issue_id, retrying = transient, wait = ?backoff, "transient failures; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(300));
        }
        self.store.delivery_counts(issue_id)
    }

    fn stopping(&self) -> bool {
        self.stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// One pass over the queued rows, `delivery.connections` at a time and at most
    /// `max_per_second`. Returns how many were requeued after a transient failure.
    async fn send_batch(
        &self,
        queued: &[Delivery],
        view: &IssueView,
        max_attempts: i64,
    ) -> Result<usize> {
        let interval =
            Duration::from_secs_f64(1.0 / self.config.delivery.max_per_second.max(0.001));
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ticker = tokio::sync::Mutex::new(ticker);
        let results: Vec<Result<bool>> = stream::iter(queued)
            .map(|d| {
                let ticker = &ticker;
                async move {
                    if self.stopping() {
                        return Ok(false);
                    }
                    ticker.lock().await.tick().await;
                    self.send_one(d, view, max_attempts).await
                }
            })
            .buffer_unordered(self.config.delivery.connections.max(1))
            .collect()
            .await;
        let mut transient = 0;
        for r in results {
            if r? {
                transient += 1;
            }
        }
        Ok(transient)
    }

    /// Sends one delivery. Returns true when it was requeued for another attempt.
    async fn send_one(&self, d: &Delivery, view: &IssueView, max_attempts: i64) -> Result<bool> {
        let now = (self.clock)();
        // The subscriber may have unsubscribed since the issue was queued.
        if let Some(id) = d.subscriber_id {
            let status = self.store.subscriber_by_id(id)?.map(|s| s.status);
            if status != Some(SubscriberStatus::Confirmed) {
                let why = format!(
                    "skipped: subscriber is {}",
                    status.map(|s| s.as_str()).unwrap_or("removed")
                );
                self.store.mark_skipped(d.id, &why, now)?;
                (self.tick)(d);
                return Ok(false);
            }
        }
        let message = match self.compose(d, view) {
            Ok(m) => m,
            Err(e) => {
                // A message we cannot build is this row's failure, not the issue's.
                self.store.mark_sending(d.id, now)?;
                self.store
                    .mark_failed(d.id, &format!("{e:#}"), i64::MAX, now)?;
                (self.tick)(d);
                return Ok(false);
            }
        };
        if !self.store.mark_sending(d.id, now)? {
            return Ok(false);
        }
        let file_name = format!("issue-{}-{}.eml", d.issue_id, sanitize_file_name(&d.email));
        let result = self.transport.send(&message, &file_name).await;
        let now = (self.clock)();
        let requeued = match result {
            Ok(reply) => {
                self.store.mark_sent(d.id, &reply, now)?;
                false
            }
            Err(SendError::Permanent(reply)) => {
                tracing::warn!(to = %d.email, %reply, "delivery failed");
                if self.store.mark_failed(d.id, &reply, BOUNCE_AFTER, now)? {
                    tracing::warn!(to = %d.email, "subscriber marked bouncing after {BOUNCE_AFTER} failures in a row");
                }
                false
            }
            Err(SendError::Transient(reply)) if d.attempts + 1 >= max_attempts => {
                let reply = format!("gave up after {} attempts: {reply}", d.attempts + 1);
                tracing::warn!(to = %d.email, %reply, "delivery failed");
                self.store.mark_failed(d.id, &reply, i64::MAX, now)?;
                false
            }
            Err(SendError::Transient(reply)) => {
                tracing::info!(to = %d.email, %reply, "transient failure; will retry");
                self.store.mark_retry(d.id, &reply, now)?;
                true
            }
        };
        if !requeued {
            (self.tick)(d);
        }
        Ok(requeued)
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
        let rendered = self.renderer.render(view, Some(&personal))?;
        let to = lettre::message::Mailbox::new(d.name.clone(), d.email.parse()?);
        let domain = nl.from.email.domain();
        let list_id = format!(
            "\"{} {}\" <{}.{}>",
            nl.name.replace('"', ""),
            view.digest.name,
            view.digest.name,
            domain
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
