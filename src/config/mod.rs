//! Configuration: the TOML file (`raw`) is parsed, then validated into a `Config` that the rest of
//! gazette uses. Every problem is collected, each naming the file, the line, the key and what is
//! wrong, so `gazette check` can report them all at once.

pub mod bounces;
pub mod dkim;
mod duration;
mod locate;
pub mod raw;
pub mod relays;

use std::fmt;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;

pub use duration::parse_duration;
use raw::RawConfig;

/// One thing wrong with a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "{}:{line}: {}: {}",
                self.file.display(),
                self.key,
                self.message
            ),
            None => write!(f, "{}: {}: {}", self.file.display(), self.key, self.message),
        }
    }
}

/// The config could not be used: every problem found.
#[derive(Debug)]
pub struct ConfigError(pub Vec<Problem>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} problem{} in the config:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub newsletter: Newsletter,
    pub storage_path: PathBuf,
    /// `[storage] url`: a PostgreSQL database shared by several processes (None: SQLite at
    /// `storage_path`).
    pub storage_url: Option<String>,
    pub delivery: raw::RawDelivery,
    pub ingest: Ingest,
    pub summary: raw::RawSummary,
    pub feeds: Vec<Feed>,
    pub digests: Vec<Digest>,
    pub topics: Vec<Topic>,
    pub bounces: bounces::Bounces,
    /// The `[[relays]]`, in the order written (empty: mail goes to `[delivery] url`).
    pub relays: Vec<relays::Relay>,
    /// What is allowed but worth a warning (`gazette check` prints these).
    pub warnings: Vec<Problem>,
}

#[derive(Debug, Clone)]
pub struct Newsletter {
    pub name: String,
    pub from: lettre::message::Mailbox,
    pub base_url: url::Url,
    pub timezone: Tz,
    pub templates: Option<PathBuf>,
    pub lang: String,
    pub reply_to: Option<lettre::message::Mailbox>,
    /// Addresses (normalized) that review the digests with `review` set.
    pub editors: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Ingest {
    pub interval: chrono::Duration,
    pub concurrency: usize,
    pub per_host: usize,
    pub timeout: std::time::Duration,
    pub connect_timeout: std::time::Duration,
    pub max_bytes: u64,
    pub fetch_article: bool,
    pub user_agent: String,
    /// Networks feed-supplied URLs and redirects may reach although not public.
    pub allow_private: Vec<ipnet::IpNet>,
    pub article_fetch_limit: usize,
    pub fetch_budget: std::time::Duration,
    pub max_entries: usize,
    pub max_entry_bytes: usize,
}

/// Where a feed is read from.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedLocation {
    Http(url::Url),
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Feed {
    /// The URL or path as configured (the key feeds are stored under).
    pub url: String,
    pub location: FeedLocation,
    pub name: Option<String>,
    pub weight: f64,
    pub fetch_article: bool,
}

#[derive(Debug, Clone)]
pub struct Digest {
    pub name: String,
    pub title: String,
    pub schedule: String,
    pub cron: croner::Cron,
    pub window: chrono::Duration,
    pub max_stories: usize,
    pub max_per_section: Option<usize>,
    pub topics: Vec<String>,
    pub intro: Option<PathBuf>,
    pub send_empty: bool,
    pub catch_up: chrono::Duration,
    /// Whether editors review each issue first (`None`: no review).
    pub review: Option<ReviewPolicy>,
    /// How long before the slot the draft is planned.
    pub review_lead: chrono::Duration,
    /// Whose time zone the schedule is read in.
    pub delivery: DeliveryTime,
    /// The relays this digest is sent through (names from `[[relays]]`); empty: every relay.
    pub relays: Vec<String>,
}

/// What happens to a draft issue that nobody approved by its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewPolicy {
    /// Held until an editor approves it (or skips it).
    Required,
    /// Sent at the slot as it stands, with the edits made so far.
    Optional,
}

impl ReviewPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewPolicy::Required => "required",
            ReviewPolicy::Optional => "optional",
        }
    }
}

