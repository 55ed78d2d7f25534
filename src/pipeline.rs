//! The one place that knows the order of the stages:
//! ingest → extract → select → render → deliver, with the store in between.
//! `build` (preview) and `send` share `plan` and the renderer, so what is previewed is what is sent.

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::config::{Config, Digest};
use crate::extract;
use crate::ingest::{self, FeedOutcome};
use crate::model::StoredStory;
use crate::render::{IssueView, Renderer};
use crate::select::{self, Candidate, Selection};
use crate::store::{Created, IssueContent, NewDelivery, NewIssue, Recipients, Store};
use crate::tokens;

/// A clock the tests can pin.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock, unless `GAZETTE_NOW` (RFC 3339) pins it. A value that is not RFC 3339 is
/// refused: a typo must not silently unpin the time.
pub fn system_clock() -> Result<Clock, crate::cli::UsageError> {
    let Some(s) = std::env::var_os("GAZETTE_NOW") else {
        return Ok(Arc::new(Utc::now));
    };
    let s = s.to_string_lossy();
    let t = DateTime::parse_from_rfc3339(s.trim()).map_err(|e| {
        crate::cli::UsageError(format!(
            "GAZETTE_NOW={s:?} is not an RFC 3339 time such as 2027-03-14T09:00:00Z ({e})"
        ))
    })?;
    let t = t.with_timezone(&Utc);
    Ok(Arc::new(move || t))
}

/// A loaded gazette: config, database, templates and clock.
pub struct Gazette {
    pub config: Config,
    pub store: Arc<Store>,
    pub renderer: Renderer,
    pub clock: Clock,
    /// The DKIM key, read on first use (see [`Gazette::dkim`]).
    dkim: std::sync::OnceLock<Option<Arc<crate::deliver::dkim::Signer>>>,
}

/// The next issue of a digest, planned but not stored.
pub struct Plan {
    pub digest: Digest,
    pub window_from: DateTime<Utc>,
    pub window_to: DateTime<Utc>,
    /// The newest story id when planned: the issue may take stories up to it, the next one
    /// takes those after it.
    pub story_cursor: i64,
    /// The digest's last issue when planned (the issue is stored only if it is still the last).
    pub after_issue: Option<i64>,
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
        let store = Arc::new(Store::open_storage(
            config.storage_url.as_deref(),
            &config.storage_path,
        )?);
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

    /// The signing keys for links: `GAZETTE_SECRET`, else the secret kept in a PostgreSQL
    /// database (shared by every host on it), else the one next to the SQLite database.
    pub fn tokens(&self) -> Result<tokens::Tokens> {
        if std::env::var_os("GAZETTE_SECRET").is_none() {
            if let Some(secret) = self.store.shared_secret()? {
                return Ok(tokens::Tokens::new(secret.as_bytes()));
            }
        }
        let dir = self
            .config
            .storage_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        tokens::Tokens::load(dir)
    }

    /// Fetches every feed and picks the lead of each new story; what article pages were
    /// refused or cut is added to the notes of their feed.
    pub async fn refresh(&self, tick: &(dyn Fn(&FeedOutcome) + Sync)) -> Result<Vec<FeedOutcome>> {
        let mut outcomes = ingest::fetch_all(&self.config, &self.store, self.now(), tick).await?;
        let mut notes = self.summarize_pending().await?;
        for o in &mut outcomes {
            if let Some(n) = notes.remove(&o.url) {
                o.notes.extend(n);
            }
        }
        Ok(outcomes)
    }

