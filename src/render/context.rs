//! The template context: the issue as templates see it, with URLs validated, HTML re-sanitized,
//! text-email link references numbered and the stories that fit the size budget selected.
//!
//! Documented field by field in `templates/README.md`; keep the two in step.

use std::borrow::Cow;

use serde::Serialize;

use super::markdown::{markdown_to_text, sanitize_fragment};
use super::text::{html_to_text, LinkRef, LinkRefs};
use super::url::{absolute_http, absolute_link};
use super::view::{ConfirmView, DigestView, IssueView, NewsletterView, Personal};
use crate::model::{clip, MAX_LEAD_CHARS, MAX_TITLE_CHARS};

/// A subject longer than this is cut (a digest's title, its number and a headline fit).
pub const MAX_SUBJECT_CHARS: usize = MAX_TITLE_CHARS + 100;
/// See [`digest_context`]: a lead whose HTML is longer is shown as its text.
const MAX_LEAD_HTML_BYTES: usize = 16 * 1024;

#[derive(Serialize)]
pub(crate) struct DigestContext<'a> {
    newsletter: &'a NewsletterView,
    digest: &'a DigestView,
    number: i64,
    date: &'a str,
    window_from: &'a str,
    window_to: &'a str,
    subject: Cow<'a, str>,
    preheader: String,
    intro_html: Option<String>,
    intro_text: Option<String>,
    intro_markdown: Option<&'a str>,
    sections: Vec<SectionContext<'a>>,
    story_count: usize,
    total_stories: usize,
    dropped: usize,
    more_url: String,
    web_url: String,
    archive_url: String,
    subscribe_url: String,
    subscriber: Option<&'a SubscriberContext<'a>>,
    links: Vec<LinkRef>,
}

#[derive(Serialize)]
struct SectionContext<'a> {
    title: Option<&'a str>,
    stories: Vec<StoryContext<'a>>,
}

#[derive(Serialize)]
struct StoryContext<'a> {
    title: Cow<'a, str>,
    url: String,
    source: Cow<'a, str>,
    date: &'a str,
    published: &'a str,
    lead_text: Cow<'a, str>,
    lead_html: String,
    also: Vec<AlsoContext<'a>>,
    rank: usize,
    link_ref: Option<usize>,
}

#[derive(Serialize)]
struct AlsoContext<'a> {
    source: Cow<'a, str>,
    title: Cow<'a, str>,
    url: String,
    link_ref: Option<usize>,
}

/// The recipient as templates see it: the name trimmed (`None` when blank), the unsubscribe
/// link validated (`""` when it is not an absolute http(s) or mailto link), the manage link
/// likewise (`""` unless absolute http(s)).
#[derive(Serialize, Debug, Clone)]
pub(crate) struct SubscriberContext<'a> {
    pub(crate) email: Cow<'a, str>,
    pub(crate) name: Option<Cow<'a, str>>,
    pub(crate) unsubscribe_url: String,
    pub(crate) manage_url: String,
}

impl<'a> SubscriberContext<'a> {
    pub(crate) fn of(p: &'a Personal) -> Self {
        SubscriberContext {
            email: Cow::Borrowed(&p.email),
            name: p
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(Cow::Borrowed),
            unsubscribe_url: absolute_link(&p.unsubscribe_url).unwrap_or_default(),
            manage_url: absolute_http(&p.manage_url).unwrap_or_default(),
        }
    }
}

/// Positions `(section, story)` of the `keep` best-ranked stories, ties broken by display order.
pub(crate) fn best_ranked(issue: &IssueView, keep: usize) -> Vec<(usize, usize)> {
    let mut all: Vec<(usize, usize, usize)> = issue
        .sections
        .iter()
        .enumerate()
        .flat_map(|(s, sec)| {
            sec.stories
                .iter()
                .enumerate()
                .map(move |(i, st)| (st.rank, s, i))
        })
        .collect();
    all.sort();
    all.truncate(keep);
    let mut kept: Vec<(usize, usize)> = all.into_iter().map(|(_, s, i)| (s, i)).collect();
    kept.sort();
    kept
}

pub(crate) fn total_stories(issue: &IssueView) -> usize {
    issue.sections.iter().map(|s| s.stories.len()).sum()
}

