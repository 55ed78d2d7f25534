//! Selection over 10,000 stories synthesized from the real fixture feeds.
//!
//! Items are cycled with their dates spread over a 7-day window (so copies of one item are
//! days apart, like a feed re-publishing), against the starter topics and 50 sent stories.
//! Items whose feed gives no date stay undated (they lie anywhere before they were first seen,
//! which costs more comparisons); `BENCH_ALL_DATED=1` dates them all, to show that cost.
//! Run: `GAZETTE_FIXTURES=/work/shared/fixtures cargo bench --bench select`.

#[path = "../tests/it/select_feeds.rs"]
mod feeds;

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use gazette::select::{select, Candidate, Options, SentStory};

const N: usize = 10_000;

fn synthesize(items: &[feeds::FixtureItem]) -> Vec<Candidate> {
    let now = Utc.with_ymd_and_hms(2027, 3, 14, 12, 0, 0).unwrap();
    (0..N)
        .map(|i| {
            let mut c = items[i % items.len()].candidate.clone();
            c.id = format!("{}#{i}", c.id);
            c.url = c.url.map(|u| format!("{u}?copy={i}"));
            c.published = now - Duration::minutes(((i * 7919) % (7 * 24 * 60)) as i64);
            c.source_weight = 0.5 + (i % 4) as f64 * 0.5;
            if std::env::var("BENCH_ALL_DATED").is_ok() {
                c.dated = true;
            }
            c
        })
        .collect()
}

fn main() {
    let Some(dir) = feeds::fixtures_dir() else {
        return;
    };
    let items = feeds::load_all(&dir);
    let candidates = synthesize(&items);
    let sent: Vec<SentStory> = items
        .iter()
        .step_by(60)
        .map(|it| SentStory {
            url: it.candidate.url.clone(),
            title: it.candidate.title.clone(),
            lead: it.candidate.lead.clone(),
        })
        .collect();
    let opts = Options {
        topics: feeds::starter_topics(),
        max_stories: 12,
        max_per_section: Some(3),
        now: candidates[0].published,
    };
    let mut times = Vec::new();
    let mut kept = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let sel = select(&candidates, &sent, &opts);
        times.push(start.elapsed());
        kept = sel.explain.iter().filter(|e| e.kept).count();
    }
    times.sort();
    println!(
        "select: {} candidates ({} distinct feed items), {} sent, {} kept; median {:?}, min {:?}, max {:?}",
        candidates.len(),
        items.len(),
        sent.len(),
        kept,
        times[2],
        times[0],
        times[4]
    );
}
