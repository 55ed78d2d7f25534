//! Ingest: fetch every configured feed (concurrently, politely), parse it, and store its stories
//! deduplicated. One broken feed is an outcome (`FeedStatus::Error`), never an abort, and a
//! failed fetch never resets what was seen before.

pub mod canonical;
pub mod charset;
pub mod guard;
pub mod http;
pub mod mojibake;
pub mod pages;
pub mod parse;

use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use crate::config::{Config, Feed};
use crate::store::{FetchRecord, Store};
use http::{FetchError, Fetched, Fetcher, Validators};

/// What happened to one feed in one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedStatus {
    /// Fetched and parsed; at least one story was new.
    New,
    /// Fetched and parsed; every story was already known.
    Unchanged,
    /// The server answered 304.
    NotModified,
    Error,
}

impl FeedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Unchanged => "unchanged",
            Self::NotModified => "not_modified",
            Self::Error => "error",
        }
    }
}

/// The result of fetching one feed (the `fetch --json` row).
#[derive(Debug, Clone, Serialize)]
pub struct FeedOutcome {
    pub url: String,
    pub title: Option<String>,
    pub status: FeedStatus,
    pub new: usize,
    /// Entries in the document (0 when not modified or failed).
    #[serde(skip)]
    pub entries: usize,
    pub error: Option<String>,
    /// What was refused or cut (SSRF refusals, limits, article pages not fetched): never a
    /// failure of the feed, which `error` is for.
    pub notes: Vec<String>,
}

/// Fetches every feed of the config, at most `ingest.concurrency` at once; `tick` is called
/// after each feed (for a progress bar).
pub async fn fetch_all(
    config: &Config,
    store: &Arc<Store>,
    now: chrono::DateTime<chrono::Utc>,
    tick: &(dyn Fn(&FeedOutcome) + Sync),
) -> anyhow::Result<Vec<FeedOutcome>> {
    let feeds: Vec<&Feed> = config.feeds.iter().collect();
    fetch_feeds(config, &feeds, store, now, tick).await
}

/// Fetches the given feeds (outcomes in the same order).
pub async fn fetch_feeds(
    config: &Config,
    feeds: &[&Feed],
    store: &Arc<Store>,
    now: chrono::DateTime<chrono::Utc>,
    tick: &(dyn Fn(&FeedOutcome) + Sync),
) -> anyhow::Result<Vec<FeedOutcome>> {
    let fetcher = Fetcher::new(&config.ingest)?;
    let mut outcomes: Vec<(usize, FeedOutcome)> = stream::iter(feeds.iter().enumerate())
        .map(|(i, feed)| {
            let fetcher = fetcher.clone();
            let store = store.clone();
            async move {
                let outcome = fetch_one(&fetcher, &store, feed, config, now).await;
                tick(&outcome);
                (i, outcome)
            }
        })
        .buffer_unordered(config.ingest.concurrency)
        .collect()
        .await;
    outcomes.sort_by_key(|(i, _)| *i);
    Ok(outcomes.into_iter().map(|(_, o)| o).collect())
}

async fn fetch_one(
    fetcher: &Fetcher,
    store: &Store,
    feed: &Feed,
    config: &Config,
    now: chrono::DateTime<chrono::Utc>,
) -> FeedOutcome {
    let state = match store.feed_state(&feed.url) {
        Ok(s) => s,
        Err(e) => return failed(feed, None, format!("{e:#}")),
    };
    let title = feed.name.clone().or(state.title.clone());
    if state.last_status.as_deref() == Some(RATE_LIMITED) {
        if let Some(until) = state
            .next_fetch
            .as_deref()
            .map(crate::store::parse_ts)
            .filter(|t| *t > now)
        {
            let err = state.last_error.clone().unwrap_or_default();
            return failed(
                feed,
                title,
                format!("{err} (not retried before {})", until.to_rfc3339()),
            );
        }
    }
    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    let result = fetcher.fetch(&feed.location, &validators).await;
    let outcome = match result {
        Ok(Fetched::NotModified) => {
            let next = Some(now + config.ingest.interval);
            let _ = store.record_feed_ok(
                &feed.url,
                &FetchRecord {
                    status: "not_modified",
                    next_fetch: next,
                    ..Default::default()
                },
                now,
            );
            FeedOutcome {
                url: feed.url.clone(),
                title,
                status: FeedStatus::NotModified,
                new: 0,
                entries: 0,
                error: None,
                notes: Vec::new(),
            }
        }
        Ok(Fetched::Body {
            bytes,
            final_url,
            content_type,
            validators,
            max_age,
        }) => store_body(
            store,
            feed,
            config,
            &bytes,
            Fetch {
                final_url,
                content_type,
                validators,
                max_age,
            },
            now,
        ),
        Err(e) => {
            let msg = fetch_error_message(feed, &e);
            let (status, next) = match e.retry_after() {
                Some(d) => (
                    RATE_LIMITED,
                    now + chrono::Duration::from_std(d).unwrap_or_default(),
                ),
                None => (
                    "error",
                    now + backoff(config.ingest.interval, state.error_count),
                ),
            };
            let _ = store.record_feed_error(&feed.url, status, &msg, Some(next), now);
            failed(feed, title, msg)
        }
    };
    match outcome.status {
        FeedStatus::Error => {
            tracing::warn!(feed = %feed.url, error = outcome.error.as_deref().unwrap_or(""), "feed failed")
        }
        s => {
            tracing::info!(feed = %feed.url, status = s.as_str(), new = outcome.new, "feed fetched")
        }
    }
    outcome
}

