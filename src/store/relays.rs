//! Named relays in the database: messages handed to each relay per UTC day (`relay_usage`, the
//! count its `daily_quota` is held to; reserved with each claim, see `deliveries`), and the
//! relays a sender found unusable (`relay_pauses`), for `gazette status`.

use super::db::{params, OptionalExtension, Sql};
use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{parse_ts, ts, Store};

/// The UTC day a time falls on, as `relay_usage` keys it.
pub fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// One relay's count for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayUsage {
    pub relay: String,
    pub day: String,
    pub sent: i64,
}

/// A relay a sender found unusable, and until when it waits before trying it again (`None`: it
/// gave up on the relay for that run).
#[derive(Debug, Clone)]
pub struct RelayPause {
    pub relay: String,
    pub reason: String,
    pub since: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    pub owner: Option<String>,
}

impl Store {
    /// Messages handed to `relay` on `day` (reserved, and not given back).
    pub fn relay_sent(&self, relay: &str, day: &str) -> Result<i64> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT sent FROM relay_usage WHERE relay = ?1 AND day = ?2",
                params![relay, day],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// Every relay's count for `day`.
    pub fn relay_usage(&self, day: &str) -> Result<Vec<RelayUsage>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT relay, day, sent FROM relay_usage WHERE day = ?1 ORDER BY relay",
        )?;
        let rows = stmt.query_map([day], |r| {
            Ok(RelayUsage {
                relay: r.get(0)?,
                day: r.get(1)?,
                sent: r.get(2)?,
            })
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// Counts one message (a one-off mail, outside any issue) against a relay's day, unless its
    /// quota is spent; whether it did.
    pub fn reserve(&self, r: &super::Reservation) -> Result<bool> {
        self.write(|tx| super::deliveries::reserve(tx, r))
    }

    /// Gives back a reservation whose message was never tried.
    pub fn give_back(&self, r: &super::Reservation) -> Result<()> {
        self.write(|tx| super::deliveries::give_back(tx, r))
    }

    /// Records that `relay` could not be used (kept until it works again).
    pub fn pause_relay(
        &self,
        relay: &str,
        reason: &str,
        now: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let owner = super::leases::Owner::current_key();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO relay_pauses (relay, reason, since, until, owner) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (relay) DO UPDATE SET reason = ?2, until = ?4, owner = ?5",
                params![relay, reason, ts(now), until.map(ts), owner],
            )?;
            Ok(())
        })
    }

    /// `relay` worked: it is no longer paused.
    pub fn relay_works(&self, relay: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM relay_pauses WHERE relay = ?1", [relay])?;
            Ok(())
        })
    }

    /// The relays recorded as paused.
    pub fn relay_pauses(&self) -> Result<Vec<RelayPause>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT relay, reason, since, until, owner FROM relay_pauses ORDER BY relay",
        )?;
        let rows = stmt.query_map(params![], |r| {
            Ok(RelayPause {
                relay: r.get(0)?,
                reason: r.get(1)?,
                since: parse_ts(&r.get::<_, String>(2)?),
                until: r.get::<_, Option<String>>(3)?.map(|t| parse_ts(&t)),
                owner: r.get(4)?,
            })
        })?;
        rows.collect::<Result<_, _>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_issue_with as issue_with;
    use crate::store::{Applied, Claim, Reservation, Step};

    fn claim(store: &Store, id: i64, quota: Option<i64>, day: &str) -> Claim {
        let relay = Some(Reservation {
            relay: "a".into(),
            day: day.into(),
            quota,
        });
        match store
            .apply(&[Step::Claim { id, relay }], Utc::now())
            .unwrap()
            .pop()
        {
            Some(Applied::Claim(c)) => c,
            other => panic!("{other:?}"),
        }
    }

    /// A row handed to a live sender counts as `sending`, never as `unknown`: only a row
    /// found in doubt (`Step::Unknown`, or taken over from a dead sender) is unknown.
    #[test]
    fn rows_in_flight_are_sending_not_unknown() {
        let store = Store::open_in_memory().unwrap();
        let ids = issue_with(&store, 3);
        assert_eq!(claim(&store, ids[0], None, "2026-12-06"), Claim::Claimed);
        let i = store.issue(1).unwrap().unwrap();
        assert_eq!((i.queued, i.sending, i.unknown), (2, 1, 0));
    }

    /// The quota is reserved with the claim: the third claim of a quota of two is refused and
    /// its row stays queued; a new day has a new count; a reservation given back frees a
    /// message; a row that is not claimed reserves nothing.
    #[test]
    fn a_quota_is_reserved_with_the_claim_and_given_back() {
        let store = Store::open_in_memory().unwrap();
        let ids = issue_with(&store, 5);
        assert_eq!(claim(&store, ids[0], Some(2), "2026-12-06"), Claim::Claimed);
        assert_eq!(claim(&store, ids[1], Some(2), "2026-12-06"), Claim::Claimed);
        assert_eq!(
            claim(&store, ids[2], Some(2), "2026-12-06"),
            Claim::QuotaSpent
        );
        assert_eq!(store.relay_sent("a", "2026-12-06").unwrap(), 2);
        let all = store.deliveries(1).unwrap();
        assert_eq!(all[2].status, crate::model::DeliveryStatus::Queued);
        assert_eq!(all[2].attempts, 0);
        assert_eq!(all[0].relay.as_deref(), Some("a"));
        // Already claimed: not claimed again, and the reservation is given back.
        assert_eq!(claim(&store, ids[0], None, "2026-12-06"), Claim::Gone);
        assert_eq!(store.relay_sent("a", "2026-12-06").unwrap(), 2);
        // The next day counts from zero.
        assert_eq!(claim(&store, ids[2], Some(2), "2026-12-07"), Claim::Claimed);
        assert_eq!(store.relay_sent("a", "2026-12-07").unwrap(), 1);
        // Given back: a message of the day is free again.
        let r = Reservation {
            relay: "a".into(),
            day: "2026-12-06".into(),
            quota: Some(2),
        };
        store.apply(&[Step::GiveBack(r)], Utc::now()).unwrap();
        assert_eq!(store.relay_sent("a", "2026-12-06").unwrap(), 1);
        assert_eq!(claim(&store, ids[3], Some(2), "2026-12-06"), Claim::Claimed);
        assert_eq!(
            store.relay_usage("2026-12-06").unwrap(),
            vec![RelayUsage {
                relay: "a".into(),
                day: "2026-12-06".into(),
                sent: 2
            }]
        );
    }

    #[test]
    fn a_pause_is_kept_until_the_relay_works() {
        let store = Store::open_in_memory().unwrap();
        let now = Utc::now();
        store
            .pause_relay("a", "connection refused", now, None)
            .unwrap();
        let p = store.relay_pauses().unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].reason, "connection refused");
        store.relay_works("a").unwrap();
        assert!(store.relay_pauses().unwrap().is_empty());
    }
}
