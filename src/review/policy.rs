//! What happens to an open draft, as a pure function of its policy, status, slot and the time:
//! the one rule `send`, the scheduler's slots and its per-tick pass all follow.

use chrono::{DateTime, Utc};

use super::Status;
use crate::config::ReviewPolicy;

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// `gazette send`: an approved draft goes out at once.
    Send,
    /// The scheduler: an approved draft goes out at its slot.
    Scheduler,
}

/// What to do with the draft now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Write its deliveries and send it; `by_policy`: nobody approved it (`optional`).
    Release { by_policy: bool },
    /// Its slot passed unapproved (`required`): hold it and tell the editors.
    Hold,
    /// Leave it: before its slot, or held until an editor acts.
    Wait,
}

pub fn decide(
    policy: ReviewPolicy,
    status: Status,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
    caller: Caller,
) -> Action {
    let due = now >= slot;
    match status {
        Status::Approved if due || caller == Caller::Send => Action::Release { by_policy: false },
        Status::Draft if due => match policy {
            ReviewPolicy::Required => Action::Hold,
            ReviewPolicy::Optional => Action::Release { by_policy: true },
        },
        _ => Action::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Caller::*;
    use ReviewPolicy::*;

    #[test]
    fn the_rule() {
        let slot = DateTime::parse_from_rfc3339("2026-11-30T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let before = slot - chrono::Duration::minutes(1);
        let cases = [
            (Required, Status::Draft, before, Scheduler, Wait),
            (Required, Status::Draft, before, Send, Wait),
            (Required, Status::Draft, slot, Scheduler, Hold),
            (Required, Status::Draft, slot, Send, Hold),
            (Required, Status::Held, slot, Scheduler, Wait),
            (Required, Status::Approved, before, Scheduler, Wait),
            (
                Required,
                Status::Approved,
                before,
                Send,
                Release { by_policy: false },
            ),
            (
                Required,
                Status::Approved,
                slot,
                Scheduler,
                Release { by_policy: false },
            ),
            (Optional, Status::Draft, before, Send, Wait),
            (
                Optional,
                Status::Draft,
                slot,
                Scheduler,
                Release { by_policy: true },
            ),
            (
                Optional,
                Status::Approved,
                before,
                Send,
                Release { by_policy: false },
            ),
            (Optional, Status::Skipped, slot, Scheduler, Wait),
        ];
        for (policy, status, now, caller, want) in cases {
            assert_eq!(
                decide(policy, status, slot, now, caller),
                want,
                "{policy:?} {status:?} at {now} by {caller:?}"
            );
        }
    }
}
