//! Feed bytes → stories. The feed-rs adapter: feed-rs types never leave this file.
//! feed-rs gets the raw bytes (it sniffs the encoding). When a feed does not parse, a repaired
//! copy is tried (control characters dropped, HTML entities made numeric, undeclared Latin-1
//! decoded) before giving up with feed-rs's message.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::canonical::canonical_url;
use super::charset;
use super::mojibake;
use crate::model::Story;

/// What a feed document holds.
#[derive(Debug)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub stories: Vec<Story>,
    /// RSS `<ttl>` in minutes, if given.
    pub ttl_minutes: Option<u32>,
    /// How often the feed says it is updated (`sy:updatePeriod` / `sy:updateFrequency`).
    pub update_every: Option<chrono::Duration>,
    /// What the limits cut (entries over `max_entries`, texts over `max_entry_bytes`, deep
    /// nesting), for the fetch report.
    pub notes: Vec<String>,
}

/// How to read one feed document.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// Where it came from (for relative links).
    pub base: Option<&'a url::Url>,
    /// Scopes GUIDs that are not globally unique (the feed's configured URL).
    pub feed_key: &'a str,
    /// The first-seen time (and the date of undated entries).
    pub now: chrono::DateTime<chrono::Utc>,
    /// The HTTP Content-Type, for its charset.
    pub content_type: Option<&'a str>,
    /// Entries read at most, in document order.
    pub max_entries: usize,
    /// Bytes of one entry's content or summary kept at most.
    pub max_entry_bytes: usize,
}

