//! Local delivery (`delivery = "local"`): a digest's cron read in each reader's time zone.
//!
//! An *edition* is one firing of the cron as wall-clock time ("Monday 08:00"). Each time zone
//! has its *slot* for it: that wall-clock time there, by the scheduler's DST rules (a time
//! skipped by spring-forward runs at the first valid instant after the gap, a repeated time runs
//! once, at its first occurrence). The edition's issue is planned once, at the earliest slot of
//! the zones its readers live in; each reader's delivery waits for their own zone's slot. Pure
//! functions; the scheduler claims every slot and the edition in the database.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A slot lies within this of its edition's wall-clock time read as UTC (zone offsets run from
/// -12h to +14h; a DST gap moves a slot by at most its length).
const REACH: Duration = Duration::hours(36);

/// Editions enumerated at most, for safety.
const MAX_EDITIONS: usize = 10_000;

/// The instant of `edition` in `zone`.
pub fn slot(edition: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    if let Some(t) = zone.from_local_datetime(&edition).earliest() {
        return t.with_timezone(&Utc);
    }
    // In a spring-forward gap: the first valid minute after it.
    let mut t = edition;
    for _ in 0..24 * 60 {
        t += Duration::minutes(1);
        if let Some(valid) = zone.from_local_datetime(&t).earliest() {
            return valid.with_timezone(&Utc);
        }
    }
    edition.and_utc()
}

/// One zone's slot of one edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneSlot {
    pub zone: Tz,
    pub edition: NaiveDateTime,
    pub at: DateTime<Utc>,
}

impl ZoneSlot {
    /// The key this zone's slot is claimed under: `2027-03-15T12:00:00Z America/New_York`.
    pub fn key(&self) -> String {
        format!("{} {}", super::slot_key(self.at), self.zone.name())
    }
}

/// The key an edition is claimed (planned) and its issue stored under: `2027-03-15T08:00 local`.
pub fn edition_key(edition: NaiveDateTime) -> String {
    format!("{} local", edition.format("%Y-%m-%dT%H:%M"))
}

/// The cron's editions (as wall-clock times) after `after`, in order.
fn editions(cron: &croner::Cron, after: NaiveDateTime) -> impl Iterator<Item = NaiveDateTime> + '_ {
    let mut t = Utc.from_utc_datetime(&after);
    std::iter::from_fn(move || {
        let next = cron.find_next_occurrence(&t, false).ok()?;
        t = next;
        Some(next.naive_utc())
    })
    .take(MAX_EDITIONS)
}

