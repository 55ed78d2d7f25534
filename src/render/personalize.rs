//! One render per issue, filled in per recipient.
//!
//! Rendering a digest (Tera, sanitizing, wrapping, inlining CSS) costs about a millisecond; a
//! list of 100,000 would spend minutes doing the same work again for a different address. So an
//! issue is rendered once with placeholders where the subscriber's fields go (one
//! Unicode noncharacter each, which nothing in the pipeline changes), and the result is cut into
//! [`Piece`]s: literal text and the places of the fields, each with the escaping the HTML
//! serializer would have given it there. The `wrap` filter, given text with a placeholder,
//! leaves it for [`Piece::Wrap`] to wrap once the field is filled in.
//!
//! Every variant is checked before use: a probe recipient whose fields hold every character
//! that needs escaping is rendered in full and filled in, and the two must be byte-identical.
//! Templates that transform a field (`upper`, `truncate`, comparisons...) fail the check, and
//! their issue is rendered in full per message, as before.

use std::cell::Cell;

use super::context::SubscriberContext;
use super::text::wrap;

/// Placeholders for the subscriber's fields (Unicode noncharacters, reserved for internal use).
const EMAIL: char = '\u{FDD0}';
const NAME: char = '\u{FDD1}';
const UNSUBSCRIBE_URL: char = '\u{FDD2}';
/// `WRAP_OPEN width WRAP_WIDTH_END text WRAP_CLOSE`: text for [`wrap`] once filled in.
const WRAP_OPEN: char = '\u{FDD3}';
const WRAP_WIDTH_END: char = '\u{FDD4}';
const WRAP_CLOSE: char = '\u{FDD5}';
const MANAGE_URL: char = '\u{FDD6}';

fn is_reserved(c: char) -> bool {
    ('\u{FDD0}'..='\u{FDEF}').contains(&c)
}

thread_local! {
    /// Set while an issue is rendered with placeholders (templates render on the calling thread).
    static PLACEHOLDERS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the `wrap` filter deferring text that holds a placeholder.
pub(crate) fn with_placeholders<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            PLACEHOLDERS.with(|p| p.set(self.0));
        }
    }
    let _reset = Reset(PLACEHOLDERS.with(|p| p.replace(true)));
    f()
}

/// What the `wrap` filter returns for `text` while placeholders are rendered: the text marked
/// for wrapping later, when it holds a field; `None` to wrap it now.
pub(crate) fn deferred_wrap(text: &str, width: usize) -> Option<String> {
    let deferring = PLACEHOLDERS.with(Cell::get)
        && text.contains([EMAIL, NAME, UNSUBSCRIBE_URL, MANAGE_URL, WRAP_OPEN]);
    deferring.then(|| format!("{WRAP_OPEN}{width}{WRAP_WIDTH_END}{text}{WRAP_CLOSE}"))
}

/// The placeholder subscriber: `name` only when `with_name`.
pub(crate) fn placeholder_subscriber(with_name: bool) -> SubscriberContext<'static> {
    SubscriberContext {
        email: EMAIL.to_string().into(),
        name: with_name.then(|| NAME.to_string().into()),
        unsubscribe_url: UNSUBSCRIBE_URL.to_string(),
        manage_url: MANAGE_URL.to_string(),
    }
}

/// A subscriber's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Email,
    Name,
    UnsubscribeUrl,
    ManageUrl,
}

/// How a field is escaped where it stands (as css-inline's serializer escapes: text content
/// `& nbsp < >`, attribute values `& nbsp "`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    None,
    HtmlText,
    HtmlAttribute,
}

/// A part of a rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Field(Field, Escape),
    /// Pieces that are wrapped at `width` columns once filled in.
    Wrap {
        width: usize,
        pieces: Vec<Piece>,
    },
}

/// One recipient's fields, validated as the templates would see them.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    email: &'a str,
    name: &'a str,
    unsubscribe_url: &'a str,
    manage_url: &'a str,
}