impl<'a> Options<'a> {
    /// The defaults of `[ingest]`.
    pub fn new(feed_key: &'a str, now: chrono::DateTime<chrono::Utc>) -> Options<'a> {
        Options {
            base: None,
            feed_key,
            now,
            content_type: None,
            max_entries: 2000,
            max_entry_bytes: 1 << 20,
        }
    }
}

/// Parses a feed document with the default limits. `base` is where it came from (for
/// relative links); `feed_key` scopes GUIDs that are not globally unique; `now` is the
/// first-seen time.
pub fn parse_feed(
    bytes: &[u8],
    base: Option<&url::Url>,
    feed_key: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ParsedFeed, String> {
    parse_with(
        bytes,
        &Options {
            base,
            ..Options::new(feed_key, now)
        },
    )
}

/// Parses a feed document: decoded to UTF-8 first (`charset`), old dialects read as RSS 2.0,
/// then feed-rs, then a repaired copy when that fails. A document with `<item>` or `<entry>`
/// elements that yields no story is an error, never a silent zero. Limits (entries, entry size,
/// HTML nesting) are applied and reported in `notes`.
pub fn parse_with(bytes: &[u8], o: &Options<'_>) -> Result<ParsedFeed, String> {
    let (utf8, decoded_from) = charset::to_utf8(bytes, o.content_type);
    let bytes = dialect(&utf8);
    let bytes = bytes.as_ref();
    // Checked on the very bytes the parser gets (and again on a repaired copy below).
    too_deep(bytes)?;
    let text = Text::of(bytes);
    let base = o.base;
    let feed = match parse_raw(bytes, base) {
        Ok(f) if !f.entries.is_empty() || !looks_like_it_has_items(bytes) => f,
        first => {
            let repaired = if is_json(bytes) {
                repair_json(bytes)
            } else {
                repair(bytes)
            };
            too_deep(&repaired)?;
            match (parse_raw(&repaired, base), first) {
                (Ok(f), _) => f,
                (Err(_), Ok(f)) => f,
                (Err(_), Err(first)) => return Err(describe(bytes, &first)),
            }
        }
    };
    if feed.entries.is_empty() && looks_like_it_has_items(bytes) {
        return Err(format!(
            "not a feed gazette can read: the document has item or entry elements, but none could be read as a story ({})",
            decoded_from.map_or_else(|| "UTF-8".to_string(), |e| format!("decoded from {}", e.name()))
        ));
    }
    let mut notes = Vec::new();
    if feed.entries.len() > o.max_entries {
        notes.push(format!(
            "{} of {} entries read (max_entries = {})",
            o.max_entries,
            feed.entries.len(),
            o.max_entries
        ));
    }
    let feed_base = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .and_then(|l| url::Url::parse(&l.href).ok())
        .or_else(|| base.cloned());
    let mut limits = Limits::new(o.max_entry_bytes);
    let stories = feed
        .entries
        .iter()
        .take(o.max_entries)
        .map(|e| {
            to_story(
                e,
                feed_base.as_ref().or(base),
                o.feed_key,
                o.now,
                &text,
                &mut limits,
            )
        })
        .collect::<Vec<Story>>();
    notes.extend(limits.notes());
    if let Some(note) = reused_guids(&stories) {
        notes.push(note);
    }
    Ok(ParsedFeed {
        title: feed
            .title
            .as_ref()
            .map(|t| text.plain(&t.content))
            .filter(|t| !t.is_empty()),
        stories,
        ttl_minutes: feed.ttl,
        update_every: syndication_period(bytes),
        notes,
    })
}

/// A story is its GUID, so an item that reuses an earlier item's GUID with another link or
/// title is not stored: said in a note, never silent. (A feed that repeats one item whole says
/// nothing new and gets no note.)
fn reused_guids(stories: &[Story]) -> Option<String> {
    let mut first: HashMap<&str, &Story> = HashMap::new();
    let mut reused = 0;
    for s in stories {
        match first.get(s.guid.as_str()) {
            Some(f) if f.url != s.url || f.title != s.title => reused += 1,
            Some(_) => {}
            None => {
                first.insert(&s.guid, s);
            }
        }
    }
    (reused > 0).then(|| {
        format!(
            "{reused} item(s) reuse an earlier item's GUID with another link or title: \
             only the first is kept"
        )
    })
}

/// Element nesting a feed document may have. The deepest of the 220 fixture feeds nests 11
/// levels. feed-rs parses some elements recursively: nested `<media:content>` overflow a 2 MB
/// thread stack between 200 and 300 levels in a debug build (quick-xml itself counts levels in
/// a `u16`), so the cap leaves a wide margin below that.
const MAX_XML_DEPTH: usize = 64;

/// Err when an XML document nests deeper than [`MAX_XML_DEPTH`] (JSON: serde_json has its own
/// recursion limit).
fn too_deep(bytes: &[u8]) -> Result<(), String> {
    if !is_json(bytes) && xml_depth_exceeds(bytes, MAX_XML_DEPTH) {
        return Err(format!(
            "not a feed gazette can read: elements nested more than {MAX_XML_DEPTH} deep"
        ));
    }
    Ok(())
}

/// Whether elements nest deeper than `limit` (one pass over UTF-8 or another ASCII-compatible
/// encoding; comments, CDATA, processing instructions and declarations skipped).
fn xml_depth_exceeds(bytes: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'<', &bytes[i..]) {
        let at = i + p;
        let rest = &bytes[at..];
        let skip_to = |end: &[u8]| memchr::memmem::find(rest, end).map(|q| at + q + end.len());
        let next = if rest.starts_with(b"<!--") {
            skip_to(b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_to(b"]]>")
        } else if rest.starts_with(b"<?") {
            skip_to(b"?>")
        } else if rest.starts_with(b"<!") {
            skip_to(b">")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            skip_to(b">")
        } else if rest.get(1).is_none_or(|c| c.is_ascii_whitespace()) {
            // A stray `<` in text opens nothing (and its quotes bound nothing).
            Some(at + 1)
        } else {
            // The tag ends at the first `>` outside quotes (`<a t="/>">` opens an element).
            let mut quote = None;
            let end = rest.iter().position(|&c| match (quote, c) {
                (Some(q), c) if c == q => {
                    quote = None;
                    false
                }
                (Some(_), _) => false,
                (None, b'"' | b'\'') => {
                    quote = Some(c);
                    false
                }
                (None, c) => c == b'>',
            });
            let end = end.map(|q| at + q);
            if let Some(e) = end {
                // Any name start counts (`_x`, `:x` and non-ASCII names open elements too).
                if e > at + 1 && bytes[e - 1] != b'/' {
                    depth += 1;
                    if depth > limit {
                        return true;
                    }
                }
            }
            end.map(|e| e + 1)
        };
        match next {
            Some(n) => i = n,
            None => return false,
        }
    }
    false
}

/// Old dialects read as the standard ones feed-rs knows:
/// - RSS 2.0 has no namespace, but some publishers gave `<rss>` a default one (UserLand's
///   `http://backend.userland.com/rss2`, `http://purl.org/rss/2.0/`, …), which hides every
///   element from a namespace-aware parser: the default namespace of `<rss>` is dropped.
/// - Atom 0.3 (`http://purl.org/atom/ns#`) is read as Atom 1.0: its namespace replaced, and
///   `issued`, `modified` and `tagline` renamed `published`, `updated` and `subtitle`.
fn dialect(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    let head = &bytes[..bytes.len().min(8192)];
    if let Some(rss) = root_tag(head, b"<rss") {
        let tag = &head[rss.0..rss.1];
        for attr in [&b" xmlns=\""[..], b" xmlns='"] {
            if let Some(at) = memchr::memmem::find(tag, attr) {
                let quote = attr[attr.len() - 1];
                let value_start = rss.0 + at + attr.len();
                let Some(len) = memchr::memchr(quote, &bytes[value_start..]) else {
                    break;
                };
                let mut out = Vec::with_capacity(bytes.len());
                out.extend_from_slice(&bytes[..rss.0 + at]);
                out.extend_from_slice(&bytes[value_start + len + 1..]);
                return Cow::Owned(out);
            }
        }
    }
    const ATOM_03: &[u8] = b"http://purl.org/atom/ns#";
    if root_tag(head, b"<feed").is_some() && memchr::memmem::find(head, ATOM_03).is_some() {
        let text = String::from_utf8_lossy(bytes)
            .replacen("http://purl.org/atom/ns#", "http://www.w3.org/2005/Atom", 1)
            .replace("<issued>", "<published>")
            .replace("</issued>", "</published>")
            .replace("<modified>", "<updated>")
            .replace("</modified>", "</updated>")
            .replace("<tagline", "<subtitle")
            .replace("</tagline>", "</subtitle>");
        return Cow::Owned(text.into_bytes());
    }
    Cow::Borrowed(bytes)
}

/// Where the root element's start tag `<name …>` is: (start, end) in `head`.
fn root_tag(head: &[u8], open: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(p) = memchr::memmem::find(&head[from..], open) {
        let at = from + p;
        let next = head.get(at + open.len()).copied();
        if matches!(next, Some(b' ' | b'\t' | b'\r' | b'\n' | b'>')) {
            let end = at + memchr::memchr(b'>', &head[at..])?;
            return Some((at, end));
        }
        from = at + open.len();
    }
    None
}

/// The per-entry limits of one document, and what they cut.
struct Limits {
    max_bytes: usize,
    truncated: usize,
    flattened: usize,
    titles_cut: usize,
}

impl Limits {
    fn new(max_bytes: usize) -> Limits {
        Limits {
            max_bytes,
            truncated: 0,
            flattened: 0,
            titles_cut: 0,
        }
    }

    /// An entry's HTML within the size cap, with nesting deeper than `html::MAX_DEPTH` flattened.
    fn html(&mut self, s: &str) -> String {
        let mut s = s;
        if s.len() > self.max_bytes {
            let mut end = self.max_bytes;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s = &s[..end];
            self.truncated += 1;
        }
        let (flat, dropped) = crate::html::flatten_deep(s);
        if dropped > 0 {
            self.flattened += 1;
        }
        flat.into_owned()
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.truncated > 0 {
            notes.push(format!(
                "{} entry text(s) cut at max_entry_bytes ({} bytes)",
                self.truncated, self.max_bytes
            ));
        }
        if self.flattened > 0 {
            notes.push(format!(
                "{} entry text(s) nested deeper than {} elements were flattened",
                self.flattened,
                crate::html::MAX_DEPTH
            ));
        }
        if self.titles_cut > 0 {
            notes.push(format!(
                "{} title(s) longer than {} characters were cut",
                self.titles_cut,
                crate::model::MAX_TITLE_CHARS
            ));
        }
        notes
    }
}

/// The RSS syndication module's update period (feed-rs does not read it): `hourly`, `daily`,
/// `weekly`, `monthly` or `yearly`, divided by `sy:updateFrequency` (default 1).
fn syndication_period(bytes: &[u8]) -> Option<chrono::Duration> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(16 * 1024)]);
    let value = |tag: &str| {
        let open = format!("<sy:{tag}>");
        let start = head.find(&open)? + open.len();
        let end = head[start..].find('<')? + start;
        Some(head[start..end].trim().to_string())
    };
    let period = match value("updatePeriod")?.as_str() {
        "hourly" => chrono::Duration::hours(1),
        "daily" => chrono::Duration::days(1),
        "weekly" => chrono::Duration::weeks(1),
        "monthly" => chrono::Duration::days(30),
        "yearly" => chrono::Duration::days(365),
        _ => return None,
    };
    let frequency: i32 = value("updateFrequency")
        .and_then(|f| f.parse().ok())
        .filter(|f| *f > 0)
        .unwrap_or(1);
    Some(period / frequency)
}