/// `last_status` of a feed whose server asked us to wait (429/503 with Retry-After): even a
/// manual fetch does not ask again before then.
const RATE_LIMITED: &str = "rate_limited";

/// Exponential backoff after consecutive errors (for the scheduled fetch), at most a day.
fn backoff(interval: chrono::Duration, errors: i64) -> chrono::Duration {
    (interval * 2i32.pow(errors.clamp(0, 6) as u32)).min(chrono::Duration::days(1))
}

fn fetch_error_message(feed: &Feed, e: &FetchError) -> String {
    format!("fetch {}: {e}", feed.url)
}

/// What came with a fetched body.
struct Fetch {
    final_url: Option<url::Url>,
    content_type: Option<String>,
    validators: Validators,
    max_age: Option<std::time::Duration>,
}

fn store_body(
    store: &Store,
    feed: &Feed,
    config: &Config,
    bytes: &[u8],
    fetch: Fetch,
    now: chrono::DateTime<chrono::Utc>,
) -> FeedOutcome {
    let Fetch {
        final_url,
        content_type,
        validators,
        max_age,
    } = fetch;
    let base = final_url.or_else(|| match &feed.location {
        crate::config::FeedLocation::Http(u) => Some(u.clone()),
        crate::config::FeedLocation::File(_) => None,
    });
    let options = parse::Options {
        base: base.as_ref(),
        content_type: content_type.as_deref(),
        max_entries: config.ingest.max_entries,
        max_entry_bytes: config.ingest.max_entry_bytes,
        ..parse::Options::new(&feed.url, now)
    };
    let parsed = match parse::parse_with(bytes, &options) {
        Ok(p) => p,
        Err(e) => {
            let msg = format!("parse {}: {e}", feed.url);
            let state = store.feed_state(&feed.url).unwrap_or_default();
            let next = now + backoff(config.ingest.interval, state.error_count);
            let _ = store.record_feed_error(&feed.url, "error", &msg, Some(next), now);
            return failed(feed, feed.name.clone(), msg);
        }
    };
    let title = feed.name.clone().or(parsed.title.clone());
    let new = match store.insert_stories(&feed.url, &parsed.stories, now) {
        Ok(ids) => ids.len(),
        Err(e) => return failed(feed, title, format!("store {}: {e:#}", feed.url)),
    };
    let status = if new > 0 {
        FeedStatus::New
    } else {
        FeedStatus::Unchanged
    };
    let ttl = parsed
        .ttl_minutes
        .map(|m| chrono::Duration::minutes(m.into()));
    let max_age = max_age.and_then(|d| chrono::Duration::from_std(d).ok());
    let wait = [
        Some(config.ingest.interval),
        ttl,
        max_age,
        parsed.update_every,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or_default();
    let stored_title = feed.name.as_deref().or(parsed.title.as_deref());
    let record = FetchRecord {
        status: status.as_str(),
        title: stored_title,
        etag: validators.etag.as_deref(),
        last_modified: validators.last_modified.as_deref(),
        next_fetch: Some(now + wait),
    };
    if let Err(e) = store.record_feed_ok(&feed.url, &record, now) {
        return failed(feed, title, format!("store {}: {e:#}", feed.url));
    }
    FeedOutcome {
        url: feed.url.clone(),
        title,
        status,
        new,
        entries: parsed.stories.len(),
        error: None,
        notes: parsed.notes,
    }
}

fn failed(feed: &Feed, title: Option<String>, error: String) -> FeedOutcome {
    FeedOutcome {
        url: feed.url.clone(),
        title,
        status: FeedStatus::Error,
        new: 0,
        entries: 0,
        error: Some(error),
        notes: Vec::new(),
    }
}