/// Whose time zone a digest's schedule is read in (`delivery` in `[[digests]]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeliveryTime {
    /// The newsletter's: every copy of an issue goes at its slot.
    #[default]
    Newsletter,
    /// Each reader's own: one issue, planned at the first zone's slot, each copy sent at the
    /// slot in its reader's zone.
    Local,
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub keywords: Vec<String>,
    pub exclude: Vec<String>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(vec![Problem {
                file: path.to_path_buf(),
                line: None,
                key: "(file)".into(),
                message: format!("cannot read: {e}"),
            }])
        })?;
        Self::parse(&text, path)
    }

    /// Validates config text; `path` names the file in messages and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let problem = |key: &str, message: String| Problem {
            file: path.to_path_buf(),
            line: locate::line_of(text, key),
            key: key.to_string(),
            message,
        };
        let mut unknown = Vec::new();
        let de = toml::Deserializer::parse(text);
        let raw: RawConfig = match de
            .and_then(|de| serde_ignored::deserialize(de, |p| unknown.push(p.to_string())))
        {
            Ok(raw) => raw,
            Err(e) => {
                let line = e.span().map(|s| text[..s.start].lines().count().max(1));
                let key = unknown_key(e.message()).unwrap_or("(syntax)").to_string();
                return Err(ConfigError(vec![Problem {
                    file: path.to_path_buf(),
                    line,
                    key,
                    message: e.message().trim().to_string(),
                }]));
            }
        };
        for key in unknown {
            problems.push(problem(&bracket_indices(&key), "unknown key".into()));
        }
        let delivery_url_given = text
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("delivery")?.get("url").cloned())
            .is_some();
        let mut config = validate(raw, path, &mut |k, m| problems.push(problem(k, m)));
        if delivery_url_given && !config.relays.is_empty() {
            config.warnings.push(problem(
                "delivery.url",
                "ignored: [[relays]] are configured, and mail goes through them".into(),
            ));
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(problems))
        }
    }

    /// The digest called `name`, or the first one when `name` is None.
    pub fn digest(&self, name: Option<&str>) -> anyhow::Result<&Digest> {
        match name {
            None => self.digests.first().ok_or_else(|| {
                anyhow::anyhow!("{}: no [[digests]] configured", self.path.display())
            }),
            Some(n) => self.digests.iter().find(|d| d.name == n).ok_or_else(|| {
                let known: Vec<_> = self.digests.iter().map(|d| d.name.as_str()).collect();
                crate::cli::UsageError(format!(
                    "no digest named {n:?} (configured: {})",
                    known.join(", ")
                ))
                .into()
            }),
        }
    }

    pub fn feed(&self, url: &str) -> Option<&Feed> {
        self.feeds.iter().find(|f| f.url == url)
    }

    /// The relays a digest is sent through: those it names, else every `[[relays]]` (empty
    /// when none is configured: then `[delivery] url` is used).
    pub fn relays_of(&self, digest: &str) -> Vec<&relays::Relay> {
        let named = self
            .digests
            .iter()
            .find(|d| d.name == digest)
            .map(|d| d.relays.as_slice())
            .unwrap_or_default();
        self.relays
            .iter()
            .filter(|r| named.is_empty() || named.contains(&r.name))
            .collect()
    }

    /// The outbox folder messages go to, when `[delivery] url` (without `[[relays]]`) or a
    /// relay is a `file://` outbox.
    pub fn outbox(&self) -> Option<&str> {
        let urls = std::iter::once(self.delivery.url.as_str())
            .filter(|_| self.relays.is_empty())
            .chain(self.relays.iter().map(|r| r.url.as_str()));
        urls.into_iter().find_map(|u| u.strip_prefix("file://"))
    }
}

