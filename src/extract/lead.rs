//! Lead selection: every candidate paragraph is judged on its own (structure,
//! text shape, where it sits next to images, what the feed's other items
//! repeat), given a score, and the first ones that read as prose and are not
//! refused become the lead. The judgements are kept for `--explain`.

use std::collections::{HashMap, HashSet};

use ego_tree::NodeId;

use super::context::{key, LeadContext};
use super::dom::{Block, Image, Line};
use super::filters::{refuse, Refusal};
use super::marks::Mark;
use super::shape;
use super::text::{is_prose, norm_tokens, token_f1};

/// Marks that disqualify a block when found between it and its region
/// (a quotation only when nothing introduces it).
pub const STRUCTURE: Mark = Mark(0)
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
    /// Its index in the walk's blocks (for images and boxes).
    pub index: usize,
    /// Marks of the elements that matter for this block (e.g. below the region).
    pub marks: Mark,
}

/// Why a candidate cannot be the lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Inside an element that is never body text (figure, chrome, heading, ...).
    Structure(&'static str),
    /// More than half of its text is links.
    Links,
    /// A paragraph the feed's other items also have (series note, sponsor line, ...).
    Repeated(usize),
    /// It repeats the headline.
    Title,
    /// Caption, byline, prompt or notice by its wording.
    Text(Refusal),
    /// A short paragraph wholly in brackets: an aside, credit or promo.
    Bracketed,
    /// Caption-shaped text in a box that holds an image and little else.
    BesideImage,
    /// The shape of a credit line: short, no sentence, a label and a name,
    /// names joined by a slash, or names only (see `shape::is_credit`).
    Credit,
    /// Set wholly in italics before the body text: an editor's, series or
    /// sponsor's note.
    Note,
    /// The same text as a figure, caption or promo elsewhere on the page.
    Duplicate,
    /// Empty once its title line and credit lines are taken away.
    Empty,
}

impl Reason {
    /// A short human explanation.
    pub fn describe(&self) -> String {
        match self {
            Reason::Structure(what) => format!("inside {what}"),
            Reason::Links => "mostly links".into(),
            Reason::Repeated(n) => format!("repeated in {n} other items of the feed"),
            Reason::Title => "repeats the title".into(),
            Reason::Text(r) => match r {
                Refusal::Caption => "reads as a photo caption or credit".into(),
                Refusal::Byline => "reads as a byline, dateline or time stamp".into(),
                Refusal::Prompt => "reads as a reader prompt (subscribe, related, share)".into(),
                Refusal::Notice => "reads as a cookie, copyright or affiliate notice".into(),
            },
            Reason::Bracketed => "wholly in brackets (aside, credit or promo)".into(),
            Reason::BesideImage => "caption beside an image".into(),
            Reason::Credit => "shaped like a credit line".into(),
            Reason::Note => "a note set in italics before the text".into(),
            Reason::Duplicate => "repeats a caption, figure or promo of the page".into(),
            Reason::Empty => "nothing left after the title and credit lines".into(),
        }
    }
}

/// One judged candidate.
#[derive(Debug, Clone)]
pub struct Judged {
    /// Index of the block judged in the walk's blocks.
    pub index: usize,
    /// Its text after leading title lines and trailing credit lines are cut.
    pub text: String,
    /// The same as link HTML.
    pub html: String,
    /// How much it reads as a lead paragraph, 0 to 1: 1 for prose (full
    /// sentences or 100+ characters), 0.4 for other text of 40+ characters,
    /// 0.1 for shorter text; times the share of text outside links.
    pub score: f64,
    /// Why it cannot be the lead, if so.
    pub refusal: Option<Reason>,
    /// Part of the lead that was picked.
    pub picked: bool,
    /// Inside a quotation.
    quote: bool,
    /// Share of the text set in italics.
    emph: f64,
}

impl Judged {
    /// Set wholly in italics: a note, when it comes before the body text.
    fn note_like(&self) -> bool {
        self.emph >= 0.9
    }
}

/// Score a paragraph must reach to be taken on the first pass (prose).
const PROSE_SCORE: f64 = 0.5;
/// Score of the second pass (any text of 40+ characters).
const LONG_SCORE: f64 = 0.2;

