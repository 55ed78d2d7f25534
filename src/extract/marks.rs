//! Structural marks of an element: what its tag says (figure, navigation
//! chrome, heading, list, quote, table cell) and what its class/id words say
//! in generic boilerplate vocabulary (caption, share bar, byline, ...). No
//! site-specific names: only words publishers of every kind use.

use std::ops::{BitOr, BitOrAssign};

use std::sync::OnceLock;

use regex::RegexSet;
use scraper::node::Element;

/// A small bit set of element marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark(pub(crate) u16);

impl Mark {
    /// Inside `<figure>`, `<figcaption>` or `<picture>`.
    pub const FIGURE: Mark = Mark(1);
    /// Inside page chrome: `<nav>`, `<header>`, `<footer>`, `<aside>`, `<menu>`, `<dialog>`.
    pub const CHROME: Mark = Mark(1 << 1);
    /// Inside a heading `<h1>`..`<h6>`.
    pub const HEADING: Mark = Mark(1 << 2);
    /// Inside a list item or definition list entry.
    pub const LIST: Mark = Mark(1 << 3);
    /// Inside a `<blockquote>`.
    pub const QUOTE: Mark = Mark(1 << 4);
    /// Class/id speaks of a caption or a photo credit.
    pub const CAPTION: Mark = Mark(1 << 5);
    /// Class/id speaks of boilerplate: share bars, related links, ads, comments, ...
    pub const JUNK: Mark = Mark(1 << 6);
    /// Class/id speaks of article metadata: byline, date, standfirst, kicker.
    pub const META: Mark = Mark(1 << 7);
    /// Class/id speaks of article content: article, body, content, entry, story, ...
    pub const POSITIVE: Mark = Mark(1 << 8);
    /// Inside `<h1>`.
    pub const H1: Mark = Mark(1 << 9);
    /// Inside a `<form>`.
    pub const FORM: Mark = Mark(1 << 10);
    /// An inline element (`span`, `em`, ...) whose class names a caption or credit:
    /// the walker makes its text a block of its own.
    pub const INLINE_CAPTION: Mark = Mark(1 << 11);
    /// Microdata says this element is the article's body (`itemprop="articleBody"`).
    pub const BODY_PROP: Mark = Mark(1 << 12);

    /// The empty set.
    pub const fn empty() -> Mark {
        Mark(0)
    }

    /// The union, usable in constants.
    pub const fn with(self, other: Mark) -> Mark {
        Mark(self.0 | other.0)
    }

    /// The bits set in both.
    pub fn intersect(self, other: Mark) -> Mark {
        Mark(self.0 & other.0)
    }

    /// These bits minus the bits of `other`.
    pub fn without(self, other: Mark) -> Mark {
        Mark(self.0 & !other.0)
    }

    /// True when any bit of `other` is set.
    pub fn any(self, other: Mark) -> bool {
        self.0 & other.0 != 0
    }
}

impl BitOr for Mark {
    type Output = Mark;
    fn bitor(self, rhs: Mark) -> Mark {
        Mark(self.0 | rhs.0)
    }
}

impl BitOrAssign for Mark {
    fn bitor_assign(&mut self, rhs: Mark) {
        self.0 |= rhs.0;
    }
}

/// Marks an element carries by its tag and its class/id words.
pub fn element_marks(el: &Element) -> Mark {
    let prop = el.attr("itemprop").is_some_and(|p| {
        p.split_ascii_whitespace()
            .any(|w| w.eq_ignore_ascii_case("articleBody"))
    });
    tag_marks(el.name()) | word_marks(el) | if prop { Mark::BODY_PROP } else { Mark::empty() }
}

fn tag_marks(name: &str) -> Mark {
    match name {
        "figure" | "figcaption" | "picture" => Mark::FIGURE,
        "nav" | "header" | "footer" | "aside" | "menu" | "dialog" => Mark::CHROME,
        "h1" => Mark::HEADING | Mark::H1,
        "h2" | "h3" | "h4" | "h5" | "h6" => Mark::HEADING,
        "li" | "dt" | "dd" => Mark::LIST,
        "blockquote" => Mark::QUOTE,
        "form" => Mark::FORM,
        "article" | "main" => Mark::POSITIVE,
        _ => Mark::empty(),
    }
}