    /// Picks a lead for every stored story that has none yet: from the feed's full content;
    /// else, when the feed gives only a teaser, from the article page (fetched politely, once,
    /// and cached, within the bounds of `ingest::pages`; unless `fetch_article = false`); else
    /// from the summary. Returns the notes of the article-page run, per feed.
    pub async fn summarize_pending(&self) -> Result<ingest::pages::Notes> {
        let started = std::time::Instant::now();
        let pending = self.store.stories_without_lead()?;
        if pending.is_empty() {
            return Ok(ingest::pages::Notes::new());
        }
        let read = started.elapsed();
        let page_urls: Vec<Option<String>> = pending.iter().map(|s| self.page_wanted(s)).collect();
        let wanted: Vec<ingest::pages::PageRequest> = pending
            .iter()
            .zip(&page_urls)
            .filter_map(|(s, url)| {
                Some(ingest::pages::PageRequest {
                    feed_url: s.feed_url.clone(),
                    url: url.clone()?,
                    published: s.story.published,
                })
            })
            .collect();
        let notes =
            ingest::pages::fetch_pages(&self.config, &self.store, wanted, self.now()).await?;
        // Each feed's items side by side, the pending ones first, then the feed's latest stored
        // ones: what several of them repeat (a series note, a sponsor line) is boilerplate.
        let feed_urls: Vec<&str> = pending.iter().map(|s| s.feed_url.as_str()).collect();
        let earlier = self
            .store
            .recent_fragments(&feed_urls, extract::FEED_CONTEXT)?;
        let mut pages = Vec::with_capacity(pending.len());
        for url in page_urls {
            pages.push(match url {
                Some(url) => self
                    .store
                    .cached_page(&url)?
                    .and_then(|(status, body)| body.filter(|_| status == "ok")),
                None => None,
            });
        }
        let n = self.config.summary.lead_paragraphs;
        // Indexing the feeds and picking leads is CPU work: on the blocking pool, spread over
        // every core.
        let leads = tokio::task::spawn_blocking(move || {
            let work: Vec<extract::LeadWork<'_>> = pending
                .iter()
                .zip(&pages)
                .map(|(s, page)| (s.feed_url.as_str(), &s.story, page.as_deref()))
                .collect();
            let leads = extract::story_leads(&work, &earlier, n, true);
            pending.iter().map(|s| s.id).zip(leads).collect::<Vec<_>>()
        })
        .await?;
        let picked = started.elapsed();
        self.store.set_leads(&leads)?;
        tracing::debug!(?read, ?picked, total = ?started.elapsed(), "leads stored");
        Ok(notes)
    }

    /// The article URL to fetch for a story whose feed gives only a teaser.
    fn page_wanted(&self, s: &StoredStory) -> Option<String> {
        let feed = self.config.feed(&s.feed_url)?;
        ingest::pages::wanted(&s.story, feed.fetch_article)
    }

