//! Deliver: sends an issue's queued deliveries, each recipient's copy rendered at send time.
//! Every delivery goes queued → sending → sent | failed | unknown (or back to queued with a
//! `next_attempt` after a transient failure) in the ledger (see `store`), each step committed
//! around the SMTP transaction: a second run sends nothing twice, and a crash or a connection
//! lost after the final "." leaves only the messages then in flight in doubt (`unknown`, never
//! resent). The queued rows are paged from the database and shared among the digest's relays
//! by weight (`share`), each relay with its own connections, pace, circuit and daily quota
//! (`relays`).

mod circuit;
mod copies;
mod cpu;
pub mod dkim;
mod ledger;
pub mod message;
mod pause;
pub mod relays;
pub mod reply;
mod share;
pub mod smtp;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::model::DeliveryStatus;
use crate::model::{MailFormat, Variant};
use crate::render::{IssueView, Personal, Renderer};
use crate::store::{Applied, Claim, Delivery, DeliveryCounts, Reservation, Step, Store};
use crate::tokens::Tokens;
use circuit::{End, PassEnd};
use ledger::Ledger;
pub use relays::{Mailer, Relay};
pub use transport::{SendError, Transport};

/// What the send loop needs besides the ledger.
pub struct Sender<'a> {
    pub config: &'a Config,
    pub store: Arc<Store>,
    pub renderer: &'a Renderer,
    /// Where messages go: the digest's relays (see `relays`); empty when only
    /// [`Sender::composer`] is used.
    pub relays: &'a [Relay],
    pub tokens: &'a Tokens,
    pub dkim: Option<Arc<dkim::Signer>>,
    pub clock: &'a (dyn Fn() -> chrono::DateTime<chrono::Utc> + Sync),
    /// Called after each delivery attempt that ends a row's turn (progress bar), with the row's
    /// new status: sent, failed or unknown.
    pub tick: &'a (dyn Fn(&Delivery) + Sync),
    /// Set when the process should stop: no new message is started.
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
    /// Whether to wait for retries and outages or make one pass.
    pub patience: Patience,
}

/// How long [`Sender::deliver_issue`] keeps at an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Until every row is done: waits for rows due later, and through up to `max_attempts`
    /// outages of the server (`gazette send`).
    UntilDone,
    /// One pass over the rows due now; an outage ends it with an error, the rows still queued
    /// (the scheduler comes back within a minute).
    OnePass,
}

/// Refusals in a row that are the sender's problem (policy, content, size) after which the
/// issue stops, as for an outage: every other recipient would be refused the same way.
const SENDER_FAULTS_TO_STOP: usize = 3;

/// Renews this process's leases on its `sending` rows and locks every few seconds, for as long
/// as it lives (see `store::leases`).
pub struct LeaseKeeper(tokio::task::JoinHandle<()>);

impl LeaseKeeper {
    pub fn start(store: Arc<Store>) -> LeaseKeeper {
        LeaseKeeper(tokio::spawn(async move {
            let every = crate::store::leases::LEASE / 4;
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = store.renew_leases() {
                    tracing::warn!(error = %format!("{e:#}"), "could not renew leases");
                }
            }
        }))
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The wait before attempt `n + 1` after `n` transient failures: `base`, doubling, at most an
/// hour.
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let doublings = attempts.clamp(1, 20) as u32 - 1;
    base.saturating_mul(1 << doublings.min(16))
        .min(Duration::from_secs(3600))
}

/// [`backoff`] with full jitter: a uniform wait between zero and it, so that the rows refused
/// together (a greylisting server, a burst of 4xx) do not all come back at the same moment.
pub fn jittered(base: Duration, attempts: i64) -> Duration {
    let cap = backoff(base, attempts);
    cap.mul_f64(rand::random::<f64>())
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

    /// The time the next message may start (now, or later to keep the rate).
    fn reserve(&self) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let slot = (*next).max(now);
        *next = slot + self.interval;
        slot
    }
}

