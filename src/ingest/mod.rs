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
use crate::store::{FetchRecord, FetchWrite, Store};
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

/// Feeds written to the database in one transaction (one fsync) as their fetches finish.
const WRITE_GROUP: usize = 64;

/// Fetches the given feeds (outcomes in the same order): `ingest.concurrency` at once, each
/// document parsed on the blocking pool (all cores), and the results written in groups of
/// [`WRITE_GROUP`] feeds, each group one durable transaction. When this returns, every story is
/// stored.
pub async fn fetch_feeds(
    config: &Config,
    feeds: &[&Feed],
    store: &Arc<Store>,
    now: chrono::DateTime<chrono::Utc>,
    tick: &(dyn Fn(&FeedOutcome) + Sync),
) -> anyhow::Result<Vec<FeedOutcome>> {
    let fetcher = Fetcher::new(&config.ingest)?;
    let mut found = stream::iter(feeds.iter().enumerate())
        .map(|(i, feed)| {
            let fetcher = fetcher.clone();
            async move { (i, fetch_one(&fetcher, store, feed, config, now).await) }
        })
        .buffer_unordered(config.ingest.concurrency);
    let mut outcomes: Vec<Option<FeedOutcome>> = vec![None; feeds.len()];
    let mut group = Vec::new();
    loop {
        let next = found.next().await;
        let done = next.is_none();
        group.extend(next);
        if group.len() >= WRITE_GROUP || (done && !group.is_empty()) {
            for (i, outcome) in write_group(store, feeds, config, std::mem::take(&mut group), now) {
                log(&outcome);
                tick(&outcome);
                outcomes[i] = Some(outcome);
            }
        }
        if done {
            break;
        }
    }
    Ok(outcomes.into_iter().flatten().collect())
}

/// What fetching one feed found, before it is stored.
enum Found {
    /// The server answered 304.
    NotModified,
    /// A document, parsed, with the leads of its new stories that need no article page
    /// (by position in `parsed.stories`).
    Parsed {
        parsed: parse::ParsedFeed,
        leads: Vec<Option<crate::model::StoredLead>>,
        validators: Validators,
        max_age: Option<std::time::Duration>,
    },
    /// The fetch or the parse failed: recorded with this status, to be fetched again at `next`.
    Failed {
        status: &'static str,
        error: String,
        next: chrono::DateTime<chrono::Utc>,
    },
    /// Not asked: the server wants us to wait; nothing is recorded.
    Waiting(String),
}

