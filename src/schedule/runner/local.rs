//! The scheduler for digests with `delivery = "local"` (see `schedule::local`): every zone's
//! slot of an edition is claimed once; the first one claimed also claims the edition and plans
//! its issue (each reader's row waiting for their own slot), the later ones deliver the rows
//! that have come due. An issue whose later zones are not due yet never holds up the next
//! edition's planning.

use anyhow::Result;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{outcome_text, Runner, SlotOutcome};
use crate::config::{DeliveryTime, Digest};
use crate::pipeline::Gazette;
use crate::schedule::local::{self, ZoneSlot};
use crate::schedule::{decide, Due};

/// The time zones a local digest has readers in now.
pub fn zones(g: &Gazette, d: &Digest) -> Result<Vec<Tz>> {
    Ok(local::zones(
        &g.store.reader_zones()?,
        &d.name,
        g.config.newsletter.timezone,
    ))
}

/// The digest's next slot after `now`: its schedule in the newsletter's time zone, or for a
/// local digest the earliest slot of any of its readers' zones.
pub fn next_slot(g: &Gazette, d: &Digest, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match d.delivery {
        DeliveryTime::Newsletter => {
            let tz = g.config.newsletter.timezone;
            crate::schedule::next_runs(&d.cron, tz, now, 1)
                .first()
                .copied()
        }
        DeliveryTime::Local => match zones(g, d) {
            Ok(zones) => local::next_slot(&d.cron, &zones, now),
            Err(e) => {
                tracing::warn!(digest = %d.name, "time zones of the readers: {e:#}");
                None
            }
        },
    }
}

impl Runner<'_> {
    fn zones(&self, d: &Digest) -> Result<Vec<Tz>> {
        zones(self.gazette, d)
    }

    pub(super) fn next_slot(&self, d: &Digest, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        next_slot(self.gazette, d, now)
    }

    /// Runs the zone slots in `(after, now]`, by instant: in each zone only the latest runs (if
    /// younger than `catch_up`), as for any digest.
    pub(super) async fn run_due_local(
        &self,
        d: &Digest,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>, SlotOutcome)>> {
        let zones = self.zones(d)?;
        let due = local::slots_between(&d.cron, &zones, after, now);
        let mut decided: Vec<(ZoneSlot, Due)> = Vec::new();
        for zone in &zones {
            let mine: Vec<ZoneSlot> = due.iter().filter(|s| s.zone == *zone).copied().collect();
            let instants: Vec<DateTime<Utc>> = mine.iter().map(|s| s.at).collect();
            let decisions = decide(&instants, now, d.catch_up);
            decided.extend(mine.into_iter().zip(decisions.into_iter().map(|(_, x)| x)));
        }
        decided.sort_by(|(a, _), (b, _)| (a.at, a.zone.name()).cmp(&(b.at, b.zone.name())));
        let mut out = Vec::new();
        for (slot, decision) in decided {
            if self.stopping() {
                break;
            }
            let outcome = match decision {
                Due::Run => match self.run_zone_slot(d, slot).await {
                    Ok(o) => o,
                    Err(e) => {
                        SlotOutcome::Failed(format!("{}: slot {}: {e:#}", d.name, slot.key()))
                    }
                },
                Due::TooOld => self.skip_key(d, &slot.key(), "missed by more than catch_up")?,
                Due::Superseded => self.skip_key(d, &slot.key(), "superseded by a later slot")?,
            };
            out.push((d.name.clone(), slot.at, outcome));
        }
        Ok(out)
    }

    /// At start: in each zone, the latest slot missed while the server was down (within the
    /// digest's window) runs if it is younger than `catch_up`, else it is skipped.
    pub(super) async fn start_local(
        &self,
        d: &Digest,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>, SlotOutcome)>> {
        let lookback = now - d.window.max(d.catch_up);
        let mut latest: Vec<ZoneSlot> = self
            .zones(d)?
            .iter()
            .filter_map(|z| local::slots_between(&d.cron, &[*z], lookback, now).pop())
            .collect();
        latest.sort_by(|a, b| (a.at, a.zone.name()).cmp(&(b.at, b.zone.name())));
        let mut out = Vec::new();
        for slot in latest {
            if self.stopping() {
                break;
            }
            let outcome = match decide(&[slot.at], now, d.catch_up)[0].1 {
                Due::Run => match self.run_zone_slot(d, slot).await {
                    Ok(o) => o,
                    Err(e) => {
                        SlotOutcome::Failed(format!("{}: slot {}: {e:#}", d.name, slot.key()))
                    }
                },
                _ => self.skip_key(d, &slot.key(), "missed by more than catch_up")?,
            };
            out.push((d.name.clone(), slot.at, outcome));
        }
        Ok(out)
    }

    /// Claims one zone's slot of an edition. The first zone's slot of the edition also claims
    /// the edition and plans its issue (or resumes an unfinished one, as any slot would); a
    /// later zone's slot delivers the edition's rows that are due.
    pub async fn run_zone_slot(&self, d: &Digest, slot: ZoneSlot) -> Result<SlotOutcome> {
        let g = self.gazette;
        let key = slot.key();
        if !g.store.claim_slot(&d.name, &key, None, g.now())? {
            return Ok(SlotOutcome::AlreadyClaimed);
        }
        tracing::info!(digest = %d.name, slot = %key, "local delivery slot");
        let outcome = match self.run_edition(d, slot).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(digest = %d.name, slot = %key, error = %format!("{e:#}"), "slot failed");
                g.store
                    .set_slot_outcome(&d.name, &key, &format!("failed: {e:#}"))?;
                return Err(e);
            }
        };
        let text = outcome_text(&outcome);
        g.store.set_slot_outcome(&d.name, &key, &text)?;
        tracing::info!(digest = %d.name, slot = %key, outcome = %text, "slot done");
        Ok(outcome)
    }

    async fn run_edition(&self, d: &Digest, slot: ZoneSlot) -> Result<SlotOutcome> {
        let g = self.gazette;
        let edition = local::edition_key(slot.edition);
        if g.store.claim_slot(&d.name, &edition, None, g.now())? {
            let outcome = self.build_and_send(d, &edition, Some(slot.edition)).await;
            let text = match &outcome {
                Ok(o) => outcome_text(o),
                Err(e) => format!("failed: {e:#}"),
            };
            g.store.set_slot_outcome(&d.name, &edition, &text)?;
            return outcome;
        }
        // Planned at an earlier zone's slot (or found empty there).
        let Some(issue) = g.store.issue_for_slot(&d.name, &edition)? else {
            return Ok(SlotOutcome::Empty);
        };
        match self.deliver(issue.id).await {
            Ok(c) => Ok(SlotOutcome::Local {
                id: issue.id,
                number: issue.number,
                sent: c.sent,
                failed: c.failed,
            }),
            Err(e) => Ok(self.retrying(issue.id, issue.number, e)),
        }
    }
}