/// What became of one row's turn.
enum Turn {
    Done,
    Requeued,
}

/// A sent (or failed) delivery whose ledger step is not committed yet.
struct Outcome {
    d: Delivery,
    step: Step,
    turn: Turn,
    /// Whose fault a refusal was (None: not refused).
    fault: Option<reply::Fault>,
    /// A reservation of the relay's quota to give back: the message was never tried.
    give_back: Option<Reservation>,
}

/// Why a pass stopped early: the server could not be used, or it refused several messages in a
/// row for reasons that are the sender's to fix.
#[derive(Default)]
struct Outage {
    reason: std::sync::Mutex<Option<String>>,
    sender_faults: std::sync::atomic::AtomicUsize,
}

impl Outage {
    fn happened(&self) -> bool {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn stop(&self, why: String) {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(why);
    }

    fn note(&self, o: &Outcome) {
        use std::sync::atomic::Ordering::SeqCst;
        match (&o.step, o.fault) {
            (Step::Release { reply, .. }, _) => self.stop(reply.clone()),
            (
                Step::Retry { reply, .. } | Step::Failed { reply, .. },
                Some(reply::Fault::Sender),
            ) => {
                let n = self.sender_faults.fetch_add(1, SeqCst) + 1;
                if n >= SENDER_FAULTS_TO_STOP {
                    tracing::error!(refused = n, %reply, "the server refuses our mail for reasons that are ours to fix (policy, authentication, content or size); the issue stops");
                    self.stop(format!(
                        "the server refused {n} messages in a row for reasons that are the sender's to fix (policy, authentication, content or size): {reply}"
                    ));
                }
            }
            (Step::Sent { .. }, _) => self.sender_faults.store(0, SeqCst),
            _ => {}
        }
    }
}

/// One relay's part in a pass: its pace, its circuit, whether its quota ran out.
struct Lane<'r> {
    relay: &'r Relay,
    pace: Pace,
    outage: Outage,
    spent: std::sync::atomic::AtomicBool,
    worked: std::sync::atomic::AtomicBool,
}

