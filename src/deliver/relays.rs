//! The relays an issue is sent through: each `[[relays]]` table of the digest with its own
//! transport (a pool of `connections`), pace, share and daily quota; or, without `[[relays]]`,
//! `[delivery] url` as the one unnamed relay (no quota, nothing recorded per relay).

use anyhow::{Context, Result};

use super::Transport;
use crate::config::Config;
use crate::store::{Reservation, Store};

/// One relay, opened.
pub struct Relay {
    /// The `[[relays]]` name; `None` for `[delivery] url`.
    pub name: Option<String>,
    pub transport: Transport,
    pub max_per_second: f64,
    pub connections: usize,
    pub weight: f64,
    pub daily_quota: Option<i64>,
}

impl Relay {
    /// The relays of `digest`: those it names, else every `[[relays]]`, else `[delivery] url`.
    pub fn for_digest(config: &Config, digest: &str) -> Result<Vec<Relay>> {
        if config.relays.is_empty() {
            let d = &config.delivery;
            return Ok(vec![Relay {
                name: None,
                transport: Transport::from_url(&d.url, d.connections)?,
                max_per_second: d.max_per_second,
                connections: d.connections.max(1),
                weight: 1.0,
                daily_quota: None,
            }]);
        }
        config
            .relays_of(digest)
            .into_iter()
            .map(|r| {
                Ok(Relay {
                    name: Some(r.name.clone()),
                    transport: Transport::from_url(&r.url, r.connections)
                        .with_context(|| format!("relay {}", r.name))?,
                    max_per_second: r.max_per_second,
                    connections: r.connections.max(1),
                    weight: r.weight,
                    daily_quota: r.daily_quota,
                })
            })
            .collect()
    }

    /// How messages and logs name it.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("delivery.url")
    }

    /// The reservation a claim through this relay makes on `day` (none for `[delivery] url`).
    pub fn reservation(&self, day: &str) -> Option<Reservation> {
        self.name.as_ref().map(|name| Reservation {
            relay: name.clone(),
            day: day.to_string(),
            quota: self.daily_quota,
        })
    }

    /// Whether its quota for `day` is used up.
    pub fn spent(&self, store: &Store, day: &str) -> Result<bool> {
        match (&self.name, self.daily_quota) {
            (Some(name), Some(quota)) => Ok(store.relay_sent(name, day)? >= quota),
            _ => Ok(false),
        }
    }
}

/// The relays of `digest` whose daily quota is spent on the day of `now` (names), and whether
/// that is every relay of the digest.
pub fn spent_relays(
    config: &Config,
    store: &Store,
    digest: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<String>, bool)> {
    let day = crate::store::day(now);
    let relays = config.relays_of(digest);
    let mut spent = Vec::new();
    for r in &relays {
        if let Some(quota) = r.daily_quota {
            if store.relay_sent(&r.name, &day)? >= quota {
                spent.push(r.name.clone());
            }
        }
    }
    let all = !relays.is_empty() && spent.len() == relays.len();
    Ok((spent, all))
}

/// When the quotas reset: the next midnight UTC after `now`.
pub fn quota_resets(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}
