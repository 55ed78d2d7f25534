//! `[[relays]]` validated: named SMTP relays (or outboxes), each with its own pace, connections,
//! share (`weight`) and optional daily quota. When any is configured, `[delivery] url` is
//! ignored (with a warning) and every digest sends through its `relays` (default: all of them).

use serde::Deserialize;

use super::raw::{RawConfig, RawDelivery};
use super::Report;

/// One `[[relays]]` table as written.
#[derive(Clone, Deserialize)]
pub struct RawRelay {
    #[serde(default)]
    pub name: String,
    /// Same forms as `[delivery] url`.
    #[serde(default)]
    pub url: String,
    /// Default: `[delivery] max_per_second`.
    pub max_per_second: Option<f64>,
    /// Messages per UTC day at most, counted in the database across processes; absent: no quota.
    pub daily_quota: Option<i64>,
    /// Default: `[delivery] connections`.
    pub connections: Option<usize>,
    /// This relay's share of a digest's messages, relative to the other relays' weights.
    #[serde(default = "default_weight")]
    pub weight: f64,
}

fn default_weight() -> f64 {
    1.0
}

/// A URL may hold a password: never printed.
impl std::fmt::Debug for RawRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRelay")
            .field("name", &self.name)
            .field("url", &redacted(&self.url))
            .finish_non_exhaustive()
    }
}

/// A validated relay.
#[derive(Clone, PartialEq)]
pub struct Relay {
    pub name: String,
    pub url: String,
    pub max_per_second: f64,
    pub daily_quota: Option<i64>,
    pub connections: usize,
    pub weight: f64,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("name", &self.name)
            .field("url", &redacted(&self.url))
            .field("max_per_second", &self.max_per_second)
            .field("daily_quota", &self.daily_quota)
            .field("connections", &self.connections)
            .field("weight", &self.weight)
            .finish()
    }
}

/// The URL without its password.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Checks a delivery URL: `smtp://`, `smtps://`, `smtp+starttls://` with a host, or `file://DIR`.
pub fn check_url(url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "smtp" | "smtps" | "smtp+starttls" | "file") => {
            if u.scheme() != "file" && u.host_str().unwrap_or("").is_empty() {
                return Err(format!("no host in {:?}", redacted(url)));
            }
            Ok(())
        }
        _ => Err(format!(
            "must be smtp://, smtps://, smtp+starttls:// or file://DIR, got {:?}",
            redacted(url)
        )),
    }
}

/// Validates every `[[relays]]` table (names unique, URLs, positive pace, connections, quota
/// and weight).
pub fn validate(raw: &[RawRelay], delivery: &RawDelivery, report: &mut Report<'_>) -> Vec<Relay> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let k = |f: &str| format!("relays[{i}].{f}");
        if r.name.trim().is_empty()
            || !r
                .name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            report(
                &k("name"),
                format!(
                    "{:?}: a relay needs a name of letters, digits, - and _",
                    r.name
                ),
            );
        } else if !seen.insert(r.name.clone()) {
            report(&k("name"), format!("relay {:?} is defined twice", r.name));
        }
        if r.url.is_empty() {
            report(
                &k("url"),
                "a relay needs a url (smtp://, smtps://, smtp+starttls:// or file://DIR)".into(),
            );
        } else if let Err(e) = check_url(&r.url) {
            report(&k("url"), e);
        }
        let max_per_second = r.max_per_second.unwrap_or(delivery.max_per_second);
        if !(max_per_second.is_finite() && max_per_second > 0.0) {
            report(&k("max_per_second"), "must be greater than 0".into());
        }
        if r.connections == Some(0) {
            report(&k("connections"), "must be at least 1".into());
        }
        if let Some(q) = r.daily_quota.filter(|q| *q < 1) {
            report(
                &k("daily_quota"),
                format!("{q}: must be at least 1 (leave it out for no quota)"),
            );
        }
        if !(r.weight.is_finite() && r.weight > 0.0) {
            report(&k("weight"), "must be a positive number".into());
        }
        out.push(Relay {
            name: r.name.clone(),
            url: r.url.clone(),
            max_per_second,
            daily_quota: r.daily_quota,
            connections: r.connections.unwrap_or(delivery.connections).max(1),
            weight: r.weight,
        });
    }
    out
}