impl Values<'_> {
    fn get(&self, f: Field) -> &str {
        match f {
            Field::Email => self.email,
            Field::Name => self.name,
            Field::UnsubscribeUrl => self.unsubscribe_url,
            Field::ManageUrl => self.manage_url,
        }
    }
}

impl Piece {
    /// Appends this piece filled in with `v`.
    pub fn fill(&self, v: &Values, out: &mut String) {
        match self {
            Piece::Literal(s) => out.push_str(s),
            Piece::Field(f, e) => escape_into(v.get(*f), *e, out),
            Piece::Wrap { width, pieces } => out.push_str(&wrap(&fill_all(pieces, v), *width)),
        }
    }

    /// Bytes of this piece filled in with `v`.
    fn filled_len(&self, v: &Values) -> usize {
        match self {
            Piece::Literal(s) => s.len(),
            Piece::Field(f, e) => escaped_len(v.get(*f), *e),
            Piece::Wrap { .. } => {
                let mut s = String::new();
                self.fill(v, &mut s);
                s.len()
            }
        }
    }
}

/// The entity that stands for `c` where `e` applies, if it needs one.
fn entity(e: Escape, c: char) -> Option<&'static str> {
    match (e, c) {
        (Escape::HtmlText | Escape::HtmlAttribute, '&') => Some("&amp;"),
        (Escape::HtmlText | Escape::HtmlAttribute, '\u{a0}') => Some("&nbsp;"),
        (Escape::HtmlText, '<') => Some("&lt;"),
        (Escape::HtmlText, '>') => Some("&gt;"),
        (Escape::HtmlAttribute, '"') => Some("&quot;"),
        _ => None,
    }
}

fn escape_into(s: &str, e: Escape, out: &mut String) {
    for c in s.chars() {
        match entity(e, c) {
            Some(entity) => out.push_str(entity),
            None => out.push(c),
        }
    }
}

fn escaped_len(s: &str, e: Escape) -> usize {
    s.chars()
        .map(|c| entity(e, c).map_or(c.len_utf8(), str::len))
        .sum()
}

/// Cuts text rendered with placeholders into pieces. `html` tracks whether each placeholder
/// stands in text content or in a (double-quoted) attribute value. `None` when the markers do
/// not nest properly.
pub(crate) fn parse(rendered: &str, html: bool) -> Option<Vec<Piece>> {
    let mut chars = rendered.char_indices().peekable();
    let mut state = HtmlState::default();
    parse_until(&mut chars, html, &mut state, false)
}

#[derive(Default)]
struct HtmlState {
    in_tag: bool,
    in_quote: bool,
}

impl HtmlState {
    fn escape(&self, html: bool) -> Escape {
        match (html, self.in_tag && self.in_quote) {
            (false, _) => Escape::None,
            (true, true) => Escape::HtmlAttribute,
            (true, false) => Escape::HtmlText,
        }
    }

    fn step(&mut self, c: char) {
        match (self.in_tag, self.in_quote, c) {
            (false, _, '<') => self.in_tag = true,
            (true, false, '>') => self.in_tag = false,
            (true, _, '"') => self.in_quote = !self.in_quote,
            _ => {}
        }
    }
}