/// What a judge knows besides the candidates: all blocks, the images, the
/// headline and the feed.
pub struct Scene<'a> {
    /// Every block of the walk, in order.
    pub blocks: &'a [Block],
    /// Every image of the walk.
    pub images: &'a [Image],
    /// Depth of the outermost element that may count as an image's box (1 for
    /// fragments: below the fragment's root; 2 for pages: below `<body>`).
    pub min_box_depth: usize,
    /// Headline and feed.
    pub context: &'a LeadContext<'a>,
    boxes: ImageBoxes,
}

impl<'a> Scene<'a> {
    /// A scene over one walk's blocks and images.
    pub fn new(
        blocks: &'a [Block],
        images: &'a [Image],
        min_box_depth: usize,
        context: &'a LeadContext<'a>,
    ) -> Scene<'a> {
        let boxes = ImageBoxes::new(blocks, images, min_box_depth >= 2);
        Scene {
            blocks,
            images,
            min_box_depth,
            context,
            boxes,
        }
    }
}

/// How much to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// Every candidate (for `--explain`).
    All,
    /// Only as far as needed to pick a lead of this many paragraphs.
    Lead(usize),
}

impl Extent {
    fn paragraphs(self) -> usize {
        match self {
            Extent::All => 2,
            Extent::Lead(n) => n,
        }
    }
}

