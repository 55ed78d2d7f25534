//! Main-content detection: score every element by the prose its children
//! hold (commas, length, link density, generic class words; prose in list
//! items counts half), keep the best one, climb to a parent that holds
//! comparable prose, add sibling parts of the same body (and sibling
//! paragraphs, as Readability does), and reach back for earlier body chunks
//! that ads or layout grids split off before it. When microdata names an
//! `articleBody` element, the search stays inside it.

use std::collections::HashMap;

use ego_tree::NodeId;

use super::dom::Block;
use super::marks::Mark;
use super::text::is_prose;

/// The elements that make up the article body, in document order.
#[derive(Debug, Clone, Default)]
pub struct Region {
    /// Member elements with their depth (index in `Block::path`).
    pub members: Vec<(usize, NodeId)>,
    /// Per element: how many prose paragraphs it holds with no caption,
    /// promo or figure element between them and it.
    prose: HashMap<NodeId, usize>,
}

impl Region {
    /// Depth of the member element holding the block, if any.
    pub fn member_depth(&self, b: &Block) -> Option<usize> {
        self.members
            .iter()
            .find(|(d, id)| b.path.get(*d).is_some_and(|(n, _)| n == id))
            .map(|(d, _)| *d)
    }

    /// Marks between the member element and the block. Class-word marks of
    /// wrappers that hold three or more clean prose paragraphs (none inside a
    /// caption, promo or figure of its own) are ignored: a box that big is
    /// body, whatever its class says. A gallery of captions is not.
    pub fn marks_inside(&self, b: &Block, depth: usize) -> Mark {
        let words = Mark::CAPTION | Mark::JUNK | Mark::META;
        b.path
            .iter()
            .skip(depth + 1)
            .fold(Mark::empty(), |acc, (id, m)| {
                let big = self.prose.get(id).is_some_and(|&n| n >= 3);
                acc | if big { m.without(words) } else { *m }
            })
    }
}

#[derive(Default, Clone, Copy)]
struct Tally {
    score: f64,
    chars: usize,
    link_chars: usize,
    prose: usize,
    /// Prose paragraphs with no caption, promo or figure element between
    /// them and this element.
    clean: usize,
    blocks: usize,
    depth: usize,
    first: usize,
    marks: Mark,
    parent: Option<NodeId>,
}

impl Tally {
    fn density(&self) -> f64 {
        self.link_chars as f64 / self.chars.max(1) as f64
    }
    fn raw(&self) -> f64 {
        self.score * (1.0 - self.density())
    }
    fn weighted(&self) -> f64 {
        (self.score + class_weight(self.marks)) * (1.0 - self.density())
    }
}

/// Finds the article body among the blocks of a whole page: the best-scoring
/// element, searched only inside the element that microdata names
/// `articleBody` when the page has one that holds prose.
pub fn find(blocks: &[Block]) -> Option<Region> {
    let all = tally(blocks.iter());
    let declared = all
        .iter()
        .filter(|(_, t)| t.marks.any(Mark::BODY_PROP) && t.prose >= 1)
        .min_by_key(|(_, t)| (t.depth, t.first))
        .map(|(id, t)| (*id, t.depth));
    let tallies = match declared {
        Some((id, depth)) => {
            let inside = blocks
                .iter()
                .filter(|b| b.path.get(depth).is_some_and(|(n, _)| *n == id));
            let mut t = tally(inside);
            t.retain(|_, x| x.depth >= depth);
            if let Some(top) = t.get_mut(&id) {
                top.parent = None;
            }
            t
        }
        None => all,
    };
    let (top, _) = tallies
        .iter()
        .filter(|(_, t)| t.score > 0.0)
        .max_by(|a, b| a.1.weighted().total_cmp(&b.1.weighted()))?;
    let top = climb(&tallies, *top);
    let mut members = siblings(&tallies, top);
    members.extend(earlier_chunks(&tallies, top));
    members.sort_by_key(|id| tallies[id].first);
    members.dedup();
    Some(Region {
        members: members.iter().map(|id| (tallies[id].depth, *id)).collect(),
        prose: tallies.iter().map(|(id, t)| (*id, t.clean)).collect(),
    })
}

/// Readability's climb: while a parent scores at least a third of the best,
/// and more than its child, move up.
fn climb(tallies: &HashMap<NodeId, Tally>, mut top: NodeId) -> NodeId {
    let threshold = tallies[&top].weighted() / 3.0;
    let mut last = tallies[&top].weighted();
    let mut cur = tallies[&top].parent;
    while let Some(id) = cur {
        let Some(t) = tallies.get(&id) else { break };
        if t.depth < 2 || t.weighted() < threshold {
            break;
        }
        if t.weighted() > last {
            top = id;
            break;
        }
        last = t.weighted();
        cur = t.parent;
    }
    top
}