    /// Plans the next issue of `digest`: the stories since its last issue (at most `window`
    /// back), selected and ranked, as a render view. `intro` overrides the digest's intro file.
    pub fn plan(&self, digest: &Digest, intro: Option<&std::path::Path>) -> Result<Plan> {
        let now = self.now();
        let window_from = now - digest.window;
        let after_issue = self.store.last_issue(&digest.name)?.map(|i| i.id);
        let story_cursor = self.store.story_cursor()?;
        let stories = self
            .store
            .stories_for_digest(&digest.name, window_from, story_cursor)?;
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
        let number = match after_issue {
            Some(id) => self.store.issue(id)?.map_or(1, |i| i.number + 1),
            None => 1,
        };
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
            story_cursor,
            after_issue,
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
            dated: s.story.dated,
        }
    }

    /// Stores the planned issue with a queued delivery per recipient (one transaction), unless
    /// another issue of the digest was stored since it was planned. Returns what was stored and
    /// the view as stored.
    pub fn publish(
        &self,
        plan: &Plan,
        recipients: Vec<Recipient>,
        slot: Option<&str>,
    ) -> Result<(Created, Option<IssueView>)> {
        let rows = delivery_rows(recipients);
        self.store_plan(plan, Recipients::Rows(&rows), false, slot, None)
    }

    /// [`Gazette::publish`] to `recipients` (with `require_recipients`, storing nothing and
    /// failing with [`crate::store::NoRecipients`] when nobody gets it), or with `review` a draft
    /// for the editors (stored with its review row and no deliveries).
    pub fn store_plan(
        &self,
        plan: &Plan,
        recipients: Recipients<'_>,
        require_recipients: bool,
        slot: Option<&str>,
        review: Option<crate::store::NewReview<'_>>,
    ) -> Result<(Created, Option<IssueView>)> {
        let now = self.now();
        let mut stored_view = None;
        let created = self.store.create_issue(
            &NewIssue {
                digest: &plan.digest.name,
                window_from: plan.window_from,
                window_to: plan.window_to,
                story_ids: &plan.story_ids,
                recipients,
                require_recipients,
                message_domain: self.config.newsletter.from.email.domain(),
                slot,
                story_cursor: plan.story_cursor,
                after_issue: plan.after_issue,
                review,
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
        Ok((created, stored_view))
    }

    /// Finds the digest's next piece of work: an issue that still has queued deliveries due now
    /// (planned by this or another process: it is joined, never planned twice), or else a new
    /// issue, planned and stored under the digest's planning lock so that only one process plans
    /// at a time. Waits while another process holds the lock. Rows that wait for their reader's
    /// local time do not hold up the next issue: deliveries may overlap, planning does not. A
    /// reviewed digest's next issue is its open draft, or a new draft
    /// ([`crate::review::plan_draft`]).
    pub async fn next_issue(&self, digest: &Digest, args: &PlanArgs<'_>) -> Result<NextIssue> {
        let lock = format!("plan:{}", digest.name);
        let mut said = false;
        loop {
            if let Some(i) = self.unfinished_due(&digest.name)? {
                return Ok(NextIssue::Unfinished(i));
            }
            if self.store.try_lock(&lock)? {
                break;
            }
            if !said {
                let holder = self.store.lock_holder(&lock)?.unwrap_or_default();
                tracing::info!(digest = %digest.name, %holder, "another process is planning this digest's issue; waiting");
                said = true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let next = self.plan_locked(digest, args);
        self.store.unlock(&lock)?;
        next
    }

    /// The digest's latest issue with queued deliveries due now.
    fn unfinished_due(&self, digest: &str) -> Result<Option<crate::store::IssueRecord>> {
        Ok(self
            .store
            .unfinished_due_issues(Some(digest), self.now())?
            .pop())
    }

    fn plan_locked(&self, digest: &Digest, args: &PlanArgs<'_>) -> Result<NextIssue> {
        if let Some(i) = self.unfinished_due(&digest.name)? {
            return Ok(NextIssue::Unfinished(i));
        }
        if let Some(policy) = digest.review {
            return crate::review::plan_draft(self, digest, policy, args);
        }
        let plan = self.plan(digest, args.intro)?;
        if plan.story_count() == 0 && !digest.send_empty {
            return Ok(NextIssue::Empty);
        }
        // The subscribers are read and their rows written inside the issue's transaction, one
        // at a time: nothing is held per reader, whatever the list's size.
        let audience = self.audience(&plan.digest, &plan.view, args.edition);
        let admit = |s: &crate::model::Subscriber| audience.recipient(s).map(Recipient::into_row);
        let rows;
        let recipients = match args.to {
            Some(to) => {
                rows = delivery_rows(to.to_vec());
                Recipients::Rows(&rows)
            }
            None => Recipients::Subscribers(&admit),
        };
        let stored = self.store_plan(&plan, recipients, args.require_recipients, args.slot, None);
        match stored.map_err(|e| no_recipients(e, &digest.name))? {
            (Created::Stored(id, number), Some(view)) => Ok(NextIssue::Planned {
                id,
                number,
                view: Box::new(view),
                stories: plan.story_count(),
                recipients: self.store.issue(id)?.map_or(0, |i| i.queued as usize),
            }),
            (Created::Superseded(id), _) => match self.store.issue(id)? {
                Some(i) if i.queued > 0 => Ok(NextIssue::Unfinished(i)),
                _ => Ok(NextIssue::Empty),
            },
            (Created::Stored(..), None) => unreachable!("create_issue renders what it stores"),
        }
    }

    /// Who gets an issue of `digest` (its render `view`), each with their copy (topics, format)
    /// and, for a local-delivery `edition`, when: see [`crate::audience`]. Readers with nothing
    /// to read in it, or paused when their copy would go, are left out.
    pub fn readers(
        &self,
        digest: &Digest,
        view: &IssueView,
        edition: Option<chrono::NaiveDateTime>,
    ) -> Result<Vec<Recipient>> {
        let issue = self.audience(digest, view, edition);
        let mut out = Vec::new();
        self.store
            .each_subscriber(|s| out.extend(issue.recipient(&s)))?;
        Ok(out)
    }

    /// An issue of `digest` (its render `view`) as [`crate::audience`] decides its readers.
    pub fn audience<'a>(
        &self,
        digest: &'a Digest,
        view: &'a IssueView,
        edition: Option<chrono::NaiveDateTime>,
    ) -> crate::audience::Issue<'a> {
        crate::audience::Issue {
            digest,
            sections: view.sections.iter().map(|s| s.topic.as_deref()).collect(),
            now: self.now(),
            timezone: self.config.newsletter.timezone,
            edition,
        }
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
    /// The DKIM signer, when `[delivery]` names keys; the key files are read once.
    pub fn dkim(&self) -> Result<Option<Arc<crate::deliver::dkim::Signer>>> {
        if let Some(loaded) = self.dkim.get() {
            return Ok(loaded.clone());
        }
        let keys = self.config.delivery.dkim_keys()?;
        let loaded = (!keys.is_empty()).then(|| Arc::new(crate::deliver::dkim::Signer { keys }));
        Ok(self.dkim.get_or_init(|| loaded).clone())
    }

    /// Delivers an issue's queued rows through its digest's relays (`[[relays]]`, else
    /// `[delivery] url`); `tick` after each finished row.
    /// Rows left `sending` by a process that is gone are taken over first and last (they become
    /// `unknown`: one that died while this one sent leaves no row in flight); rows another live
    /// process is sending are left to it.
    pub async fn deliver(
        &self,
        issue_id: i64,
        view: &IssueView,
        tick: &(dyn Fn(&crate::store::Delivery) + Sync),
        stop: Option<&std::sync::atomic::AtomicBool>,
        patience: crate::deliver::Patience,
    ) -> Result<crate::store::DeliveryCounts> {
        let relays = crate::deliver::Relay::for_digest(&self.config, &view.digest.name)?;
        self.take_over_abandoned()?;
        let tokens = self.tokens()?;
        let dkim = self.dkim()?;
        let clock = || self.now();
        let sender = crate::deliver::Sender {
            config: &self.config,
            store: self.store.clone(),
            renderer: &self.renderer,
            relays: &relays,
            tokens: &tokens,
            dkim,
            clock: &clock,
            tick,
            stop,
            patience,
        };
        let counts = sender.deliver_issue(issue_id, view).await?;
        if self.take_over_abandoned()? > 0 {
            return self.store.delivery_counts(issue_id);
        }
        Ok(counts)
    }

    /// Marks `unknown` the rows that a process which is gone left `sending`; says so once.
    pub fn take_over_abandoned(&self) -> Result<usize> {
        let n = self.store.take_over_abandoned(self.now())?;
        if n > 0 {
            tracing::warn!(
                in_doubt = n,
                "deliveries in flight when their process stopped are marked unknown, not resent (see `gazette issues show`)"
            );
        }
        Ok(n)
    }
}

/// How to plan the next issue.
#[derive(Default)]
pub struct PlanArgs<'a> {
    /// An intro file instead of the digest's own.
    pub intro: Option<&'a std::path::Path>,
    /// These recipients instead of the digest's confirmed subscribers.
    pub to: Option<&'a [Recipient]>,
    /// The schedule slot the issue belongs to.
    pub slot: Option<&'a str>,
    /// Fail, storing nothing, when there is nobody to send to.
    pub require_recipients: bool,
    /// The local-delivery edition (wall-clock time) the issue is for: each reader's copy waits
    /// for its slot in their time zone. `None`: every copy goes at once.
    pub edition: Option<chrono::NaiveDateTime>,
}

/// The next piece of work for a digest.
pub enum NextIssue {
    /// An issue that still has queued deliveries: deliver it.
    Unfinished(crate::store::IssueRecord),
    /// A new issue, stored with a queued delivery per recipient.
    Planned {
        id: i64,
        number: i64,
        view: Box<IssueView>,
        stories: usize,
        recipients: usize,
    },
    /// No new stories since the previous issue (and `send_empty` is off): nothing stored.
    Empty,
    /// A reviewed digest's open draft (just planned, or planned earlier): no deliveries yet;
    /// [`crate::review`] says when it goes out.
    Review(Box<crate::review::Review>),
}

pub use crate::audience::Recipient;

/// The delivery rows of an issue's recipients, each with its copy and when it is due (the
/// addresses and names are moved, not copied).
pub fn delivery_rows(recipients: Vec<Recipient>) -> Vec<NewDelivery> {
    recipients.into_iter().map(Recipient::into_row).collect()
}

/// [`crate::store::NoRecipients`] said for a person who ran `send`; other errors as they are.
pub fn no_recipients(e: anyhow::Error, digest: &str) -> anyhow::Error {
    if e.downcast_ref::<crate::store::NoRecipients>().is_some() {
        anyhow::anyhow!(
            "no confirmed subscribers for digest {digest:?}: add one with `gazette subscribers add EMAIL`, or pass --to ADDR"
        )
    } else {
        e
    }
}
