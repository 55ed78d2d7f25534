//! One pass over a parsed HTML tree that turns it into text blocks: each block
//! is the text of one block-level element (or one `<br><br>`-separated run),
//! with its minimal link HTML, link density and the marks of its ancestors.
//! Page metadata (title, meta descriptions, JSON-LD) is collected on the way.

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
}

impl Block {
    /// Share of the characters that sit inside links.
    pub fn link_density(&self) -> f64 {
        if self.chars == 0 {
            return 1.0;
        }
        self.link_chars as f64 / self.chars as f64
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
    /// Page metadata.
    pub meta: Meta,
}

/// Walks a parsed document (or fragment) into blocks. `base` resolves links.
pub fn walk(doc: &Html, base: Option<&Url>) -> Walked {
    let mut w = Walker::new(base);
    for edge in doc.tree.root().traverse() {
        match edge {
            Edge::Open(node) => w.open(node),
            Edge::Close(node) => w.close(node),
        }
    }
    w.flush();
    Walked {
        blocks: w.blocks,
        meta: w.meta,
    }
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
        if is_block(name) {
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
            "img" | "hr" | "input" | "wbr" | "link" | "source" | "track" => {
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
        if is_block(name) {
            self.flush();
            self.owners.push((self.stack.len(), is_layout_box(name)));
        }
        self.stack.push((node.id(), element_marks(el)));
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

    /// A line break ends a line of text: `<br><br>` paragraphs and
    /// `<br>`-separated lines both become separate blocks.
    fn line_break(&mut self) {
        self.flush();
    }

    fn push_raw(&mut self, s: &str) {
        self.text.push_str(s);
        self.html.push_str(s);
    }

    fn push_text(&mut self, t: &str) {
        let visible = t.chars().filter(|c| !c.is_whitespace()).count();
        if visible == 0 {
            self.push_raw(" ");
            return;
        }
        self.chars += visible;
        if !self.links.is_empty() {
            self.link_chars += visible;
        }
        self.text.push_str(t);
        self.html.push_str(&html_escape::encode_text(t));
    }

    fn flush(&mut self) {
        if self.chars == 0 {
            self.text.clear();
            self.html.clear();
            self.link_chars = 0;
            return;
        }
        let text = collapse_ws(&self.text);
        let html = collapse_ws(&self.html);
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
        });
        self.text.clear();
        self.html.clear();
        self.chars = 0;
        self.link_chars = 0;
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
    if el.attr("class").is_some_and(hidden_class) {
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
