//! Extract: picks each story's lead paragraph from feed HTML or an article page.
//! (First version; see issue 3 for the full extractor.)

use scraper::{Html, Selector};
use serde::Serialize;

/// Where a lead came from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LeadSource {
    Content,
    Article,
    Summary,
}

impl LeadSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Content => "content",
            Self::Article => "article",
            Self::Summary => "summary",
        }
    }
}

/// One paragraph as plain text and as sanitized HTML (links only).
#[derive(Debug, Clone, PartialEq)]
pub struct Paragraph {
    pub text: String,
    pub html: String,
}

/// The lead: the first real paragraph, then the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub paragraphs: Vec<Paragraph>,
}

impl Lead {
    /// The first `n` paragraphs as plain text, separated by a blank line.
    pub fn text(&self, n: usize) -> String {
        self.paragraphs
            .iter()
            .take(n.max(1))
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// The first `n` paragraphs as sanitized HTML `<p>` elements.
    pub fn html(&self, n: usize) -> String {
        self.paragraphs
            .iter()
            .take(n.max(1))
            .map(|p| format!("<p>{}</p>", p.html))
            .collect()
    }
}

/// A whole article page.
#[derive(Debug, Clone)]
pub struct Page {
    pub title: Option<String>,
    pub paragraphs: Vec<String>,
    pub lead: Option<Lead>,
}

/// Lead of a feed item's HTML fragment.
pub fn lead_from_fragment(html: &str, base: Option<&url::Url>) -> Option<Lead> {
    let doc = Html::parse_fragment(html);
    let paragraphs = prose_paragraphs(&doc, base);
    (!paragraphs.is_empty()).then_some(Lead { paragraphs })
}

/// Title, paragraphs and lead of an article page.
pub fn extract_page(html: &str, url: Option<&url::Url>) -> Page {
    let doc = Html::parse_document(html);
    let title = Selector::parse("title")
        .ok()
        .and_then(|s| doc.select(&s).next())
        .map(|t| collapse(&t.text().collect::<String>()));
    let paragraphs = prose_paragraphs(&doc, url);
    Page {
        title,
        paragraphs: paragraphs.iter().map(|p| p.text.clone()).collect(),
        lead: (!paragraphs.is_empty()).then_some(Lead { paragraphs }),
    }
}

/// Is the feed content only a teaser?
pub fn is_teaser(html: &str) -> bool {
    let text = collapse(
        &Html::parse_fragment(html)
            .root_element()
            .text()
            .collect::<String>(),
    );
    let words = text.split_whitespace().count();
    words < 60
        || text.ends_with('…')
        || text.ends_with("[…]")
        || text.ends_with("[...]")
        || text.contains("Continue reading")
        || (text.contains("The post ") && text.contains(" appeared first on "))
}

/// Chooses the best source: full content, else the article page, else the summary.
pub fn choose(
    content: Option<&str>,
    summary: Option<&str>,
    page: Option<&str>,
    base: Option<&url::Url>,
) -> Option<(Lead, LeadSource)> {
    if let Some(c) = content.filter(|c| !is_teaser(c)) {
        if let Some(l) = lead_from_fragment(c, base) {
            return Some((l, LeadSource::Content));
        }
    }
    if let Some(l) = page.and_then(|p| extract_page(p, base).lead) {
        return Some((l, LeadSource::Article));
    }
    for html in [content, summary].into_iter().flatten() {
        if let Some(l) = lead_from_fragment(html, base) {
            return Some((l, LeadSource::Summary));
        }
    }
    None
}

/// Cuts text at a sentence boundary to at most `max_words` words; "…" only when cut.
pub fn excerpt(text: &str, max_words: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= max_words {
        return words.join(" ");
    }
    let mut end = 0;
    for (i, w) in words.iter().take(max_words).enumerate() {
        if (w.ends_with('.') || w.ends_with('!') || w.ends_with('?')) && !is_abbreviation(w) {
            end = i + 1;
        }
    }
    if end == 0 {
        return format!("{}…", words[..max_words].join(" "));
    }
    format!("{} …", words[..end].join(" "))
}

fn is_abbreviation(w: &str) -> bool {
    const ABBR: &[&str] = &[
        "U.S.", "U.K.", "Jan.", "Feb.", "Mar.", "Apr.", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.",
        "Dr.", "Mr.", "Mrs.", "Ms.", "Inc.", "Co.", "Corp.", "Ltd.", "St.", "Gov.", "Sen.", "Rep.",
        "e.g.", "i.e.", "vs.",
    ];
    ABBR.contains(&w.trim_start_matches(['"', '(', '“']))
}

fn prose_paragraphs(doc: &Html, base: Option<&url::Url>) -> Vec<Paragraph> {
    let sel = Selector::parse("p").expect("valid selector");
    doc.select(&sel)
        .filter(|p| {
            !p.ancestors().any(|a| {
                a.value().as_element().is_some_and(|e| {
                    matches!(
                        e.name(),
                        "figcaption" | "figure" | "footer" | "aside" | "nav"
                    )
                })
            })
        })
        .filter_map(|p| {
            let text = collapse(&p.text().collect::<String>());
            is_prose(&text).then(|| Paragraph {
                html: sanitize_inline(&p.inner_html(), base),
                text,
            })
        })
        .take(2)
        .collect()
}

fn is_prose(text: &str) -> bool {
    let words = text.split_whitespace().count();
    let lower = text.to_lowercase();
    words >= 12
        && text.ends_with(['.', '!', '?', '"', '”', ')'])
        && !lower.contains("subscribe")
        && !lower.starts_with("photo")
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Keeps only links (absolute http/https), drops every other tag.
fn sanitize_inline(html: &str, base: Option<&url::Url>) -> String {
    let mut b = ammonia::Builder::empty();
    b.add_tags(["a"])
        .add_tag_attributes("a", ["href"])
        .link_rel(Some("noopener"))
        .url_schemes(["http", "https"].into());
    match base {
        Some(u) => b.url_relative(ammonia::UrlRelative::RewriteWithBase(u.clone())),
        None => b.url_relative(ammonia::UrlRelative::Deny),
    };
    b.clean(html)
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
