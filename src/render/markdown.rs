//! Markdown in and out: the editor's intro to sanitized HTML or plain text, the sanitizer every
//! HTML fragment passes through before a template may mark it `| safe`, and the escaping the
//! Markdown template applies to feed text.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::text::LinkRefs;
use super::url::absolute_link;

/// Renders Markdown with pulldown-cmark, then sanitizes it: relative or non-http(s)/mailto links
/// and images are dropped, no `style`, `class`, scripts, forms or embedded content survive.
pub fn markdown_to_safe_html(md: &str) -> String {
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, Parser::new_ext(md, markdown_options()));
    sanitize_fragment(&html)
}

/// Sanitizes an HTML fragment for the email: the only way a string becomes safe to mark `| safe`.
///
/// Idempotent, so the renderer re-runs it on `lead_html` / `intro_html` it was handed.
pub fn sanitize_fragment(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

fn markdown_options() -> Options {
    Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let tags: HashSet<&str> = [
            "a",
            "b",
            "blockquote",
            "br",
            "code",
            "del",
            "em",
            "h2",
            "h3",
            "h4",
            "hr",
            "i",
            "li",
            "ol",
            "p",
            "pre",
            "s",
            "strong",
            "sub",
            "sup",
            "ul",
        ]
        .into_iter()
        .collect();
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(tags)
            .add_tag_attributes("a", ["href", "title"])
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .url_relative(ammonia::UrlRelative::Deny)
            // `http://bank.example@evil.example/` reads as the bank's address and goes
            // elsewhere: a link with user info keeps its text and loses its address.
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                ("a", "href") if has_userinfo(value) => None,
                _ => Some(value.into()),
            })
            .link_rel(Some("noopener noreferrer"))
            .add_clean_content_tags(["script", "style", "title", "noscript"])
            .strip_comments(true);
        builder
    })
}

/// Whether a URL carries a user name or password (`user@host`).
fn has_userinfo(href: &str) -> bool {
    url::Url::parse(href.trim()).is_ok_and(|u| !u.username().is_empty() || u.password().is_some())
}

/// Markdown as plain-text paragraphs (one line each, separated by blank lines) for the text
/// email; each link's URL becomes a numbered reference `[n]` in `refs`.
pub fn markdown_to_text(md: &str, refs: &mut LinkRefs) -> String {
    let mut out = String::new();
    let mut link_stack: Vec<Option<String>> = Vec::new();
    let mut list_stack: Vec<Option<u64>> = Vec::new();
    for event in Parser::new_ext(md, markdown_options()) {
        match event {
            Event::Start(Tag::Item) => {
                let marker = match list_stack.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "- ".to_string(),
                };
                out.push_str(&marker);
            }
            Event::Start(Tag::List(start)) => list_stack.push(start),
            Event::End(TagEnd::List(_)) => {
                list_stack.pop();
                block_break(&mut out);
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                link_stack.push(absolute_link(&dest_url));
            }
            Event::End(TagEnd::Link) => {
                if let Some(Some(url)) = link_stack.pop() {
                    out.push_str(&format!(" [{}]", refs.add(&url)));
                }
            }
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Rule => {
                out.push_str("* * *");
                block_break(&mut out);
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::BlockQuote(_) | TagEnd::CodeBlock,
            ) if list_stack.is_empty() => block_break(&mut out),
            _ => {}
        }
    }
    out.trim_end().to_string()
}

fn block_break(out: &mut String) {
    let trimmed = out.trim_end_matches('\n').len();
    out.truncate(trimmed);
    if !out.is_empty() {
        out.push_str("\n\n");
    }
}

/// Escapes text so CommonMark shows it literally (feed titles, sources, leads).
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = collapsed.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '!' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            // `&` only matters where it could start an entity reference (`&amp;`, `&#38;`).
            '&' if chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '#') =>
            {
                out.push('\\');
                out.push(c);
            }
            // Only special at the start of a line: headings, lists, block quotes, rules.
            '#' | '+' | '-' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    // "1. Title" or "1) Title" at the start would become an ordered list.
    if let Some(pos) = out.find(['.', ')']) {
        if pos > 0 && out[..pos].chars().all(|c| c.is_ascii_digit()) {
            out.insert(pos, '\\');
        }
    }
    out
}

/// A link destination for Markdown: `<url>` with the characters that would end it encoded.
/// Anything that is not an absolute http(s)/mailto URL becomes empty.
pub fn markdown_destination(url: &str) -> String {
    match absolute_link(url) {
        Some(u) => format!(
            "<{}>",
            u.replace('<', "%3C")
                .replace('>', "%3E")
                .replace(' ', "%20")
        ),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_and_relative_links_are_dropped() {
        let html = markdown_to_safe_html(
            "[a](javascript:alert(1)) [b](/rel) [c](https://ok.example/x) <script>x</script>",
        );
        assert!(!html.contains("javascript"), "{html}");
        assert!(!html.contains("/rel"), "{html}");
        assert!(html.contains(r#"href="https://ok.example/x""#), "{html}");
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn links_with_user_info_lose_their_address() {
        let html = sanitize_fragment(
            r#"<p><a href="http://bank.example@evil.example/x">your bank</a> and <a href="https://u:p@x.example/">x</a> and <a href="https://ok.example/a@b">ok</a></p>"#,
        );
        assert!(
            !html.contains("evil.example") && !html.contains("u:p@"),
            "{html}"
        );
        assert!(
            html.contains("your bank") && html.contains(r#"href="https://ok.example/a@b""#),
            "{html}"
        );
    }

    #[test]
    fn markdown_escape_keeps_text_literal() {
        let e = escape_markdown("# 1. *bold* [x](y) <b>");
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, Parser::new(&e));
        assert_eq!(html.trim(), "<p># 1. *bold* [x](y) &lt;b&gt;</p>");
        let e = escape_markdown("2024. A year");
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, Parser::new(&e));
        assert_eq!(html.trim(), "<p>2024. A year</p>");
    }

    #[test]
    fn text_has_numbered_refs() {
        let mut refs = LinkRefs::default();
        let t = markdown_to_text(
            "Read [this](https://a.example/) now.\n\n- one\n- two",
            &mut refs,
        );
        assert_eq!(t, "Read this [1] now.\n\n- one\n- two");
        assert_eq!(refs.list()[0].url, "https://a.example/");
    }
}
