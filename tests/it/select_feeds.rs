//! Loads the real fixture feeds as select candidates (test and bench helper).
//!
//! feed-rs stays here, in test code: in gazette the ingest stage makes the stories.
//! Shared by the labelled-set test and the bench, which each use part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use gazette::select::Candidate;

/// One item of a fixture feed, with the key the labelled set refers to it by.
#[derive(Debug, Clone)]
pub struct FixtureItem {
    /// File name under `feeds/real/`.
    pub file: String,
    /// The entry's link, else its id.
    pub key: String,
    /// The entry's id (a labelled set names items that share a link by their ids).
    pub id: String,
    pub candidate: Candidate,
}

/// Where the fixtures are: `$GAZETTE_FIXTURES` or `../shared/fixtures` beside the crate.
/// `None` (with a message) when absent, a panic when `GAZETTE_REQUIRE_FIXTURES=1`.
pub fn fixtures_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("GAZETTE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.join("feeds/real").is_dir() {
        return Some(dir);
    }
    if std::env::var("GAZETTE_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!("fixtures not found at {}", dir.display());
    }
    eprintln!(
        "skipping: fixtures not found at {} (set GAZETTE_FIXTURES)",
        dir.display()
    );
    None
}

/// Every item of every parseable feed in `feeds/real/`, files in name order.
pub fn load_all(dir: &std::path::Path) -> Vec<FixtureItem> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("feeds/real"))
        .expect("read feeds/real")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files.iter().flat_map(|p| load_file(p)).collect()
}

/// Items of one feed file; an unparseable file gives none.
pub fn load_file(path: &std::path::Path) -> Vec<FixtureItem> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let Ok(feed) = feed_rs::parser::parse(&netscape_rss_as_rss1(&bytes)[..]) else {
        return Vec::new();
    };

    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let source = feed
        .title
        .as_ref()
        .map(|t| plain(&t.content))
        .unwrap_or_else(|| file.clone());
    // An undated item is dated when gazette first sees it; for a snapshot that is when the
    // feed was built (its own date), else an arbitrary fixed date.
    let fallback = feed
        .updated
        .or(feed.published)
        .unwrap_or_else(|| Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap());
    feed.entries
        .iter()
        .map(|e| {
            let url = e.links.first().map(|l| l.href.clone());
            let key = url.clone().unwrap_or_else(|| e.id.clone());
            let lead = e
                .summary
                .as_ref()
                .map(|s| s.content.clone())
                .or_else(|| e.content.as_ref().and_then(|c| c.body.clone()))
                .map(|h| first_paragraph(&h))
                .unwrap_or_default();
            let date = e.published.or(e.updated);
            let published: DateTime<Utc> = date.unwrap_or(fallback);
            let categories = e
                .categories
                .iter()
                .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
                .collect();
            FixtureItem {
                file: file.clone(),
                key: key.clone(),
                id: e.id.clone(),
                candidate: Candidate {
                    id: format!("{file}#{key}"),
                    url,
                    title: e
                        .title
                        .as_ref()
                        .map(|t| plain(&t.content))
                        .unwrap_or_default(),
                    lead,
                    categories,
                    source: source.clone(),
                    source_weight: 1.0,
                    feed: file.clone(),
                    published,
                    dated: date.is_some(),
                },
            }
        })
        .collect()
}

/// RSS 0.9 (`<rdf:RDF>` in the Netscape namespace), which feed-rs does not read, as RSS 1.0,
/// the same elements in another namespace.
fn netscape_rss_as_rss1(bytes: &[u8]) -> Vec<u8> {
    const RSS09: &str = "http://my.netscape.com/rdf/simple/0.9/";
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains(RSS09) => text.replace(RSS09, "http://purl.org/rss/1.0/").into(),
        _ => bytes.to_vec(),
    }
}

/// HTML to plain text: tags dropped, common entities decoded, whitespace collapsed.
pub fn plain(html: &str) -> String {
    let tags = regex::Regex::new(r"(?s)<[^>]*>").unwrap();
    let text = tags.replace_all(html, " ");
    let text = text
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#8217;", "\u{2019}")
        .replace("&#8216;", "\u{2018}")
        .replace("&#8220;", "\u{201c}")
        .replace("&#8221;", "\u{201d}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first paragraph of an HTML fragment (or its start), as plain text of at most ~600 chars.
fn first_paragraph(html: &str) -> String {
    let para = regex::Regex::new(r"(?is)<p[^>]*>(.*?)</p>").unwrap();
    let text = para
        .captures_iter(html)
        .map(|c| plain(&c[1]))
        .find(|t| t.len() > 40)
        .unwrap_or_else(|| plain(html));
    truncate(&text, 600)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The starter lexicon: the `[topics.*]` of config/gazette.toml, read by gazette's own config parser.
pub fn starter_topics() -> Vec<gazette::select::TopicSpec> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/gazette.toml");
    let config = gazette::config::Config::from_file(&path).expect("the starter config is valid");
    config
        .topics
        .into_iter()
        .map(|t| gazette::select::TopicSpec {
            name: t.name,
            keywords: t.keywords,
            exclude: t.exclude,
        })
        .collect()
}
