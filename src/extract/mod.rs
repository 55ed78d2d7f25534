//! The extract stage: from a feed item's content or its article page to the
//! lead paragraph a digest shows under each headline.
//!
//! - [`lead_from_fragment`]: lead of feed content (HTML fragment or plain text).
//! - [`extract_page`]: title, body paragraphs and lead of a whole article page.
//! - [`is_teaser`]: whether feed content is only a teaser of the article.
//! - [`choose`]: which source to trust: content, else page, else summary.
//! - [`choose_in_context`]: the same, knowing the story's headline and the
//!   other items of its feed ([`LeadContext`], [`FeedIndex`]).
//! - [`explain_fragment`], [`explain_page`]: every candidate paragraph with
//!   its score and why it was refused or kept.
//! - [`excerpt`]: the digest's sentence-boundary cut of a lead.
//!
//! How a lead is picked: the input is cut into paragraphs (block elements,
//! `<br><br>` runs, blank lines of plain text); on a page only those of the
//! body region count. Each paragraph is judged on signals that hold across
//! sites and languages: the elements around it (figure, chrome, heading,
//! caption/byline/share class words, quotation), its link density, its shape
//! (prose rule, brackets, credit lines, italics before the text), whether it
//! sits in a box with an image and little else, whether it repeats the
//! headline, and whether the feed's other items repeat it. The first
//! paragraphs that read as prose and are not refused are the lead.
//!
//! Pure functions of their input: fetching pages and caching stay elsewhere.

mod context;
mod dom;
mod excerpt;
mod explain;
mod filters;
mod fragment;
mod lead;
mod marks;
mod page;
mod region;
mod sanitize;
mod shape;
mod text;

#[cfg(test)]
mod tests;

use serde::Serialize;
use url::Url;

pub use context::{FeedBatch, FeedIndex, FeedRef, LeadContext};
pub use excerpt::excerpt;
pub use explain::{Explanation, Verdict};
pub use filters::{refuse, Refusal};
pub use fragment::{explain_fragment, fragment_lead, is_teaser, lead_from_fragment};
pub use page::{explain_page, extract_page, extract_page_in_context};
/// The sanitizer every extracted lead paragraph passes (links only); an editor's lead passes it too.
pub use sanitize::lead_html as sanitize_lead_html;
pub use text::{is_prose, token_f1};

/// Where a lead came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LeadSource {
    /// The feed item's full content.
    Content,
    /// The fetched article page.
    Article,
    /// The feed item's summary.
    Summary,
}

impl LeadSource {
    /// The name stored and printed: `content`, `article` or `summary`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Content => "content",
            Self::Article => "article",
            Self::Summary => "summary",
        }
    }
}

/// One paragraph of a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paragraph {
    /// Plain text: entities decoded, whitespace collapsed.
    pub text: String,
    /// Sanitized HTML: only `<a href>` to absolute http(s) URLs, `rel="noopener"`.
    pub html: String,
}

/// The lead: its first paragraph, and the second one when the page has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lead {
    /// At most two paragraphs; never empty.
    pub paragraphs: Vec<Paragraph>,
}

impl Lead {
    /// The first `n` paragraphs as plain text, separated by a blank line.
    pub fn text(&self, n: usize) -> String {
        self.join(n, |p| &p.text, "\n\n")
    }

    /// The first `n` paragraphs as sanitized HTML, each in a `<p>`.
    pub fn html(&self, n: usize) -> String {
        self.paragraphs
            .iter()
            .take(n.max(1))
            .map(|p| format!("<p>{}</p>", p.html))
            .collect()
    }

    fn join(&self, n: usize, f: impl Fn(&Paragraph) -> &String, sep: &str) -> String {
        let parts: Vec<&str> = self
            .paragraphs
            .iter()
            .take(n.max(1))
            .map(|p| f(p).as_str())
            .collect();
        parts.join(sep)
    }
}

/// An article page after extraction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Page {
    /// The headline (`og:title`, else `<h1>`, else `<title>`).
    pub title: Option<String>,
    /// Plain-text paragraphs of the main content, in order.
    pub paragraphs: Vec<String>,
    /// The lead, when the body has a paragraph that reads as one.
    pub lead: Option<Lead>,
}

/// Picks the lead source: full feed content unless it is a teaser, else the
/// fetched page, else the summary, else the teaser content itself.
pub fn choose(
    content: Option<&str>,
    summary: Option<&str>,
    page: Option<&str>,
    base: Option<&Url>,
) -> Option<(Lead, LeadSource)> {
    choose_in_context(content, summary, page, base, &LeadContext::default())
}