/// Fetches and parses one feed; writes nothing.
async fn fetch_one(
    fetcher: &Fetcher,
    store: &Arc<Store>,
    feed: &Feed,
    config: &Config,
    now: chrono::DateTime<chrono::Utc>,
) -> (Option<String>, Found) {
    let state = match store.feed_state(&feed.url) {
        Ok(s) => s,
        Err(e) => return (feed.name.clone(), Found::Waiting(format!("{e:#}"))),
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
            let error = format!("{err} (not retried before {})", until.to_rfc3339());
            return (title, Found::Waiting(error));
        }
    }
    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    let backoff_next = now + backoff(config.ingest.interval, state.error_count);
    let found = match fetcher.fetch(&feed.location, &validators).await {
        Ok(Fetched::NotModified) => Found::NotModified,
        Ok(Fetched::Body {
            bytes,
            final_url,
            content_type,
            validators,
            max_age,
        }) => {
            let base = final_url.or_else(|| match &feed.location {
                crate::config::FeedLocation::Http(u) => Some(u.clone()),
                crate::config::FeedLocation::File(_) => None,
            });
            let (key, limits) = (
                feed.url.clone(),
                (config.ingest.max_entries, config.ingest.max_entry_bytes),
            );
            let (store, fetch_article, paragraphs) = (
                Arc::clone(store),
                feed.fetch_article,
                config.summary.lead_paragraphs,
            );
            // Parsing and picking leads is CPU work: on the blocking pool, so feeds are read on
            // every core and the runtime keeps serving (the web app shares it in `serve`).
            let parsed = tokio::task::spawn_blocking(move || {
                let parsed = parse::parse_with(
                    &bytes,
                    &parse::Options {
                        base: base.as_ref(),
                        content_type: content_type.as_deref(),
                        max_entries: limits.0,
                        max_entry_bytes: limits.1,
                        ..parse::Options::new(&key, now)
                    },
                )?;
                // A lead not picked here (the store unreadable) is picked after the fetch.
                let leads = early_leads(&store, &key, &parsed, fetch_article, paragraphs)
                    .unwrap_or_else(|e| {
                        tracing::warn!(feed = %key, "leads left for later: {e:#}");
                        Vec::new()
                    });
                Ok((parsed, leads))
            })
            .await
            .unwrap_or_else(|e| Err(format!("parser crashed: {e}")));
            match parsed {
                Ok((parsed, leads)) => Found::Parsed {
                    parsed,
                    leads,
                    validators,
                    max_age,
                },
                Err(e) => Found::Failed {
                    status: "error",
                    error: format!("parse {}: {e}", feed.url),
                    next: backoff_next,
                },
            }
        }
        Err(e) => {
            let error = fetch_error_message(feed, &e);
            match e.retry_after() {
                Some(d) => Found::Failed {
                    status: RATE_LIMITED,
                    error,
                    next: now + chrono::Duration::from_std(d).unwrap_or_default(),
                },
                None => Found::Failed {
                    status: "error",
                    error,
                    next: backoff_next,
                },
            }
        }
    };
    (title, found)
}

/// The leads of a feed's new stories that need no article page, picked while the document is
/// in hand, so they are stored with their story and nothing is read back or rewritten. Each is
/// judged as [`crate::pipeline::Gazette::summarize_pending`] would: beside the feed's other new
/// items and its latest stored ones. The rest (stories already stored, or waiting for a page)
/// are left to it.
fn early_leads(
    store: &Store,
    feed_url: &str,
    parsed: &parse::ParsedFeed,
    fetch_article: bool,
    paragraphs: usize,
) -> anyhow::Result<Vec<Option<crate::model::StoredLead>>> {
    let known = store.known_guids(parsed.stories.iter().map(|s| s.guid.as_str()))?;
    let (mut here, mut later) = (Vec::new(), Vec::new());
    for (i, s) in parsed.stories.iter().enumerate() {
        if known.contains(s.guid.as_str()) {
            continue;
        }
        match pages::wanted(s, fetch_article) {
            None => here.push(i),
            Some(_) => later.push(i),
        }
    }
    if here.is_empty() {
        return Ok(Vec::new());
    }
    let mut context = store.recent_fragments(&[feed_url], crate::extract::FEED_CONTEXT)?;
    // New items that wait for their page still count as the feed's items.
    context.extend(later.iter().filter_map(|&i| {
        crate::extract::item_fragment(&parsed.stories[i])
            .map(|f| (feed_url.to_string(), f.to_string()))
    }));
    let work: Vec<crate::extract::LeadWork<'_>> = here
        .iter()
        .map(|&i| (feed_url, &parsed.stories[i], None))
        .collect();
    let picked = crate::extract::story_leads(&work, &context, paragraphs, false);
    let mut leads = vec![None; parsed.stories.len()];
    for (i, lead) in here.into_iter().zip(picked) {
        leads[i] = Some(lead);
    }
    Ok(leads)
}

