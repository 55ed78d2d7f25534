//! `gazette summarize FILE|URL`: the lead paragraph of one article page or feed item HTML.

use std::process::ExitCode;

use anyhow::Result;

use super::Out;
use crate::config::{parse_location, Config, FeedLocation};
use crate::extract::{self, LeadSource};
use crate::ingest::http::{Fetched, Fetcher, Validators};

pub async fn run(
    source: &str,
    explain: bool,
    config: Option<&Config>,
    out: Out,
) -> Result<ExitCode> {
    let location = parse_location(source).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    let (bytes, url) = read(&location, config).await?;
    let html = String::from_utf8_lossy(&bytes);
    let (html, _) = crate::html::flatten_deep(&html);
    let (title, explanation, kind) = if is_page(&html) {
        let (page, explanation) = extract::explain_page(&html, url.as_ref());
        (page.title, explanation, LeadSource::Article)
    } else {
        let explanation = extract::explain_fragment(&html, url.as_ref(), &Default::default());
        (None, explanation, LeadSource::Content)
    };
    let lead = explanation.lead.as_ref();
    let (words, paragraphs) = config
        .map(|c| (c.summary.lead_max_words, c.summary.lead_paragraphs))
        .unwrap_or((80, 1));
    let lead_text = lead.map(|l| l.text(paragraphs)).unwrap_or_default();
    let excerpt = extract::excerpt(&lead_text, words);
    if out.json {
        let mut doc = serde_json::json!({
            "title": title,
            "lead": lead_text,
            "lead_html": lead.map(|l| l.html(paragraphs)).unwrap_or_default(),
            "excerpt": excerpt,
            "url": url.as_ref().map(|u| u.to_string()),
            "source": kind.as_str(),
        });
        if explain {
            doc["notes"] = serde_json::json!(explanation.notes);
            doc["candidates"] = serde_json::json!(explanation.candidates);
        }
        super::output::json(&doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(t) = &title {
        println!("{t}\n");
    }
    if explain {
        print_explanation(&explanation);
    }
    if lead_text.is_empty() {
        eprintln!("{source}: no lead paragraph found");
        return Ok(ExitCode::from(1));
    }
    if explain {
        println!("\nlead:");
    }
    println!("{lead_text}");
    Ok(ExitCode::SUCCESS)
}

/// The candidates as a table: position, score, verdict, reason, text (cut to
/// fit a line).
fn print_explanation(e: &extract::Explanation) {
    for note in &e.notes {
        println!("note: {note}");
    }
    println!(
        "{:>4}  {:>5}  {:<7}  {:<44}  text",
        "#", "score", "verdict", "reason"
    );
    for c in &e.candidates {
        let reason: String = c.reason.chars().take(44).collect();
        let text: String = c.text.chars().take(70).collect();
        let more = if c.text.chars().count() > 70 {
            "…"
        } else {
            ""
        };
        println!(
            "{:>4}  {:>5.2}  {:<7}  {:<44}  {text}{more}",
            c.position, c.score, c.verdict, reason
        );
    }
}

fn is_page(html: &str) -> bool {
    let head: String = html
        .chars()
        .take(4096)
        .collect::<String>()
        .to_ascii_lowercase();
    head.contains("<html")
        || head.contains("<!doctype")
        || head.contains("<head")
        || head.contains("<body")
}

/// The ingest settings: the config's, else the defaults.
fn ingest_config(config: Option<&Config>) -> Result<crate::config::Ingest> {
    Ok(match config {
        Some(c) => c.ingest.clone(),
        None => {
            crate::config::Config::parse(MINIMAL, std::path::Path::new("(defaults)"))
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .ingest
        }
    })
}

async fn read(
    location: &FeedLocation,
    config: Option<&Config>,
) -> Result<(Vec<u8>, Option<url::Url>)> {
    match location {
        FeedLocation::File(path) => {
            // Bounded like a fetched page, and a regular file: `/dev/zero` must not fill the
            // memory, nor a pipe nobody writes hang.
            use crate::ingest::http::{read_regular_file, ReadError};
            let limit = ingest_config(config)?.max_bytes;
            match read_regular_file(path, limit) {
                Ok(bytes) => Ok((bytes, None)),
                Err(ReadError::TooLarge) => {
                    anyhow::bail!("{}: larger than max_bytes ({limit} bytes)", path.display())
                }
                Err(ReadError::Io(e)) => anyhow::bail!("read {}: {e}", path.display()),
            }
        }
        FeedLocation::Http(url) => {
            let ingest = ingest_config(config)?;
            let fetcher = Fetcher::new(&ingest)?;
            match fetcher.fetch(location, &Validators::default()).await {
                Ok(Fetched::Body {
                    bytes, final_url, ..
                }) => Ok((bytes, final_url.or(Some(url.clone())))),
                Ok(Fetched::NotModified) => {
                    anyhow::bail!("fetch {url}: 304 without a conditional request")
                }
                Err(e) => anyhow::bail!("fetch {url}: {e}"),
            }
        }
    }
}

/// Defaults for fetching when there is no config file.
const MINIMAL: &str = "[newsletter]\nname = \"gazette\"\nfrom = \"gazette@localhost.localdomain\"\n[[feeds]]\nurl = \"x.xml\"\n[[digests]]\nname = \"d\"\n";
