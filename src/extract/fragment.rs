//! Feed-item fragments (content:encoded, Atom content, summaries): the lead
//! of an HTML fragment or of plain text, and whether the content is only a
//! teaser of the article.

use std::sync::OnceLock;

use regex::Regex;
use scraper::Html;
use url::Url;

use super::dom::{walk, Block};
use super::lead::{pick, Candidate};
use super::marks::Mark;
use super::text::collapse_ws;
use super::{Lead, Paragraph};

/// Lead of a feed item's HTML fragment or plain text.
pub fn lead_from_fragment(html: &str, base: Option<&Url>) -> Option<Lead> {
    if !html.contains('<') {
        return plain_lead(html);
    }
    let doc = Html::parse_fragment(html);
    let blocks = walk(&doc, base).blocks;
    let cands: Vec<Candidate<'_>> = blocks
        .iter()
        .map(|b| Candidate {
            block: b,
            marks: b.marks,
        })
        .collect();
    Lead::from_blocks(&pick(&cands, None, 2))
}

/// Plain text: paragraphs are separated by blank lines (or by single line
/// breaks when there is no blank line at all).
fn plain_lead(text: &str) -> Option<Lead> {
    let decoded = html_escape::decode_html_entities(text);
    let text = decoded.replace("\r\n", "\n");
    let parts: Vec<&str> = if text.contains("\n\n") {
        text.split("\n\n").collect()
    } else {
        text.split('\n').collect()
    };
    let blocks: Vec<Block> = parts
        .iter()
        .map(|p| plain_block(&collapse_ws(p)))
        .filter(|b| b.chars > 0)
        .collect();
    let cands: Vec<Candidate<'_>> = blocks
        .iter()
        .map(|b| Candidate {
            block: b,
            marks: Mark::empty(),
        })
        .collect();
    let picked = pick(&cands, None, 2);
    let paragraphs: Vec<Paragraph> = picked
        .iter()
        .map(|b| Paragraph {
            text: b.text.clone(),
            html: html_escape::encode_text(&b.text).into_owned(),
        })
        .collect();
    (!paragraphs.is_empty()).then_some(Lead { paragraphs })
}

fn plain_block(text: &str) -> Block {
    Block {
        text: text.to_string(),
        html: String::new(),
        chars: text.chars().filter(|c| !c.is_whitespace()).count(),
        link_chars: 0,
        path: Vec::new(),
        owner: 0,
        marks: Mark::empty(),
        loose: false,
    }
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
        Regex::new(r"(?i)(…|\.\.\.|\[…\]|\[\.\.\.\]|\(…\)|\(\.\.\.\))\W{0,3}$|\b(continue reading|read more|read the (full|rest)|keep reading|more\s*»)\b.{0,80}$|\bthe post\b.{1,200}\bappeared first on\b")
            .expect("static regex")
    })
}