fn parse_raw(
    bytes: &[u8],
    base: Option<&url::Url>,
) -> Result<feed_rs::model::Feed, feed_rs::parser::ParseFeedError> {
    feed_rs::parser::Builder::new()
        .base_uri(base.map(|u| u.as_str()))
        .sanitize_content(false)
        // An empty id marks "none given": we derive a stable one (feed-rs would use a random UUID).
        .id_generator(|_, _, _| String::new())
        .build()
        .parse(bytes)
}

fn is_json(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn looks_like_it_has_items(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1 << 20)];
    head.windows(5).any(|w| w == b"<item" || w == b"<entr")
}

fn describe(bytes: &[u8], e: &feed_rs::parser::ParseFeedError) -> String {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    let embedded = ["<feed", "<rss", "<rdf:rdf"]
        .iter()
        .any(|t| head.contains(t));
    if (head.contains("<html") || head.contains("<!doctype html")) && !embedded {
        "not a feed: got an HTML page".into()
    } else if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        "not a feed: empty document".into()
    } else {
        format!("not a valid feed: {e}")
    }
}

/// JSON Feeds in the wild: an `http://` version URL, `tags` as one string.
fn repair_json(bytes: &[u8]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return bytes.to_vec();
    };
    if let Some(version) = v.get_mut("version") {
        if let Some(s) = version.as_str() {
            *version =
                serde_json::Value::String(s.replace("http://jsonfeed.org", "https://jsonfeed.org"));
        }
    }
    if let Some(items) = v.get_mut("items").and_then(|i| i.as_array_mut()) {
        for item in items {
            if let Some(tags) = item.get_mut("tags") {
                if let Some(s) = tags.as_str() {
                    let list = s
                        .split(',')
                        .map(|t| serde_json::Value::String(t.trim().to_string()))
                        .collect();
                    *tags = serde_json::Value::Array(list);
                }
            }
        }
    }
    serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec())
}

