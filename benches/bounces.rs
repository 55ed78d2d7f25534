//! Messages per second for `bounces::classify` on the labelled bounce corpus (all 147
//! messages, in memory), single thread. `cargo bench --bench bounces` (release profile).
//! Without the shared fixtures it runs on the hand-written messages in tests/data/bounces.

use std::path::{Path, PathBuf};
use std::time::Instant;

use gazette::bounces::{Classifier, Kind};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("GAZETTE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/fixtures"))
        .join("bounces/eml");
    let dir = if corpus.is_dir() {
        corpus
    } else {
        eprintln!(
            "no corpus at {}: using tests/data/bounces",
            corpus.display()
        );
        root.join("tests/data/bounces")
    };
    let messages: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    if messages.is_empty() {
        eprintln!("skipping: no messages in {}", dir.display());
        return;
    }
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let classifier = Classifier::default();
    // Warm-up: compile the lazily built patterns outside the timing.
    for m in &messages {
        classifier.classify(m);
    }
    let rounds = 40;
    let cpu0 = thread_cpu_secs();
    let start = Instant::now();
    let mut bounces = 0;
    for _ in 0..rounds {
        for m in &messages {
            bounces += usize::from(matches!(
                classifier.classify(m).kind,
                Kind::Hard | Kind::Soft
            ));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_secs().zip(cpu0).map(|(b, a)| b - a);
    let n = (messages.len() * rounds) as f64;
    if let Some(cpu) = cpu.filter(|c| *c > 0.0) {
        println!(
            "classify CPU time: {:.3} ms/message, {:.0} messages/s per core",
            cpu * 1000.0 / n,
            n / cpu
        );
    }
    println!(
        "classify: {} messages ({} KB) x {rounds}: {:.3} ms/message, {:.0} messages/s, {:.1} MB/s (bounces {})",
        messages.len(),
        bytes / 1024,
        secs * 1000.0 / n,
        n / secs,
        (bytes * rounds) as f64 / secs / 1e6,
        bounces / rounds
    );
}

/// This thread's user+system CPU seconds from /proc (Linux; 10 ms ticks), so the figure holds
/// on a machine shared with other builds.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