/// serde_ignored writes `feeds.2.wieght`; we write `feeds[2].wieght`.
fn bracket_indices(path: &str) -> String {
    let mut out = String::new();
    for seg in path.split('.').filter(|s| *s != "?") {
        if seg.chars().all(|c| c.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// serde reports an unknown field as "unknown field `x`, expected …"; name the key.
fn unknown_key(message: &str) -> Option<&str> {
    let rest = message.split("unknown field `").nth(1)?;
    rest.split('`').next()
}

type Report<'a> = dyn FnMut(&str, String) + 'a;

/// Relative paths in a config file are read from the file's own folder, so a config works from
/// any working directory.
fn config_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `p` read from `base` (unchanged when absolute), with `dir/..` folded away so that messages
/// show `out/outbox`, not `config/../out/outbox`.
fn resolve(base: &Path, p: &str) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in base.join(p).components() {
        match c {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::CurDir if !out.as_os_str().is_empty() => {}
            c => out.push(c),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn validate(mut raw: RawConfig, path: &Path, report: &mut Report<'_>) -> Config {
    let base_dir = config_dir(path);
    resolve_paths(&mut raw, base_dir);
    let newsletter = validate_newsletter(&raw.newsletter, report);
    let ingest = validate_ingest(&raw.ingest, report);
    if let Some(url) = &raw.storage.url {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            report(
                "storage.url",
                format!(
                    "{:?} is not a PostgreSQL URL (postgres://user@host:port/db)",
                    crate::store::postgres::redacted(url)
                ),
            );
        } else {
            let tls = crate::store::pg_tls::parse(url)
                .and_then(|(_, policy)| crate::store::pg_tls::MakeTls::new(&policy));
            if let Err(e) = tls {
                report("storage.url", format!("{e:#}"));
            }
        }
    }
    if raw.summary.lead_max_words == 0 {
        report("summary.lead_max_words", "must be at least 1".into());
    }
    if !(1..=2).contains(&raw.summary.lead_paragraphs) {
        report("summary.lead_paragraphs", "must be 1 or 2".into());
    }
    if raw.relays.is_empty() {
        validate_delivery_url(&raw.delivery, report);
    }
    validate_delivery(&raw.delivery, report);
    let relays = relays::validate(&raw.relays, &raw.delivery, report);
    relays::validate_digest_relays(&raw, report);
    let feeds = raw
        .feeds
        .iter()
        .enumerate()
        .filter_map(|(i, f)| validate_feed(i, f, base_dir, ingest.fetch_article, report))
        .collect::<Vec<_>>();
    if feeds.is_empty() && raw.feeds.is_empty() {
        report("feeds", "no [[feeds]] configured".into());
    }
    let topics: Vec<Topic> = raw
        .topics
        .iter()
        .map(|(name, t)| {
            if t.keywords.is_empty() {
                report(
                    &format!("topics.{name}.keywords"),
                    "a topic needs at least one keyword".into(),
                );
            }
            Topic {
                name: name.clone(),
                keywords: t.keywords.clone(),
                exclude: t.exclude.clone(),
            }
        })
        .collect();
    let digests = validate_digests(&raw, report);
    let bounces = bounces::validate(&raw.bounces, base_dir, report);
    Config {
        path: path.to_path_buf(),
        newsletter,
        storage_path: PathBuf::from(&raw.storage.path),
        storage_url: raw.storage.url.clone(),
        delivery: raw.delivery.clone(),
        ingest,
        summary: raw.summary.clone(),
        feeds,
        digests,
        topics,
        bounces,
        relays,
        warnings: Vec::new(),
    }
}

/// Rewrites the paths of the raw config (storage, templates, DKIM key, file:// outbox, intros)
/// to be read from the config's folder. Feed files are resolved in `validate_feed`: a feed's
/// `url` as written stays its key in the database.
fn resolve_paths(raw: &mut RawConfig, base: &Path) {
    let fix = |p: &mut String| *p = resolve(base, p).display().to_string();
    fix(&mut raw.storage.path);
    if let Some(url) = raw.storage.url.as_mut() {
        *url = crate::store::pg_tls::root_from(url, base);
    }
    if let Some(t) = raw.newsletter.templates.as_mut() {
        fix(t);
    }
    if let Some(k) = raw.delivery.dkim_key.as_mut() {
        fix(k);
    }
    for k in &mut raw.delivery.dkim_keys {
        fix(&mut k.key);
    }
    if let Some(dir) = raw.delivery.url.strip_prefix("file://") {
        raw.delivery.url = format!("file://{}", resolve(base, dir).display());
    }
    for r in &mut raw.relays {
        if let Some(dir) = r.url.strip_prefix("file://") {
            r.url = format!("file://{}", resolve(base, dir).display());
        }
    }
    for d in &mut raw.digests {
        if let Some(i) = d.intro.as_mut() {
            fix(i);
        }
    }
}

fn validate_newsletter(raw: &raw::RawNewsletter, report: &mut Report<'_>) -> Newsletter {
    if raw.name.trim().is_empty() {
        report("newsletter.name", "must not be empty".into());
    }
    let from = raw.from.parse().unwrap_or_else(|e| {
        report(
            "newsletter.from",
            format!("not an email address {:?}: {e}", raw.from),
        );
        "invalid@invalid.invalid"
            .parse()
            .expect("valid fallback mailbox")
    });
    let reply_to = raw.reply_to.as_ref().and_then(|r| match r.parse() {
        Ok(m) => Some(m),
        Err(e) => {
            report(
                "newsletter.reply_to",
                format!("not an email address {r:?}: {e}"),
            );
            None
        }
    });
    let base_url = match url::Url::parse(&raw.base_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => {
            report(
                "newsletter.base_url",
                format!("not an http(s) URL: {:?}", raw.base_url),
            );
            url::Url::parse("http://127.0.0.1:8080").expect("valid fallback URL")
        }
    };
    let timezone = raw.timezone.parse::<Tz>().unwrap_or_else(|_| {
        report(
            "newsletter.timezone",
            format!("unknown IANA time zone {:?}", raw.timezone),
        );
        Tz::UTC
    });
    let templates = raw.templates.as_ref().map(PathBuf::from);
    if let Some(dir) = &templates {
        if !dir.is_dir() {
            report(
                "newsletter.templates",
                format!("template folder {} does not exist", dir.display()),
            );
        }
    }
    let editors = raw
        .editors
        .iter()
        .filter_map(|e| match crate::model::EmailAddress::parse(e) {
            Ok(a) => Some(a.into_string()),
            Err(err) => {
                report("newsletter.editors", err.to_string());
                None
            }
        })
        .collect();
    Newsletter {
        name: raw.name.clone(),
        from,
        base_url,
        timezone,
        templates,
        lang: raw.lang.clone(),
        reply_to,
        editors,
    }
}

fn validate_ingest(raw: &raw::RawIngest, report: &mut Report<'_>) -> Ingest {
    let mut dur = |key: &str, s: &str, fallback: i64| {
        parse_duration(s).unwrap_or_else(|e| {
            report(key, e);
            chrono::Duration::seconds(fallback)
        })
    };
    let interval = dur("ingest.interval", &raw.interval, 1800);
    let timeout = dur("ingest.timeout", &raw.timeout, 30)
        .to_std()
        .unwrap_or_default();
    let connect_timeout = dur("ingest.connect_timeout", &raw.connect_timeout, 10)
        .to_std()
        .unwrap_or_default();
    let fetch_budget = dur("ingest.fetch_budget", &raw.fetch_budget, 120)
        .to_std()
        .unwrap_or_default();
    if raw.concurrency == 0 {
        report("ingest.concurrency", "must be at least 1".into());
    }
    if raw.per_host == 0 {
        report("ingest.per_host", "must be at least 1".into());
    }
    let allow_private =
        crate::ingest::guard::parse_networks(&raw.allow_private).unwrap_or_else(|e| {
            report("ingest.allow_private", e);
            Vec::new()
        });
    if raw.max_entries == 0 {
        report("ingest.max_entries", "must be at least 1".into());
    }
    Ingest {
        interval,
        concurrency: raw.concurrency.max(1),
        per_host: raw.per_host.max(1),
        timeout,
        connect_timeout,
        max_bytes: raw.max_bytes,
        fetch_article: raw.fetch_article,
        user_agent: raw.user_agent.clone().unwrap_or_else(default_user_agent),
        allow_private,
        article_fetch_limit: raw.article_fetch_limit,
        fetch_budget,
        max_entries: raw.max_entries.max(1),
        max_entry_bytes: raw.max_entry_bytes.max(1024),
    }
}

/// An honest User-Agent: who we are and where to read about us.
pub fn default_user_agent() -> String {
    format!(
        "gazette/{} (newsletter digest; +https://github.com/gazette-rs/gazette)",
        env!("CARGO_PKG_VERSION")
    )
}

/// `[delivery] url` (checked only when no `[[relays]]` replace it).
fn validate_delivery_url(raw: &raw::RawDelivery, report: &mut Report<'_>) {
    if let Err(e) = relays::check_url(&raw.url) {
        report("delivery.url", e);
    }
}

fn validate_delivery(raw: &raw::RawDelivery, report: &mut Report<'_>) {
    if raw.max_per_second <= 0.0 {
        report("delivery.max_per_second", "must be greater than 0".into());
    }
    if raw.connections == 0 {
        report("delivery.connections", "must be at least 1".into());
    }
    if let Err(e) = duration::parse_duration(&raw.retry_backoff) {
        report("delivery.retry_backoff", e);
    }
    let dkim = [&raw.dkim_key, &raw.dkim_selector, &raw.dkim_domain];
    let set = dkim.iter().filter(|v| v.is_some()).count();
    if set != 0 && set != 3 {
        report(
            "delivery.dkim_key",
            "dkim_key, dkim_selector and dkim_domain go together".into(),
        );
    }
    let keys = raw
        .dkim_key
        .iter()
        .map(|k| ("delivery.dkim_key".to_string(), k))
        .chain(
            raw.dkim_keys
                .iter()
                .enumerate()
                .map(|(i, k)| (format!("delivery.dkim_keys[{i}].key"), &k.key)),
        );
    for (field, key) in keys {
        match std::fs::read_to_string(key) {
            Err(_) if !Path::new(key).is_file() => {
                report(&field, format!("key file {key} does not exist"))
            }
            Err(e) => report(&field, format!("read {key}: {e}")),
            Ok(pem) => {
                if let Err(e) = dkim::DkimKey::from_pem(&pem) {
                    report(&field, format!("{key}: {e}"));
                }
            }
        }
    }
    if !raw.dkim_keys.is_empty() && raw.dkim_key.is_none() {
        report(
            "delivery.dkim_keys",
            "needs dkim_key, dkim_selector and dkim_domain (the first signature)".into(),
        );
    }
}

fn validate_feed(
    i: usize,
    raw: &raw::RawFeed,
    base: &Path,
    fetch_article: bool,
    report: &mut Report<'_>,
) -> Option<Feed> {
    let key = format!("feeds[{i}].url");
    let location = match parse_location(&raw.url) {
        Ok(FeedLocation::File(p)) => FeedLocation::File(resolve(base, &p.to_string_lossy())),
        Ok(l) => l,
        Err(e) => {
            report(&key, e);
            return None;
        }
    };
    if !(raw.weight.is_finite() && raw.weight > 0.0) {
        report(
            &format!("feeds[{i}].weight"),
            "must be a positive number".into(),
        );
    }
    Some(Feed {
        url: raw.url.clone(),
        location,
        name: raw.name.clone(),
        weight: raw.weight,
        fetch_article: raw.fetch_article.unwrap_or(fetch_article),
    })
}

/// `http(s)://…`, `file://…` or a plain path.
pub fn parse_location(s: &str) -> Result<FeedLocation, String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(rest) = s.strip_prefix("file://") {
        return Ok(FeedLocation::File(PathBuf::from(rest)));
    }
    let scheme_like = s.split_once(':').is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if s.contains("://") || scheme_like {
        return match url::Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Ok(FeedLocation::Http(u))
            }
            Ok(u) => Err(format!(
                "unsupported URL scheme {:?} in {s:?} (use http, https or file)",
                u.scheme()
            )),
            Err(e) => Err(format!("bad URL {s:?}: {e}")),
        };
    }
    Ok(FeedLocation::File(PathBuf::from(s)))
}

fn validate_digests(raw: &RawConfig, report: &mut Report<'_>) -> Vec<Digest> {
    if raw.digests.is_empty() {
        report("digests", "no [[digests]] configured".into());
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, d) in raw.digests.iter().enumerate() {
        let k = |f: &str| format!("digests[{i}].{f}");
        if d.name.trim().is_empty()
            || !d
                .name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            report(
                &k("name"),
                format!("{:?}: use letters, digits, - and _", d.name),
            );
        }
        if !seen.insert(d.name.clone()) {
            report(&k("name"), format!("digest {:?} is defined twice", d.name));
        }
        let cron = parse_schedule(&d.schedule).unwrap_or_else(|e| {
            report(&k("schedule"), e);
            parse_schedule("0 8 * * MON").expect("valid fallback schedule")
        });
        let mut dur = |f: &str, s: &str, fallback: i64| {
            parse_duration(s).unwrap_or_else(|e| {
                report(&k(f), e);
                chrono::Duration::hours(fallback)
            })
        };
        let window = dur("window", &d.window, 24 * 7);
        let catch_up = dur("catch_up", &d.catch_up, 12);
        let review_lead = dur("review_lead", &d.review_lead, 2);
        let review = match d.review.as_deref() {
            None => None,
            Some("required") => Some(ReviewPolicy::Required),
            Some("optional") => Some(ReviewPolicy::Optional),
            Some(other) => {
                report(
                    &k("review"),
                    format!("{other:?}: use \"required\" or \"optional\" (or leave it out)"),
                );
                None
            }
        };
        if review.is_some() && raw.newsletter.editors.is_empty() {
            report(
                &k("review"),
                "a reviewed digest needs [newsletter] editors = [\"editor@example.org\"]".into(),
            );
        }
        if d.max_stories == 0 {
            report(&k("max_stories"), "must be at least 1".into());
        }
        for t in &d.topics {
            if !raw.topics.contains_key(t) {
                report(&k("topics"), format!("no [topics.{t}] defined"));
            }
        }
        let delivery = match d.delivery.as_str() {
            "newsletter" => DeliveryTime::Newsletter,
            "local" => DeliveryTime::Local,
            other => {
                report(
                    &k("delivery"),
                    format!("{other:?}: use \"newsletter\" or \"local\""),
                );
                DeliveryTime::Newsletter
            }
        };
        let intro = d.intro.as_ref().map(PathBuf::from);
        if let Some(p) = &intro {
            if !p.is_file() {
                report(
                    &k("intro"),
                    format!("intro file {} does not exist", p.display()),
                );
            }
        }
        out.push(Digest {
            name: d.name.clone(),
            title: d.title.clone().unwrap_or_else(|| d.name.clone()),
            schedule: d.schedule.clone(),
            cron,
            window,
            max_stories: d.max_stories.max(1),
            max_per_section: d.max_per_section,
            topics: d.topics.clone(),
            intro,
            send_empty: d.send_empty,
            catch_up,
            review,
            review_lead,
            delivery,
            relays: d.relays.clone(),
        });
    }
    out
}

/// A 5-field cron expression or one of `@weekly`, `@daily`, `@hourly`, `@monthly`.
pub fn parse_schedule(s: &str) -> Result<croner::Cron, String> {
    let expr = match s.trim() {
        "@weekly" => "0 0 * * SUN",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        "@monthly" => "0 0 1 * *",
        other => other,
    };
    if expr.split_whitespace().count() != 5 {
        return Err(format!(
            "bad cron {s:?}: expected 5 fields (minute hour day month weekday) or @daily/@weekly"
        ));
    }
    expr.parse::<croner::Cron>()
        .map_err(|e| format!("bad cron {s:?}: {e}"))
}
