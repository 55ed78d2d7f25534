//! The pause rule (`[bounces] pause_above`): an issue whose hard-bounce rate passes it stops
//! sending, its rows still queued, until the operator resumes it (`gazette issues resume`).
//! Hard bounces are the addresses refused during the SMTP session and the hard bounces that
//! came back later (mail, webhooks), whatever their cause: a rate like that puts the sender's
//! reputation at risk, whoever is at fault.
//!
//! The rate is counted in memory as messages go out, and read again from the database (where
//! other processes record late bounces and their own messages) every [`EVERY`], so the send
//! loop's cost stays flat.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::store::{Step, Store};

/// Messages an issue must have tried before its rate is judged.
pub const MIN_TRIED: i64 = 20;

/// How often the rate is read while messages go out.
const EVERY: Duration = Duration::from_secs(2);

/// Watches one issue's hard-bounce rate: the figures in the database (read at start and every
/// [`EVERY`]) plus what this process saw since, counted in memory.
pub struct Watch {
    issue: i64,
    /// None: the rule does not apply (`pause_above = 1`, or the operator resumed the issue).
    above: Option<f64>,
    seen: Mutex<Seen>,
}

struct Seen {
    /// (tried, hard) in the database when last read.
    base: (i64, i64),
    read: Instant,
    /// (tried, hard) of this process since.
    since: (i64, i64),
}

impl Watch {
    pub fn new(sender: &super::Sender<'_>, issue: i64) -> Result<Watch> {
        let above = sender.config.bounces.pause_above;
        let applies = above < 1.0 && !sender.store.pause_exempt(issue)?;
        let base = if applies {
            sender.store.hard_bounces(issue)?
        } else {
            (0, 0)
        };
        Ok(Watch {
            issue,
            above: applies.then_some(above),
            seen: Mutex::new(Seen {
                base,
                read: Instant::now(),
                since: (0, 0),
            }),
        })
    }

    /// Counts one message's outcome; past the limit, pauses the issue and says why.
    pub fn note(&self, store: &Store, step: &Step) -> Result<Option<String>> {
        let Some(above) = self.above else {
            return Ok(None);
        };
        let (tried, hard) = match step {
            Step::Sent { .. } => (1, 0),
            Step::Failed { bounce_after, .. } => (1, i64::from(bounce_after.is_some())),
            _ => (0, 0),
        };
        let (tried, hard) = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.since.0 += tried;
            seen.since.1 += hard;
            if seen.read.elapsed() >= EVERY {
                // Late bounces and other processes' messages are in the database.
                seen.base = store.hard_bounces(self.issue)?;
                seen.read = Instant::now();
                seen.since = (0, 0);
            }
            (seen.base.0 + seen.since.0, seen.base.1 + seen.since.1)
        };
        self.judge(store, above, tried, hard)
    }

    /// Reads the rate from the database; past the limit, pauses the issue and says why.
    pub fn check(&self, store: &Store) -> Result<Option<String>> {
        let Some(above) = self.above else {
            return Ok(None);
        };
        let (tried, hard) = store.hard_bounces(self.issue)?;
        self.judge(store, above, tried, hard)
    }

    fn judge(&self, store: &Store, above: f64, tried: i64, hard: i64) -> Result<Option<String>> {
        if tried < MIN_TRIED || (hard as f64) <= above * tried as f64 {
            return Ok(None);
        }
        let why = format!(
            "hard-bounce rate {:.1}% ({hard} of {tried} tried) passed pause_above {:.1}%",
            100.0 * hard as f64 / tried as f64,
            100.0 * above
        );
        if store.pause_issue(self.issue, &why)? {
            tracing::error!(issue = self.issue, %why, "send paused: check the list (`gazette bounces list`), then `gazette issues resume {}`", self.issue);
            return Ok(Some(why));
        }
        Ok(None)
    }
}

/// The error a paused issue's send ends with.
pub fn paused_message(issue: i64, why: &str) -> String {
    format!(
        "issue {issue} is paused: {why}; its rows stay queued. See `gazette bounces list --issue {issue}`, then `gazette issues resume {issue}` to go on"
    )
}
