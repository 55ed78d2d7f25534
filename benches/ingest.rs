//! Ingest speed: the whole real feed corpus (../shared/fixtures/feeds/real), side by side with
//! Python's feedparser parsing the same files, in one run.
//!
//!     cargo bench --bench ingest            # needs tests/.venv with feedparser:
//!     tests/.venv/bin/pip install feedparser
//!
//! Reports (1) parse + normalize in memory, single thread, gazette vs feedparser; (2) the full
//! ingest path — HTTP from a loopback server, parse, dedupe, SQLite — as feeds/s and entries/s;
//! (3) end to end: the release `gazette fetch` of every feed from file:// (fetch_article off,
//! a fresh database on disk each round, every story stored durably with its lead) against
//! feedparser parsing the same files, interleaved, medians of ROUNDS; and peak memory (VmHWM)
//! of each process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use axum::Router;

const ROUNDS: usize = 5;

fn main() {
    let dir = std::env::var_os("GAZETTE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"))
        .join("feeds/real");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: no fixtures at {}", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    let blobs: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mb = blobs.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    println!(
        "corpus: {} feeds, {mb:.1} MB, {ROUNDS} rounds\n",
        files.len()
    );

    // (1) parse + normalize, in memory, one thread.
    let now = chrono::Utc::now();
    let start = Instant::now();
    let mut n_entries = 0;
    for _ in 0..ROUNDS {
        for b in &blobs {
            if let Ok(f) = gazette::ingest::parse::parse_feed(b, None, "bench", now) {
                n_entries += f.stories.len();
            }
        }
    }
    let g_secs = start.elapsed().as_secs_f64();
    let g_rate = n_entries as f64 / g_secs;
    let g_peak = vm_hwm_kib();

    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/.venv/bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/feedparser_bench.py");
    let out = std::process::Command::new(&py)
        .arg(&script)
        .arg(ROUNDS.to_string())
        .args(&files)
        .output();
    let fp: Option<serde_json::Value> = out
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| serde_json::from_slice(&o.stdout).ok());

    println!("| parse + normalize (1 thread) | feeds/s | entries/s | peak RSS |");
    println!("|---|---|---|---|");
    println!(
        "| gazette (feed-rs + normalize) | {:.0} | {:.0} | {} MB |",
        (blobs.len() * ROUNDS) as f64 / g_secs,
        g_rate,
        g_peak / 1024
    );
    match &fp {
        Some(v) => {
            let secs = v["seconds"].as_f64().unwrap();
            let rate = v["entries"].as_f64().unwrap() / secs;
            println!(
                "| Python feedparser (same files) | {:.0} | {:.0} | {} MB |",
                v["feeds"].as_f64().unwrap() / secs,
                rate,
                v["peak_kib"].as_i64().unwrap() / 1024
            );
            println!(
                "\nentries/s ratio gazette / feedparser: {:.1}x",
                g_rate / rate
            );
            println!(
                "(feedparser reads no JSON Feed: it finds {} entries, gazette {n_entries})",
                v["entries"]
            );
        }
        None => println!(
            "| Python feedparser | not run: `tests/.venv/bin/pip install feedparser` | | |"
        ),
    }

    // (2) full ingest over HTTP into SQLite.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let root = Arc::new(dir.clone());
    let app = Router::new()
        .route(
            "/{file}",
            get(
                |State(r): State<Arc<PathBuf>>, UrlPath(f): UrlPath<String>| async move {
                    std::fs::read(r.join(f)).unwrap_or_default()
                },
            ),
        )
        .with_state(root);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    let tmp = tempfile::tempdir().unwrap();
    let mut toml = format!(
        "[newsletter]\nname = \"b\"\nfrom = \"b@example.org\"\n[storage]\npath = \"{}\"\n[ingest]\nconcurrency = 16\nper_host = 16\n[[digests]]\nname = \"d\"\n",
        tmp.path().join("bench.db").display()
    );
    for f in &files {
        toml.push_str(&format!(
            "[[feeds]]\nurl = \"http://{addr}/{}\"\n",
            f.file_name().unwrap().to_string_lossy()
        ));
    }
    let config = gazette::config::Config::parse(&toml, Path::new("bench.toml")).unwrap();
    let store = Arc::new(gazette::store::Store::open(&config.storage_path).unwrap());
    let start = Instant::now();
    let outcomes = rt
        .block_on(gazette::ingest::fetch_all(&config, &store, now, &|_| {}))
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let entries: usize = outcomes.iter().map(|o| o.entries).sum();
    println!("\n| full ingest (HTTP loopback → parse → dedupe → SQLite, first fetch) | feeds/s | entries/s | stories stored |");
    println!("|---|---|---|---|");
    println!(
        "| gazette fetch | {:.0} | {:.0} | {} |",
        outcomes.len() as f64 / secs,
        entries as f64 / secs,
        store.story_count().unwrap()
    );
    println!(
        "\npeak RSS of the gazette bench process: {} MB",
        vm_hwm_kib() / 1024
    );
    end_to_end(&files, &py, &script);
}

