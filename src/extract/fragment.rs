//! Feed-item fragments (content:encoded, Atom content, summaries): the lead
//! of an HTML fragment or of plain text, and whether the content is only a
//! teaser of the article.
//!
//! Paragraphs are block elements and runs separated by two or more `<br>`;
//! in text without such markup (plain text, or HTML with inline tags only),
//! blank lines separate paragraphs, or every line break when there is no
//! blank line at all.

use std::sync::OnceLock;

use regex::Regex;
use scraper::Html;
use url::Url;

use super::context::LeadContext;
use super::dom::{has_no_structure, walk_with, Newlines, Walked};
use super::explain::Explanation;
use super::lead::{judge, Candidate, Extent, Scene};
use super::text::collapse_ws;
use super::Lead;

/// Lead of a feed item's HTML fragment or plain text, with no context.
pub fn lead_from_fragment(html: &str, base: Option<&Url>) -> Option<Lead> {
    fragment_lead(html, base, &LeadContext::default())
}

/// Lead of a fragment, knowing the story's headline and feed.
pub fn fragment_lead(html: &str, base: Option<&Url>, ctx: &LeadContext<'_>) -> Option<Lead> {
    judge_fragment(html, base, ctx, Extent::Lead(2)).lead
}

/// Every candidate paragraph of a fragment, judged, and the lead (two paragraphs at most).
pub fn explain_fragment(html: &str, base: Option<&Url>, ctx: &LeadContext<'_>) -> Explanation {
    judge_fragment(html, base, ctx, Extent::All)
}

fn judge_fragment(
    html: &str,
    base: Option<&Url>,
    ctx: &LeadContext<'_>,
    extent: Extent,
) -> Explanation {
    let reused = walked_already(html, base, ctx);
    let own;
    let walked = match reused {
        Some(w) => w,
        None => {
            own = walk_fragment(html, base);
            &own
        }
    };
    let cands: Vec<Candidate<'_>> = walked
        .blocks
        .iter()
        .enumerate()
        .map(|(index, b)| Candidate {
            block: b,
            index,
            marks: b.marks,
        })
        .collect();
    let scene = Scene::new(&walked.blocks, &walked.images, 1, ctx);
    let judged = judge(&cands, &scene, extent);
    Explanation::new("fragment", ctx.title.map(String::from), judged, Vec::new())
}

/// The text of each paragraph of a fragment, in order (for the feed index).
pub fn fragment_blocks(html: &str) -> Vec<String> {
    walk_fragment(html, None)
        .blocks
        .into_iter()
        .map(|b| b.text)
        .collect()
}

/// Parses a fragment into blocks; see the module doc for paragraphs.
pub(super) fn walk_fragment(html: &str, base: Option<&Url>) -> Walked {
    let mut doc = Html::parse_fragment(html);
    if !has_elements(&doc) {
        // Escaped twice: the text itself is markup.
        let text: String = doc.root_element().text().collect();
        if looks_like_markup(&text) {
            doc = Html::parse_fragment(&text);
        }
    }
    let newlines = if has_no_structure(&doc) {
        if blank_line().is_match(html) {
            Newlines::Blank
        } else {
            Newlines::Each
        }
    } else {
        Newlines::Ignore
    };
    walk_with(&doc, base, newlines)
}

fn has_elements(doc: &Html) -> bool {
    doc.root_element()
        .descendants()
        .skip(1)
        .any(|n| n.value().is_element())
}

fn looks_like_markup(text: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)<(p|br|div|a\s|img|/p|/a|/div)\b").expect("static regex"))
        .is_match(text)
}

fn blank_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\n[ \t\r\u{a0}]*\n").expect("static regex"))
}

/// The walk the feed index already made of this very fragment, with the same base, if any.
fn walked_already<'c>(html: &str, base: Option<&Url>, ctx: &LeadContext<'c>) -> Option<&'c Walked> {
    ctx.feed
        .and_then(|f| f.walked)
        .filter(|(f, b, _)| {
            std::ptr::eq(f.as_ptr(), html.as_ptr()) && f.len() == html.len() && *b == base
        })
        .map(|(_, _, w)| w)
}

/// True when feed content is only a teaser: empty, short, or ending in a cut
/// marker ("…", "[…]", "Continue reading", "The post … appeared first on …").
pub fn is_teaser(html: &str) -> bool {
    let text = if html.contains('<') {
        let doc = Html::parse_fragment(html);
        collapse_ws(&doc.root_element().text().collect::<String>())
    } else {
        collapse_ws(&html_escape::decode_html_entities(html))
    };
    teaser_text(&text)
}

/// [`is_teaser`], from the feed index's walk of the fragment when it has one (its paragraphs
/// are the fragment's text), so the fragment is not parsed again.
pub fn is_teaser_in(html: &str, base: Option<&Url>, ctx: &LeadContext<'_>) -> bool {
    match walked_already(html, base, ctx) {
        Some(w) => {
            let text: Vec<&str> = w.blocks.iter().map(|b| b.text.as_str()).collect();
            teaser_text(&text.join(" "))
        }
        None => is_teaser(html),
    }
}

fn teaser_text(text: &str) -> bool {
    let words = text.split(' ').filter(|w| !w.is_empty()).count();
    if words < 40 {
        return true;
    }
    let tail: String = {
        let chars: Vec<char> = text.chars().collect();
        chars[chars.len().saturating_sub(400)..].iter().collect()
    };
    cut_marker().is_match(&tail)
}

fn cut_marker() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(…|\.\.\.|\[…\]|\[\.\.\.\]|\(…\)|\(\.\.\.\))\W{0,3}$|(?-u:\b)(continue reading|read more|read the (full|rest)|keep reading|more\s*»)(?-u:\b).{0,80}$|(?-u:\b)the post(?-u:\b).{1,200}(?-u:\b)appeared first on(?-u:\b)")
            .expect("static regex")
    })
}