/// Best-effort repair of common real-world breakage: a feed wrapped in an HTML page, `<rss>`
/// without a version, the RSS 0.90 namespace, undeclared Latin-1, HTML entities, control characters.
fn repair(bytes: &[u8]) -> Vec<u8> {
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    };
    let text = text
        .replace("encoding=\"ISO-8859-1\"", "encoding=\"UTF-8\"")
        .replace("encoding='ISO-8859-1'", "encoding='UTF-8'");
    let text = embedded_feed(&text).unwrap_or(text);
    let text = text.replace(
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://purl.org/rss/1.0/",
    );
    let text = match text.find("<rss") {
        Some(i)
            if !text[i..]
                .split('>')
                .next()
                .unwrap_or("")
                .contains("version") =>
        {
            format!("{}<rss version=\"2.0\"{}", &text[..i], &text[i + 4..])
        }
        _ => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text.trim_start();
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let name_len = after.find(';').filter(|&n| {
            n > 0
                && n < 12
                && after[..n]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '#')
        });
        match name_len {
            Some(n)
                if matches!(&after[..n], "amp" | "lt" | "gt" | "quot" | "apos")
                    || after.starts_with('#') =>
            {
                out.push('&');
            }
            Some(n) => {
                let entity = format!("&{};", &after[..n]);
                let decoded = html_escape::decode_html_entities(&entity);
                match decoded.chars().next().filter(|_| decoded != entity) {
                    Some(c) => {
                        out.push_str(&format!("&#{};", c as u32));
                        rest = &after[n + 1..];
                        continue;
                    }
                    None => out.push_str("&amp;"),
                }
            }
            None => out.push_str("&amp;"),
        }
        rest = after;
    }
    out.push_str(rest);
    out.chars()
        .filter(|&c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .into_bytes()
}

