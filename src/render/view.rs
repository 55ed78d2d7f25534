//! The borrowed-free view structs gazette fills in and the templates read.
//!
//! Everything here is data from config, feeds or the store; feed-supplied strings are untrusted.
//! The renderer validates URLs and re-sanitizes the two HTML fields before any template sees them.

use serde::{Deserialize, Serialize};

/// The newsletter as a whole (`[newsletter]` in the config).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewsletterView {
    /// Display name, e.g. "Policy Wire".
    pub name: String,
    /// Absolute base URL of the web app, e.g. `https://digest.example.org`.
    pub base_url: String,
    /// BCP 47 language tag for `<html lang>`, e.g. "en".
    pub lang: String,
}

/// The digest this issue belongs to (`[[digests]]` in the config).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestView {
    /// Config name, e.g. "weekly".
    pub name: String,
    /// Display title, e.g. "Tech Policy Weekly".
    pub title: String,
}

/// One issue of a digest, ready to render.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssueView {
    pub newsletter: NewsletterView,
    pub digest: DigestView,
    /// Issue number within the digest, from 1.
    pub number: i64,
    /// Display date of the issue, e.g. "27 November 2026".
    pub date: String,
    /// Display start of the story window.
    pub window_from: String,
    /// Display end of the story window.
    pub window_to: String,
    /// The email subject, e.g. "Tech Policy Weekly #3: <first headline>".
    pub subject: String,
    /// The editor's intro as sanitized HTML (see [`super::markdown_to_safe_html`]).
    pub intro_html: Option<String>,
    /// The editor's intro as its Markdown source; the text and Markdown outputs use it.
    /// When `None` and `intro_html` is set, those outputs use the text of `intro_html`.
    pub intro_markdown: Option<String>,
    /// Sections in display order; one section with `title: None` when the digest has no topics.
    pub sections: Vec<SectionView>,
    /// "View in browser": the archived copy of this issue, absolute.
    pub web_url: String,
    /// The archive of all issues, absolute.
    pub archive_url: String,
    /// Where a reader of the web copy subscribes or manages a subscription, absolute.
    pub subscribe_url: String,
}

/// A group of stories, usually one topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SectionView {
    pub title: Option<String>,
    /// The topic's config name (`privacy`); what a reader's topic choice keeps. `None` when
    /// the digest has no topics (and in views stored before readers could choose).
    #[serde(default)]
    pub topic: Option<String>,
    pub stories: Vec<StoryView>,
}

/// One story of the issue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoryView {
    pub title: String,
    /// The article, absolute http(s); anything else renders the headline unlinked.
    pub url: String,
    /// Feed display name.
    pub source: String,
    /// Display date, e.g. "26 November 2026".
    pub date: String,
    /// RFC 3339 publication time (for `<time datetime>`).
    pub published: String,
    /// The lead paragraph as plain text (text and Markdown outputs).
    pub lead_text: String,
    /// The lead paragraph as sanitized HTML (HTML output).
    pub lead_html: String,
    /// Other sources that covered the same story.
    pub also: Vec<AlsoView>,
    /// Rank within the issue, 0 = best; the highest ranks are dropped first when the HTML is too big.
    pub rank: usize,
}

/// Another source's article about the same story.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlsoView {
    pub source: String,
    pub url: String,
    pub title: String,
}

/// The recipient of one copy of the issue. `None` in `render` means the archived web copy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Personal {
    pub email: String,
    pub name: Option<String>,
    /// This subscriber's unsubscribe page, absolute.
    pub unsubscribe_url: String,
    /// This subscriber's manage page (topics, format, time zone, pause, their data), absolute;
    /// `""` for a recipient who is not a subscriber.
    #[serde(default)]
    pub manage_url: String,
}

/// The double opt-in confirmation email.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmView {
    pub newsletter: NewsletterView,
    /// Titles of the digests the address asked for.
    pub digests: Vec<String>,
    /// The confirmation page (a GET that shows a confirm button), absolute.
    pub confirm_url: String,
    /// The address being confirmed.
    pub email: String,
}
