//! Whole article pages: title, main-content paragraphs and the lead.
//! The body region comes from `region`; JSON-LD `articleBody`, when the page
//! has one, confirms or moves the lead to the first paragraph it contains.

use scraper::Html;
use url::Url;

use super::context::LeadContext;
use super::dom::{walk, Block, Meta};
use super::explain::Explanation;
use super::lead::{judge, Candidate, Extent, Scene, STRUCTURE};
use super::marks::Mark;
use super::region::{self, Region};
use super::text::{collapse_ws, is_prose, norm_tokens};
use super::Page;

/// Extracts title, body paragraphs and lead from a whole HTML page.
pub fn extract_page(html: &str, url: Option<&Url>) -> Page {
    extract_page_in_context(html, url, &LeadContext::default())
}

/// [`extract_page`] with the story's headline and feed.
pub fn extract_page_in_context(html: &str, url: Option<&Url>, ctx: &LeadContext<'_>) -> Page {
    let (page, _) = judge_page(html, url, ctx, Extent::Lead(2));
    page
}

/// Every candidate paragraph of a page, judged, and the page with its lead.
pub fn explain_page(html: &str, url: Option<&Url>) -> (Page, Explanation) {
    judge_page(html, url, &LeadContext::default(), Extent::All)
}

fn judge_page(
    html: &str,
    url: Option<&Url>,
    ctx: &LeadContext<'_>,
    extent: Extent,
) -> (Page, Explanation) {
    let doc = Html::parse_document(html);
    let walked = walk(&doc, url);
    let blocks = &walked.blocks;
    let title = page_title(&walked.meta, blocks);
    let ctx = LeadContext {
        title: ctx.title.or(title.as_deref()),
        feed: ctx.feed,
    };
    let scene = Scene::new(blocks, &walked.images, 2, &ctx);
    let region = region::find(blocks);
    let cands = region
        .as_ref()
        .map(|r| region_candidates(blocks, r))
        .unwrap_or_default();
    let mut notes = Vec::new();
    let mut judged = judge(&cands, &scene, extent);
    let paragraphs = cands
        .iter()
        .filter(|c| {
            (!c.marks.any(STRUCTURE) && c.block.link_density() <= 0.5) || c.block.chars >= 80
        })
        .map(|c| c.block.text.clone())
        .collect();
    match &region {
        None => notes.push("no body region found".to_string()),
        Some(r) => {
            let names: Vec<String> = r
                .members
                .iter()
                .map(|(_, id)| describe(&doc, *id))
                .collect();
            notes.push(format!("body region: {}", names.join(" + ")));
        }
    }
    if let Some(body) = ld_article_body(&walked.meta) {
        let inside = |i: usize| {
            let n = norm_tokens(&blocks[i].text);
            let head: String = n.chars().take(80).collect();
            head.len() >= 20 && body.contains(&head)
        };
        let first = judged.iter().find(|j| j.picked).map(|j| j.index);
        if !first.is_some_and(inside) {
            let within: Vec<Candidate<'_>> = local_candidates(blocks)
                .into_iter()
                .filter(|c| inside(c.index))
                .collect();
            let mut local = judge(&within, &scene, extent);
            let mut found = 0;
            for j in &mut local {
                j.picked = found < 2 && j.refusal.is_none() && is_prose(&j.text);
                found += usize::from(j.picked);
            }
            if found > 0 {
                notes.push(
                    "the body region's lead is not in the page's JSON-LD articleBody: \
                     the first paragraphs of the page that are"
                        .to_string(),
                );
                judged = local;
            }
        }
    }
    if !judged.iter().any(|j| j.picked) {
        notes.push("no lead in the body region: paragraphs of the whole page".to_string());
        judged = judge(&local_candidates(blocks), &scene, extent);
    }
    let explanation = Explanation::new("page", ctx.title.map(String::from), judged, notes);
    let page = Page {
        title,
        paragraphs,
        lead: explanation.lead.clone(),
    };
    (page, explanation)
}

/// `tag#id.class` of an element, for notes.
fn describe(doc: &Html, id: ego_tree::NodeId) -> String {
    let Some(el) = doc
        .tree
        .get(id)
        .and_then(|n| n.value().as_element().cloned())
    else {
        return "?".into();
    };
    let mut out = el.name().to_string();
    if let Some(i) = el.attr("id") {
        out.push('#');
        out.push_str(i);
    }
    for c in el.classes() {
        out.push('.');
        out.push_str(c);
    }
    out
}

fn region_candidates<'a>(blocks: &'a [Block], r: &Region) -> Vec<Candidate<'a>> {
    blocks
        .iter()
        .enumerate()
        .filter_map(|(index, b)| {
            let depth = r.member_depth(b)?;
            Some(Candidate {
                block: b,
                index,
                marks: r.marks_inside(b, depth),
            })
        })
        .collect()
}

/// Candidates judged by their nearest ancestors only (no region known).
fn local_candidates(blocks: &[Block]) -> Vec<Candidate<'_>> {
    blocks
        .iter()
        .enumerate()
        .map(|(index, b)| Candidate {
            block: b,
            index,
            marks: local_marks(b),
        })
        .collect()
}

fn local_marks(b: &Block) -> Mark {
    b.marks_below(b.owner.saturating_sub(3)) | b.marks.intersect(Mark::FIGURE | Mark::HEADING)
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