/// The `<feed>…</feed>` or `<rss>…</rss>` inside a page that wraps it.
fn embedded_feed(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    if !lower
        .chars()
        .take(2048)
        .collect::<String>()
        .contains("<html")
    {
        return None;
    }
    for (open, close) in [("<feed", "</feed>"), ("<rss", "</rss>")] {
        if let (Some(start), Some(end)) = (lower.find(open), lower.rfind(close)) {
            if end > start {
                return Some(text[start..end + close.len()].to_string());
            }
        }
    }
    None
}

fn to_story(
    e: &feed_rs::model::Entry,
    base: Option<&url::Url>,
    feed_key: &str,
    now: chrono::DateTime<chrono::Utc>,
    text: &Text,
    limits: &mut Limits,
) -> Story {
    let entry_base = e.base.as_deref().and_then(|b| url::Url::parse(b).ok());
    let base = entry_base.as_ref().or(base);
    let link = e
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(e.links.first())
        .and_then(|l| canonical_url(&l.href, base));
    let content_html = e
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .filter(|b| !b.trim().is_empty())
        .map(|b| limits.html(&text.html(b)));
    let summary_html = e
        .summary
        .as_ref()
        .map(|s| s.content.as_str())
        .filter(|s| !s.trim().is_empty())
        .map(|s| limits.html(&text.html(s)));
    let mut title = e
        .title
        .as_ref()
        .map(|t| text.plain(&t.content))
        .unwrap_or_default();
    if title.is_empty() {
        title = untitled(summary_html.as_deref().or(content_html.as_deref()));
    }
    if title.chars().count() > crate::model::MAX_TITLE_CHARS {
        title = crate::model::clip(&title, crate::model::MAX_TITLE_CHARS).into_owned();
        limits.titles_cut += 1;
    }
    let published = e.published.or(e.updated).unwrap_or(now).min(now);
    let guid = stable_id(
        e.id.trim(),
        link.as_deref(),
        feed_key,
        &title,
        e.published.or(e.updated),
        content_html.as_deref().or(summary_html.as_deref()),
    );
    Story {
        guid,
        url: link,
        title,
        published,
        dated: e.published.or(e.updated).is_some(),
        has_guid: !e.id.trim().is_empty(),
        authors: e
            .authors
            .iter()
            .map(|a| text.plain(&a.name))
            .filter(|a| !a.is_empty())
            .collect(),
        categories: e
            .categories
            .iter()
            .map(|c| text.plain(c.label.as_deref().unwrap_or(&c.term)))
            .filter(|c| !c.is_empty())
            .collect(),
        content_html,
        summary_html,
    }
}