/// (3): `gazette fetch` end to end against feedparser, in one run.
fn end_to_end(files: &[PathBuf], py: &Path, script: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let mut toml = format!(
        "[newsletter]\nname = \"b\"\nfrom = \"b@example.org\"\n[storage]\npath = \"{}\"\n\
         [delivery]\nurl = \"file://{}\"\n[ingest]\nfetch_article = false\nmax_bytes = 20000000\n\
         [[digests]]\nname = \"d\"\n",
        tmp.path().join("bench.db").display(),
        tmp.path().join("out").display()
    );
    for f in files {
        toml.push_str(&format!("[[feeds]]\nurl = \"file://{}\"\n", f.display()));
    }
    let config = tmp.path().join("bench.toml");
    std::fs::write(&config, toml).unwrap();
    let (mut ours, mut theirs, mut theirs_process) = (Vec::new(), Vec::new(), Vec::new());
    let mut cpu = Vec::new();
    let mut rss = 0;
    for _ in 0..ROUNDS {
        for f in std::fs::read_dir(tmp.path()).unwrap().flatten() {
            if f.file_name().to_string_lossy().starts_with("bench.db") {
                std::fs::remove_file(f.path()).unwrap();
            }
        }
        let out = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%e %U %S %M"])
            .arg(env!("CARGO_BIN_EXE_gazette"))
            .args(["-q", "--config"])
            .arg(&config)
            .arg("fetch")
            .output()
            .expect("run gazette fetch under /usr/bin/time");
        let times = String::from_utf8_lossy(&out.stderr);
        let t: Vec<f64> = times
            .lines()
            .last()
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if t.len() == 4 {
            ours.push(t[0]);
            cpu.push(t[1] + t[2]);
            rss = rss.max(t[3] as i64);
        }
        let started = std::time::Instant::now();
        if let Ok(o) = std::process::Command::new(py)
            .arg(script)
            .arg("1")
            .args(
                files
                    .iter()
                    .filter(|f| f.extension().is_none_or(|x| x != "json")),
            )
            .output()
        {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&o.stdout) {
                theirs.push(v["seconds"].as_f64().unwrap_or(0.0));
                theirs_process.push(started.elapsed().as_secs_f64());
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (g, c, p) = (median(&mut ours), median(&mut cpu), median(&mut theirs));
    let whole = median(&mut theirs_process);
    println!("\n| end to end, {} feeds from file:// (medians of {ROUNDS}, interleaved) | wall s | CPU s | peak RSS |", files.len());
    println!("|---|---|---|---|");
    println!(
        "| `gazette fetch` (release, durable, leads picked) | {g:.2} | {c:.2} | {} MB |",
        rss / 1024
    );
    println!("| Python feedparser, parse loop only (no JSON Feed) | {p:.2} | | |");
    println!("| Python feedparser, whole process (start, import, read, parse) | {whole:.2} | | |");
    println!(
        "\nratio feedparser / gazette: {:.1}x process to process (how issue 15 measured its 3x), \
         {:.1}x against feedparser's parse loop alone",
        whole / g,
        p / g
    );
}

fn vm_hwm_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