/// [`choose`], knowing the story's headline and its feed: a paragraph that
/// repeats the headline, or that other items of the feed share, is never the
/// lead. Build one [`FeedIndex`] per feed from its items' fragments (each
/// item's content, else its summary, in the same order) and pass each story's
/// position in it:
///
/// ```
/// use gazette::extract::{choose_in_context, FeedIndex, FeedRef, LeadContext};
/// let note = "<p><i>This post is part of our series on testing, first published elsewhere.</i></p>";
/// let items: Vec<String> = ["Alpha", "Beta", "Gamma"]
///     .iter()
///     .map(|w| format!("{note}<p>{w} is the story of this post, told in one plain sentence.</p>"))
///     .collect();
/// let index = FeedIndex::new(&items);
/// let ctx = LeadContext { title: Some("Alpha"), feed: Some(FeedRef { index: &index, item: Some(0), walked: None }) };
/// let (lead, _) = choose_in_context(Some(&items[0]), None, None, None, &ctx).unwrap();
/// assert!(lead.text(1).starts_with("Alpha is the story"));
/// ```
pub fn choose_in_context(
    content: Option<&str>,
    summary: Option<&str>,
    page: Option<&str>,
    base: Option<&Url>,
    ctx: &LeadContext<'_>,
) -> Option<(Lead, LeadSource)> {
    let fragment = |html: &str| fragment_lead(html, base, ctx);
    let content = content.filter(|c| !c.trim().is_empty());
    if let Some(c) = content.filter(|c| !fragment::is_teaser_in(c, base, ctx)) {
        if let Some(lead) = fragment(c) {
            return Some((lead, LeadSource::Content));
        }
    }
    if let Some(lead) = page.and_then(|p| extract_page_in_context(p, base, ctx).lead) {
        return Some((lead, LeadSource::Article));
    }
    if let Some(lead) = summary.and_then(fragment) {
        return Some((lead, LeadSource::Summary));
    }
    content
        .and_then(fragment)
        .map(|lead| (lead, LeadSource::Content))
}

/// Stored items of a feed beside its new ones when judging what the feed repeats.
pub const FEED_CONTEXT: usize = 30;

/// What a story's feed item says: its content, else its summary.
pub fn item_fragment(story: &crate::model::Story) -> Option<&str> {
    story
        .content_html
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .or(story.summary_html.as_deref())
}

/// One story whose lead is wanted: its feed, the story, and its article page when one was
/// fetched (untrusted HTML: flattened here before it is read).
pub type LeadWork<'a> = (&'a str, &'a crate::model::Story, Option<&'a str>);

/// The leads of a batch of stories (in order), each judged with its feed's other items: the
/// batch's own and `earlier` (feed URL, fragment) ones, the feed's latest stored items. Each
/// fragment is parsed once, for the feed index and the lead. `spread` runs the work on every
/// core ([`crate::par::map`]); without it, on the calling thread.
pub fn story_leads(
    work: &[LeadWork<'_>],
    earlier: &[(String, String)],
    paragraphs: usize,
    spread: bool,
) -> Vec<crate::model::StoredLead> {
    let bases: Vec<Option<Url>> = work
        .iter()
        .map(|(_, s, _)| s.url.as_deref().and_then(|u| Url::parse(u).ok()))
        .collect();
    let feeds = FeedBatch::walked_on(
        work.iter()
            .zip(&bases)
            .map(|((feed, s, _), base)| (*feed, item_fragment(s), base.as_ref())),
        earlier.iter().map(|(f, x)| (f.as_str(), x.as_str())),
        spread,
    );
    let one = |i: &usize| {
        let (_, s, page) = work[*i];
        let context = feeds.context(*i, Some(&s.title));
        story_lead(s, page, bases[*i].as_ref(), paragraphs, &context)
    };
    let positions: Vec<usize> = (0..work.len()).collect();
    if spread {
        crate::par::map(&positions, one)
    } else {
        positions.iter().map(one).collect()
    }
}

/// The lead of a story: from its content, the article page (flattened first), or its summary
/// ([`choose_in_context`]); an empty lead with source `none` when there is nothing to take.
fn story_lead(
    s: &crate::model::Story,
    page: Option<&str>,
    base: Option<&Url>,
    paragraphs: usize,
    context: &LeadContext<'_>,
) -> crate::model::StoredLead {
    let page = page.map(|p| crate::html::flatten_deep(p).0);
    match choose_in_context(
        s.content_html.as_deref(),
        s.summary_html.as_deref(),
        page.as_deref(),
        base,
        context,
    ) {
        Some((lead, source)) => crate::model::StoredLead {
            text: lead.text(paragraphs),
            html: lead.html(paragraphs),
            source: source.as_str().into(),
        },
        None => crate::model::StoredLead {
            text: String::new(),
            html: String::new(),
            source: "none".into(),
        },
    }
}
