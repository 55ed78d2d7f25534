//! Article pages, for stories whose feed gives only a teaser. The URL comes from the feed, so
//! every hop is guarded ([`Trust::FeedContent`]). Pages are fetched only where they can matter
//! and within bounds, and every cut is reported as a note of its feed:
//! - only stories that can still enter an issue (published inside the longest digest window);
//! - at most `article_fetch_limit` pages per feed per run, the newest first;
//! - after two connection failures (refused, DNS, timeout) to one host and port, its remaining
//!   pages are skipped for this run;
//! - the whole run stops starting pages when `fetch_budget` is spent.
//!
//! A fetched page, or the error that stopped it, is cached: a page is fetched once.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use anyhow::Result;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};

use super::http::{FetchError, Fetched, Fetcher, Trust};
use crate::config::Config;
use crate::store::Store;

/// A page some story wants.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub feed_url: String,
    pub url: String,
    pub published: DateTime<Utc>,
}

/// The article URL to fetch for a story whose feed gives only a teaser (with `fetch_article`
/// on for its feed).
pub fn wanted(story: &crate::model::Story, fetch_article: bool) -> Option<String> {
    let url = story.url.clone().filter(|_| fetch_article)?;
    let teaser = match story.content_html.as_deref() {
        Some(c) => crate::extract::is_teaser(c),
        None => true,
    };
    teaser.then_some(url)
}

/// Notes per feed URL: what was refused or cut.
pub type Notes = HashMap<String, Vec<String>>;

/// Connection failures to one host after which its other pages are skipped in this run.
const HOST_FAILURES_TO_SKIP: usize = 2;

/// Why a wanted page was not fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Cut {
    OutsideWindow,
    OverLimit,
    HostFailing,
    Budget,
}

impl Cut {
    fn note(self, n: usize, config: &Config) -> String {
        let what = match self {
            Cut::OutsideWindow => "published before any digest's window".to_string(),
            Cut::OverLimit => format!(
                "over article_fetch_limit ({} a run)",
                config.ingest.article_fetch_limit
            ),
            Cut::HostFailing => "their host failed to connect twice in this run".to_string(),
            Cut::Budget => format!(
                "fetch_budget ({}s) spent",
                config.ingest.fetch_budget.as_secs()
            ),
        };
        let pages = if n == 1 { "page" } else { "pages" };
        format!("{n} article {pages} not fetched: {what}; the feed's text is used")
    }
}

/// Fetches the wanted pages not cached yet, within the bounds above, and caches each result.
pub async fn fetch_pages(
    config: &Config,
    store: &Store,
    mut wanted: Vec<PageRequest>,
    now: DateTime<Utc>,
) -> Result<Notes> {
    let mut cuts: HashMap<(String, Cut), usize> = HashMap::new();
    let mut cut = |feed: &str, why: Cut| *cuts.entry((feed.to_string(), why)).or_default() += 1;
    let window = config
        .digests
        .iter()
        .map(|d| d.window)
        .max()
        .unwrap_or_default();
    wanted.sort_by_key(|w| std::cmp::Reverse(w.published));
    let mut seen = HashSet::new();
    let mut per_feed: HashMap<String, usize> = HashMap::new();
    let mut todo = Vec::new();
    for w in wanted {
        if !seen.insert(w.url.clone()) || store.cached_page(&w.url)?.is_some() {
            continue;
        }
        if w.published < now - window {
            cut(&w.feed_url, Cut::OutsideWindow);
            continue;
        }
        let n = per_feed.entry(w.feed_url.clone()).or_default();
        if *n >= config.ingest.article_fetch_limit {
            cut(&w.feed_url, Cut::OverLimit);
            continue;
        }
        *n += 1;
        todo.push(w);
    }
    let mut notes: Notes = HashMap::new();
    if !todo.is_empty() {
        let fetcher = Fetcher::new(&config.ingest)?;
        let deadline = tokio::time::Instant::now() + config.ingest.fetch_budget;
        let failing: Mutex<HashMap<String, usize>> = Default::default();
        let results: Vec<(PageRequest, Outcome)> = stream::iter(todo)
            .map(|w| {
                let (fetcher, failing) = (&fetcher, &failing);
                async move {
                    let outcome = fetch_one(fetcher, &w.url, deadline, failing).await;
                    (w, outcome)
                }
            })
            .buffer_unordered(config.ingest.concurrency)
            .collect()
            .await;
        for (w, outcome) in results {
            match outcome {
                Outcome::Page(body) => store.store_page(&w.url, "ok", Some(&body), now)?,
                Outcome::Failed(e) => {
                    tracing::warn!(page = %w.url, error = %e, "article page not fetched; using the feed's text");
                    if e.starts_with("refused") {
                        notes.entry(w.feed_url.clone()).or_default().push(e.clone());
                    }
                    store.store_page(&w.url, &e, None, now)?;
                }
                Outcome::Cut(why) => cut(&w.feed_url, why),
            }
        }
    }
    let mut cuts: Vec<_> = cuts.into_iter().collect();
    cuts.sort_by_key(|((feed, why), _)| (feed.clone(), *why as u8));
    for ((feed, why), n) in cuts {
        tracing::info!(%feed, "{}", why.note(n, config));
        notes.entry(feed).or_default().push(why.note(n, config));
    }
    Ok(notes)
}

