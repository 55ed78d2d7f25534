//! Plain-text helpers: 72-column wrapping, underlined headings, numbered link references.

use serde::Serialize;

/// The column the plain-text email wraps at.
pub const TEXT_WIDTH: usize = 72;

/// One numbered link reference, listed at the end of the text email as `[n] url`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LinkRef {
    pub n: usize,
    pub url: String,
}

/// Numbers URLs in order of first use; the same URL keeps its number.
#[derive(Debug, Default)]
pub struct LinkRefs(Vec<LinkRef>);

impl LinkRefs {
    /// The reference number of `url`, adding it when new.
    pub fn add(&mut self, url: &str) -> usize {
        if let Some(r) = self.0.iter().find(|r| r.url == url) {
            return r.n;
        }
        let n = self.0.len() + 1;
        self.0.push(LinkRef {
            n,
            url: url.to_string(),
        });
        n
    }

    pub fn list(&self) -> &[LinkRef] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<LinkRef> {
        self.0
    }
}

/// Wraps each line of `text` at `width` columns (characters), keeping blank lines.
///
/// Whitespace inside a line collapses; a word longer than the width stays whole on its own
/// line (URLs must not break). List items (`- `, `* `, `1. `) get a hanging indent.
pub fn wrap(text: &str, width: usize) -> String {
    let width = width.max(1);
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            out.push(String::new());
            continue;
        }
        let (lead, rest) = split_marker(line);
        let indent = " ".repeat(lead.chars().count());
        let mut current = lead.to_string();
        let mut current_len = current.chars().count();
        let mut has_word = false;
        for word in glue_refs(rest) {
            let word = word.as_str();
            let len = word.chars().count();
            if has_word && current_len + 1 + len > width {
                out.push(std::mem::replace(&mut current, indent.clone()));
                current_len = indent.chars().count();
                has_word = false;
            }
            if has_word {
                current.push(' ');
                current_len += 1;
            }
            current.push_str(word);
            current_len += len;
            has_word = true;
        }
        out.push(current);
    }
    out.join("\n")
}

/// The words of `s`, with a link reference (`[12]`) kept on the line of the word before it.
fn glue_refs(s: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in s.split_whitespace() {
        let is_ref = word.len() > 2
            && word.starts_with('[')
            && word.ends_with(']')
            && word[1..word.len() - 1].chars().all(|c| c.is_ascii_digit());
        match words.last_mut() {
            Some(last) if is_ref => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
    }
    words
}

/// Splits a leading indent plus list marker (`- `, `* `, `12. `) from the rest of the line.
fn split_marker(line: &str) -> (&str, &str) {
    let body = line.trim_start();
    let indent = line.len() - body.len();
    let marker_len = if body.starts_with("- ") || body.starts_with("* ") {
        2
    } else {
        let digits = body.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && body[digits..].starts_with(". ") {
            digits + 2
        } else {
            0
        }
    };
    line.split_at(indent + marker_len)
}

/// `text` followed by a line of `ch` as wide as its widest line.
pub fn underline(text: &str, ch: char) -> String {
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    format!("{text}\n{}", ch.to_string().repeat(widest))
}

/// The text of a sanitized HTML fragment: tags dropped, block ends as paragraph breaks,
/// entities decoded. Only meant for [`super::sanitize_fragment`] output.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = rest[start + 1..start + end].trim_start_matches('/');
        let name: String = tag
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        match name.as_str() {
            "p" | "h2" | "h3" | "h4" | "blockquote" | "ul" | "ol" | "pre" | "hr" => {
                out.push_str("\n\n")
            }
            "br" | "li" => out.push('\n'),
            _ => {}
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let decoded = decode_entities(&out);
    let paragraphs: Vec<String> = decoded
        .split("\n\n")
        .map(|p| {
            p.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|p| !p.is_empty())
        .collect();
    paragraphs.join("\n\n")
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let semi = tail.find(';').filter(|&i| i <= 10);
        let decoded = semi.and_then(|i| decode_entity(&tail[1..i]).map(|c| (c, i)));
        match decoded {
            Some((c, i)) => {
                out.push(c);
                rest = &tail[i + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_width_and_keeps_long_words() {
        let long = "word ".repeat(30);
        for line in wrap(&long, 72).lines() {
            assert!(line.chars().count() <= 72);
        }
        let url = format!("see https://example.org/{}", "x".repeat(80));
        assert_eq!(wrap(&url, 72).lines().count(), 2);
    }

    #[test]
    fn link_refs_stay_with_their_word() {
        assert_eq!(wrap("aaaa bbbb [12]", 10), "aaaa\nbbbb [12]");
    }

    #[test]
    fn list_items_hang() {
        let w = wrap(&format!("- {}", "abc ".repeat(30)), 20);
        assert!(w.lines().skip(1).all(|l| l.starts_with("  a")), "{w}");
    }

    #[test]
    fn underline_matches_widest_line() {
        assert_eq!(underline("Héllo\nab", '='), "Héllo\nab\n=====");
    }

    #[test]
    fn html_to_text_decodes() {
        assert_eq!(
            html_to_text("<p>A &amp; B <a href=\"x\">link</a></p><p>Two&#39;s</p>"),
            "A & B link\n\nTwo's"
        );
    }

    #[test]
    fn refs_dedupe() {
        let mut r = LinkRefs::default();
        assert_eq!(r.add("https://a/"), 1);
        assert_eq!(r.add("https://b/"), 2);
        assert_eq!(r.add("https://a/"), 1);
    }
}