impl Sender<'_> {
    /// Sends every queued delivery of an issue, retrying transient failures with exponential
    /// backoff up to `delivery.max_attempts` (or, with [`Patience::OnePass`], the rows due now).
    /// Returns the final counts.
    pub async fn deliver_issue(&self, issue_id: i64, view: &IssueView) -> Result<DeliveryCounts> {
        if let Some(why) = self.store.paused(issue_id)? {
            anyhow::bail!("{}", pause::paused_message(issue_id, &why));
        }
        let composer = self.composer(view)?;
        let watch = pause::Watch::new(self, issue_id)?;
        if let Some(why) = watch.check(&self.store)? {
            anyhow::bail!("{}", pause::paused_message(issue_id, &why));
        }
        let counts = self.deliver_with(issue_id, &composer, &watch).await;
        tracing::info!(
            issue = issue_id,
            copies = composer.renders(),
            render_ms = composer.copies.spent().as_millis() as u64,
            compose_cpu_ms = composer.cpu.compose.spent().as_millis() as u64,
            ledger_cpu_ms = composer.cpu.ledger.spent().as_millis() as u64,
            "copies rendered (one per distinct choice of topics); CPU spent composing messages and committing the ledger"
        );
        counts
    }

    async fn deliver_with(
        &self,
        issue_id: i64,
        composer: &Composer<'_>,
        watch: &pause::Watch,
    ) -> Result<DeliveryCounts> {
        let _leases = LeaseKeeper::start(self.store.clone());
        let done = self.passes(issue_id, composer, watch).await;
        for r in self.relays {
            r.transport.close().await;
        }
        // The rows this process reserved and did not send are free for any other at once.
        let freed = self
            .store
            .let_go(issue_id, crate::store::leases::Owner::current_key());
        done?;
        freed?;
        self.store.delivery_counts(issue_id)
    }

    /// Waits `wait`, in short steps, so that a stop request is not held up by a long backoff.
    async fn pause(&self, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < until && !self.stopping() {
            tokio::time::sleep_until(
                until.min(tokio::time::Instant::now() + Duration::from_millis(250)),
            )
            .await;
        }
    }

    fn stopping(&self) -> bool {
        self.stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// One pass over the rows due now, paged from the ledger and shared among the `usable`
    /// relays by weight: each relay `connections` workers, message starts at most its
    /// `max_per_second`. A relay that turns out to be unavailable, or whose quota runs out,
    /// stops and hands its rows to the others.
    async fn pass(
        &self,
        issue_id: i64,
        composer: &Composer<'_>,
        due_by: chrono::DateTime<chrono::Utc>,
        watch: &pause::Watch,
        usable: &[usize],
    ) -> Result<PassEnd> {
        let lanes: Vec<Lane<'_>> = usable
            .iter()
            .map(|&i| {
                let relay = &self.relays[i];
                Lane {
                    relay,
                    pace: Pace::new(relay.max_per_second),
                    outage: Outage::default(),
                    spent: false.into(),
                    worked: false.into(),
                }
            })
            .collect();
        let weights: Vec<f64> = lanes.iter().map(|l| l.relay.weight).collect();
        let share = std::sync::Mutex::new(share::Share::new(issue_id, due_by, &weights));
        let halt = Outage::default();
        let connections: usize = lanes.iter().map(|l| l.relay.connections.max(1)).sum();
        let ledger = Ledger::new(self.store.clone(), connections);
        let (ledger_ref, share_ref, halt_ref) = (&ledger, &share, &halt);
        let workers = lanes.iter().enumerate().flat_map(|(n, lane)| {
            (0..lane.relay.connections.max(1)).map(move |_| async move {
                let done = self
                    .worker(ledger_ref, share_ref, n, lane, composer, halt_ref, watch)
                    .await;
                ledger_ref.leave();
                done
            })
        });
        let senders = async {
            let done = futures_util::future::try_join_all(workers).await;
            ledger.close();
            done
        };
        tokio::join!(senders, ledger.run()).0?;
        composer.cpu.ledger.add(ledger.spent());
        let relays = lanes
            .into_iter()
            .map(|l| {
                let reason = l
                    .outage
                    .reason
                    .into_inner()
                    .unwrap_or_else(|e| e.into_inner());
                match reason {
                    Some(why) => End::Outage(why),
                    None if l.spent.into_inner() => End::Spent,
                    None => End::Done {
                        worked: l.worked.into_inner(),
                    },
                }
            })
            .collect();
        Ok(PassEnd {
            relays,
            halt: halt.reason.into_inner().unwrap_or_else(|e| e.into_inner()),
        })
    }

    /// Sends rows of one relay's lane one after another until none is left. A row's outcome is
    /// committed together with the claim of the worker's next row, which starts at once: one
    /// fsync per message instead of two, and each step still durable before the worker goes
    /// on. When the next start must wait (pace, or no row left) the outcome is committed alone
    /// first.
    #[allow(clippy::too_many_arguments)]
    async fn worker(
        &self,
        ledger: &Ledger,
        share: &std::sync::Mutex<share::Share>,
        n: usize,
        lane: &Lane<'_>,
        composer: &Composer<'_>,
        halt: &Outage,
        watch: &pause::Watch,
    ) -> Result<()> {
        use std::sync::atomic::Ordering::SeqCst;
        let mut pending: Option<Outcome> = None;
        let lock = || share.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.stopping()
                || halt.happened()
                || lane.outage.happened()
                || lane.spent.load(SeqCst)
            {
                break;
            }
            let next = lock().next(&self.store, n)?;
            let Some(d) = next else {
                break;
            };
            let slot = lane.pace.reserve();
            if slot > tokio::time::Instant::now() {
                self.commit(ledger, pending.take(), None).await?;
                tokio::time::sleep_until(slot).await;
            }
            if self.stopping() {
                break;
            }
            // Rendered before the claim, so that a crash here leaves the row queued, not in
            // doubt.
            let message = composer.compose(&d).await;
            let reservation = lane.relay.reservation(&crate::store::day((self.clock)()));
            match self
                .commit(ledger, pending.take(), Some((&d, reservation.clone())))
                .await?
            {
                Some(Claim::Claimed) => {}
                Some(Claim::Skipped(why)) => {
                    tracing::info!(to = %d.email, "{why}");
                    (self.tick)(&Delivery {
                        status: DeliveryStatus::Failed,
                        reply: Some(why),
                        ..d
                    });
                    continue;
                }
                Some(Claim::QuotaSpent) => {
                    tracing::info!(
                        relay = lane.relay.label(),
                        "daily quota spent; the other relays take its share"
                    );
                    lane.spent.store(true, SeqCst);
                    lock().close(n, Some(d));
                    break;
                }
                _ => continue,
            }
            let outcome = self.attempt(lane.relay, d, message, reservation).await;
            if matches!(outcome.step, Step::Sent { .. }) {
                lane.worked.store(true, SeqCst);
            }
            lane.outage.note(&outcome);
            if let Some(why) = watch.note(&self.store, &outcome.step)? {
                halt.stop(why);
            }
            pending = Some(outcome);
        }
        self.commit(ledger, pending.take(), None).await?;
        if lane.outage.happened() {
            lock().close(n, None);
        }
        Ok(())
    }

    /// Commits an outcome (with its reservation given back, if any) and/or a claim in one
    /// ledger transaction; returns the claim's result.
    async fn commit(
        &self,
        ledger: &Ledger,
        outcome: Option<Outcome>,
        claim: Option<(&Delivery, Option<Reservation>)>,
    ) -> Result<Option<Claim>> {
        let steps: Vec<Step> = outcome
            .iter()
            .flat_map(|o| {
                std::iter::once(o.step.clone()).chain(o.give_back.clone().map(Step::GiveBack))
            })
            .chain(claim.as_ref().map(|(d, relay)| Step::Claim {
                id: d.id,
                relay: relay.clone(),
            }))
            .collect();
        if steps.is_empty() {
            return Ok(None);
        }
        let applied = ledger.apply(steps, (self.clock)()).await?;
        if let Some(o) = outcome {
            if applied.first() == Some(&Applied::Bounced(true)) {
                tracing::warn!(to = %o.d.email, "subscriber marked bouncing after {} refusals of the address in a row", self.config.bounces.hard_threshold);
            }
            if matches!(o.turn, Turn::Done) {
                let status = match o.step {
                    Step::Sent { .. } => DeliveryStatus::Sent,
                    Step::Unknown { .. } => DeliveryStatus::Unknown,
                    _ => DeliveryStatus::Failed,
                };
                (self.tick)(&Delivery { status, ..o.d });
            }
        }
        Ok(claim.map(|_| match applied.last() {
            Some(Applied::Claim(c)) => c.clone(),
            _ => Claim::Gone,
        }))
    }

    /// Sends one claimed delivery through `relay`; returns the step that records what
    /// happened (and the reservation to give back when the message was never tried).
    async fn attempt(
        &self,
        relay: &Relay,
        d: Delivery,
        message: Result<message::Outgoing>,
        reservation: Option<Reservation>,
    ) -> Outcome {
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
                return Outcome {
                    d,
                    step,
                    turn: Turn::Done,
                    fault: None,
                    give_back: reservation,
                };
            }
        };
        let file_name = format!("issue-{}-{}.eml", d.issue_id, sanitize_file_name(&d.email));
        let result = relay.transport.send(&message, &file_name).await;
        let now = (self.clock)();
        let max_attempts = i64::from(self.config.delivery.max_attempts.max(1));
        let id = d.id;
        let retry = |reply: String| {
            let wait = jittered(self.config.delivery.backoff_base(), attempts);
            tracing::info!(to = %d.email, %reply, ?wait, "refused for now; will retry");
            let next_attempt = now + chrono::Duration::from_std(wait).unwrap_or_default();
            let step = Step::Retry {
                id,
                reply,
                next_attempt,
            };
            (step, Turn::Requeued)
        };
        let fail = |reply: String| {
            tracing::warn!(to = %d.email, %reply, "delivery failed");
            let step = Step::Failed {
                id,
                reply,
                bounce_after: None,
            };
            (step, Turn::Done)
        };
        let fault = match &result {
            Err(SendError::Permanent(reply)) => Some(reply::fault(reply)),
            _ => None,
        };
        // Nothing was tried: the reservation of the relay's quota is given back.
        let give_back = reservation.filter(|_| matches!(result, Err(SendError::Unavailable(_))));
        let (step, turn) = match result {
            Ok(reply) => (Step::Sent { id, reply }, Turn::Done),
            Err(SendError::Permanent(reply)) => match fault {
                // The address is bad: a hard bounce held against the subscriber, who becomes
                // `bouncing` after `[bounces] hard_threshold` of them in a row.
                Some(reply::Fault::Recipient) => {
                    tracing::warn!(to = %d.email, %reply, "delivery failed: the address was refused");
                    let step = Step::Failed {
                        id,
                        reply,
                        bounce_after: Some(self.config.bounces.hard_threshold),
                    };
                    (step, Turn::Done)
                }
                // A full mailbox, or a refusal that is ours to fix: tried again later, never
                // held against the subscriber.
                Some(reply::Fault::MailboxFull | reply::Fault::Sender)
                    if attempts < max_attempts =>
                {
                    retry(reply)
                }
                _ => fail(reply),
            },
            Err(SendError::Unavailable(reply)) => (Step::Release { id, reply }, Turn::Requeued),
            Err(SendError::Ambiguous(reply)) => {
                tracing::warn!(to = %d.email, %reply, "delivery in doubt; not retried");
                (Step::Unknown { id, reply }, Turn::Done)
            }
            Err(SendError::Transient(reply)) if attempts >= max_attempts => {
                fail(format!("gave up after {attempts} attempts: {reply}"))
            }
            Err(SendError::Transient(reply)) => retry(reply),
        };
        Outcome {
            d,
            step,
            turn,
            fault,
            give_back,
        }
    }

    /// Renders the issue once for [`Composer::compose`] to fill in per recipient (and once more
    /// for each distinct choice of sections among the recipients, on first use).
    pub fn composer<'s>(&'s self, view: &'s IssueView) -> Result<Composer<'s>> {
        let nl = &self.config.newsletter;
        let masthead = copies::Masthead {
            from: &nl.from,
            reply_to: nl.reply_to.as_ref(),
            list_id: message::list_id(
                &format!("{} {}", nl.name, view.digest.name),
                &view.digest.name,
                nl.from.email.domain(),
            ),
        };
        let copies = copies::Copies::new(self.renderer, view, masthead)?;
        // Unsubscribe requests by mail go where bounces are read, when there is such a place.
        let mailto = self
            .config
            .delivery
            .unsubscribe_mailto
            .clone()
            .or_else(|| self.config.bounces.address.as_ref().map(|a| a.to_string()))
            .unwrap_or_else(|| nl.from.email.to_string());
        Ok(Composer {
            sender: self,
            copies,
            mailto: format!("mailto:{mailto}?subject=unsubscribe"),
            cpu: Default::default(),
        })
    }
}

