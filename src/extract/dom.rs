//! One pass over a parsed HTML tree that turns it into text blocks: each block
//! is the text of one block-level element (or one `<br><br>`-separated run),
//! with its minimal link HTML, link density and the marks of its ancestors.
//! A single `<br>` splits a block into lines, not into blocks. Images are
//! recorded with their place among the blocks (captions sit next to them),
//! and page metadata (title, meta descriptions, JSON-LD) is collected on the way.

use ego_tree::iter::Edge;
use ego_tree::NodeId;
use scraper::node::Element;
use scraper::{Html, Node};
use url::Url;

use super::marks::{element_marks, Mark};
use super::text::collapse_ws;

/// The text of one block-level element, in document order.
#[derive(Debug, Clone)]
pub struct Block {
    /// Whitespace-collapsed plain text.
    pub text: String,
    /// Escaped text with resolved `<a href>` links only (not yet sanitized).
    pub html: String,
    /// Non-space characters of the text.
    pub chars: usize,
    /// Non-space characters inside links.
    pub link_chars: usize,
    /// Open elements from the root down, with their marks.
    pub path: Vec<(NodeId, Mark)>,
    /// Index in `path` of the innermost block-level element owning the text.
    pub owner: usize,
    /// Union of the marks along `path`.
    pub marks: Mark,
    /// The owner is a layout box (`div`, `section`, `td`, ...) holding text
    /// directly, rather than a paragraph-like element.
    pub loose: bool,
    /// The lines of the block (split by a single `<br>`): plain text and link HTML.
    /// `text` and `html` are these joined by a space.
    pub lines: Vec<Line>,
    /// Non-space characters set in `<em>`, `<i>`, `<cite>` or `<small>`.
    pub emph_chars: usize,
    /// The block's text starts right after a `<br>`.
    pub after_br: bool,
}

/// One line of a block.
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// Whitespace-collapsed plain text.
    pub text: String,
    /// Escaped text with link HTML, whitespace collapsed.
    pub html: String,
}

/// An image (or video, embed, iframe) and where it sits.
#[derive(Debug, Clone)]
pub struct Image {
    /// Index of the first block that starts after the image (`blocks.len()` when
    /// none does); the block in progress when the image was met, if any, is `at - 1`
    /// once flushed and has `inside` set.
    pub at: usize,
    /// The image came in the middle of a block's text.
    pub inside: bool,
    /// Open elements from the root down to the image's parent.
    pub path: Vec<NodeId>,
}

/// How text nodes' own line breaks count (feed fragments without markup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Newlines {
    /// Whitespace, as in HTML.
    #[default]
    Ignore,
    /// A blank line ends a paragraph.
    Blank,
    /// Every line break ends a paragraph.
    Each,
}

impl Block {
    /// Share of the characters that sit inside links.
    pub fn link_density(&self) -> f64 {
        if self.chars == 0 {
            return 1.0;
        }
        self.link_chars as f64 / self.chars as f64
    }

    /// Share of the characters set in emphasis (`<em>`, `<i>`, ...).
    pub fn emph_share(&self) -> f64 {
        self.emph_chars as f64 / self.chars.max(1) as f64
    }

    /// Union of the marks of the path elements strictly below `depth`.
    pub fn marks_below(&self, depth: usize) -> Mark {
        self.path
            .iter()
            .skip(depth + 1)
            .fold(Mark::empty(), |m, (_, e)| m | *e)
    }
}

/// Metadata gathered while walking a whole page.
#[derive(Debug, Default, Clone)]
pub struct Meta {
    /// `<title>` text.
    pub title_tag: Option<String>,
    /// `og:title` or `twitter:title`.
    pub og_title: Option<String>,
    /// `og:description` or `description`.
    pub description: Option<String>,
    /// Raw text of every `application/ld+json` script.
    pub ld_json: Vec<String>,
}

/// Everything the walk produces.
#[derive(Debug, Default)]
pub struct Walked {
    /// Text blocks in document order.
    pub blocks: Vec<Block>,
    /// Images, videos and embeds in document order.
    pub images: Vec<Image>,
    /// Page metadata.
    pub meta: Meta,
}

/// Walks a parsed document (or fragment) into blocks. `base` resolves links.
pub fn walk(doc: &Html, base: Option<&Url>) -> Walked {
    walk_with(doc, base, Newlines::Ignore)
}

