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

/// Where one-off mails go (confirmations, review mails): `[delivery] url`, or the relays, those
/// without a quota first, each under its daily quota. The first relay with room takes a mail;
/// one that is spent or cannot be used passes it to the next.
pub struct Mailer {
    relays: Vec<Relay>,
    store: std::sync::Arc<Store>,
}

impl Mailer {
    pub fn new(
        config: &Config,
        store: std::sync::Arc<Store>,
        connections: usize,
    ) -> Result<Mailer> {
        let mut relays = if config.relays.is_empty() {
            vec![Relay {
                name: None,
                transport: Transport::from_url(&config.delivery.url, connections)?,
                max_per_second: config.delivery.max_per_second,
                connections,
                weight: 1.0,
                daily_quota: None,
            }]
        } else {
            config
                .relays
                .iter()
                .map(|r| {
                    Ok(Relay {
                        name: Some(r.name.clone()),
                        transport: Transport::from_url(&r.url, connections)
                            .with_context(|| format!("relay {}", r.name))?,
                        max_per_second: r.max_per_second,
                        connections,
                        weight: r.weight,
                        daily_quota: r.daily_quota,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        };
        relays.sort_by_key(|r| r.daily_quota.is_some());
        Ok(Mailer { relays, store })
    }

    /// Sends one message through the first relay with room that can be used; returns its
    /// reply.
    pub async fn send(
        &self,
        message: &super::message::Outgoing,
        file_name: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, super::SendError> {
        use super::SendError;
        let day = crate::store::day(now);
        let mut last = None;
        for r in &self.relays {
            let reservation = r.reservation(&day);
            if let Some(res) = &reservation {
                match self.store.reserve(res) {
                    Ok(true) => {}
                    Ok(false) => {
                        last = Some(SendError::Unavailable(format!(
                            "relay {}: daily quota spent",
                            r.label()
                        )));
                        continue;
                    }
                    Err(e) => return Err(SendError::Transient(format!("relay quota: {e:#}"))),
                }
            }
            match r.transport.send(message, file_name).await {
                Err(SendError::Unavailable(why)) => {
                    if let Some(res) = &reservation {
                        if let Err(e) = self.store.give_back(res) {
                            tracing::warn!(relay = r.label(), "give back a reservation: {e:#}");
                        }
                    }
                    last = Some(SendError::Unavailable(match &r.name {
                        Some(name) => format!("relay {name}: {why}"),
                        None => why,
                    }));
                }
                done => return done,
            }
        }
        Err(last.unwrap_or_else(|| SendError::Unavailable("no relay configured".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One-off mails go through the relays without a quota first, count against quotas, and
    /// pass a spent relay by; when every relay is spent they are refused, not sent.
    #[tokio::test]
    async fn one_off_mails_are_held_to_the_quotas() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let text = format!(
            "[newsletter]\nname = \"W\"\nfrom = \"w@example.org\"\n\n[[feeds]]\nurl = \"f.xml\"\n\n\
             [[digests]]\nname = \"weekly\"\n\n[[relays]]\nname = \"a\"\nurl = \"file://{d}/a\"\ndaily_quota = 1\n\n\
             [[relays]]\nname = \"b\"\nurl = \"file://{d}/b\"\ndaily_quota = 2\n"
        );
        let config = Config::parse(&text, std::path::Path::new("gazette.toml")).unwrap();
        let store = std::sync::Arc::new(Store::open_in_memory().unwrap());
        let mailer = Mailer::new(&config, store.clone(), 1).unwrap();
        let from: lettre::message::Mailbox = "w@example.org".parse().unwrap();
        let outgoing = super::super::message::build(super::super::message::Email {
            from: &from,
            reply_to: None,
            to: "r@example.net".parse().unwrap(),
            subject: "hi",
            text: "hello".into(),
            html: None,
            message_id: "<hi.1@example.org>",
            date: std::time::SystemTime::UNIX_EPOCH,
            list_id: None,
            unsubscribe_url: None,
            unsubscribe_mailto: None,
            verp: None,
        })
        .unwrap();
        let now = chrono::Utc::now();
        for i in 0..3 {
            let reply = mailer.send(&outgoing, &format!("m{i}.eml"), now).await;
            assert!(reply.is_ok(), "{reply:?}");
        }
        let refused = mailer.send(&outgoing, "m3.eml", now).await;
        assert!(
            matches!(&refused, Err(super::super::SendError::Unavailable(why)) if why.contains("daily quota spent")),
            "{refused:?}"
        );
        let day = crate::store::day(now);
        assert_eq!(store.relay_sent("a", &day).unwrap(), 1);
        assert_eq!(store.relay_sent("b", &day).unwrap(), 2);
        let files = |r: &str| std::fs::read_dir(dir.path().join(r)).unwrap().count();
        assert_eq!((files("a"), files("b")), (1, 2));
    }
}