/// One issue's messages: each distinct copy rendered once, then filled in and built per
/// recipient.
pub struct Composer<'s> {
    sender: &'s Sender<'s>,
    copies: copies::Copies<'s>,
    mailto: String,
    cpu: Cpu,
}

/// This thread's CPU time in composing messages and in committing the ledger.
#[derive(Default)]
struct Cpu {
    compose: cpu::Meter,
    ledger: cpu::Meter,
}

impl Composer<'_> {
    /// This recipient's message: their copy of the issue (their sections, their format) filled
    /// in with their address, name, unsubscribe and manage links (or, when it cannot be, their
    /// copy rendered in full), then built and, with DKIM configured, signed. The RSA signature
    /// takes milliseconds (BENCHMARKS.md), so it is made on tokio's blocking pool, off the
    /// thread that runs the connections.
    pub async fn compose(&self, d: &Delivery) -> Result<message::Outgoing> {
        let built = self.cpu.compose.time(|| self.build(d))?;
        let now = (self.sender.clock)().timestamp();
        match self.sender.dkim.clone() {
            None => Ok(built),
            Some(signer) => {
                tokio::task::spawn_blocking(move || message::seal(built, Some(&signer), now))
                    .await
                    .map_err(|e| anyhow::anyhow!("DKIM signing: {e}"))
            }
        }
    }

    /// How many distinct copies were rendered so far.
    pub fn renders(&self) -> usize {
        self.copies.renders()
    }

    /// The unsigned message.
    fn build(&self, d: &Delivery) -> Result<message::Outgoing> {
        let s = self.sender;
        let nl = &s.config.newsletter;
        let variant = Variant::from_column(d.variant.as_deref());
        let copy = self.copies.get(variant.sections.as_deref())?;
        let unsubscribe_url = s
            .tokens
            .unsubscribe_url(&nl.base_url, d.subscriber_id, &d.email);
        // A name that cannot go into a header (stored before names were checked) fails this
        // row with the reason; it never reaches lettre's header encoder.
        let name = match &d.name {
            Some(n) => {
                crate::model::DisplayName::parse(n)?.map(crate::model::DisplayName::into_string)
            }
            None => None,
        };
        let address = d
            .email
            .parse()
            .with_context(|| format!("recipient {:?}", d.email))?;
        let to = lettre::message::Mailbox::new(name, address);
        let token = match &s.config.bounces.address {
            Some(_) if d.id > 0 => Some(s.tokens.verp(d.id)),
            _ => None,
        };
        let verp = match (&s.config.bounces.address, &token) {
            (Some(base), Some(token)) => Some((verp_address(base, token)?, token.as_str())),
            _ => None,
        };
        let personal = Personal {
            email: d.email.clone(),
            name: d.name.clone(),
            unsubscribe_url,
            manage_url: s
                .tokens
                .manage_url(&nl.base_url, d.subscriber_id)
                .unwrap_or_default(),
        };
        let recipient = message::Recipient {
            to: &to,
            message_id: &d.message_id,
            date: (s.clock)().into(),
            unsubscribe_url: Some(&personal.unsubscribe_url),
            unsubscribe_mailto: Some(&self.mailto),
            verp,
        };
        let wants_html = variant.format == MailFormat::Html;
        let frame = &copy.frames[usize::from(wants_html)];
        let filled = copy.prepared.for_recipient(&personal).and_then(|f| {
            let parts = copy.encoded[f.variant()].as_ref()?;
            Some((f, parts))
        });
        match filled {
            Some((f, (html, text))) => {
                let v = f.values();
                let len = text.encoded_len() + if wants_html { html.encoded_len() } else { 0 };
                frame.message(
                    &recipient,
                    len,
                    |out| text.write(&v, out),
                    |out| html.write(&v, out),
                )
            }
            None => {
                let rendered = s.renderer.render_email(&copy.view, &personal)?;
                let text = message::quoted_printable(&rendered.text);
                let html = match wants_html {
                    true => message::quoted_printable(&rendered.html),
                    false => Vec::new(),
                };
                frame.message(
                    &recipient,
                    text.len() + html.len(),
                    |out| out.extend_from_slice(&text),
                    |out| out.extend_from_slice(&html),
                )
            }
        }
    }
}

/// `local+TOKEN@domain` for the configured bounce address `local@domain`.
pub fn verp_address(base: &lettre::Address, token: &str) -> Result<lettre::Address> {
    lettre::Address::new(format!("{}+{token}", base.user()), base.domain())
        .with_context(|| format!("VERP address for {base}"))
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