/// [`walk`], with text nodes' own line breaks counting as `newlines` says.
pub fn walk_with(doc: &Html, base: Option<&Url>, newlines: Newlines) -> Walked {
    let mut w = Walker::new(base);
    w.newlines = newlines;
    for edge in doc.tree.root().traverse() {
        match edge {
            Edge::Open(node) => w.open(node),
            Edge::Close(node) => w.close(node),
        }
    }
    w.flush();
    Walked {
        blocks: w.blocks,
        images: w.images,
        meta: w.meta,
    }
}

/// True when the tree has no element that makes paragraphs (block-level
/// elements or `<br>`): text whose line breaks are its only structure.
pub fn has_no_structure(doc: &Html) -> bool {
    !doc.tree.root().descendants().any(|n| {
        n.value().as_element().is_some_and(|e| {
            e.name() == "br" || (is_block(e.name()) && e.name() != "html" && e.name() != "body")
        })
    })
}

type NodeRef<'a> = ego_tree::NodeRef<'a, Node>;

struct Walker<'a> {
    base: Option<&'a Url>,
    blocks: Vec<Block>,
    meta: Meta,
    stack: Vec<(NodeId, Mark)>,
    owners: Vec<(usize, bool)>,
    links: Vec<bool>,
    skip: Option<NodeId>,
    text: String,
    html: String,
    chars: usize,
    link_chars: usize,
    lines: Vec<Line>,
    brs: usize,
    emph: usize,
    emph_chars: usize,
    after_br: bool,
    images: Vec<Image>,
    newlines: Newlines,
    /// Line breaks in text since the last visible text (for [`Newlines`]).
    nls: usize,
}

impl<'a> Walker<'a> {
    fn new(base: Option<&'a Url>) -> Self {
        Walker {
            base,
            blocks: Vec::new(),
            meta: Meta::default(),
            stack: Vec::new(),
            owners: Vec::new(),
            links: Vec::new(),
            skip: None,
            text: String::new(),
            html: String::new(),
            chars: 0,
            link_chars: 0,
            lines: Vec::new(),
            brs: 0,
            emph: 0,
            emph_chars: 0,
            after_br: false,
            images: Vec::new(),
            newlines: Newlines::Ignore,
            nls: 0,
        }
    }

    fn open(&mut self, node: NodeRef<'_>) {
        if self.skip.is_some() {
            return;
        }
        match node.value() {
            Node::Text(t) => self.push_text(t),
            Node::Element(el) => self.open_element(node, el),
            _ => {}
        }
    }

    fn close(&mut self, node: NodeRef<'_>) {
        if let Some(skip) = self.skip {
            if skip == node.id() {
                self.skip = None;
            }
            return;
        }
        let Node::Element(el) = node.value() else {
            return;
        };
        let name = el.name();
        if name == "a" {
            if self.links.pop() == Some(true) {
                self.html.push_str("</a>");
            }
            return;
        }
        if is_void(name) {
            return;
        }
        if is_emphasis(name) {
            self.emph = self.emph.saturating_sub(1);
        }
        if is_block(name) || self.is_inline_caption(node.id()) {
            self.flush();
            if self
                .owners
                .last()
                .is_some_and(|&(i, _)| self.stack[i].0 == node.id())
            {
                self.owners.pop();
            }
        }
        if self.stack.last().is_some_and(|(id, _)| *id == node.id()) {
            self.stack.pop();
        }
    }

    fn open_element(&mut self, node: NodeRef<'_>, el: &Element) {
        let name = el.name();
        if is_skipped(name) || is_hidden(el) {
            if is_media(name) && !is_hidden(el) {
                self.image();
            }
            self.capture_skipped(node, el);
            if !is_void(name) {
                self.skip = Some(node.id());
            }
            return;
        }
        match name {
            "br" => return self.line_break(),
            "meta" => return self.capture_meta(el),
            "a" => return self.open_link(el),
            "img" | "embed" => return self.image(),
            "hr" | "input" | "wbr" | "link" | "source" | "track" => {
                if name == "hr" {
                    self.flush();
                }
                return;
            }
            _ => {}
        }
        if is_void(name) {
            return;
        }
        if is_emphasis(name) {
            self.emph += 1;
        }
        let marks = element_marks(el);
        let inline_caption = !is_block(name) && marks.any(Mark::CAPTION);
        if is_block(name) || inline_caption {
            self.flush();
        }
        if is_block(name) {
            self.owners.push((self.stack.len(), is_layout_box(name)));
        }
        self.stack.push((
            node.id(),
            marks
                | if inline_caption {
                    Mark::INLINE_CAPTION
                } else {
                    Mark::empty()
                },
        ));
    }