fn parse_until(
    chars: &mut std::iter::Peekable<std::str::CharIndices>,
    html: bool,
    state: &mut HtmlState,
    in_wrap: bool,
) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let flush = |literal: &mut String, pieces: &mut Vec<Piece>| {
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(literal)));
        }
    };
    while let Some((_, c)) = chars.next() {
        let field = match c {
            EMAIL => Some(Field::Email),
            NAME => Some(Field::Name),
            UNSUBSCRIBE_URL => Some(Field::UnsubscribeUrl),
            MANAGE_URL => Some(Field::ManageUrl),
            _ => None,
        };
        if let Some(f) = field {
            flush(&mut literal, &mut pieces);
            pieces.push(Piece::Field(f, state.escape(html)));
        } else if c == WRAP_OPEN {
            flush(&mut literal, &mut pieces);
            let mut digits = String::new();
            loop {
                match chars.next()? {
                    (_, WRAP_WIDTH_END) => break,
                    (_, d) if d.is_ascii_digit() => digits.push(d),
                    _ => return None,
                }
            }
            let width = digits.parse().ok()?;
            let inner = parse_until(chars, html, state, true)?;
            pieces.push(Piece::Wrap {
                width,
                pieces: inner,
            });
        } else if c == WRAP_CLOSE {
            if !in_wrap {
                return None;
            }
            flush(&mut literal, &mut pieces);
            return Some(pieces);
        } else if is_reserved(c) {
            return None;
        } else {
            if html {
                state.step(c);
            }
            literal.push(c);
        }
    }
    if in_wrap {
        return None;
    }
    flush(&mut literal, &mut pieces);
    Some(pieces)
}

/// One variant (with or without a name) of an issue's email, cut into pieces.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub html: Vec<Piece>,
    pub text: Vec<Piece>,
}

impl Prepared {
    /// The HTML filled in with `v`.
    pub fn html(&self, v: &Values) -> String {
        fill_all(&self.html, v)
    }

    /// The plain text filled in with `v`.
    pub fn text(&self, v: &Values) -> String {
        fill_all(&self.text, v)
    }

    /// Bytes of the HTML filled in with `v`, without building it.
    pub fn html_len(&self, v: &Values) -> usize {
        self.html.iter().map(|p| p.filled_len(v)).sum()
    }
}

fn fill_all(pieces: &[Piece], v: &Values) -> String {
    let mut out = String::with_capacity(pieces.iter().map(|p| p.filled_len(v)).sum());
    pieces.iter().for_each(|p| p.fill(v, &mut out));
    out
}

/// An issue's email rendered once, ready to be filled in per recipient.
#[derive(Debug, Clone)]
pub struct PreparedEmail {
    /// Without and with a greeting name; `None` where the probe check failed.
    pub(crate) variants: [Option<Prepared>; 2],
    /// Stories left out of every copy to keep it under the byte budget.
    pub dropped: usize,
    pub(crate) max_html_bytes: usize,
}

impl PreparedEmail {
    /// The variant for this recipient, or `None` when the copy must be rendered in full: the
    /// templates failed the probe check, a field is empty (a recipient with no manage page) or
    /// holds a control character, or the filled-in HTML would exceed the byte budget.
    pub fn for_recipient<'a>(&'a self, p: &'a super::Personal) -> Option<Filled<'a>> {
        let sub = SubscriberContext::of(p);
        let prepared = self.variants[usize::from(sub.name.is_some())].as_ref()?;
        let filled = Filled { prepared, sub };
        let v = filled.values();
        let fields = [v.email, v.name, v.unsubscribe_url, v.manage_url];
        let usable = !v.email.is_empty()
            && !v.unsubscribe_url.is_empty()
            && !v.manage_url.is_empty()
            && !fields
                .iter()
                .any(|f| f.chars().any(|c| c.is_control() || is_reserved(c)))
            && prepared.html_len(&v) <= self.max_html_bytes;
        usable.then_some(filled)
    }

    /// Whether any variant passed the probe check.
    pub fn is_usable(&self) -> bool {
        self.variants.iter().any(Option::is_some)
    }

    /// The variants: `[without name, with name]`, `None` where the probe check failed.
    pub fn variants(&self) -> &[Option<Prepared>; 2] {
        &self.variants
    }
}

/// A prepared variant and the recipient that fills it.
pub struct Filled<'a> {
    pub prepared: &'a Prepared,
    sub: SubscriberContext<'a>,
}