/// GUID when given (scoped to the feed unless it is a URL, URN or long token); else the
/// canonical link; else a hash of title, date and content, so that the same entry gets the same
/// id on every fetch.
fn stable_id(
    guid: &str,
    link: Option<&str>,
    feed_key: &str,
    title: &str,
    date: Option<chrono::DateTime<chrono::Utc>>,
    content: Option<&str>,
) -> String {
    if !guid.is_empty() {
        let global = guid.contains("://")
            || guid.starts_with("urn:")
            || guid.starts_with("tag:")
            || guid.len() >= 24;
        return if global {
            guid.to_string()
        } else {
            format!("{feed_key}#{guid}")
        };
    }
    if let Some(link) = link {
        return link.to_string();
    }
    let mut h = Sha256::new();
    h.update(feed_key.as_bytes());
    h.update([0]);
    h.update(title.as_bytes());
    h.update([0]);
    h.update(
        date.map(|d| d.timestamp().to_string())
            .unwrap_or_default()
            .as_bytes(),
    );
    h.update([0]);
    h.update(content.unwrap_or("").as_bytes());
    let hex: String = h
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{feed_key}#sha256:{hex}")
}

/// How the text of one feed is read: mojibake is decoded again everywhere, and a feed that
/// shows mojibake anywhere is taken to be mangled throughout, so a lone lead byte in a title
/// (`Le film Ã voir`) is restored too ([`mojibake::fix`]).
struct Text {
    mangled: bool,
}

impl Text {
    fn of(bytes: &[u8]) -> Self {
        Self {
            mangled: std::str::from_utf8(bytes).is_ok_and(mojibake::shows_mojibake),
        }
    }

    /// [`clean_text`], then mojibake decoded (and the control characters that decoding can
    /// bring back, `Â›` being U+009B, dropped again).
    fn plain(&self, s: &str) -> String {
        let clean = clean_text(s);
        let fixed = mojibake::fix(&clean, self.mangled);
        match fixed.contains(|c: char| c.is_control()) {
            true => fixed.chars().filter(|c| !c.is_control()).collect(),
            false => fixed.into_owned(),
        }
    }

    /// Mojibake decoded; markup and entities (ASCII) left as they are.
    fn html(&self, s: &str) -> String {
        mojibake::fix(s, self.mangled).into_owned()
    }
}