    /// True when the element is an inline element whose class names a caption
    /// or credit: its text is a block of its own, apart from the prose around it.
    fn is_inline_caption(&self, id: NodeId) -> bool {
        self.stack
            .last()
            .is_some_and(|(top, m)| *top == id && m.any(Mark::INLINE_CAPTION))
    }

    /// Records an image at the current place.
    fn image(&mut self) {
        self.images.push(Image {
            at: self.blocks.len(),
            inside: self.chars > 0,
            path: self.stack.iter().map(|(id, _)| *id).collect(),
        });
    }

    fn open_link(&mut self, el: &Element) {
        let href = el.attr("href").and_then(|h| resolve(h, self.base));
        if let Some(href) = &href {
            self.html.push_str("<a href=\"");
            self.html
                .push_str(&html_escape::encode_double_quoted_attribute(href.as_str()));
            self.html.push_str("\">");
        }
        self.links.push(href.is_some());
    }

    /// A line break ends a line of text; two or more in a row (with only
    /// whitespace or inline tags between them) end the block.
    fn line_break(&mut self) {
        self.brs += 1;
    }

    /// True when the line before a single `<br>` is a paragraph's worth of
    /// text on its own: 100+ characters ending a sentence. Shorter lines are
    /// wrapped lines, an address or verse, and stay in one block.
    fn line_is_paragraph(&self) -> bool {
        if self.text.len() < 100 {
            return false;
        }
        let line = collapse_ws(&self.text);
        line.chars().count() >= 100 && super::text::ends_sentence(&line, false)
    }

    /// Ends the current line (a single `<br>`).
    fn end_line(&mut self) {
        let text = collapse_ws(&self.text);
        if !text.is_empty() {
            self.lines.push(Line {
                text,
                html: collapse_ws(&self.html),
            });
        }
        self.text.clear();
        self.html.clear();
    }

    fn push_raw(&mut self, s: &str) {
        self.text.push_str(s);
        self.html.push_str(s);
    }

    fn push_text(&mut self, t: &str) {
        if self.newlines != Newlines::Ignore && t.contains('\n') {
            return self.push_text_lines(t);
        }
        let visible = t.chars().filter(|c| !c.is_whitespace()).count();
        if visible == 0 {
            self.push_raw(" ");
            return;
        }
        let newline_break = match self.newlines {
            Newlines::Ignore => false,
            Newlines::Blank => self.nls >= 2,
            Newlines::Each => self.nls >= 1,
        };
        if self.brs >= 2 || newline_break || (self.brs == 1 && self.line_is_paragraph()) {
            self.flush();
        } else if self.brs == 1 {
            self.end_line();
        }
        if self.chars == 0 {
            self.after_br = self.brs >= 1;
        }
        self.brs = 0;
        self.nls = 0;
        self.chars += visible;
        if !self.links.is_empty() {
            self.link_chars += visible;
        }
        if self.emph > 0 {
            self.emph_chars += visible;
        }
        self.text.push_str(t);
        self.html.push_str(&html_escape::encode_text(t));
    }

