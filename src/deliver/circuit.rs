//! The send loop over the relays: passes over the due rows until none is left, each relay
//! behind its own circuit breaker. A relay that cannot be used rests (a doubling wait) while the
//! others take its share, and after `max_attempts` outages in a row the run stops using it; a
//! relay whose daily quota is spent is skipped; when every relay is spent the rows stay queued.

use anyhow::Result;

use super::{backoff, pause, Composer, Patience, Relay, Sender};

/// How one relay's part of a pass ended.
pub(super) enum End {
    /// It took rows until none was left for it; `worked`: at least one message was accepted.
    Done { worked: bool },
    /// It could not be used (see `Outage`): why.
    Outage(String),
    /// Its daily quota ran out.
    Spent,
}

/// How a pass ended: each relay's end, and why the issue stopped (its pause rule), if it did.
pub(super) struct PassEnd {
    pub(super) relays: Vec<End>,
    pub(super) halt: Option<String>,
}

/// A relay's circuit breaker across the passes of one run: after an outage it rests (a
/// doubling wait) while the others carry its share, and after `max_attempts` outages in a row
/// this run gives up on it.
#[derive(Default)]
struct Circuit {
    outages: i64,
    rest_until: Option<tokio::time::Instant>,
    gave_up: bool,
    reason: Option<String>,
}

