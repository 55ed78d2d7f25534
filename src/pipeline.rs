//! The one place that knows the order of the stages:
//! ingest → extract → select → render → deliver, with the store in between.
//! `build` (preview) and `send` share `plan` and the renderer, so what is previewed is what is sent.

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::config::{Config, Digest};
use crate::extract;
use crate::ingest::{self, FeedOutcome};
use crate::model::{StoredLead, StoredStory, SubscriberStatus};
use crate::render::{IssueView, Renderer};
use crate::select::{self, Candidate, Selection};
use crate::store::{IssueContent, NewIssue, Store};
use crate::tokens;

/// A clock the tests can pin.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock, unless `GAZETTE_NOW` (RFC 3339) pins it.
pub fn system_clock() -> Clock {
    if let Some(t) = std::env::var("GAZETTE_NOW")
        .ok()
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
    {
        let t = t.with_timezone(&Utc);
        return Arc::new(move || t);
    }
    Arc::new(Utc::now)
}

/// A loaded gazette: config, database, templates and clock.
pub struct Gazette {
    pub config: Config,
    pub store: Arc<Store>,
    pub renderer: Renderer,
    pub clock: Clock,
    /// The DKIM key, read on first use (see [`Gazette::dkim`]).
    dkim: std::sync::OnceLock<Option<Arc<lettre::message::dkim::DkimConfig>>>,
}

/// The next issue of a digest, planned but not stored.
pub struct Plan {
    pub digest: Digest,
    pub window_from: DateTime<Utc>,
    pub window_to: DateTime<Utc>,
    pub stories: Vec<StoredStory>,
    pub selection: Selection,
    /// Ids of the stories the issue carries (kept ones and their cluster members).
    pub story_ids: Vec<i64>,
    /// The render view, with links filled in for `issue_id` (None: not stored yet).
    pub view: IssueView,
}

impl Plan {
    pub fn story_count(&self) -> usize {
        self.selection.sections.iter().map(|s| s.picks.len()).sum()
    }
}

impl Gazette {
    pub fn open(config: Config, clock: Clock) -> Result<Gazette> {
        let store = Arc::new(Store::open(&config.storage_path)?);
        let renderer = Renderer::new(config.newsletter.templates.as_deref())?;
        Ok(Gazette {
            config,
            store,
            renderer,
            clock,
            dkim: Default::default(),
        })
    }

