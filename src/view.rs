//! From selected stories to the render view: display dates in the newsletter's time zone, the
//! lead cut for the digest, "also covered by" links, and absolute links for archive and web view.

use chrono::{DateTime, Utc};

use crate::config::{Config, Digest};
use crate::extract;
use crate::model::StoredStory;
use crate::render::{AlsoView, DigestView, IssueView, NewsletterView, SectionView, StoryView};
use crate::select::Selection;
use crate::tokens::join;

/// The view of an issue not yet stored (`web_url` points at the archive until it is).
#[allow(clippy::too_many_arguments)]
pub fn issue_view(
    config: &Config,
    digest: &Digest,
    stories: &[StoredStory],
    selection: &Selection,
    number: i64,
    issue_id: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    intro_markdown: Option<String>,
) -> IssueView {
    let tz = config.newsletter.timezone;
    let base = &config.newsletter.base_url;
    let date = |t: DateTime<Utc>| t.with_timezone(&tz).format("%-d %B %Y").to_string();
    let mut rank = 0;
    let sections: Vec<SectionView> = selection
        .sections
        .iter()
        .map(|s| SectionView {
            title: s.topic.as_ref().map(|t| topic_title(t)),
            topic: s.topic.clone(),
            stories: s
                .picks
                .iter()
                .map(|p| {
                    rank += 1;
                    story_view(
                        config,
                        &stories[p.index],
                        p.also.iter().map(|&i| &stories[i]),
                        rank - 1,
                    )
                })
                .collect(),
        })
        .collect();
    let first = sections
        .iter()
        .flat_map(|s| &s.stories)
        .next()
        .map(|s| s.title.clone());
    let subject = match &first {
        Some(t) => format!("{} #{number}: {t}", digest.title),
        None => format!("{} #{number}", digest.title),
    };
    let view = IssueView {
        newsletter: NewsletterView {
            name: config.newsletter.name.clone(),
            base_url: base.to_string(),
            lang: config.newsletter.lang.clone(),
        },
        digest: DigestView {
            name: digest.name.clone(),
            title: digest.title.clone(),
        },
        number,
        date: date(to),
        window_from: date(from),
        window_to: date(to),
        subject,
        intro_html: intro_markdown
            .as_deref()
            .map(crate::render::markdown_to_safe_html),
        intro_markdown,
        sections,
        web_url: join(base, "archive"),
        archive_url: join(base, "archive"),
        subscribe_url: join(base, "subscribe"),
    };
    match issue_id {
        Some(id) => with_issue(config, view, id, number),
        None => view,
    }
}

/// Fills in what depends on the stored issue: its number and web address.
pub fn with_issue(config: &Config, mut view: IssueView, id: i64, number: i64) -> IssueView {
    if view.number != number {
        view.subject =
            view.subject
                .replacen(&format!("#{}", view.number), &format!("#{number}"), 1);
        view.number = number;
    }
    view.web_url = join(&config.newsletter.base_url, &format!("issues/{id}"));
    view
}

/// The copy of an issue for readers who chose some topics: only the sections of those topics
/// (and any section without a topic). The subject names the copy's own first headline when the
/// issue's subject named the issue's.
pub fn copy_view(issue: &IssueView, topics: &[String]) -> IssueView {
    let first = |v: &IssueView| {
        v.sections
            .iter()
            .flat_map(|s| &s.stories)
            .next()
            .map(|s| s.title.clone())
    };
    let mut copy = issue.clone();
    copy.sections
        .retain(|s| s.topic.as_ref().is_none_or(|t| topics.contains(t)));
    if let (Some(was), Some(now)) = (first(issue), first(&copy)) {
        let generated = format!("{} #{}: {was}", issue.digest.title, issue.number);
        if issue.subject == generated && was != now {
            copy.subject = format!("{} #{}: {now}", issue.digest.title, issue.number);
        }
    }
    copy
}

fn story_view<'a>(
    config: &Config,
    s: &StoredStory,
    also: impl Iterator<Item = &'a StoredStory>,
    rank: usize,
) -> StoryView {
    let tz = config.newsletter.timezone;
    let lead = s.lead.as_ref();
    let full = lead.map(|l| l.text.as_str()).unwrap_or("");
    let cut = extract::excerpt(full, config.summary.lead_max_words);
    let lead_html = match lead {
        Some(l) if cut == full.split_whitespace().collect::<Vec<_>>().join(" ") || cut == full => {
            l.html.clone()
        }
        _ => format!("<p>{}</p>", html_escape::encode_text(&cut)),
    };
    StoryView {
        title: s.story.title.clone(),
        url: s.story.url.clone().unwrap_or_default(),
        source: s.source.clone(),
        date: s
            .story
            .published
            .with_timezone(&tz)
            .format("%-d %b %Y")
            .to_string(),
        published: s.story.published.to_rfc3339(),
        lead_text: cut,
        lead_html,
        also: also
            .map(|o| AlsoView {
                source: o.source.clone(),
                url: o.story.url.clone().unwrap_or_default(),
                title: o.story.title.clone(),
            })
            .filter(|a| !a.url.is_empty())
            .collect(),
        rank,
    }
}

/// `trade` → `Trade`, `ai_rules` → `Ai rules`.
fn topic_title(name: &str) -> String {
    let spaced = name.replace(['_', '-'], " ");
    let mut c = spaced.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