impl Sender<'_> {
    /// Passes over the due rows through the relays that can take them, until no row is due
    /// (with [`Patience::UntilDone`], waiting for rows due later), every relay's quota is spent
    /// (the rows stay queued), or no relay can be used (an error; the rows stay queued).
    pub(super) async fn passes(
        &self,
        issue_id: i64,
        composer: &Composer<'_>,
        watch: &pause::Watch,
    ) -> Result<()> {
        anyhow::ensure!(!self.relays.is_empty(), "no relay to send through");
        let mut due_by = (self.clock)();
        let mut circuits: Vec<Circuit> = self.relays.iter().map(|_| Circuit::default()).collect();
        let mut recorded: std::collections::HashSet<String> = self
            .store
            .relay_pauses()?
            .into_iter()
            .map(|p| p.relay)
            .collect();
        loop {
            if self.stopping() {
                return Ok(());
            }
            let day = crate::store::day((self.clock)());
            let now = tokio::time::Instant::now();
            let (mut usable, mut spent, mut resting) = (Vec::new(), Vec::new(), None);
            for (i, (r, c)) in self.relays.iter().zip(&circuits).enumerate() {
                if c.gave_up {
                    continue;
                }
                if r.spent(&self.store, &day)? {
                    spent.push(r.label());
                    continue;
                }
                match c.rest_until {
                    Some(t) if t > now => {
                        resting = Some(resting.map_or(t, |w: tokio::time::Instant| w.min(t)))
                    }
                    _ => usable.push(i),
                }
            }
            if usable.is_empty() {
                let queued = self.store.delivery_counts(issue_id)?.queued;
                if let Some(until) = resting {
                    if self.patience == Patience::OnePass {
                        anyhow::bail!(
                            "{}; {queued} deliveries stay queued (tried again within a minute)",
                            self.outage_reasons(&circuits)
                        );
                    }
                    self.pause(until - now).await;
                    due_by = (self.clock)();
                    continue;
                }
                if !spent.is_empty() {
                    // Said once by `send`; the scheduler comes back every minute, so quietly.
                    if queued > 0 && self.patience == Patience::UntilDone {
                        tracing::warn!(
                            issue = issue_id,
                            relays = spent.join(", "),
                            queued,
                            "the daily quota of every relay is spent; the rows stay queued until it resets at midnight UTC"
                        );
                    }
                    return Ok(());
                }
                anyhow::bail!("{}", self.unavailable(&circuits, queued));
            }
            let end = self
                .pass(issue_id, composer, due_by, watch, &usable)
                .await?;
            if let Some(why) = end.halt {
                if let Some(paused) = self.store.paused(issue_id)? {
                    anyhow::bail!("{}", pause::paused_message(issue_id, &paused));
                }
                anyhow::bail!("{why}");
            }
            let mut trouble = false;
            for (&i, end) in usable.iter().zip(end.relays) {
                let relay = &self.relays[i];
                match end {
                    End::Outage(reason) => {
                        trouble = true;
                        self.open_circuit(issue_id, relay, &mut circuits[i], reason)?;
                    }
                    End::Spent => trouble = true,
                    End::Done { worked } => {
                        circuits[i].outages = 0;
                        circuits[i].rest_until = None;
                        if let (true, Some(name)) = (worked, &relay.name) {
                            if recorded.remove(name) {
                                self.store.relay_works(name)?;
                            }
                        }
                    }
                }
                if let (Some(name), true) = (&relay.name, circuits[i].outages > 0) {
                    recorded.insert(name.clone());
                }
            }
            // A relay stopped: the others take its rows (and those it gave back) at once.
            if trouble {
                continue;
            }
            if self.patience == Patience::OnePass {
                return Ok(());
            }
            // Rows another live process holds: it sends them, or, if it died, they are free
            // when its lease ends. Looked at again each second (the clock here is real time,
            // as leases are).
            // (Asked first: it lets go of the rows of a process on this host that is gone.)
            let held = self.store.held_elsewhere(issue_id)?;
            let retry = self.store.next_retry(issue_id)?;
            if let (None, Some(held)) = (retry, held) {
                if self.stopping() {
                    return Ok(());
                }
                let wait = (held - chrono::Utc::now()).to_std().unwrap_or_default();
                tracing::debug!(issue = issue_id, ?wait, "rows held by another sender");
                self.pause(wait.clamp(
                    std::time::Duration::from_millis(100),
                    std::time::Duration::from_secs(1),
                ))
                .await;
                continue;
            }
            // Rows requeued after a transient failure are due later; wait for the first one.
            let Some(due) = retry else {
                return Ok(());
            };
            if self.stopping() {
                return Ok(());
            }
            let now = (self.clock)();
            let wait = (due - now).to_std().unwrap_or_default();
            if !wait.is_zero() {
                tracing::info!(issue = issue_id, wait = ?wait, "transient failures; waiting to retry");
                self.pause(wait).await;
            }
            // Measured against the waited-for time too, so that a pinned clock still advances.
            due_by = due.max(now);
        }
    }

    /// The circuit breaker: a relay that cannot be used rests (a doubling wait) instead of
    /// spending every row's attempts, while the other relays take its share; after
    /// `max_attempts` outages in a row this run stops using it. Recorded for `gazette status`.
    fn open_circuit(
        &self,
        issue_id: i64,
        relay: &Relay,
        c: &mut Circuit,
        reason: String,
    ) -> Result<()> {
        c.outages += 1;
        let now = (self.clock)();
        c.gave_up = c.outages >= i64::from(self.config.delivery.max_attempts.max(1));
        let wait = (!c.gave_up).then(|| backoff(self.config.delivery.backoff_base(), c.outages));
        c.rest_until = wait.map(|w| tokio::time::Instant::now() + w);
        match (&relay.name, wait) {
            (None, Some(wait)) => {
                tracing::warn!(issue = issue_id, %reason, ?wait, "SMTP server unavailable; sending paused")
            }
            (Some(name), Some(wait)) => {
                tracing::warn!(issue = issue_id, relay = %name, %reason, ?wait, "relay unavailable; paused, its share goes to the other relays")
            }
            (_, None) => {
                tracing::warn!(issue = issue_id, relay = relay.label(), %reason, outages = c.outages, "relay unavailable; not used again by this run")
            }
        }
        if let Some(name) = &relay.name {
            let until = wait
                .and_then(|w| chrono::Duration::from_std(w).ok())
                .map(|w| now + w);
            self.store.pause_relay(name, &reason, now, until)?;
        }
        c.reason = Some(reason);
        Ok(())
    }

    /// Why the relays are resting.
    fn outage_reasons(&self, circuits: &[Circuit]) -> String {
        let reasons: Vec<String> = self
            .relays
            .iter()
            .zip(circuits)
            .filter_map(|(r, c)| match (&r.name, &c.reason) {
                (None, Some(why)) => Some(why.clone()),
                (Some(name), Some(why)) => Some(format!("relay {name}: {why}")),
                _ => None,
            })
            .collect();
        reasons.join("; ")
    }

    /// The error when no relay can be used any more.
    fn unavailable(&self, circuits: &[Circuit], queued: i64) -> String {
        if let ([r], [c]) = (self.relays, circuits) {
            if r.name.is_none() {
                return format!(
                    "SMTP server unavailable after {} tries: {}; {queued} deliveries stay queued (`gazette send` resumes them)",
                    c.outages,
                    c.reason.as_deref().unwrap_or("?")
                );
            }
        }
        let each: Vec<String> = self
            .relays
            .iter()
            .zip(circuits)
            .map(|(r, c)| {
                format!(
                    "relay {} unavailable after {} tries: {}",
                    r.label(),
                    c.outages,
                    c.reason.as_deref().unwrap_or("?")
                )
            })
            .collect();
        format!(
            "{}; {queued} deliveries stay queued (`gazette send` resumes them)",
            each.join("; ")
        )
    }
}
