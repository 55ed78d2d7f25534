//! A work limit for untrusted HTML, shared by ingest (feed content) and the article pages that
//! extract reads: elements nested deeper than [`MAX_DEPTH`] lose their tags (their text stays).
//! HTML tree builders check scopes along the stack of open elements, so 50,000 nested `<div>`s
//! cost them seconds (quadratic); flattening first keeps every document linear. The scan is a
//! single pass and copies nothing when the document is shallow enough.

use std::borrow::Cow;

/// Nesting kept; real pages stay far below it.
pub const MAX_DEPTH: usize = 96;

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// The document with the tags of elements nested deeper than [`MAX_DEPTH`] removed, and how many
/// tags were removed (0: the document is returned as it is).
pub fn flatten_deep(html: &str) -> (Cow<'_, str>, usize) {
    if max_depth(html) <= MAX_DEPTH {
        return (Cow::Borrowed(html), 0);
    }
    let mut out = String::with_capacity(html.len());
    let mut kept: Vec<bool> = Vec::new();
    let mut depth = 0;
    let mut dropped = 0;
    scan(html, |piece| match piece {
        Piece::Text(t) | Piece::Other(t) => out.push_str(t),
        Piece::Open(t) => {
            let keep = depth < MAX_DEPTH;
            if keep {
                depth += 1;
                out.push_str(t);
            } else {
                dropped += 1;
            }
            kept.push(keep);
        }
        Piece::Close(t) => match kept.pop() {
            Some(true) => {
                depth -= 1;
                out.push_str(t);
            }
            Some(false) => dropped += 1,
            None => out.push_str(t),
        },
    });
    (Cow::Owned(out), dropped)
}

/// How deep the elements nest (unclosed ones count until the end).
fn max_depth(html: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    scan(html, |piece| match piece {
        Piece::Open(_) => {
            depth += 1;
            max = max.max(depth);
        }
        Piece::Close(_) => depth = depth.saturating_sub(1),
        _ => {}
    });
    max
}

enum Piece<'a> {
    Text(&'a str),
    /// A start tag of a non-void element.
    Open(&'a str),
    Close(&'a str),
    /// Void and self-closing tags, comments, doctypes, processing instructions, raw text.
    Other(&'a str),
}

/// Cuts the document into text and tags, in one pass.
fn scan<'a>(html: &'a str, mut each: impl FnMut(Piece<'a>)) {
    let b = html.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let Some(lt) = memchr::memchr(b'<', &b[i..]).map(|p| i + p) else {
            each(Piece::Text(&html[i..]));
            return;
        };
        if lt > i {
            each(Piece::Text(&html[i..lt]));
        }
        let rest = &b[lt..];
        // Comments and CDATA end at their own terminator, whatever they contain.
        let terminator: Option<&[u8]> = if rest.starts_with(b"<!--") {
            Some(b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            Some(b"]]>")
        } else {
            None
        };
        if let Some(t) = terminator {
            let end = memchr::memmem::find(&rest[2..], t).map_or(b.len(), |p| lt + 2 + p + t.len());
            each(Piece::Other(&html[lt..end]));
            i = end;
            continue;
        }
        let is_close = rest.get(1) == Some(&b'/');
        let name_start = lt + 1 + usize::from(is_close);
        let name_len = b[name_start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b':')
            .count();
        if name_len == 0 {
            // `<` that starts no tag (`a < b`, `<!DOCTYPE`, `<?xml`): up to `>` or as text.
            if matches!(rest.get(1), Some(b'!' | b'?')) {
                let end = memchr::memchr(b'>', rest).map_or(b.len(), |p| lt + p + 1);
                each(Piece::Other(&html[lt..end]));
                i = end;
            } else {
                each(Piece::Text(&html[lt..lt + 1]));
                i = lt + 1;
            }
            continue;
        }
        let end = tag_end(b, name_start + name_len);
        let tag = &html[lt..end];
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        if is_close {
            each(Piece::Close(tag));
            i = end;
            continue;
        }
        if VOID.contains(&name.as_str()) || tag.ends_with("/>") {
            each(Piece::Other(tag));
            i = end;
            continue;
        }
        if matches!(name.as_str(), "script" | "style" | "textarea" | "title") {
            // Raw text: up to the matching end tag.
            let close = format!("</{name}");
            let body_end = find_ascii_ci(&b[end..], close.as_bytes()).map_or(b.len(), |p| end + p);
            let close_end = if body_end < b.len() {
                tag_end(b, body_end + close.len())
            } else {
                b.len()
            };
            each(Piece::Other(&html[lt..close_end]));
            i = close_end;
            continue;
        }
        each(Piece::Open(tag));
        i = end;
    }
}

/// The index after the `>` that ends a tag whose attributes start at `from` (quotes respected).
fn tag_end(b: &[u8], from: usize) -> usize {
    let mut quote = None;
    for (k, &c) in b[from..].iter().enumerate() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'>') => return from + k + 1,
            _ => {}
        }
    }
    b.len()
}

fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_documents_are_untouched() {
        let html = "<div><p>One <b>two</b></p><img src=x><br/><!-- <div> --><script>if (a<b) {}</script></div>";
        let (out, dropped) = flatten_deep(html);
        assert!(matches!(out, Cow::Borrowed(_)));
        assert_eq!(dropped, 0);
    }

    #[test]
    fn deep_nesting_loses_only_the_deep_tags_and_keeps_the_text() {
        let n = 50_000;
        let html = format!(
            "{}<p>deep text</p>{}",
            "<div>".repeat(n),
            "</div>".repeat(n)
        );
        let started = std::time::Instant::now();
        let (out, dropped) = flatten_deep(&html);
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
        assert!(out.contains("deep text"));
        assert_eq!(max_depth(&out), MAX_DEPTH);
        assert_eq!(dropped, 2 * (n + 1 - MAX_DEPTH));
        assert_eq!(out.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(out.matches("</div>").count(), MAX_DEPTH);
    }

    #[test]
    fn unclosed_deep_tags_and_quoted_brackets() {
        let html = format!("{}<a title=\"x>y\">t</a>", "<span>".repeat(200));
        let (out, _) = flatten_deep(&html);
        assert!(out.contains('t'));
        assert!(max_depth(&out) <= MAX_DEPTH);
    }
}