    /// The same store and clock with a reloaded config and templates (the preview's live reload).
    pub fn reloaded(&self, config: Config, renderer: Renderer) -> Gazette {
        Gazette {
            config,
            store: self.store.clone(),
            renderer,
            clock: self.clock.clone(),
            dkim: Default::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The signing keys for links (secret next to the database unless GAZETTE_SECRET is set).
    pub fn tokens(&self) -> Result<tokens::Tokens> {
        let dir = self
            .config
            .storage_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        tokens::Tokens::load(dir)
    }

    /// Fetches every feed and picks the lead of each new story.
    pub async fn refresh(&self, tick: &(dyn Fn(&FeedOutcome) + Sync)) -> Result<Vec<FeedOutcome>> {
        let outcomes = ingest::fetch_all(&self.config, &self.store, self.now(), tick).await?;
        self.summarize_pending().await?;
        Ok(outcomes)
    }

    /// Picks a lead for every stored story that has none yet: from the feed's full content;
    /// else, when the feed gives only a teaser, from the article page (fetched politely, once,
    /// and cached; unless `fetch_article = false`); else from the summary.
    pub async fn summarize_pending(&self) -> Result<usize> {
        let pending = self.store.stories_without_lead()?;
        let wanted: Vec<String> = pending.iter().filter_map(|s| self.page_wanted(s)).collect();
        self.fetch_pages(&wanted).await?;
        for s in &pending {
            let base = s.story.url.as_deref().and_then(|u| url::Url::parse(u).ok());
            let page = match self.page_wanted(s) {
                Some(url) => self
                    .store
                    .cached_page(&url)?
                    .and_then(|(status, body)| body.filter(|_| status == "ok")),
                None => None,
            };
            let lead = extract::choose(
                s.story.content_html.as_deref(),
                s.story.summary_html.as_deref(),
                page.as_deref(),
                base.as_ref(),
            );
            let n = self.config.summary.lead_paragraphs;
            let stored = match lead {
                Some((lead, source)) => StoredLead {
                    text: lead.text(n),
                    html: lead.html(n),
                    source: source.as_str().into(),
                },
                None => StoredLead {
                    text: String::new(),
                    html: String::new(),
                    source: "none".into(),
                },
            };
            self.store.set_lead(s.id, &stored)?;
        }
        Ok(pending.len())
    }

    /// The article URL to fetch for a story whose feed gives only a teaser.
    fn page_wanted(&self, s: &StoredStory) -> Option<String> {
        let feed = self.config.feed(&s.feed_url)?;
        let teaser = match s.story.content_html.as_deref() {
            Some(c) => extract::is_teaser(c),
            None => true,
        };
        (feed.fetch_article && teaser)
            .then(|| s.story.url.clone())
            .flatten()
    }

    /// Fetches the pages not cached yet, `ingest.concurrency` at a time and at most `per_host`
    /// per host; each result (page or error) is cached so a page is fetched once.
    async fn fetch_pages(&self, urls: &[String]) -> Result<()> {
        use futures_util::stream::{self, StreamExt};
        let mut todo = Vec::new();
        for u in urls {
            if self.store.cached_page(u)?.is_none() && !todo.contains(u) {
                todo.push(u.clone());
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        let fetcher = crate::ingest::http::Fetcher::new(&self.config.ingest)?;
        let results: Vec<(String, Result<String, String>)> = stream::iter(todo)
            .map(|u| {
                let fetcher = fetcher.clone();
                async move {
                    let r = match url::Url::parse(&u) {
                        Ok(url) => fetcher
                            .fetch(&crate::config::FeedLocation::Http(url), &Default::default())
                            .await
                            .map_err(|e| format!("fetch {u}: {e}"))
                            .and_then(|f| match f {
                                crate::ingest::http::Fetched::Body { bytes, .. } => {
                                    Ok(String::from_utf8_lossy(&bytes).into_owned())
                                }
                                crate::ingest::http::Fetched::NotModified => {
                                    Err(format!("fetch {u}: 304"))
                                }
                            }),
                        Err(e) => Err(format!("bad URL {u}: {e}")),
                    };
                    (u, r)
                }
            })
            .buffer_unordered(self.config.ingest.concurrency)
            .collect()
            .await;
        let now = self.now();
        for (u, r) in results {
            match r {
                Ok(body) => self.store.store_page(&u, "ok", Some(&body), now)?,
                Err(e) => {
                    tracing::warn!(page = %u, error = %e, "article page not fetched; using the feed's text");
                    self.store.store_page(&u, &e, None, now)?
                }
            }
        }
        Ok(())
    }

    /// Plans the next issue of `digest`: the stories since its last issue (at most `window`
    /// back), selected and ranked, as a render view. `intro` overrides the digest's intro file.
    pub fn plan(&self, digest: &Digest, intro: Option<&std::path::Path>) -> Result<Plan> {
        let now = self.now();
        let window_from = now - digest.window;
        let stories = self.store.stories_for_digest(&digest.name, window_from)?;
        let sent = self
            .store
            .sent_stories(&digest.name, now - digest.window * 4)?
            .into_iter()
            .map(|(url, title, lead)| select::SentStory { url, title, lead })
            .collect::<Vec<_>>();
        let candidates: Vec<Candidate> = stories.iter().map(|s| self.candidate(s)).collect();
        let topics = digest
            .topics
            .iter()
            .filter_map(|name| self.config.topics.iter().find(|t| &t.name == name))
            .map(|t| select::TopicSpec {
                name: t.name.clone(),
                keywords: t.keywords.clone(),
                exclude: t.exclude.clone(),
            })
            .collect();
        let opts = select::Options {
            topics,
            max_stories: digest.max_stories,
            max_per_section: digest.max_per_section,
            now,
        };
        let selection = select::select(&candidates, &sent, &opts);
        let story_ids = selection
            .sections
            .iter()
            .flat_map(|s| &s.picks)
            .flat_map(|p| std::iter::once(p.index).chain(p.also.iter().copied()))
            .map(|i| stories[i].id)
            .collect();
        let intro_markdown = match intro.or(digest.intro.as_deref()) {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("read intro {}", path.display()))?,
            ),
            None => None,
        };
        let number = self
            .store
            .last_issue(&digest.name)?
            .map(|i| i.number + 1)
            .unwrap_or(1);
        let view = crate::view::issue_view(
            &self.config,
            digest,
            &stories,
            &selection,
            number,
            None,
            window_from,
            now,
            intro_markdown,
        );
        Ok(Plan {
            digest: digest.clone(),
            window_from,
            window_to: now,
            stories,
            selection,
            story_ids,
            view,
        })
    }

    fn candidate(&self, s: &StoredStory) -> Candidate {
        Candidate {
            id: s.story.guid.clone(),
            url: s.story.url.clone(),
            title: s.story.title.clone(),
            lead: s.lead.as_ref().map(|l| l.text.clone()).unwrap_or_default(),
            categories: s.story.categories.clone(),
            source: s.source.clone(),
            source_weight: self
                .config
                .feed(&s.feed_url)
                .map(|f| f.weight)
                .unwrap_or(1.0),
            feed: s.feed_url.clone(),
            published: s.story.published,
            dated: true, // TODO: from the store, once it records whether the feed gave a date
        }
    }

    /// Stores the planned issue with a queued delivery per recipient (one transaction).
    /// Returns (issue id, number) and the view as stored.
    pub fn publish(
        &self,
        plan: &Plan,
        recipients: &[Recipient],
        slot: Option<&str>,
    ) -> Result<(i64, i64, IssueView)> {
        let now = self.now();
        let rows: Vec<_> = recipients
            .iter()
            .map(|r| (r.subscriber_id, r.email.clone(), r.name.clone()))
            .collect();
        let mut stored_view = None;
        let (id, number) = self.store.create_issue(
            &NewIssue {
                digest: &plan.digest.name,
                window_from: plan.window_from,
                window_to: plan.window_to,
                story_ids: &plan.story_ids,
                recipients: &rows,
                message_domain: self.config.newsletter.from.email.domain(),
                slot,
            },
            now,
            |id, number| {
                let view = crate::view::with_issue(&self.config, plan.view.clone(), id, number);
                let archived = self.renderer.render(&view, None)?;
                let content = IssueContent {
                    subject: view.subject.clone(),
                    html: archived.html,
                    text: archived.text,
                    view: serde_json::to_string(&view)?,
                };
                stored_view = Some(view);
                Ok(content)
            },
        )?;
        Ok((id, number, stored_view.expect("create_issue calls render")))
    }

    /// The confirmed subscribers of a digest.
    pub fn recipients(&self, digest: &str) -> Result<Vec<Recipient>> {
        Ok(self
            .store
            .subscribers()?
            .into_iter()
            .filter(|s| s.status == SubscriberStatus::Confirmed && s.wants(digest))
            .map(|s| Recipient {
                subscriber_id: Some(s.id),
                email: s.email,
                name: s.name,
            })
            .collect())
    }

    /// The stored render view of an issue.
    pub fn stored_view(&self, issue_id: i64) -> Result<IssueView> {
        let (_, _, view) = self
            .store
            .issue_content(issue_id)?
            .with_context(|| format!("no issue {issue_id}"))?;
        serde_json::from_str(&view).with_context(|| format!("issue {issue_id}: stored view"))
    }
}

impl Gazette {
    /// The DKIM signing config, when `[delivery]` has one; the key file is read once.
    pub fn dkim(&self) -> Result<Option<Arc<lettre::message::dkim::DkimConfig>>> {
        if let Some(loaded) = self.dkim.get() {
            return Ok(loaded.clone());
        }
        let d = &self.config.delivery;
        let loaded = match (&d.dkim_key, &d.dkim_selector, &d.dkim_domain) {
            (Some(k), Some(s), Some(dom)) => {
                Some(Arc::new(crate::deliver::message::dkim_config(k, s, dom)?))
            }
            _ => None,
        };
        Ok(self.dkim.get_or_init(|| loaded).clone())
    }

    /// Delivers an issue's queued rows through `[delivery] url`; `tick` after each finished row.
    pub async fn deliver(
        &self,
        issue_id: i64,
        view: &IssueView,
        tick: &(dyn Fn(&crate::store::Delivery) + Sync),
        stop: Option<&std::sync::atomic::AtomicBool>,
    ) -> Result<crate::store::DeliveryCounts> {
        let transport = crate::deliver::Transport::from_url(
            &self.config.delivery.url,
            self.config.delivery.connections,
        )?;
        let tokens = self.tokens()?;
        let dkim = self.dkim()?;
        let clock = || self.now();
        let sender = crate::deliver::Sender {
            config: &self.config,
            store: self.store.clone(),
            renderer: &self.renderer,
            transport: &transport,
            tokens: &tokens,
            dkim,
            clock: &clock,
            tick,
            stop,
        };
        sender.deliver_issue(issue_id, view).await
    }
}

/// Who gets an issue.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub subscriber_id: Option<i64>,
    pub email: String,
    pub name: Option<String>,
}
