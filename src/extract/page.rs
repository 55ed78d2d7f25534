//! Whole article pages: title, main-content paragraphs and the lead.
//! The body region comes from `region`; JSON-LD `articleBody`, when the page
//! has one, confirms or moves the lead to the first paragraph it contains.

use scraper::Html;
use url::Url;

use super::dom::{walk, Block, Meta};
use super::lead::{acceptable, pick, Candidate};
use super::marks::Mark;
use super::region::{self, Region};
use super::text::{collapse_ws, is_prose, norm_tokens};
use super::{Lead, Page};

/// Extracts title, body paragraphs and lead from a whole HTML page.
pub fn extract_page(html: &str, url: Option<&Url>) -> Page {
    let doc = Html::parse_document(html);
    let walked = walk(&doc, url);
    let blocks = &walked.blocks;
    let title = page_title(&walked.meta, blocks);
    let region = region::find(blocks);
    let cands = region
        .as_ref()
        .map(|r| region_candidates(blocks, r))
        .unwrap_or_default();
    let paragraphs = cands
        .iter()
        .filter(|c| acceptable(c, None) || c.block.chars >= 80)
        .map(|c| c.block.text.clone())
        .collect();
    let mut lead_blocks = pick(&cands, title.as_deref(), 2);
    if let Some(body) = ld_article_body(&walked.meta) {
        lead_blocks = confirm_with_body(blocks, lead_blocks, &body, title.as_deref());
    }
    if lead_blocks.is_empty() {
        lead_blocks = pick(&local_candidates(blocks), title.as_deref(), 2);
    }
    Page {
        title,
        paragraphs,
        lead: Lead::from_blocks(&lead_blocks),
    }
}

fn region_candidates<'a>(blocks: &'a [Block], r: &Region) -> Vec<Candidate<'a>> {
    blocks
        .iter()
        .filter_map(|b| {
            let depth = r.member_depth(b)?;
            Some(Candidate {
                block: b,
                marks: r.marks_inside(b, depth),
            })
        })
        .collect()
}

/// Candidates judged by their nearest ancestors only (no region known).
fn local_candidates(blocks: &[Block]) -> Vec<Candidate<'_>> {
    blocks
        .iter()
        .map(|b| Candidate {
            block: b,
            marks: local_marks(b),
        })
        .collect()
}

fn local_marks(b: &Block) -> Mark {
    b.marks_below(b.owner.saturating_sub(3)) | b.marks.intersect(Mark::FIGURE | Mark::HEADING)
}

/// Keeps the region's lead when JSON-LD `articleBody` contains it; otherwise
/// takes the first acceptable blocks of the page that the body contains.
fn confirm_with_body<'a>(
    blocks: &'a [Block],
    lead: Vec<&'a Block>,
    body: &str,
    title: Option<&str>,
) -> Vec<&'a Block> {
    let inside = |b: &Block| {
        let n = norm_tokens(&b.text);
        let head: String = n.chars().take(80).collect();
        head.len() >= 20 && body.contains(&head)
    };
    if lead.first().is_some_and(|b| inside(b)) {
        return lead;
    }
    let found: Vec<&'a Block> = local_candidates(blocks)
        .into_iter()
        .filter(|c| acceptable(c, title) && is_prose(&c.block.text) && inside(c.block))
        .map(|c| c.block)
        .take(2)
        .collect();
    if found.is_empty() {
        lead
    } else {
        found
    }
}

/// The normalised `articleBody` of the page's JSON-LD, if long enough to trust.
fn ld_article_body(meta: &Meta) -> Option<String> {
    meta.ld_json.iter().find_map(|raw| {
        let value: serde_json::Value = serde_json::from_str(raw.trim()).ok()?;
        let body = find_key(&value, "articleBody", 0)?;
        let norm = norm_tokens(&html_escape::decode_html_entities(body));
        (norm.len() >= 200).then_some(norm)
    })
}

fn find_key<'v>(v: &'v serde_json::Value, key: &str, depth: usize) -> Option<&'v str> {
    if depth > 8 {
        return None;
    }
    match v {
        serde_json::Value::Object(map) => map
            .get(key)
            .and_then(|x| x.as_str())
            .or_else(|| map.values().find_map(|x| find_key(x, key, depth + 1))),
        serde_json::Value::Array(items) => items.iter().find_map(|x| find_key(x, key, depth + 1)),
        _ => None,
    }
}

/// The headline: `og:title`, else the first `<h1>`, else `<title>`.
fn page_title(meta: &Meta, blocks: &[Block]) -> Option<String> {
    let h1 = || {
        blocks
            .iter()
            .find(|b| b.marks.any(Mark::H1))
            .map(|b| b.text.clone())
    };
    meta.og_title
        .clone()
        .or_else(h1)
        .or_else(|| meta.title_tag.clone())
        .map(|t| collapse_ws(&t))
        .filter(|t| !t.is_empty())
}