/// Checks each digest's `relays` against the configured ones.
pub fn validate_digest_relays(raw: &RawConfig, report: &mut Report<'_>) {
    let known: Vec<&str> = raw.relays.iter().map(|r| r.name.as_str()).collect();
    for (i, d) in raw.digests.iter().enumerate() {
        for name in &d.relays {
            if !known.contains(&name.as_str()) {
                let configured = if known.is_empty() {
                    "none configured".to_string()
                } else {
                    format!("configured: {}", known.join(", "))
                };
                report(
                    &format!("digests[{i}].relays"),
                    format!("no [[relays]] named {name:?} ({configured})"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{Config, Problem};

    fn config(extra: &str, digest: &str) -> Result<Config, Vec<Problem>> {
        let text = format!(
            "[newsletter]\nname = \"W\"\nfrom = \"w@example.org\"\n\n[delivery]\nmax_per_second = 7\nconnections = 3\n\n\
             [[feeds]]\nurl = \"feed.xml\"\n\n[[digests]]\nname = \"weekly\"\n{digest}\n\n\
             [[digests]]\nname = \"daily\"\n\n{extra}"
        );
        Config::parse(&text, Path::new("conf/gazette.toml")).map_err(|e| e.0)
    }

    const TWO: &str = "[[relays]]\nname = \"a\"\nurl = \"smtp://127.0.0.1:2525\"\nweight = 3\n\
        daily_quota = 100\n\n[[relays]]\nname = \"b\"\nurl = \"file://outbox\"\nmax_per_second = 2\nconnections = 1\n";

    #[test]
    fn relays_take_their_defaults_from_delivery_and_digests_name_theirs() {
        let c = config(TWO, "relays = [\"b\"]").unwrap();
        assert_eq!(c.relays.len(), 2);
        let (a, b) = (&c.relays[0], &c.relays[1]);
        assert_eq!((a.max_per_second, a.connections, a.weight), (7.0, 3, 3.0));
        assert_eq!(a.daily_quota, Some(100));
        assert_eq!((b.max_per_second, b.connections, b.weight), (2.0, 1, 1.0));
        assert_eq!(b.daily_quota, None);
        // A file:// relay is read from the config's folder, like [delivery] url.
        assert_eq!(b.url, "file://conf/outbox");
        let names =
            |d: &str| -> Vec<String> { c.relays_of(d).iter().map(|r| r.name.clone()).collect() };
        assert_eq!(names("weekly"), ["b"]);
        assert_eq!(names("daily"), ["a", "b"], "no `relays`: every relay");
        // A dry run writes to the relay that is an outbox.
        assert_eq!(c.outbox(), Some("conf/outbox"));
        assert!(
            c.warnings.is_empty(),
            "[delivery] url not written: nothing ignored"
        );
    }

    #[test]
    fn delivery_url_beside_relays_is_ignored_with_a_warning() {
        let text = format!(
            "[newsletter]\nname = \"W\"\nfrom = \"w@example.org\"\n\n[delivery]\nurl = \"smtp://[bad\"\n\n\
             [[feeds]]\nurl = \"feed.xml\"\n\n[[digests]]\nname = \"weekly\"\n\n{TWO}"
        );
        let c = Config::parse(&text, Path::new("gazette.toml")).unwrap();
        assert_eq!(c.warnings.len(), 1);
        let w = &c.warnings[0];
        assert_eq!((w.key.as_str(), w.line), ("delivery.url", Some(6)));
        assert!(w.message.contains("ignored"), "{}", w.message);
        // Without relays the same URL is an error.
        let plain = text.split("[[relays]]").next().unwrap();
        let problems = Config::parse(plain, Path::new("gazette.toml"))
            .unwrap_err()
            .0;
        assert_eq!(problems[0].key, "delivery.url");
    }

    #[test]
    fn every_bad_relay_key_is_named_with_its_line() {
        let bad = "[[relays]]\nname = \"a\"\nurl = \"http://example.org\"\ndaily_quota = 0\n\n\
            [[relays]]\nname = \"a\"\nurl = \"smtp://relay.example.org\"\nweight = 0\nconnections = 0\n\
            max_per_second = -1\n\n[[relays]]\nname = \"bad name\"\nquota = 5\n";
        let problems = config(bad, "relays = [\"a\", \"nope\"]").unwrap_err();
        let found: Vec<(String, Option<usize>)> =
            problems.iter().map(|p| (p.key.clone(), p.line)).collect();
        // Lines of the config text built by `config` (the relays start at line 19).
        for (key, line) in [
            ("relays[2].quota", 33),
            ("relays[0].url", 21),
            ("relays[0].daily_quota", 22),
            ("relays[1].name", 25),
            ("relays[1].max_per_second", 29),
            ("relays[1].connections", 28),
            ("relays[1].weight", 27),
            ("relays[2].name", 32),
            ("relays[2].url", 31),
            ("digests[0].relays", 14),
        ] {
            assert!(
                found.contains(&(key.to_string(), Some(line))),
                "{key} at line {line} not in {found:?}"
            );
        }
        let message = |k: &str| {
            problems
                .iter()
                .find(|p| p.key == k)
                .map(|p| p.message.clone())
                .unwrap()
        };
        assert!(message("relays[1].name").contains("defined twice"));
        assert!(message("digests[0].relays").contains("\"nope\""));
        assert!(message("relays[2].quota").contains("unknown key"));
        assert_eq!(problems.len(), 10, "{problems:#?}");
    }

    #[test]
    fn a_digest_cannot_name_relays_when_none_is_configured() {
        let problems = config("", "relays = [\"a\"]").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "digests[0].relays");
        assert!(problems[0].message.contains("none configured"));
    }

    #[test]
    fn a_relay_password_never_shows_in_debug() {
        let c = config(
            "[[relays]]\nname = \"a\"\nurl = \"smtps://me:hunter2@smtp.example.org\"\n",
            "",
        )
        .unwrap();
        let shown = format!("{:?}", c.relays);
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
