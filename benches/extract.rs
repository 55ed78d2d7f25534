//! Pages per second for `extract_page` (with lead) on the article fixtures,
//! single thread. `cargo bench --bench extract` (release profile).

use std::path::{Path, PathBuf};
use std::time::Instant;

use gazette::extract::extract_page;

fn main() {
    let dir = std::env::var_os("GAZETTE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"))
        .join("articles/html");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: no fixtures at {}", dir.display());
        return;
    };
    let pages: Vec<String> = entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    let rounds = 10;
    let cpu0 = thread_cpu_secs();
    let start = Instant::now();
    let mut leads = 0;
    for _ in 0..rounds {
        for p in &pages {
            leads += usize::from(extract_page(p, None).lead.is_some());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_secs().zip(cpu0).map(|(b, a)| b - a);
    let n = (pages.len() * rounds) as f64;
    if let Some(cpu) = cpu {
        println!(
            "extract_page CPU time: {:.2} ms/page, {:.0} pages/s per core",
            cpu * 1000.0 / n,
            n / cpu
        );
    }
    println!(
        "extract_page: {} pages x {rounds}: {:.2} ms/page, {:.0} pages/s (leads {leads})",
        pages.len(),
        secs * 1000.0 / n,
        n / secs
    );
}

/// This thread's user+system CPU seconds from /proc (Linux; 10 ms ticks), so
/// the figure holds on a machine shared with other builds.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
