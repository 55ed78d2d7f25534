use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gazette::extract::{excerpt, extract_page, is_teaser, lead_from_fragment, token_f1};

use crate::support::fixtures;

const HIT_F1: f64 = 0.8;
const MIN_HIT_RATE: f64 = 0.90;
const MAX_PAGE_TIME: Duration = Duration::from_secs(1);

/// Lowercase words joined by single spaces (for substring checks of forbidden text).
fn words(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

struct Case {
    html: PathBuf,
    url: Option<url::Url>,
    lead: String,
    forbidden: Vec<String>,
}

fn cases(dir: &Path) -> Vec<Case> {
    let articles = dir.join("articles");
    let raw =
        std::fs::read_to_string(articles.join("ground-truth.json")).expect("ground-truth.json");
    let items: Vec<serde_json::Value> = serde_json::from_str(&raw).expect("ground truth is JSON");
    items
        .iter()
        .map(|c| Case {
            html: articles.join(c["html"].as_str().unwrap_or_default()),
            url: c["url"].as_str().and_then(|u| url::Url::parse(u).ok()),
            lead: c["lead"].as_str().unwrap_or_default().to_string(),
            forbidden: c["forbidden"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// Every article page: no panic, < 1 s, no forbidden pick, hit rate >= 0.90.
fn check_article_pages(dir: &Path) {
    let cases = cases(dir);
    assert!(!cases.is_empty(), "no article fixtures");
    let mut hits = 0;
    let mut misses = Vec::new();
    let mut slowest = Duration::ZERO;
    for case in &cases {
        let html =
            String::from_utf8_lossy(&std::fs::read(&case.html).expect("read page")).into_owned();
        let start = Instant::now();
        let page = extract_page(&html, case.url.as_ref());
        let took = start.elapsed();
        slowest = slowest.max(took);
        assert!(
            took < MAX_PAGE_TIME,
            "{} took {took:?}",
            case.html.display()
        );
        let lead = page.lead.map(|l| l.text(1)).unwrap_or_default();
        let norm = words(&lead);
        for f in &case.forbidden {
            let f = words(f);
            assert!(
                f.is_empty() || !norm.contains(&f),
                "forbidden pick {f:?} in {}",
                case.html.display()
            );
        }
        if token_f1(&lead, &case.lead) >= HIT_F1 {
            hits += 1;
        } else {
            misses.push(
                case.html
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    let rate = hits as f64 / cases.len() as f64;
    eprintln!(
        "lead hit rate {rate:.3} ({hits}/{}); misses: {misses:?}",
        cases.len()
    );
    assert!(rate >= MIN_HIT_RATE, "hit rate {rate:.3} < {MIN_HIT_RATE}");
}

/// Every malformed feed file, raw, as a fragment: no panic.
fn check_malformed_feeds(dir: &Path) {
    let malformed = dir.join("feeds/malformed");
    let entries = std::fs::read_dir(&malformed).expect("feeds/malformed");
    let mut n = 0;
    for entry in entries.flatten() {
        let raw =
            String::from_utf8_lossy(&std::fs::read(entry.path()).expect("read feed")).into_owned();
        let _ = lead_from_fragment(&raw, None);
        let _ = is_teaser(&raw);
        n += 1;
    }
    assert!(n > 0, "no malformed feeds in {}", malformed.display());
}

/// Every article page: no panic, < 1 s, no forbidden pick, hit rate >= 0.90.
#[test]
fn article_pages_lead_hit_rate() {
    if let Some(dir) = fixtures() {
        check_article_pages(&dir);
    }
}

/// Every malformed feed, raw, as a fragment: no panic.
#[test]
fn malformed_feeds_do_not_panic_the_extractor() {
    if let Some(dir) = fixtures() {
        check_malformed_feeds(&dir);
    }
}

/// The GeekWire feed fragment: the lead is the license paragraph, never the caption or footer.
#[test]
fn geekwire_fragment_lead_skips_caption_and_footer() {
    let Some(fx) = fixtures() else { return };
    let html =
        std::fs::read_to_string(fx.join("articles/html/seed-geekwire-fragment.html")).unwrap();
    let lead = lead_from_fragment(&html, None).expect("a lead");
    assert!(
        lead.text(1)
            .starts_with("Microsoft said it has been granted a license"),
        "{}",
        lead.text(1)
    );
}

#[test]
fn excerpt_cuts_at_a_sentence_and_keeps_abbreviations() {
    let text = "The U.S. Commerce Dept. granted the license on Jan. 5 to Microsoft Inc. after review. A second sentence follows here and is long enough to be cut away.";
    assert_eq!(
        excerpt(text, 15),
        "The U.S. Commerce Dept. granted the license on Jan. 5 to Microsoft Inc. after review. …"
    );
    assert_eq!(excerpt("Short and whole.", 80), "Short and whole.");
}