fn children(tallies: &HashMap<NodeId, Tally>, parent: NodeId) -> Vec<NodeId> {
    let mut out: Vec<NodeId> = tallies
        .iter()
        .filter(|(_, t)| t.parent == Some(parent))
        .map(|(id, _)| *id)
        .collect();
    out.sort_by_key(|id| tallies[id].first);
    out
}

/// The top element plus siblings whose own prose scores high enough.
fn siblings(tallies: &HashMap<NodeId, Tally>, top: NodeId) -> Vec<NodeId> {
    let top_t = tallies[&top];
    let threshold = (top_t.weighted() * 0.2).max(10.0);
    let Some(parent) = top_t.parent else {
        return vec![top];
    };
    children(tallies, parent)
        .into_iter()
        .filter(|id| {
            let t = &tallies[id];
            *id == top || (body_like(t) && (t.raw() >= threshold || is_paragraph(t)))
        })
        .collect()
}

/// A sibling that is one prose paragraph of 80+ characters (Readability's
/// rule): the standfirst or the first paragraph, set apart from the rest.
fn is_paragraph(t: &Tally) -> bool {
    t.blocks == 1 && t.prose == 1
}

/// Earlier parts of the body: up to three levels above the top element,
/// preceding siblings that hold at least two prose paragraphs and no chrome.
fn earlier_chunks(tallies: &HashMap<NodeId, Tally>, top: NodeId) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut branch = top;
    for _ in 0..3 {
        let Some(parent) = tallies[&branch].parent else {
            break;
        };
        let first = tallies[&branch].first;
        for id in children(tallies, parent) {
            let t = &tallies[&id];
            if t.first < first && t.prose >= 2 && body_like(t) {
                out.push(id);
            }
        }
        branch = parent;
    }
    out
}

fn body_like(t: &Tally) -> bool {
    t.density() < 0.25
        && !t
            .marks
            .any(Mark::JUNK | Mark::CHROME | Mark::META | Mark::CAPTION | Mark::FIGURE)
}

fn tally<'a>(blocks: impl Iterator<Item = &'a Block>) -> HashMap<NodeId, Tally> {
    let mut map: HashMap<NodeId, Tally> = HashMap::new();
    let widget = Mark::CAPTION | Mark::JUNK | Mark::FIGURE | Mark::CHROME;
    for (i, b) in blocks.enumerate() {
        let prose = b.chars >= 80 && b.link_density() < 0.3 && is_prose(&b.text);
        // The depth below which the path holds a widget mark: elements above it see
        // this paragraph as a caption or promo, elements at or below it as clean.
        let widget_at = if prose {
            b.path.iter().rposition(|(_, m)| m.any(widget))
        } else {
            None
        };
        for (depth, (id, marks)) in b.path.iter().enumerate() {
            let t = map.entry(*id).or_insert_with(|| Tally {
                depth,
                first: i,
                marks: *marks,
                parent: depth.checked_sub(1).map(|d| b.path[d].0),
                ..Tally::default()
            });
            t.chars += b.chars;
            t.link_chars += b.link_chars;
            t.prose += usize::from(prose);
            t.clean += usize::from(prose && widget_at.is_none_or(|w| w <= depth));
            t.blocks += 1;
        }
        let mut s = prose_score(b);
        if s <= 0.0 {
            continue;
        }
        // Articles are paragraphs: prose in list items (slideshows, link
        // lists, related stories) counts half.
        if b.marks.any(Mark::LIST) {
            s /= 2.0;
        }
        let start = if b.loose { b.owner + 1 } else { b.owner };
        for (level, k) in (1..=3).zip((0..start).rev()) {
            let divider = if level == 1 { 1.0 } else { level as f64 * 1.5 };
            if let Some(t) = map.get_mut(&b.path[k].0) {
                t.score += s / divider;
            }
        }
    }
    map
}

/// Readability's paragraph score: 1 + commas + one point per 100 chars (max 3).
fn prose_score(b: &Block) -> f64 {
    if b.chars < 25 || b.link_density() > 0.5 {
        return 0.0;
    }
    if b.marks.any(Mark::FIGURE | Mark::HEADING) {
        return 0.0;
    }
    let commas = b
        .text
        .chars()
        .filter(|c| matches!(c, ',' | '，' | '、' | '،'))
        .count();
    1.0 + commas as f64 + (b.chars as f64 / 100.0).min(3.0)
}

fn class_weight(m: Mark) -> f64 {
    let mut w = 0.0;
    if m.any(Mark::POSITIVE) {
        w += 25.0;
    }
    if m.any(Mark::JUNK | Mark::CAPTION | Mark::META | Mark::CHROME) {
        w -= 25.0;
    }
    w
}
