//! Lead picking speed, one thread: `extract_page` (title, body and lead) on the article pages
//! of both fixture sets, and the lead of every feed item of the real feed corpus, alone and with
//! its feed (`FeedBatch`). `cargo bench --bench extract` (release profile).
//!
//! CPU time of this thread is reported beside wall-clock time, so the figure holds on a machine
//! shared with other builds.

use std::path::{Path, PathBuf};
use std::time::Instant;

use gazette::extract::{choose_in_context, extract_page, lead_from_fragment, FeedBatch};
use gazette::ingest::parse::parse_feed;

fn main() {
    let fixtures = std::env::var_os("GAZETTE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if !fixtures.is_dir() {
        eprintln!("skipping: no fixtures at {}", fixtures.display());
        return;
    }
    let bench = read_dir(&fixtures.join("articles/html"), "html");
    let readability = read_dir(&fixtures.join("articles-readability"), "html");
    let rounds = 10;
    for (name, pages) in [
        (
            "the bench set (articles/)",
            bench.iter().collect::<Vec<_>>(),
        ),
        (
            "both sets (articles/ and articles-readability/)",
            bench.iter().chain(&readability).collect(),
        ),
    ] {
        let (cpu, wall) = measure(|| {
            let mut leads = 0;
            for _ in 0..rounds {
                for p in &pages {
                    leads += usize::from(extract_page(p, None).lead.is_some());
                }
            }
            leads
        });
        println!("extract_page, {name}: {} pages x {rounds}:", pages.len());
        report((pages.len() * rounds) as f64, "pages", cpu, wall);
    }

    let feeds = read_feeds(&fixtures.join("feeds/real"));
    let items: usize = feeds.iter().map(Vec::len).sum();
    let (cpu, wall) = measure(|| {
        let mut leads = 0;
        for _ in 0..rounds {
            for f in &feeds {
                for item in f.iter().flatten() {
                    leads += usize::from(lead_from_fragment(item, None).is_some());
                }
            }
        }
        leads
    });
    println!(
        "lead_from_fragment, every item of {} real feeds ({items} items) x {rounds}:",
        feeds.len()
    );
    report((items * rounds) as f64, "items", cpu, wall);
    let (cpu, wall) = measure(|| {
        let mut leads = 0;
        for _ in 0..rounds {
            for f in &feeds {
                let batch = FeedBatch::new(f.iter().map(|i| ("feed", i.as_deref())));
                for (i, item) in f.iter().enumerate() {
                    let ctx = batch.context(i, None);
                    leads += usize::from(
                        choose_in_context(item.as_deref(), None, None, None, &ctx).is_some(),
                    );
                }
            }
        }
        leads
    });
    println!("choose_in_context with each feed's FeedBatch (index included), same items:");
    report((items * rounds) as f64, "items", cpu, wall);
}

fn read_dir(dir: &Path, ext: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

/// Each parseable feed's items: content, else summary.
fn read_feeds(dir: &Path) -> Vec<Vec<Option<String>>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let now = chrono::Utc::now();
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            let feed = parse_feed(&bytes, None, "bench", now).ok()?;
            Some(
                feed.stories
                    .into_iter()
                    .map(|s| {
                        s.content_html
                            .filter(|c| !c.trim().is_empty())
                            .or(s.summary_html)
                    })
                    .collect(),
            )
        })
        .collect()
}

/// (CPU seconds of this thread, wall seconds) of one run.
fn measure(f: impl FnOnce() -> usize) -> (Option<f64>, f64) {
    let cpu0 = thread_cpu_secs();
    let start = Instant::now();
    std::hint::black_box(f());
    let wall = start.elapsed().as_secs_f64();
    (thread_cpu_secs().zip(cpu0).map(|(b, a)| b - a), wall)
}

fn report(n: f64, what: &str, cpu: Option<f64>, wall: f64) {
    if let Some(cpu) = cpu {
        println!(
            "  CPU time: {:.2} ms per {}, {:.0} {what}/s per core",
            cpu * 1000.0 / n,
            what.trim_end_matches('s'),
            n / cpu
        );
    }
    println!(
        "  wall clock: {:.2} ms per {}, {:.0} {what}/s",
        wall * 1000.0 / n,
        what.trim_end_matches('s'),
        n / wall
    );
}

/// This thread's user+system CPU seconds from /proc (Linux; 10 ms ticks).
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