/// Words found anywhere inside a class or id token.
const CAPTION_PARTS: &[&str] = &["caption", "credit"];
const JUNK_PARTS: &[&str] = &[
    "share",
    "social",
    "related",
    "newsletter",
    "subscri",
    "promo",
    "advert",
    "sponsor",
    "cookie",
    "consent",
    "gdpr",
    "comment",
    "footer",
    "sidebar",
    "breadcrumb",
    "widget",
    "popup",
    "modal",
    "banner",
    "signup",
    "recommend",
    "trending",
    "popular",
    "disclaimer",
    "disclosure",
    "copyright",
    "toolbar",
    "offscreen",
    "navigation",
    "masthead",
    "outbrain",
    "taboola",
    "paywall",
    "jobs",
    "readmore",
    "read-more",
    "more-stories",
    "further",
];
const META_PARTS: &[&str] = &[
    "byline",
    "author",
    "dateline",
    "timestamp",
    "standfirst",
    "strapline",
    "subtitle",
    "subhead",
    "kicker",
    "eyebrow",
    "tagline",
    "headline",
    "published",
    "updated",
];
const POSITIVE_PARTS: &[&str] = &[
    "article", "body", "content", "entry", "story", "text", "prose", "post",
];
/// Whole class or id tokens (split on non-alphanumerics).
const JUNK_TOKENS: &[&str] = &[
    "ad", "ads", "adv", "nav", "menu", "tags", "topics", "print", "sr", "skip", "more",
];
const META_TOKENS: &[&str] = &["dek", "deck", "meta", "date", "time"];

fn word_marks(el: &Element) -> Mark {
    let mut m = Mark::empty();
    for value in [el.attr("class"), el.attr("id")].into_iter().flatten() {
        if value.is_empty() {
            continue;
        }
        let lower = value.to_ascii_lowercase();
        m |= words_marks(&lower);
    }
    if el.attr("role").is_some_and(|r| {
        matches!(
            r,
            "navigation" | "banner" | "contentinfo" | "complementary" | "dialog"
        )
    }) {
        m |= Mark::CHROME;
    }
    m
}

/// The four word lists as one set of literal patterns (searched at once).
fn parts() -> &'static (RegexSet, [Mark; 4]) {
    static SET: OnceLock<(RegexSet, [Mark; 4])> = OnceLock::new();
    SET.get_or_init(|| {
        let alt = |words: &[&str]| {
            words
                .iter()
                .map(|w| regex::escape(w))
                .collect::<Vec<_>>()
                .join("|")
        };
        let set = RegexSet::new([
            alt(CAPTION_PARTS),
            alt(JUNK_PARTS),
            alt(META_PARTS),
            alt(POSITIVE_PARTS),
        ])
        .expect("static regex set");
        (set, [Mark::CAPTION, Mark::JUNK, Mark::META, Mark::POSITIVE])
    })
}

fn words_marks(lower: &str) -> Mark {
    let mut m = Mark::empty();
    let (set, marks) = parts();
    for i in set.matches(lower).iter() {
        m |= marks[i];
    }
    for token in lower.split(|c: char| !c.is_ascii_alphanumeric()) {
        if JUNK_TOKENS.contains(&token) {
            m |= Mark::JUNK;
        }
        if META_TOKENS.contains(&token) {
            m |= Mark::META;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_words() {
        assert!(words_marks("wp-caption-text").any(Mark::CAPTION));
        assert!(words_marks("share-bar").any(Mark::JUNK));
        assert!(words_marks("c-byline__author").any(Mark::META));
        assert!(words_marks("article-body").any(Mark::POSITIVE));
        assert!(!words_marks("header-shadow").any(Mark::JUNK));
        assert!(words_marks("ad-slot").any(Mark::JUNK));
        assert!(!words_marks("loaded").any(Mark::JUNK));
    }
}