/// Every slot of every zone in `(after, until]`, by instant (then zone name).
pub fn slots_between(
    cron: &croner::Cron,
    zones: &[Tz],
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<ZoneSlot> {
    let last = (until + REACH).naive_utc();
    let mut out: Vec<ZoneSlot> = editions(cron, (after - REACH).naive_utc())
        .take_while(|e| *e <= last)
        .flat_map(|edition| {
            zones.iter().map(move |&zone| ZoneSlot {
                zone,
                edition,
                at: slot(edition, zone),
            })
        })
        .filter(|s| s.at > after && s.at <= until)
        .collect();
    out.sort_by(|a, b| (a.at, a.zone.name()).cmp(&(b.at, b.zone.name())));
    out
}

/// The next `count` editions after `from` with their zones' slots (each edition's slots in
/// order; editions whose every slot is past are left out).
pub fn next_editions(
    cron: &croner::Cron,
    zones: &[Tz],
    from: DateTime<Utc>,
    count: usize,
) -> Vec<(NaiveDateTime, Vec<ZoneSlot>)> {
    let mut out = Vec::new();
    for edition in editions(cron, (from - REACH).naive_utc()) {
        if out.len() >= count {
            break;
        }
        let mut slots: Vec<ZoneSlot> = zones
            .iter()
            .map(|&zone| ZoneSlot {
                zone,
                edition,
                at: slot(edition, zone),
            })
            .filter(|s| s.at > from)
            .collect();
        if slots.is_empty() {
            continue;
        }
        slots.sort_by(|a, b| (a.at, a.zone.name()).cmp(&(b.at, b.zone.name())));
        out.push((edition, slots));
    }
    out
}

/// An edition's first slot across `zones` (`None` without zones).
pub fn first_slot(edition: NaiveDateTime, zones: &[Tz]) -> Option<DateTime<Utc>> {
    zones.iter().map(|&zone| slot(edition, zone)).min()
}

/// The next `count` editions whose first zone's slot is after `from`, each with that slot: the
/// deadlines of a reviewed local digest's drafts (an edition already under way is not next).
pub fn next_first_slots(
    cron: &croner::Cron,
    zones: &[Tz],
    from: DateTime<Utc>,
    count: usize,
) -> Vec<(NaiveDateTime, DateTime<Utc>)> {
    editions(cron, (from - REACH).naive_utc())
        .filter_map(|edition| first_slot(edition, zones).map(|at| (edition, at)))
        .filter(|(_, at)| *at > from)
        .take(count)
        .collect()
}

/// The edition an [`edition_key`] names.
pub fn parse_edition_key(key: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(key.strip_suffix(" local")?, "%Y-%m-%dT%H:%M").ok()
}

/// The earliest slot of any zone after `from`.
pub fn next_slot(cron: &croner::Cron, zones: &[Tz], from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    next_editions(cron, zones, from, 2)
        .iter()
        .flat_map(|(_, s)| s.first().map(|s| s.at))
        .min()
}

/// The time zones a local digest delivers in: those of its confirmed readers (`None`: the
/// newsletter's), sorted; the newsletter's alone when it has no readers.
pub fn zones(readers: &[(Option<String>, Vec<String>)], digest: &str, default: Tz) -> Vec<Tz> {
    let mut zones: Vec<Tz> = readers
        .iter()
        .filter(|(_, digests)| digests.is_empty() || digests.iter().any(|d| d == digest))
        .map(|(z, _)| z.as_deref().and_then(|z| z.parse().ok()).unwrap_or(default))
        .collect();
    if zones.is_empty() {
        zones.push(default);
    }
    zones.sort_by_key(|z| z.name());
    zones.dedup();
    zones
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::parse_schedule;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn tz(s: &str) -> Tz {
        s.parse().unwrap()
    }

    #[test]
    fn each_zone_gets_its_own_eight_oclock_across_the_us_change() {
        // New York moves to EDT on 14 March 2027; Berlin and Tokyo do not change that week.
        let cron = parse_schedule("0 8 * * *").unwrap();
        let zones = [
            tz("Asia/Tokyo"),
            tz("Europe/Berlin"),
            tz("America/New_York"),
        ];
        let slots = slots_between(
            &cron,
            &zones,
            utc("2027-03-13T00:00:00Z"),
            utc("2027-03-15T00:00:00Z"),
        );
        let got: Vec<(String, &str)> = slots
            .iter()
            .map(|s| (super::super::slot_key(s.at), s.zone.name()))
            .collect();
        let want = [
            ("2027-03-13T07:00:00Z", "Europe/Berlin"),
            ("2027-03-13T13:00:00Z", "America/New_York"),
            ("2027-03-13T23:00:00Z", "Asia/Tokyo"),
            ("2027-03-14T07:00:00Z", "Europe/Berlin"),
            ("2027-03-14T12:00:00Z", "America/New_York"),
            ("2027-03-14T23:00:00Z", "Asia/Tokyo"),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(a, b)| (a.to_string(), *b))
                .collect::<Vec<_>>()
        );
        // The Tokyo slot of 14 March's edition was on the 13th (UTC).
        assert_eq!(
            slots[2].edition,
            chrono::NaiveDate::from_ymd_opt(2027, 3, 14)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap()
        );
    }

    #[test]
    fn gaps_and_repeats_follow_the_scheduler() {
        let at = |d: &str| chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M").unwrap();
        // Berlin skips 02:00–03:00 on 29 March 2026: 02:30 runs at 03:00 CEST.
        assert_eq!(
            slot(at("2026-03-29 02:30"), tz("Europe/Berlin")),
            utc("2026-03-29T01:00:00Z")
        );
        // New York repeats 01:00–02:00 on 1 November 2026: 01:30 runs once, in EDT.
        assert_eq!(
            slot(at("2026-11-01 01:30"), tz("America/New_York")),
            utc("2026-11-01T05:30:00Z")
        );
    }

    #[test]
    fn the_first_zone_plans_and_readers_pick_the_zones() {
        let cron = parse_schedule("0 8 * * MON").unwrap();
        let zones = [tz("Asia/Tokyo"), tz("America/New_York")];
        let next = next_editions(&cron, &zones, utc("2027-03-10T00:00:00Z"), 2);
        assert_eq!(next.len(), 2);
        assert_eq!(next[0].1[0].at, utc("2027-03-14T23:00:00Z"));
        assert_eq!(next[0].1[1].at, utc("2027-03-15T12:00:00Z"));
        assert_eq!(edition_key(next[0].0), "2027-03-15T08:00 local");
        assert_eq!(
            next_slot(&cron, &zones, utc("2027-03-15T00:00:00Z")),
            Some(utc("2027-03-15T12:00:00Z"))
        );
        let readers = vec![
            (Some("Asia/Tokyo".to_string()), vec![]),
            (None, vec!["weekly".to_string()]),
            (Some("Europe/Paris".to_string()), vec!["daily".to_string()]),
        ];
        let got = super::zones(&readers, "weekly", tz("America/New_York"));
        assert_eq!(got, [tz("America/New_York"), tz("Asia/Tokyo")]);
        assert_eq!(
            super::zones(&[], "weekly", tz("UTC")),
            [tz("UTC")],
            "no readers: the newsletter's zone"
        );
    }

    #[test]
    fn an_edition_key_reads_back_and_first_slots_skip_an_edition_under_way() {
        let cron = parse_schedule("0 8 * * *").unwrap();
        let e = NaiveDateTime::parse_from_str("2027-03-13T08:00", "%Y-%m-%dT%H:%M").unwrap();
        assert_eq!(parse_edition_key(&edition_key(e)), Some(e));
        assert_eq!(parse_edition_key("2027-03-13T08:00:00Z"), None);
        let zones = [tz("Asia/Tokyo"), tz("America/New_York")];
        // 13 March: Tokyo 08:00 is 12 March 23:00 UTC; New York's is 13:00 UTC. At 10:00 UTC
        // on the 13th that edition is under way, so the next first slot is the 14th's Tokyo.
        let next = next_first_slots(&cron, &zones, utc("2027-03-13T10:00:00Z"), 2);
        assert_eq!(next[0].1, utc("2027-03-13T23:00:00Z"));
        assert_eq!(next[0].0, e + Duration::days(1));
        assert_eq!(next[1].1, utc("2027-03-14T23:00:00Z"));
        assert_eq!(first_slot(e, &zones), Some(utc("2027-03-12T23:00:00Z")));
        assert_eq!(first_slot(e, &[]), None);
    }
}
