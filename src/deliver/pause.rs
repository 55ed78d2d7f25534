//! The pause rule (`[bounces] pause_above`): an issue whose hard-bounce rate passes it stops
//! sending, its rows still queued, until the operator resumes it (`gazette issues resume`).
//! Hard bounces are the addresses refused during the SMTP session and the hard bounces that
//! came back later (mail, webhooks), whatever their cause: a rate like that puts the sender's
//! reputation at risk, whoever is at fault.
//!
//! The rate is read from the database (other processes record the late bounces) at most every
//! [`EVERY`] while sending, and at once after a refusal, so the send loop's cost stays flat.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::store::Store;

/// Messages an issue must have tried before its rate is judged.
pub const MIN_TRIED: i64 = 20;

/// How often the rate is read while messages go out.
const EVERY: Duration = Duration::from_secs(2);

/// Watches one issue's hard-bounce rate.
pub struct Watch {
    issue: i64,
    /// None: the rule does not apply (`pause_above = 1`, or the operator resumed the issue).
    above: Option<f64>,
    last: Mutex<Instant>,
}

impl Watch {
    pub fn new(sender: &super::Sender<'_>, issue: i64) -> Result<Watch> {
        let above = sender.config.bounces.pause_above;
        let applies = above < 1.0 && !sender.store.pause_exempt(issue)?;
        Ok(Watch {
            issue,
            above: applies.then_some(above),
            last: Mutex::new(Instant::now()),
        })
    }

    /// Whether it is time to read the rate (always after a refusal).
    pub fn due(&self, refused: bool) -> bool {
        if self.above.is_none() {
            return false;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if refused || last.elapsed() >= EVERY {
            *last = Instant::now();
            return true;
        }
        false
    }

    /// Reads the rate; past the limit, pauses the issue and says why.
    pub fn check(&self, store: &Store) -> Result<Option<String>> {
        let Some(above) = self.above else {
            return Ok(None);
        };
        let (tried, hard) = store.hard_bounces(self.issue)?;
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