/// Tags dropped, entities decoded, whitespace collapsed.
pub fn clean_text(s: &str) -> String {
    let mut plain = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut in_tag = false;
    while let Some(c) = chars.next() {
        if in_tag {
            in_tag = c != '>';
        } else if c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!'))
        {
            in_tag = true;
            plain.push(' ');
        } else {
            plain.push(c);
        }
    }
    // Twice: feeds often double-escape ("&amp;amp;").
    let once = html_escape::decode_html_entities(&plain).into_owned();
    let twice = html_escape::decode_html_entities(&once);
    // Control characters (terminal escapes, C1 codes) say nothing a reader should see, and
    // reach an operator's terminal and a Subject line.
    twice
        .split(|c: char| c.is_whitespace())
        .map(|w| w.replace(|c: char| c.is_control(), ""))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn untitled(body: Option<&str>) -> String {
    let text = clean_text(body.unwrap_or(""));
    let words: Vec<&str> = text.split_whitespace().take(12).collect();
    if words.is_empty() {
        "(untitled)".into()
    } else if text.split_whitespace().count() > 12 {
        format!("{}…", words.join(" "))
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .into()
    }

    #[test]
    fn entries_without_id_or_link_get_the_same_id_every_time() {
        let xml = br#"<rss version="2.0"><channel><title>T</title>
            <item><title>A</title><description>one</description></item>
            <item><title>B</title><description>two</description></item></channel></rss>"#;
        let a = parse_feed(xml, None, "feed", now()).unwrap();
        let b = parse_feed(xml, None, "feed", now()).unwrap();
        assert_eq!(a.stories.len(), 2);
        assert_eq!(a.stories[0].guid, b.stories[0].guid);
        assert_ne!(a.stories[0].guid, a.stories[1].guid);
    }

    #[test]
    fn titles_are_decoded_and_collapsed_and_dates_never_in_the_future() {
        let xml = br#"<rss version="2.0"><channel><title>T</title><link>https://ex.org/</link>
            <item><title>  AT&amp;amp;T   &lt;b&gt;fined&lt;/b&gt; </title><link>/a?utm_source=x</link>
            <pubDate>Tue, 01 Jan 2030 00:00:00 GMT</pubDate></item></channel></rss>"#;
        let f = parse_feed(xml, None, "feed", now()).unwrap();
        let s = &f.stories[0];
        assert_eq!(s.title, "AT&T fined");
        assert_eq!(s.url.as_deref(), Some("https://ex.org/a"));
        assert_eq!(s.published, now());
    }

    #[test]
    fn an_item_reusing_another_items_guid_is_reported() {
        let xml = br#"<rss version="2.0"><channel><title>T</title>
            <item><title>A</title><link>https://ex.org/a</link><guid>g-a</guid></item>
            <item><title>B</title><link>https://ex.org/b</link><guid>g-a</guid></item>
            <item><title>A</title><link>https://ex.org/a</link><guid>g-a</guid></item>
            <item><title>C</title><link>https://ex.org/c</link><guid>g-c</guid></item></channel></rss>"#;
        let f = parse_feed(xml, None, "feed", now()).unwrap();
        assert_eq!(
            f.notes,
            ["1 item(s) reuse an earlier item's GUID with another link or title: only the first is kept"]
        );
    }

    #[test]
    fn titles_lose_control_characters_and_are_cut_to_a_subjects_length() {
        let title = format!("Esc&#x1b;[2J &#x9b;31m{}", "Headline ".repeat(5000));
        let json = format!(
            r#"{{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[
               {{"id":"1","title":"ANSI\u001b]0;PWNED\u0007 title","content_text":"x"}},
               {{"id":"2","title":"{title}","content_text":"y"}}]}}"#
        );
        let f = parse_feed(json.as_bytes(), None, "feed", now()).unwrap();
        assert_eq!(f.stories[0].title, "ANSI]0;PWNED title");
        let long = &f.stories[1].title;
        assert!(
            long.starts_with("Esc&#x1b;[2J 31mHeadline") && long.ends_with("Headline…"),
            "{long:?}"
        );
        assert!(long.chars().count() <= crate::model::MAX_TITLE_CHARS);
        assert!(
            f.notes
                .iter()
                .any(|n| n.contains("1 title(s) longer than 300")),
            "{:?}",
            f.notes
        );

        // Decoding mojibake can bring a control character back (`Â›` is U+009B): dropped too.
        let xml = "<rss version=\"2.0\"><channel><title>T</title>
            <item><title>FÃ¼nf Tote</title><link>https://ex.org/a</link></item>
            <item><title>News Â›2J</title><link>https://ex.org/b</link></item></channel></rss>";
        let f = parse_feed(xml.as_bytes(), None, "feed", now()).unwrap();
        assert_eq!(f.stories[0].title, "Fünf Tote");
        assert!(
            !f.stories[1].title.contains('\u{9b}'),
            "{:?}",
            f.stories[1].title
        );
        assert!(f.notes.is_empty(), "{:?}", f.notes);
    }

    #[test]
    fn mojibake_in_titles_and_summaries_is_decoded_and_correct_text_kept() {
        // The Spiegel fixture's bytes: UTF-8 read as Windows-1252 and written out as UTF-8.
        let xml = "<rss version=\"2.0\"><channel><title>SPIEGEL</title>
            <item><title>FÃ¼nf Tote im Flughafen: TÃ¤ter checkte Waffe legal ein</title>
            <link>https://ex.org/a</link>
            <description>&lt;p&gt;Floride : ce que lâ€™on sait &amp;amp; 5 &amp;lt; 6&lt;/p&gt;</description></item>
            <item><title>Café für Zoë – naïve “quotes”</title><link>https://ex.org/b</link></item>
            </channel></rss>";
        let f = parse_feed(xml.as_bytes(), None, "feed", now()).unwrap();
        assert_eq!(
            f.stories[0].title,
            "Fünf Tote im Flughafen: Täter checkte Waffe legal ein"
        );
        assert_eq!(
            f.stories[0].summary_html.as_deref(),
            Some("<p>Floride : ce que l\u{2019}on sait &amp; 5 &lt; 6</p>"),
            "markup and entities are left for the sanitizer"
        );
        assert_eq!(f.stories[1].title, "Café für Zoë – naïve “quotes”");

        // A lone lead byte before a space is mojibake only if the feed shows it elsewhere.
        let item = |title: &str| {
            format!(
                "<item><title>{title}</title><link>https://ex.org/{}</link></item>",
                title.len()
            )
        };
        let feed = |items: &str| {
            format!("<rss version=\"2.0\"><channel><title>T</title>{items}</channel></rss>")
        };
        let mangled = feed(&(item("Le film Ã voir ce soir") + &item("lâ€™été")));
        let f = parse_feed(mangled.as_bytes(), None, "feed", now()).unwrap();
        assert_eq!(f.stories[0].title, "Le film à voir ce soir");
        let clean = feed(&item("Le film Ã voir ce soir"));
        let f = parse_feed(clean.as_bytes(), None, "feed", now()).unwrap();
        assert_eq!(f.stories[0].title, "Le film Ã voir ce soir");
    }

    #[test]
    fn reads_the_syndication_update_period() {
        let xml = br#"<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>T</title>
            <sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency></channel></rss>"#;
        let f = parse_feed(xml, None, "f", now()).unwrap();
        assert_eq!(f.update_every, Some(chrono::Duration::minutes(30)));
    }

    #[test]
    fn html_page_is_not_a_feed() {
        let err = parse_feed(
            b"<!DOCTYPE html><html><body>hi</body></html>",
            None,
            "f",
            now(),
        )
        .unwrap_err();
        assert!(err.contains("not a feed"), "{err}");
    }

    #[test]
    fn nesting_past_the_limit_is_refused_before_the_parser() {
        let deep = format!(
            "<rss version=\"2.0\"><channel><title>t</title>{}x",
            "<link>".repeat(70_000)
        );
        let err = parse_feed(deep.as_bytes(), None, "f", now()).unwrap_err();
        assert!(err.contains("nested more than 64 deep"), "{err}");
        assert!(!xml_depth_exceeds(
            b"<a><b/><!-- <c><c><c> --><![CDATA[<d><d>]]><e></e></a>",
            2
        ));
        assert!(xml_depth_exceeds(b"<a><b><c>", 2));
        // `>` inside a quoted attribute value does not end the tag; any name opens an element.
        assert!(xml_depth_exceeds(br#"<a t="/>"><a t='/>'><a t="/>">"#, 2));
        assert!(xml_depth_exceeds("<_x><:y><é>".as_bytes(), 2));
        assert!(!xml_depth_exceeds(b"<a>1 < 2 '<b/>' <c/></a>", 1));
    }

    #[test]
    fn repairs_html_entities() {
        let xml = b"<rss version=\"2.0\"><channel><title>T&nbsp;x</title><item><title>caf&eacute;</title><guid>urn:1</guid></item></channel></rss>";
        let f = parse_feed(xml, None, "f", now()).unwrap();
        assert_eq!(f.stories[0].title, "café");
    }
}
