//! Lead selection: the first blocks that read as prose and are none of the
//! things a reader never wants as a lead (captions, bylines, prompts, ...).

use super::dom::Block;
use super::filters::refuse;
use super::marks::Mark;
use super::text::{is_prose, token_f1};

/// Marks that disqualify a block when found between it and its region.
pub const REFUSED_MARKS: Mark = Mark(0)
    .with(Mark::FIGURE)
    .with(Mark::CHROME)
    .with(Mark::HEADING)
    .with(Mark::CAPTION)
    .with(Mark::JUNK)
    .with(Mark::META)
    .with(Mark::FORM)
    .with(Mark::QUOTE);

/// A block the caller has already placed (its relevant marks computed).
pub struct Candidate<'a> {
    /// The block.
    pub block: &'a Block,
    /// Marks of the elements that matter for this block (e.g. below the region).
    pub marks: Mark,
}

/// True when the block may be a lead by text and local structure alone.
pub fn acceptable(c: &Candidate<'_>, title: Option<&str>) -> bool {
    let b = c.block;
    if c.marks.any(REFUSED_MARKS) || b.link_density() > 0.5 {
        return false;
    }
    if refuse(&b.text).is_some() {
        return false;
    }
    !title.is_some_and(|t| token_f1(t, &b.text) >= 0.8)
}

/// Up to `n` prose blocks in order; falls back like the shared rule: the
/// first acceptable block of at least 40 characters, then any acceptable one.
pub fn pick<'a>(cands: &[Candidate<'a>], title: Option<&str>, n: usize) -> Vec<&'a Block> {
    let ok: Vec<&Block> = cands
        .iter()
        .filter(|c| acceptable(c, title))
        .map(|c| c.block)
        .collect();
    let prose: Vec<&Block> = ok
        .iter()
        .copied()
        .filter(|b| is_prose(&b.text))
        .take(n)
        .collect();
    if !prose.is_empty() {
        return prose;
    }
    let long: Vec<&Block> = ok
        .iter()
        .copied()
        .filter(|b| b.text.chars().count() >= 40)
        .take(n)
        .collect();
    if !long.is_empty() {
        return long;
    }
    ok.into_iter().take(n).collect()
}
