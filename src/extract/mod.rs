//! The extract stage: from a feed item's content or its article page to the
//! lead paragraph a digest shows under each headline.
//!
//! - [`lead_from_fragment`]: lead of feed content (HTML fragment or plain text).
//! - [`extract_page`]: title, body paragraphs and lead of a whole article page.
//! - [`is_teaser`]: whether feed content is only a teaser of the article.
//! - [`choose`]: which source to trust: content, else page, else summary.
//! - [`excerpt`]: the digest's sentence-boundary cut of a lead.
//!
//! Pure functions of their input: fetching pages and caching stay elsewhere.

mod dom;
mod excerpt;
mod filters;
mod fragment;
mod lead;
mod marks;
mod page;
mod region;
mod sanitize;
mod text;

#[cfg(test)]
mod tests;

use serde::Serialize;
use url::Url;

pub use excerpt::excerpt;
pub use filters::{refuse, Refusal};
pub use fragment::{is_teaser, lead_from_fragment};
pub use page::extract_page;
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

    fn from_blocks(blocks: &[&dom::Block]) -> Option<Lead> {
        let paragraphs: Vec<Paragraph> = blocks
            .iter()
            .map(|b| Paragraph {
                text: b.text.clone(),
                html: sanitize::lead_html(&b.html),
            })
            .collect();
        (!paragraphs.is_empty()).then_some(Lead { paragraphs })
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
    let content = content.filter(|c| !c.trim().is_empty());
    if let Some(c) = content.filter(|c| !is_teaser(c)) {
        if let Some(lead) = lead_from_fragment(c, base) {
            return Some((lead, LeadSource::Content));
        }
    }
    if let Some(lead) = page.and_then(|p| extract_page(p, base).lead) {
        return Some((lead, LeadSource::Article));
    }
    if let Some(lead) = summary.and_then(|s| lead_from_fragment(s, base)) {
        return Some((lead, LeadSource::Summary));
    }
    content
        .and_then(|c| lead_from_fragment(c, base))
        .map(|lead| (lead, LeadSource::Content))
}