/// Builds the context for `digest.*`, showing only the stories at `kept` positions.
pub(crate) fn digest_context<'a>(
    issue: &'a IssueView,
    subscriber: Option<&'a SubscriberContext<'a>>,
    kept: &[(usize, usize)],
) -> DigestContext<'a> {
    let mut refs = LinkRefs::default();
    let intro_html = issue.intro_html.as_deref().map(sanitize_fragment);
    let intro_text = match (&issue.intro_markdown, &intro_html) {
        (Some(md), _) => Some(markdown_to_text(md, &mut refs)),
        (None, Some(html)) => Some(html_to_text(html)),
        (None, None) => None,
    }
    .filter(|t| !t.trim().is_empty());

    let mut sections = Vec::new();
    for (s, section) in issue.sections.iter().enumerate() {
        let stories: Vec<StoryContext> = section
            .stories
            .iter()
            .enumerate()
            .filter(|(i, _)| kept.contains(&(s, *i)))
            .map(|(_, story)| {
                let url = absolute_http(&story.url).unwrap_or_default();
                let link_ref = (!url.is_empty()).then(|| refs.add(&url));
                let also = story
                    .also
                    .iter()
                    .filter_map(|a| {
                        let url = absolute_http(&a.url)?;
                        Some(AlsoContext {
                            source: clip(&a.source, MAX_TITLE_CHARS),
                            title: clip(&a.title, MAX_TITLE_CHARS),
                            link_ref: Some(refs.add(&url)),
                            url,
                        })
                    })
                    .collect();
                let lead_text = clip(&story.lead_text, MAX_LEAD_CHARS);
                // A lead's HTML far longer than its text (links with huge addresses) is shown
                // as its text.
                let lead_html = match story.lead_html.len() > MAX_LEAD_HTML_BYTES {
                    true => format!("<p>{}</p>", html_escape::encode_text(&lead_text)),
                    false => sanitize_fragment(&story.lead_html),
                };
                StoryContext {
                    title: clip(&story.title, MAX_TITLE_CHARS),
                    url,
                    source: clip(&story.source, MAX_TITLE_CHARS),
                    date: &story.date,
                    published: &story.published,
                    lead_text,
                    lead_html,
                    also,
                    rank: story.rank,
                    link_ref,
                }
            })
            .collect();
        if !stories.is_empty() {
            sections.push(SectionContext {
                title: section.title.as_deref().filter(|t| !t.trim().is_empty()),
                stories,
            });
        }
    }

    let total = total_stories(issue);
    let web_url = absolute_http(&issue.web_url).unwrap_or_default();
    DigestContext {
        newsletter: &issue.newsletter,
        digest: &issue.digest,
        number: issue.number,
        date: &issue.date,
        window_from: &issue.window_from,
        window_to: &issue.window_to,
        subject: clip(&issue.subject, MAX_SUBJECT_CHARS),
        preheader: preheader(issue, total),
        intro_html: intro_html.filter(|h| !h.trim().is_empty()),
        intro_text,
        intro_markdown: issue.intro_markdown.as_deref(),
        story_count: kept.len(),
        total_stories: total,
        dropped: total - kept.len(),
        more_url: web_url.clone(),
        web_url,
        archive_url: absolute_http(&issue.archive_url).unwrap_or_default(),
        subscribe_url: absolute_http(&issue.subscribe_url).unwrap_or_default(),
        sections,
        subscriber,
        links: refs.into_vec(),
    }
}

/// The inbox preview line: the first headline and how many stories follow it.
fn preheader(issue: &IssueView, total: usize) -> String {
    let first = issue.sections.iter().flat_map(|s| &s.stories).next();
    let first = first.map(|s| clip(&s.title, MAX_TITLE_CHARS));
    match (first, total) {
        (None, _) => format!("{} #{}", issue.digest.title, issue.number),
        (Some(t), 1) => t.into_owned(),
        (Some(t), 2) => format!("{t} — and 1 more story"),
        (Some(t), n) => format!("{t} — and {} more stories", n - 1),
    }
}

#[derive(Serialize)]
pub(crate) struct ConfirmContext<'a> {
    newsletter: &'a NewsletterView,
    digests: &'a [String],
    confirm_url: String,
    email: &'a str,
}

pub(crate) fn confirm_context(c: &ConfirmView) -> ConfirmContext<'_> {
    ConfirmContext {
        newsletter: &c.newsletter,
        digests: &c.digests,
        confirm_url: absolute_http(&c.confirm_url).unwrap_or_default(),
        email: &c.email,
    }
}