/// Writes what a group of feeds found in one transaction, in the config's order (when two feeds
/// carry the same story, the first configured keeps it, whichever answered first); returns each
/// feed's outcome.
fn write_group(
    store: &Store,
    feeds: &[&Feed],
    config: &Config,
    mut group: Vec<(usize, (Option<String>, Found))>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(usize, FeedOutcome)> {
    group.sort_by_key(|(i, _)| *i);
    let writes: Vec<FetchWrite<'_>> = group
        .iter()
        .filter_map(|(i, (_, found))| {
            let url = feeds[*i].url.as_str();
            Some(match found {
                Found::NotModified => FetchWrite::Fetched {
                    url,
                    stories: &[],
                    leads: &[],
                    record: FetchRecord {
                        status: "not_modified",
                        next_fetch: Some(now + config.ingest.interval),
                        ..Default::default()
                    },
                },
                Found::Parsed {
                    parsed,
                    leads,
                    validators,
                    max_age,
                } => FetchWrite::Fetched {
                    url,
                    stories: &parsed.stories,
                    leads,
                    record: FetchRecord {
                        status: "",
                        title: feeds[*i].name.as_deref().or(parsed.title.as_deref()),
                        etag: validators.etag.as_deref(),
                        last_modified: validators.last_modified.as_deref(),
                        next_fetch: Some(now + next_wait(config, parsed, *max_age)),
                    },
                },
                Found::Failed {
                    status,
                    error,
                    next,
                } => FetchWrite::Failed {
                    url,
                    status,
                    error,
                    next_fetch: Some(*next),
                },
                Found::Waiting(_) => return None,
            })
        })
        .collect();
    let mut written = match store.record_fetches(&writes, now) {
        Ok(w) => w.into_iter(),
        Err(e) => {
            // The whole transaction failed (the database itself): every feed says so.
            let error = format!("store: {e:#}");
            return group
                .into_iter()
                .map(|(i, (title, _))| (i, failed(feeds[i], title, error.clone())))
                .collect();
        }
    };
    group
        .into_iter()
        .map(|(i, (title, found))| {
            let feed = feeds[i];
            let outcome = match found {
                Found::Waiting(error) => failed(feed, title, error),
                Found::Failed { error, .. } => {
                    let _ = written.next();
                    failed(feed, title, error)
                }
                Found::NotModified => match written.next() {
                    Some(Err(e)) => failed(feed, title, format!("store {}: {e}", feed.url)),
                    _ => FeedOutcome {
                        url: feed.url.clone(),
                        title,
                        status: FeedStatus::NotModified,
                        new: 0,
                        entries: 0,
                        error: None,
                        notes: Vec::new(),
                    },
                },
                Found::Parsed { parsed, .. } => match written.next() {
                    Some(Ok(new)) => FeedOutcome {
                        url: feed.url.clone(),
                        title: feed.name.clone().or(parsed.title),
                        status: if new.is_empty() {
                            FeedStatus::Unchanged
                        } else {
                            FeedStatus::New
                        },
                        new: new.len(),
                        entries: parsed.stories.len(),
                        error: None,
                        notes: parsed.notes,
                    },
                    Some(Err(e)) => failed(feed, title, format!("store {}: {e}", feed.url)),
                    None => failed(feed, title, "store: no result".into()),
                },
            };
            (i, outcome)
        })
        .collect()
}

/// When to fetch a feed again: the longest of `interval`, its `ttl`, Cache-Control `max-age`
/// and its syndication update period.
fn next_wait(
    config: &Config,
    parsed: &parse::ParsedFeed,
    max_age: Option<std::time::Duration>,
) -> chrono::Duration {
    let ttl = parsed
        .ttl_minutes
        .map(|m| chrono::Duration::minutes(m.into()));
    let max_age = max_age.and_then(|d| chrono::Duration::from_std(d).ok());
    [
        Some(config.ingest.interval),
        ttl,
        max_age,
        parsed.update_every,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or_default()
}

fn log(outcome: &FeedOutcome) {
    match outcome.status {
        FeedStatus::Error => {
            tracing::warn!(feed = %outcome.url, error = outcome.error.as_deref().unwrap_or(""), "feed failed")
        }
        s => {
            tracing::info!(feed = %outcome.url, status = s.as_str(), new = outcome.new, "feed fetched")
        }
    }
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