/// Judges the candidates in order and marks the picked ones.
pub fn judge(cands: &[Candidate<'_>], scene: &Scene<'_>, extent: Extent) -> Vec<Judged> {
    let n = extent.paragraphs();
    let title = scene.context.title;
    let own: HashSet<String> = match scene.context.feed {
        Some(_) => cands.iter().filter_map(|c| key(&c.block.text)).collect(),
        None => HashSet::new(),
    };
    let mut out: Vec<Judged> = Vec::with_capacity(cands.len());
    // Acceptable prose paragraphs from the first one not set in italics on.
    let mut enough = 0;
    // Which paragraphs are sentences wrapped whole in a link or two (see [`linked_prose`]).
    let mut linked = Vec::with_capacity(cands.len());
    for (i, c) in cands.iter().enumerate() {
        let (text, html) = trimmed(c.block, title);
        linked.push(linked_prose(c.block, &text));
        let score = score(&text, c.block.link_density());
        let prev = i.checked_sub(1).map(|j| &out[j]);
        let refusal = refusal(c, &text, prev, scene, &own);
        let j = Judged {
            index: c.index,
            text,
            html,
            score,
            refusal,
            picked: false,
            quote: c.marks.any(Mark::QUOTE),
            emph: c.block.emph_share(),
        };
        if j.refusal.is_none() && j.score >= PROSE_SCORE && (enough > 0 || !j.note_like()) {
            enough += 1;
        }
        out.push(j);
        if extent != Extent::All && enough >= n {
            break;
        }
    }
    mark_notes(&mut out);
    // Prose first, then any text of 40+ characters, then any text; last, a
    // paragraph refused only for repeating the headline (a feed whose titles
    // are the first words of the text) or for sitting by an image (an item
    // that is a picture and its text).
    let passes = [
        (PROSE_SCORE, false),
        (LONG_SCORE, false),
        (0.0, false),
        (PROSE_SCORE, true),
    ];
    for (threshold, last_resort) in passes {
        let ok = |j: &Judged| match &j.refusal {
            None => true,
            Some(Reason::Title | Reason::BesideImage) => last_resort,
            Some(_) => false,
        };
        let chosen: Vec<usize> = (0..out.len())
            .filter(|&i| ok(&out[i]) && out[i].score >= threshold && !out[i].text.is_empty())
            .take(n)
            .collect();
        if !chosen.is_empty() {
            for i in chosen {
                out[i].picked = true;
            }
            return out;
        }
    }
    // Nothing else qualifies: an item whose whole text links to its page or its audio. Its
    // link density then says nothing about navigation, and its sentences are the lead.
    let chosen: Vec<usize> = (0..out.len())
        .filter(|&i| out[i].refusal == Some(Reason::Links) && linked[i])
        .take(n)
        .collect();
    for i in chosen {
        out[i].picked = true;
    }
    out
}

/// Sentences wrapped whole in one or two links: at least [`LINKED_PROSE_WORDS`] words ending
/// a sentence, and each link holds a sentence's worth of text. A menu or a list of
/// headlines has many short links instead.
fn linked_prose(b: &Block, text: &str) -> bool {
    let links = b.html.matches("<a ").count();
    (1..=2).contains(&links)
        && b.link_chars >= links * LINKED_PROSE_CHARS
        && text.split_whitespace().count() >= LINKED_PROSE_WORDS
        && super::text::ends_sentence(text, false)
}

/// See [`linked_prose`].
const LINKED_PROSE_WORDS: usize = 10;
/// See [`linked_prose`]: non-space characters per link.
const LINKED_PROSE_CHARS: usize = 50;

/// Lead-likeness of a text (see [`Judged::score`]).
fn score(text: &str, link_density: f64) -> f64 {
    let n = text.chars().count();
    let base = if is_prose(text) {
        1.0
    } else if n >= 40 {
        0.4
    } else {
        0.1
    };
    base * (1.0 - link_density.clamp(0.0, 1.0))
}

fn refusal(
    c: &Candidate<'_>,
    text: &str,
    prev: Option<&Judged>,
    scene: &Scene<'_>,
    own: &HashSet<String>,
) -> Option<Reason> {
    let b = c.block;
    let boxes = &scene.boxes;
    if let Some(what) = structure(c.marks, prev) {
        return Some(Reason::Structure(what));
    }
    if text.is_empty() {
        return Some(Reason::Empty);
    }
    if b.link_density() > 0.5 {
        return Some(Reason::Links);
    }
    if let Some(feed) = scene.context.feed {
        let n = feed.index.repeats(text, feed.item, own);
        if n >= feed.index.threshold(feed.item) {
            return Some(Reason::Repeated(n));
        }
    }
    if scene
        .context
        .title
        .is_some_and(|t| token_f1(t, text) >= 0.8)
    {
        return Some(Reason::Title);
    }
    if let Some(r) = refuse(text) {
        return Some(Reason::Text(r));
    }
    if shape::is_bracketed(text) {
        return Some(Reason::Bracketed);
    }
    if (boxes.beside_image(c.index, scene) && shape::caption_like(text, b.emph_share()))
        || (boxes.after_image(c.index, scene) && shape::caption_strict(text, b.emph_share()))
    {
        return Some(Reason::BesideImage);
    }
    if shape::is_credit(text) {
        return Some(Reason::Credit);
    }
    if !boxes.duplicated.is_empty()
        && boxes
            .duplicated
            .get(&norm_tokens(text))
            .is_some_and(|&other| other != c.index)
    {
        return Some(Reason::Duplicate);
    }
    None
}

/// The structural refusal, if any. A quote counts as body text when the
/// paragraph before it introduces it (a short line ending in a colon: "Jane
/// Roe, The Paper:"), as link blogs quote the story they point to.
fn structure(marks: Mark, prev: Option<&Judged>) -> Option<&'static str> {
    let introduced = prev.is_some_and(|p| {
        p.refusal.is_none()
            && p.text.chars().count() < 200
            && p.text.trim_end().ends_with([':', '：'])
            && !p.quote
    });
    let marks = if introduced || prev.is_some_and(|p| p.quote && p.refusal.is_none()) {
        marks.without(Mark::QUOTE)
    } else {
        marks
    };
    let names: [(Mark, &'static str); 8] = [
        (Mark::FIGURE, "a figure or its caption"),
        (Mark::CHROME, "page chrome (header, nav, footer, aside)"),
        (Mark::HEADING, "a heading"),
        (
            Mark::CAPTION,
            "an element whose class names a caption or credit",
        ),
        (
            Mark::JUNK,
            "an element whose class names share, related, ads or comments",
        ),
        (
            Mark::META,
            "an element whose class names a byline, date or standfirst",
        ),
        (Mark::FORM, "a form"),
        (Mark::QUOTE, "a quotation that nothing introduces"),
    ];
    names.iter().find(|(m, _)| marks.any(*m)).map(|(_, s)| *s)
}

/// Paragraphs set wholly in italics that come before the first plain prose
/// paragraph are notes (editor's, series, sponsor), not the lead — when such
/// a plain paragraph exists.
fn mark_notes(out: &mut [Judged]) {
    let Some(first_plain) = out
        .iter()
        .position(|j| j.refusal.is_none() && j.score >= PROSE_SCORE && !j.note_like())
    else {
        return;
    };
    for j in &mut out[..first_plain] {
        if j.refusal.is_none() && j.note_like() {
            j.refusal = Some(Reason::Note);
        }
    }
}

/// The block's text without a first line that repeats the title and without
/// leading or trailing lines that are credits, captions or bylines.
fn trimmed(b: &Block, title: Option<&str>) -> (String, String) {
    if b.lines.len() < 2 {
        return (b.text.clone(), b.html.clone());
    }
    let mut lines: &[Line] = &b.lines;
    let credit = |l: &Line| {
        matches!(refuse(&l.text), Some(Refusal::Caption))
            || shape::is_credit(&l.text)
            || shape::is_bracketed(&l.text)
    };
    let head = |l: &Line| {
        title.is_some_and(|t| token_f1(t, &l.text) >= 0.8)
            || credit(l)
            || matches!(refuse(&l.text), Some(Refusal::Byline))
    };
    while lines.len() > 1 && head(&lines[0]) {
        lines = &lines[1..];
    }
    // A trailing byline stays: a title line and a byline make a header, not prose.
    let tail = |l: &Line| {
        (credit(l) && !matches!(refuse(&l.text), Some(Refusal::Byline)))
            || shape::is_bare_url(&l.text)
    };
    while lines.len() > 1 && tail(&lines[lines.len() - 1]) {
        lines = &lines[..lines.len() - 1];
    }
    let join = |f: fn(&Line) -> &str| lines.iter().map(f).collect::<Vec<_>>().join(" ");
    (join(|l| &l.text), join(|l| &l.html))
}

/// Which elements hold an image, and how much text each element holds.
struct ImageBoxes {
    holders: HashSet<NodeId>,
    /// Characters of text (blocks of 40+) inside each holder.
    chars: HashMap<NodeId, usize>,
    /// Characters of all text inside each holder, and of the whole input.
    all_chars: HashMap<NodeId, usize>,
    total: usize,
    /// Normalised texts of the page's figure, caption and promo blocks, with
    /// the block's index (pages only).
    duplicated: HashMap<String, usize>,
}

impl ImageBoxes {
    fn new(blocks: &[Block], images: &[Image], page: bool) -> Self {
        let holders: HashSet<NodeId> = images.iter().flat_map(|i| i.path.iter().copied()).collect();
        let mut chars: HashMap<NodeId, usize> = HashMap::new();
        let mut all_chars: HashMap<NodeId, usize> = HashMap::new();
        let total = blocks.iter().map(|b| b.chars).sum();
        if !holders.is_empty() {
            for b in blocks {
                for (id, _) in &b.path {
                    if holders.contains(id) {
                        *all_chars.entry(*id).or_default() += b.chars;
                        // Only text of 40+ characters counts beside the image: buttons and
                        // counters ("1 of 24", "Full screen") are a gallery's chrome.
                        if b.chars >= 40 {
                            *chars.entry(*id).or_default() += b.chars;
                        }
                    }
                }
            }
        }
        let widget = Mark::FIGURE | Mark::CAPTION | Mark::JUNK;
        let duplicated = if page {
            blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| {
                    b.chars >= 40 && b.marks_below(b.owner.saturating_sub(3)).any(widget)
                })
                .map(|(i, b)| (norm_tokens(&b.text), i))
                .collect()
        } else {
            HashMap::new()
        };
        ImageBoxes {
            holders,
            chars,
            all_chars,
            total,
            duplicated,
        }
    }

    /// True when the innermost element around the block that also holds an
    /// image holds little text besides the block: the block is that image's
    /// text. Not when that element is the block's own paragraph and the text
    /// runs on from the image in one line (an image floated into prose).
    fn beside_image(&self, index: usize, scene: &Scene<'_>) -> bool {
        if self.holders.is_empty() {
            return false;
        }
        let b = &scene.blocks[index];
        let Some((depth, id)) = b
            .path
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (id, _))| self.holders.contains(id))
            .map(|(d, (id, _))| (d, *id))
            .filter(|(d, _)| *d >= scene.min_box_depth)
        else {
            return false;
        };
        if depth == b.owner && !b.after_br && b.lines.len() == 1 {
            return false;
        }
        // A box that holds all the text is the item itself, not an image's box.
        if self.all_chars.get(&id).copied().unwrap_or(0) >= self.total {
            return false;
        }
        let near = self.chars.get(&id).copied().unwrap_or(0);
        near as f64 <= 2.5 * b.chars as f64 + 40.0
    }

    /// True when an image comes right before the block, with no text between,
    /// in a box of its own (`<p><img></p><p>…</p>`, not `<img><br>text`).
    fn after_image(&self, index: usize, scene: &Scene<'_>) -> bool {
        let b = &scene.blocks[index];
        scene.images.iter().any(|i| {
            i.at == index
                && !i.inside
                && i.path
                    .last()
                    .is_some_and(|parent| !b.path.iter().any(|(id, _)| id == parent))
        })
    }
}