impl Filled<'_> {
    /// Which of [`PreparedEmail::variants`] this recipient uses.
    pub fn variant(&self) -> usize {
        usize::from(self.sub.name.is_some())
    }

    /// The recipient's fields as the templates would show them.
    pub fn values(&self) -> Values<'_> {
        values(&self.sub)
    }

    pub fn html(&self) -> String {
        self.prepared.html(&self.values())
    }

    pub fn text(&self) -> String {
        self.prepared.text(&self.values())
    }
}

pub(crate) fn values<'a>(sub: &'a SubscriberContext) -> Values<'a> {
    Values {
        email: &sub.email,
        name: sub.name.as_deref().unwrap_or(""),
        unsubscribe_url: &sub.unsubscribe_url,
        manage_url: &sub.manage_url,
    }
}

/// Probe values: every character the HTML serializer escapes, in every field.
pub(crate) fn probe(with_name: bool) -> super::Personal {
    super::Personal {
        email: "o'brien+\"x\"&y<z>@example.org".into(),
        name: with_name.then(|| "Ana & O'Brien <\"Q\">\u{a0}Ünal".into()),
        unsubscribe_url: "https://example.org/unsubscribe?t=a&b=%22c%22".into(),
        manage_url: "https://example.org/manage/t?a=1&b=%22c%22".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_with_their_html_context() {
        let s = format!(
            "<p class=\"x\">Hi {NAME},</p><a href=\"{UNSUBSCRIBE_URL}\">u</a> {EMAIL}\
             <a href=\"{MANAGE_URL}\">m</a>"
        );
        let pieces = parse(&s, true).unwrap();
        assert_eq!(
            pieces,
            vec![
                Piece::Literal("<p class=\"x\">Hi ".into()),
                Piece::Field(Field::Name, Escape::HtmlText),
                Piece::Literal(",</p><a href=\"".into()),
                Piece::Field(Field::UnsubscribeUrl, Escape::HtmlAttribute),
                Piece::Literal("\">u</a> ".into()),
                Piece::Field(Field::Email, Escape::HtmlText),
                Piece::Literal("<a href=\"".into()),
                Piece::Field(Field::ManageUrl, Escape::HtmlAttribute),
                Piece::Literal("\">m</a>".into()),
            ]
        );
        let v = Values {
            email: "a&b@x.org",
            name: "<Ann>",
            unsubscribe_url: "https://x.org/?a=1&b=\"2\"",
            manage_url: "https://x.org/m?a&b",
        };
        assert_eq!(
            fill_all(&pieces, &v),
            "<p class=\"x\">Hi &lt;Ann&gt;,</p>\
             <a href=\"https://x.org/?a=1&amp;b=&quot;2&quot;\">u</a> a&amp;b@x.org\
             <a href=\"https://x.org/m?a&amp;b\">m</a>"
        );
    }

    #[test]
    fn deferred_wrap_is_wrapped_after_filling() {
        let inner = format!("You are receiving this because {EMAIL} subscribed.");
        let marked = with_placeholders(|| deferred_wrap(&inner, 30)).unwrap();
        assert!(deferred_wrap(&inner, 30).is_none(), "only while preparing");
        let pieces = parse(&format!("top\n{marked}\nend"), false).unwrap();
        let v = Values {
            email: "someone.with.a.long.address@example.org",
            name: "",
            unsubscribe_url: "",
            manage_url: "",
        };
        let out = fill_all(&pieces, &v);
        let expected = wrap(
            "You are receiving this because someone.with.a.long.address@example.org subscribed.",
            30,
        );
        assert_eq!(out, format!("top\n{expected}\nend"));
    }

    #[test]
    fn stray_markers_are_refused() {
        assert!(parse(&format!("a {WRAP_CLOSE} b"), false).is_none());
        assert!(parse(&format!("a {WRAP_OPEN}12{WRAP_WIDTH_END} b"), false).is_none());
        assert!(parse("a \u{FDE0} b", false).is_none());
    }
}