    /// Text whose own line breaks separate paragraphs (see [`Newlines`]): line
    /// breaks are counted since the last visible text, across text nodes.
    fn push_text_lines(&mut self, t: &str) {
        for (i, line) in t.split('\n').enumerate() {
            if i > 0 {
                self.nls += 1;
            }
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                self.push_raw(" ");
            } else {
                let mode = std::mem::take(&mut self.newlines);
                self.newlines = Newlines::Ignore;
                let newline_break = match mode {
                    Newlines::Ignore => false,
                    Newlines::Blank => self.nls >= 2,
                    Newlines::Each => self.nls >= 1,
                };
                if newline_break {
                    self.flush();
                }
                self.push_text(line);
                self.newlines = mode;
            }
        }
    }

    fn flush(&mut self) {
        self.brs = 0;
        self.nls = 0;
        if self.chars == 0 {
            self.text.clear();
            self.html.clear();
            self.lines.clear();
            self.link_chars = 0;
            self.emph_chars = 0;
            return;
        }
        self.end_line();
        let lines = std::mem::take(&mut self.lines);
        let join = |f: fn(&Line) -> &str| lines.iter().map(f).collect::<Vec<_>>().join(" ");
        let text = join(|l| &l.text);
        let html = join(|l| &l.html);
        let marks = self.stack.iter().fold(Mark::empty(), |m, (_, e)| m | *e);
        self.blocks.push(Block {
            text,
            html,
            chars: self.chars,
            link_chars: self.link_chars.min(self.chars),
            path: self.stack.clone(),
            owner: self.owners.last().map_or(0, |o| o.0),
            marks,
            loose: self.owners.last().is_some_and(|o| o.1),
            lines,
            emph_chars: self.emph_chars.min(self.chars),
            after_br: self.after_br,
        });
        self.chars = 0;
        self.link_chars = 0;
        self.emph_chars = 0;
    }

    fn capture_meta(&mut self, el: &Element) {
        let key = el
            .attr("property")
            .or_else(|| el.attr("name"))
            .unwrap_or("")
            .to_ascii_lowercase();
        let Some(content) = el.attr("content").map(collapse_ws) else {
            return;
        };
        if content.is_empty() {
            return;
        }
        let slot = match key.as_str() {
            "og:title" | "twitter:title" => &mut self.meta.og_title,
            "og:description" | "description" | "twitter:description" => &mut self.meta.description,
            _ => return,
        };
        slot.get_or_insert(content);
    }

    fn capture_skipped(&mut self, node: NodeRef<'_>, el: &Element) {
        let name = el.name();
        let is_ld = name == "script"
            && el
                .attr("type")
                .is_some_and(|t| t.to_ascii_lowercase().contains("ld+json"));
        if name != "title" && !is_ld {
            return;
        }
        let text: String = node
            .children()
            .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
            .collect();
        if is_ld {
            self.meta.ld_json.push(text);
        } else if self.meta.title_tag.is_none() {
            self.meta.title_tag = Some(collapse_ws(&text));
        }
    }
}

/// Resolves a link against the base and keeps only absolute http(s) URLs.
pub fn resolve(href: &str, base: Option<&Url>) -> Option<Url> {
    let href = href.trim();
    let url = match Url::parse(href) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(href).ok()?,
        Err(_) => return None,
    };
    matches!(url.scheme(), "http" | "https").then_some(url)
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "body"
            | "caption"
            | "center"
            | "dd"
            | "details"
            | "dialog"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "html"
            | "li"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tbody"
            | "td"
            | "tfoot"
            | "th"
            | "thead"
            | "tr"
            | "ul"
    )
}

fn is_emphasis(name: &str) -> bool {
    matches!(name, "em" | "i" | "cite" | "small")
}

/// Skipped elements that show a picture or a player (they count as images).
fn is_media(name: &str) -> bool {
    matches!(name, "video" | "iframe" | "object" | "canvas")
}

fn is_layout_box(name: &str) -> bool {
    matches!(
        name,
        "div" | "section" | "article" | "main" | "td" | "center" | "body" | "form"
    )
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

fn is_skipped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "math"
            | "iframe"
            | "object"
            | "canvas"
            | "video"
            | "audio"
            | "select"
            | "textarea"
            | "button"
            | "title"
    )
}

fn is_hidden(el: &Element) -> bool {
    if el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true") {
        return true;
    }
    // Class words on the root elements are feature flags ("plugin-tooltip"), not state.
    let root = matches!(el.name(), "html" | "body" | "main" | "article");
    if !root && el.attr("class").is_some_and(hidden_class) {
        return true;
    }
    el.attr("style").is_some_and(|s| {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let s = s.to_ascii_lowercase();
        s.contains("display:none") || s.contains("visibility:hidden")
    })
}

/// Class names that hide an element or make it a hover popup.
fn hidden_class(class: &str) -> bool {
    class.split_ascii_whitespace().any(|c| {
        let c = c.to_ascii_lowercase();
        matches!(
            c.as_str(),
            "hidden"
                | "hide"
                | "element-hidden"
                | "visually-hidden"
                | "visuallyhidden"
                | "sr-only"
                | "screen-reader-text"
                | "is-hidden"
                | "d-none"
                | "invisible"
                | "offscreen"
        ) || ["tooltip", "popover", "hovercard", "rollover"]
            .iter()
            .any(|w| c.contains(w))
    })
}