enum Outcome {
    Page(String),
    Failed(String),
    Cut(Cut),
}

async fn fetch_one(
    fetcher: &Fetcher,
    raw: &str,
    deadline: tokio::time::Instant,
    failing: &Mutex<HashMap<String, usize>>,
) -> Outcome {
    let url = match url::Url::parse(raw) {
        Ok(u) => u,
        Err(e) => return Outcome::Failed(format!("bad URL {raw}: {e}")),
    };
    // Counted by host and port, as the fetcher's slots are: a feed that links to a dead port
    // of a host (`bignews.example:9`) must not cut the pages other feeds link to on it.
    let host = format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    );
    let failures = |f: &Mutex<HashMap<String, usize>>| {
        f.lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&host)
            .copied()
            .unwrap_or(0)
    };
    // The host's turn first (at most `per_host` at once), then the checks: pages that queued
    // behind a dead host's first tries are skipped, not tried one timeout after another. Once
    // the host has failed, a page waits until nothing else is in flight to it and looks again,
    // so the tries that were running when it failed count before another one starts.
    let slot = fetcher.host_slot(&url);
    let mut _turn = slot.clone().acquire_many_owned(1).await;
    if failures(failing) > 0 {
        drop(_turn);
        let all = u32::try_from(fetcher.per_host()).unwrap_or(u32::MAX);
        _turn = slot.acquire_many_owned(all).await;
    }
    if failures(failing) >= HOST_FAILURES_TO_SKIP {
        return Outcome::Cut(Cut::HostFailing);
    }
    if tokio::time::Instant::now() >= deadline {
        return Outcome::Cut(Cut::Budget);
    }
    let fetched = tokio::time::timeout_at(
        deadline,
        fetcher.get(&url, Trust::FeedContent, &Default::default()),
    )
    .await;
    let fetched = match fetched {
        Err(_) => return Outcome::Cut(Cut::Budget),
        Ok(f) => f,
    };
    match fetched {
        Ok(Fetched::Body { bytes, .. }) => {
            Outcome::Page(String::from_utf8_lossy(&bytes).into_owned())
        }
        Ok(Fetched::NotModified) => Outcome::Failed(format!("fetch {raw}: 304")),
        Err(e @ FetchError::Refused(_)) => Outcome::Failed(e.to_string()),
        Err(e) => {
            if matches!(e, FetchError::Network(_) | FetchError::Timeout) {
                *failing
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(host)
                    .or_default() += 1;
            }
            Outcome::Failed(format!("fetch {raw}: {e}"))
        }
    }
}
