//! Schedule: when each digest's issues go out. Cron expressions are read in the newsletter's
//! time zone (croner + chrono-tz, DST-aware: a time skipped by spring-forward runs once at the
//! next valid instant, a time repeated by fall-back runs once). Pure functions of `now`; the
//! long-running loop is in `runner`.

pub mod bounces;
pub mod health;
pub mod local;
pub mod runner;

use chrono::{DateTime, SubsecRound, Utc};
use chrono_tz::Tz;

/// The next `count` run instants strictly after `from`.
pub fn next_runs(
    cron: &croner::Cron,
    tz: Tz,
    from: DateTime<Utc>,
    count: usize,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::with_capacity(count);
    let mut t = from.trunc_subsecs(0).with_timezone(&tz);
    while out.len() < count {
        match cron.find_next_occurrence(&t, false) {
            Ok(next) => {
                out.push(next.with_timezone(&Utc));
                t = next;
            }
            Err(_) => break,
        }
    }
    out
}

/// Every run instant in `(after, until]`, oldest first (bounded, for safety, to 1,000).
pub fn runs_between(
    cron: &croner::Cron,
    tz: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut t = after.trunc_subsecs(0).with_timezone(&tz);
    while out.len() < 1000 {
        match cron.find_next_occurrence(&t, false) {
            Ok(next) if next.with_timezone(&Utc) <= until => {
                out.push(next.with_timezone(&Utc));
                t = next;
            }
            _ => break,
        }
    }
    out
}

/// The latest run instant at or before `now`.
pub fn previous_run(cron: &croner::Cron, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_previous_occurrence(&now.trunc_subsecs(0).with_timezone(&tz), true)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// What to do with a slot that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Run it now.
    Run,
    /// Missed by more than `catch_up`: skip it, and log that.
    TooOld,
    /// A later slot of the same digest is also due: only the latest runs.
    Superseded,
}

/// Decides each due slot of one digest: the latest runs if it is less than `catch_up` old;
/// every earlier one is superseded.
pub fn decide(
    due: &[DateTime<Utc>],
    now: DateTime<Utc>,
    catch_up: chrono::Duration,
) -> Vec<(DateTime<Utc>, Due)> {
    let last = due.len().saturating_sub(1);
    due.iter()
        .enumerate()
        .map(|(i, &slot)| {
            let d = if i < last {
                Due::Superseded
            } else if now - slot <= catch_up {
                Due::Run
            } else {
                Due::TooOld
            };
            (slot, d)
        })
        .collect()
}

/// The key a slot is stored under.
pub fn slot_key(slot: DateTime<Utc>) -> String {
    slot.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_schedule;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn local(tz: Tz, runs: &[DateTime<Utc>]) -> Vec<String> {
        runs.iter()
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string())
            .collect()
    }

    #[test]
    fn weekly_monday_8am_new_york_across_the_november_change() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let cron = parse_schedule("0 8 * * MON").unwrap();
        let runs = next_runs(&cron, tz, utc("2026-10-25T00:00:00Z"), 3);
        assert_eq!(
            local(tz, &runs),
            [
                "2026-10-26 08:00 EDT",
                "2026-11-02 08:00 EST",
                "2026-11-09 08:00 EST"
            ]
        );
        assert_eq!(runs[0], utc("2026-10-26T12:00:00Z"));
        assert_eq!(runs[1], utc("2026-11-02T13:00:00Z"));
    }

    #[test]
    fn spring_forward_gap_runs_once_at_the_next_valid_instant() {
        // Europe/Berlin skips 02:00–03:00 on 29 March 2026.
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let cron = parse_schedule("30 2 * * *").unwrap();
        let runs = next_runs(&cron, tz, utc("2026-03-27T12:00:00Z"), 4);
        assert_eq!(
            local(tz, &runs),
            [
                "2026-03-28 02:30 CET",
                "2026-03-29 03:00 CEST",
                "2026-03-30 02:30 CEST",
                "2026-03-31 02:30 CEST"
            ]
        );
        // America/New_York skips 02:00–03:00 on 8 March 2026.
        let ny: Tz = "America/New_York".parse().unwrap();
        let runs = next_runs(&cron, ny, utc("2026-03-07T12:00:00Z"), 2);
        assert_eq!(
            local(ny, &runs),
            ["2026-03-08 03:00 EDT", "2026-03-09 02:30 EDT"]
        );
    }

    #[test]
    fn fall_back_repeated_hour_runs_once() {
        // America/New_York repeats 01:00–02:00 on 1 November 2026.
        let tz: Tz = "America/New_York".parse().unwrap();
        let cron = parse_schedule("30 1 * * *").unwrap();
        let runs = runs_between(
            &cron,
            tz,
            utc("2026-10-31T12:00:00Z"),
            utc("2026-11-02T12:00:00Z"),
        );
        assert_eq!(
            local(tz, &runs),
            ["2026-11-01 01:30 EDT", "2026-11-02 01:30 EST"]
        );
        // Europe/Berlin repeats 02:00–03:00 on 25 October 2026.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let cron = parse_schedule("30 2 * * *").unwrap();
        let runs = runs_between(
            &cron,
            berlin,
            utc("2026-10-24T12:00:00Z"),
            utc("2026-10-26T12:00:00Z"),
        );
        assert_eq!(
            local(berlin, &runs),
            ["2026-10-25 02:30 CEST", "2026-10-26 02:30 CET"]
        );
    }

    #[test]
    fn only_the_latest_missed_slot_runs_and_only_within_catch_up() {
        let now = utc("2026-11-27T12:00:00Z");
        let due = [utc("2026-11-27T02:00:00Z"), utc("2026-11-27T08:00:00Z")];
        let d = decide(&due, now, chrono::Duration::hours(12));
        assert_eq!(d, [(due[0], Due::Superseded), (due[1], Due::Run)]);
        let d = decide(&due[1..], now, chrono::Duration::hours(3));
        assert_eq!(d, [(due[1], Due::TooOld)]);
    }
}
