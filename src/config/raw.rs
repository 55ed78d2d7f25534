//! The config file as written: serde types mirroring the TOML, defaults applied, nothing checked
//! yet. Unknown keys are not rejected here: `Config::parse` collects them all (serde_ignored).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawConfig {
    pub newsletter: RawNewsletter,
    #[serde(default)]
    pub storage: RawStorage,
    #[serde(default)]
    pub delivery: RawDelivery,
    #[serde(default)]
    pub ingest: RawIngest,
    #[serde(default)]
    pub summary: RawSummary,
    #[serde(default)]
    pub feeds: Vec<RawFeed>,
    #[serde(default)]
    pub digests: Vec<RawDigest>,
    #[serde(default)]
    pub topics: BTreeMap<String, RawTopic>,
    #[serde(default)]
    pub bounces: RawBounces,
    /// Named relays; when present, `[delivery] url` is ignored.
    #[serde(default)]
    pub relays: Vec<super::relays::RawRelay>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawNewsletter {
    pub name: String,
    pub from: String,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Folder whose templates override the built-in ones, file by file.
    pub templates: Option<String>,
    /// Language of the newsletter (the HTML `lang` attribute).
    #[serde(default = "default_lang")]
    pub lang: String,
    /// Optional Reply-To address.
    pub reply_to: Option<String>,
    /// Who reviews the digests that set `review` (each gets their own review link).
    #[serde(default)]
    pub editors: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawStorage {
    #[serde(default = "default_db")]
    pub path: String,
    /// `postgres://user@host:port/db`: PostgreSQL instead of the SQLite file at `path`.
    #[serde(default)]
    pub url: Option<String>,
}

impl Default for RawStorage {
    fn default() -> Self {
        Self {
            path: default_db(),
            url: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawDelivery {
    #[serde(default = "default_delivery_url")]
    pub url: String,
    #[serde(default = "default_rate")]
    pub max_per_second: f64,
    #[serde(default = "default_connections")]
    pub connections: usize,
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// Wait before the first retry of a transient failure; doubles with each attempt, at most 1h.
    #[serde(default = "default_retry_backoff")]
    pub retry_backoff: String,
    pub dkim_key: Option<String>,
    pub dkim_selector: Option<String>,
    pub dkim_domain: Option<String>,
    /// More signatures besides `dkim_key`: a second RSA key while rotating selectors, or an
    /// Ed25519 key (RFC 8463). Each `{ selector, key }`, signing for `dkim_domain`.
    #[serde(default)]
    pub dkim_keys: Vec<RawDkimKey>,
    /// Mailbox for mailto: unsubscribe requests (List-Unsubscribe); default: the From address.
    pub unsubscribe_mailto: Option<String>,
}

/// A further DKIM key (`[[delivery.dkim_keys]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDkimKey {
    pub selector: String,
    /// PEM file: RSA (PKCS#8 or PKCS#1, >= 2048 bits) or Ed25519 (PKCS#8).
    pub key: String,
}

impl RawDelivery {
    /// Every DKIM key, read from its file: `dkim_key` first, then `dkim_keys` (none when DKIM is
    /// off). Checked by `gazette check` already; an error here names the file.
    pub fn dkim_keys(&self) -> anyhow::Result<Vec<super::dkim::SigningKey>> {
        let (Some(first), Some(selector), Some(domain)) =
            (&self.dkim_key, &self.dkim_selector, &self.dkim_domain)
        else {
            return Ok(Vec::new());
        };
        std::iter::once((selector, first))
            .chain(self.dkim_keys.iter().map(|k| (&k.selector, &k.key)))
            .map(|(selector, path)| {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("read DKIM key {path}: {e}"))?;
                let key = super::dkim::DkimKey::from_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("DKIM key {path}: {e}"))?;
                Ok(super::dkim::SigningKey {
                    domain: domain.clone(),
                    selector: selector.clone(),
                    key,
                })
            })
            .collect()
    }

    /// `retry_backoff` as a duration (validated at load; one minute if it does not parse).
    pub fn backoff_base(&self) -> std::time::Duration {
        super::duration::parse_duration(&self.retry_backoff)
            .ok()
            .and_then(|d| d.to_std().ok())
            .unwrap_or(std::time::Duration::from_secs(60))
    }
}

impl Default for RawDelivery {
    fn default() -> Self {
        Self {
            url: default_delivery_url(),
            max_per_second: default_rate(),
            connections: default_connections(),
            max_attempts: default_attempts(),
            retry_backoff: default_retry_backoff(),
            dkim_key: None,
            dkim_selector: None,
            dkim_domain: None,
            dkim_keys: Vec::new(),
            unsubscribe_mailto: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawIngest {
    #[serde(default = "default_interval")]
    pub interval: String,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    #[serde(default = "default_per_host")]
    pub per_host: usize,
    #[serde(default = "default_timeout")]
    pub timeout: String,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: String,
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    #[serde(default = "default_true")]
    pub fetch_article: bool,
    pub user_agent: Option<String>,
    /// Networks (CIDR) that URLs from feed content and redirects may reach although they are
    /// private, loopback or link-local. Default: none.
    #[serde(default)]
    pub allow_private: Vec<String>,
    /// Article pages fetched per feed per run, at most.
    #[serde(default = "default_article_fetch_limit")]
    pub article_fetch_limit: usize,
    /// Time one fetch run may spend on article pages, in all.
    #[serde(default = "default_fetch_budget")]
    pub fetch_budget: String,
    /// Entries read from one feed document, at most (the newest first in document order).
    #[serde(default = "default_max_entries")]
    pub max_entries: usize,
    /// Bytes of one entry's content or summary kept, at most.
    #[serde(default = "default_max_entry_bytes")]
    pub max_entry_bytes: usize,
}

impl Default for RawIngest {
    fn default() -> Self {
        Self {
            interval: default_interval(),
            concurrency: default_concurrency(),
            per_host: default_per_host(),
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            max_bytes: default_max_bytes(),
            fetch_article: true,
            user_agent: None,
            allow_private: Vec::new(),
            article_fetch_limit: default_article_fetch_limit(),
            fetch_budget: default_fetch_budget(),
            max_entries: default_max_entries(),
            max_entry_bytes: default_max_entry_bytes(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawSummary {
    #[serde(default = "default_lead_words")]
    pub lead_max_words: usize,
    #[serde(default = "default_lead_paragraphs")]
    pub lead_paragraphs: usize,
}

impl Default for RawSummary {
    fn default() -> Self {
        Self {
            lead_max_words: default_lead_words(),
            lead_paragraphs: default_lead_paragraphs(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawFeed {
    pub url: String,
    pub name: Option<String>,
    #[serde(default = "default_weight")]
    pub weight: f64,
    pub fetch_article: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawDigest {
    pub name: String,
    pub title: Option<String>,
    #[serde(default = "default_schedule")]
    pub schedule: String,
    #[serde(default = "default_window")]
    pub window: String,
    #[serde(default = "default_max_stories")]
    pub max_stories: usize,
    pub max_per_section: Option<usize>,
    #[serde(default)]
    pub topics: Vec<String>,
    pub intro: Option<String>,
    #[serde(default)]
    pub send_empty: bool,
    #[serde(default = "default_catch_up")]
    pub catch_up: String,
    /// `required` or `optional`: editors review a draft before the slot; absent: no review.
    pub review: Option<String>,
    /// How long before the slot the draft is planned and the editors are mailed.
    #[serde(default = "default_review_lead")]
    pub review_lead: String,
    /// When copies go: `newsletter` (the schedule in the newsletter's time zone, every copy at
    /// once) or `local` (the schedule in each reader's own time zone).
    #[serde(default = "default_delivery_time")]
    pub delivery: String,
    /// The `[[relays]]` this digest is sent through (by name); empty: every relay.
    #[serde(default)]
    pub relays: Vec<String>,
}

/// `[bounces]`: where bounces and complaints come back, and what they do.
#[derive(Clone, Deserialize)]
pub struct RawBounces {
    /// The VERP base: each message's MAIL FROM becomes `local+TOKEN@domain`.
    pub address: Option<String>,
    /// `imaps://user@host[:port]/MAILBOX` (or `imap://` to a loopback host).
    pub imap: Option<String>,
    pub imap_password: Option<String>,
    /// The folder processed messages are moved to (created when missing).
    #[serde(default = "default_imap_processed")]
    pub imap_processed: String,
    /// A Maildir: messages in `new/` are processed and moved to `cur/`.
    pub maildir: Option<String>,
    /// How often `serve` reads the mailbox and the Maildir.
    #[serde(default = "default_poll_interval")]
    pub poll_interval: String,
    /// Bearer token of `POST /webhooks/bounce`.
    pub webhook_token: Option<String>,
    #[serde(default = "default_hard_threshold")]
    pub hard_threshold: i64,
    #[serde(default = "default_soft_threshold")]
    pub soft_threshold: i64,
    #[serde(default = "default_soft_window")]
    pub soft_window: String,
    /// An issue's hard-bounce rate above which its send pauses.
    #[serde(default = "default_pause_above")]
    pub pause_above: f64,
    pub postmark_user: Option<String>,
    pub postmark_password: Option<String>,
    pub sendgrid_public_key: Option<String>,
    pub mailgun_signing_key: Option<String>,
    pub ses_topic_arn: Option<String>,
    pub ses_certificate: Option<String>,
    #[serde(default = "default_webhook_max_age")]
    pub webhook_max_age: String,
}

impl Default for RawBounces {
    fn default() -> Self {
        RawBounces {
            address: None,
            imap: None,
            imap_password: None,
            imap_processed: default_imap_processed(),
            maildir: None,
            poll_interval: default_poll_interval(),
            webhook_token: None,
            hard_threshold: default_hard_threshold(),
            soft_threshold: default_soft_threshold(),
            soft_window: default_soft_window(),
            pause_above: default_pause_above(),
            postmark_user: None,
            postmark_password: None,
            sendgrid_public_key: None,
            mailgun_signing_key: None,
            ses_topic_arn: None,
            ses_certificate: None,
            webhook_max_age: default_webhook_max_age(),
        }
    }
}

/// Secrets stay out of logs and `{:?}`.
impl std::fmt::Debug for RawBounces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawBounces")
            .field("address", &self.address)
            .field("imap", &self.imap)
            .field("maildir", &self.maildir)
            .finish_non_exhaustive()
    }
}

fn default_imap_processed() -> String {
    "gazette-processed".into()
}
fn default_poll_interval() -> String {
    "1m".into()
}
fn default_hard_threshold() -> i64 {
    1
}
fn default_soft_threshold() -> i64 {
    3
}
fn default_soft_window() -> String {
    "30d".into()
}
fn default_pause_above() -> f64 {
    0.05
}
fn default_webhook_max_age() -> String {
    "1d".into()
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawTopic {
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

fn default_base_url() -> String {
    "http://127.0.0.1:8080".into()
}
fn default_timezone() -> String {
    "UTC".into()
}
fn default_lang() -> String {
    "en".into()
}
fn default_db() -> String {
    "data/gazette.db".into()
}
fn default_delivery_url() -> String {
    "file://out/outbox".into()
}
fn default_rate() -> f64 {
    20.0
}
fn default_connections() -> usize {
    4
}
fn default_retry_backoff() -> String {
    "1m".into()
}
fn default_attempts() -> u32 {
    5
}
fn default_interval() -> String {
    "30m".into()
}
fn default_concurrency() -> usize {
    8
}
fn default_per_host() -> usize {
    2
}
fn default_timeout() -> String {
    "30s".into()
}
fn default_connect_timeout() -> String {
    "10s".into()
}
fn default_max_bytes() -> u64 {
    10 * 1024 * 1024
}
fn default_article_fetch_limit() -> usize {
    30
}
fn default_fetch_budget() -> String {
    "2m".into()
}
fn default_max_entries() -> usize {
    2000
}
fn default_max_entry_bytes() -> usize {
    1 << 20
}
fn default_true() -> bool {
    true
}
fn default_lead_words() -> usize {
    80
}
fn default_lead_paragraphs() -> usize {
    1
}
fn default_weight() -> f64 {
    1.0
}
fn default_schedule() -> String {
    "0 8 * * MON".into()
}
fn default_window() -> String {
    "7d".into()
}
fn default_max_stories() -> usize {
    12
}
fn default_delivery_time() -> String {
    "newsletter".into()
}
fn default_catch_up() -> String {
    "12h".into()
}
fn default_review_lead() -> String {
    "2h".into()
}
