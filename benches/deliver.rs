//! Delivery speed: `gazette send` of a ~50 KB personalized digest to 10,000 subscribers through a
//! local aiosmtpd sink (counting only), side by side with Python's smtplib sending the same number
//! of prepared messages to the same sink over 1 connection and over 4 processes; then gazette's
//! peak memory at 100,000 subscribers, and the same 100,000 readers split over 20 distinct
//! choices of topics and format (issue 20): one render per choice, counted from gazette's log.
//!
//! Run: `bash tests/run.sh` once (or create tests/.venv with aiosmtpd), then
//! `cargo bench --bench deliver` (`GAZETTE_BENCH_N=10000`, `GAZETTE_BENCH_BIG=100000`,
//! `GAZETTE_BENCH_CONNECTIONS=4,8`; set `GAZETTE_BENCH_BIG=0` to skip the large run,
//! `GAZETTE_BENCH_SMTPLIB=0` to skip smtplib, `GAZETTE_BENCH_DKIM=1` to add, for each
//! connection count, the same send signed with RSA-2048 and with RSA-2048 plus Ed25519, beside
//! the unsigned one, `GAZETTE_BENCH_FLOOR=1` for the floor rows, `GAZETTE_BENCH_CHOICES=0` to skip
//! the choices run, `GAZETTE_BENCH_VERP=0` to send without the `[bounces] address` (VERP
//! envelope and X-Gazette-Delivery, on by default), `GAZETTE_BENCH_BIN=PATH` to measure another
//! gazette binary, e.g. an older build, which then gets no `[bounces]` table). Needs
//! `/usr/bin/time`.
//!
//! Storage (issue 19): `GAZETTE_BENCH_POSTGRES=postgres://…/postgres` (a server whose user may
//! create databases: `PG_FSYNC=on bash tests/peers/postgres.sh start DIR` prints one) adds, at
//! `GAZETTE_BENCH_PG_N` subscribers (default 100,000), the same send on SQLite, on PostgreSQL
//! with one sender process and with two started together, each process's CPU and peak memory,
//! and the database server's own CPU (its postmaster's and backends' time, read from /proc;
//! `GAZETTE_BENCH_PGDATA` names the cluster's data folder).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn python() -> PathBuf {
    std::env::var_os("GAZETTE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("tests/.venv/bin/python"))
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The sink: aiosmtpd in `--discard` mode (counts, stores nothing).
struct Sink {
    child: Child,
    port: u16,
}

impl Sink {
    fn start(dir: &Path) -> Sink {
        let mut child = Command::new(python())
            .arg(Path::new(ROOT).join("tests/peers/smtp_sink.py"))
            .arg("--dir")
            .arg(dir)
            .arg("--discard")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the sink (create tests/.venv with aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("READY ").unwrap().parse().unwrap();
        Sink { child, port }
    }

    /// Stops the sink; returns how many messages it accepted.
    fn stop(mut self) -> usize {
        drop(self.child.stdin.take());
        let out = self.child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("RECEIVED "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }
}

/// One measured run.
struct Row {
    what: String,
    messages: usize,
    seconds: f64,
    cpu_seconds: f64,
    peak_kb: u64,
    /// gazette's rendered copies and the milliseconds they took (from its log).
    renders: Option<(usize, u64)>,
    /// gazette's CPU milliseconds composing messages and committing the ledger (from its log).
    parts: Option<(u64, u64)>,
}

impl Row {
    /// A row measured in this process: no peak RSS, no rendering, no log to read.
    fn in_process(what: String, messages: usize, seconds: f64, cpu_seconds: f64) -> Row {
        Row {
            what,
            messages,
            seconds,
            cpu_seconds,
            peak_kb: 0,
            renders: None,
            parts: None,
        }
    }

    fn print(&self) {
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.3} | {} | {:.1} | {} |",
            self.what,
            self.messages,
            self.seconds,
            self.messages as f64 / self.seconds,
            self.cpu_seconds / self.messages as f64 * 1000.0,
            match self.parts {
                Some((compose, ledger)) => format!(
                    "{:.3} + {:.3}",
                    compose as f64 / self.messages as f64,
                    ledger as f64 / self.messages as f64
                ),
                None => "-".into(),
            },
            self.peak_kb as f64 / 1024.0,
            match self.renders {
                Some((n, ms)) => format!("{n} ({ms} ms)"),
                None => "-".into(),
            }
        );
    }
}

/// A made-up word for `n` (distinct words keep the selector from clustering the stories).
fn word(n: usize) -> String {
    const SYL: [&str; 16] = [
        "ka", "ro", "mi", "te", "su", "la", "vo", "ne", "di", "po", "ga", "lu", "fe", "zi", "ba",
        "tor",
    ];
    let mut n = n * 7919 + 13;
    let mut w = String::new();
    for _ in 0..3 {
        w.push_str(SYL[n % 16]);
        n /= 16;
    }
    w
}

/// Stories in the digest: about 50 KB per message on the wire, as the issue asks.
const STORIES: usize = 18;

/// Topics of the choices run: story `i` is on topic `i % TOPICS` (its first title word is the
/// topic's keyword), so each topic is a section of three stories.
const TOPICS: usize = 6;

/// The `[topics.*]` tables and the digest's `topics = [...]` line of the choices run.
fn topics_config() -> (String, String) {
    let mut tables = String::new();
    for t in 0..TOPICS {
        let words: Vec<String> = (0..STORIES)
            .filter(|i| i % TOPICS == t)
            .map(|i| format!("\"{}\"", word(i * 50)))
            .collect();
        tables.push_str(&format!(
            "\n[topics.t{t}]\nkeywords = [{}]\n",
            words.join(", ")
        ));
    }
    let names: Vec<String> = (0..TOPICS).map(|t| format!("\"t{t}\"")).collect();
    (tables, format!("topics = [{}]", names.join(", ")))
}

/// 20 distinct choices: every topic (the default), each topic alone, each pair and each three
/// of neighbouring topics, and one four; every other choice plain text only.
fn choices() -> Vec<(Option<Vec<String>>, &'static str)> {
    let t = |k: usize| format!("t{}", k % TOPICS);
    let mut out: Vec<Option<Vec<String>>> = vec![None];
    for width in 1..=3 {
        for k in 0..TOPICS {
            let mut set: Vec<String> = (k..k + width).map(t).collect();
            set.sort();
            out.push(Some(set));
        }
    }
    out.push(Some((0..4).map(t).collect()));
    out.into_iter()
        .enumerate()
        .map(|(i, c)| (c, if i % 2 == 1 { "text" } else { "html" }))
        .collect()
}

/// A feed whose digest renders to a message of about 50 KB: [`STORIES`] distinct stories with
/// long leads.
fn feed(dir: &Path) -> PathBuf {
    let now = chrono::Utc::now();
    let mut items = String::new();
    for i in 0..STORIES {
        let date = (now - chrono::Duration::hours(i as i64 + 1)).to_rfc2822();
        let title = format!(
            "{} {} {} over {} {}",
            word(i * 50),
            word(i * 50 + 1),
            word(i * 50 + 2),
            word(i * 50 + 3),
            word(i * 50 + 4)
        );
        let lead: Vec<String> = (5..330).map(|k| word(i * 1000 + k)).collect();
        items.push_str(&format!(
            "<item><title>{title}</title>\
             <link>https://example.com/story/{i}</link><guid>https://example.com/story/{i}</guid>\
             <pubDate>{date}</pubDate><description>&lt;p&gt;{}.&lt;/p&gt;</description></item>",
            lead.join(" ")
        ));
    }
    let path = dir.join("feed.xml");
    std::fs::write(
        &path,
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Bench Desk</title>\
             <link>https://example.com/</link><description>b</description>{items}</channel></rss>"
        ),
    )
    .unwrap();
    path
}

/// gazette's parallel SMTP connections, one measured run each (`GAZETTE_BENCH_CONNECTIONS`,
/// default `4,8`; the large run uses the last).
fn connection_counts() -> Vec<usize> {
    let list = std::env::var("GAZETTE_BENCH_CONNECTIONS").unwrap_or_else(|_| "4,8".into());
    list.split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect()
}

/// How the bench's messages are signed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signing {
    None,
    /// RSA-2048, the key as `openssl genrsa` writes it (PKCS#8).
    Rsa,
    /// RSA-2048 and a second signature with Ed25519 (RFC 8463).
    RsaEd25519,
}

impl Signing {
    fn label(self) -> &'static str {
        match self {
            Signing::None => "",
            Signing::Rsa => ", DKIM RSA-2048",
            Signing::RsaEd25519 => ", DKIM RSA-2048 + Ed25519",
        }
    }
}

/// The `[delivery]` lines that sign every message with new keys (made with openssl).
fn dkim(dir: &Path, signing: Signing) -> String {
    if signing == Signing::None {
        return String::new();
    }
    let key = dir.join("dkim.pem");
    succeeded(
        Command::new("openssl")
            .args(["genrsa", "-out"])
            .arg(&key)
            .arg("2048"),
    );
    let mut lines = format!(
        "dkim_key = \"{}\"\ndkim_selector = \"gz\"\ndkim_domain = \"news.example.org\"",
        key.display()
    );
    if signing == Signing::RsaEd25519 {
        let ed = dir.join("ed25519.pem");
        succeeded(
            Command::new("openssl")
                .args(["genpkey", "-algorithm", "ed25519", "-out"])
                .arg(&ed),
        );
        lines.push_str(&format!(
            "\ndkim_keys = [{{ selector = \"ed\", key = \"{}\" }}]",
            ed.display()
        ));
    }
    lines
}

/// The gazette binary measured: `GAZETTE_BENCH_BIN`, else this build's.
fn binary() -> PathBuf {
    std::env::var_os("GAZETTE_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_gazette")))
}

/// The `[bounces]` table: a VERP address unless `GAZETTE_BENCH_VERP=0` or another binary.
fn bounces() -> &'static str {
    if env_usize("GAZETTE_BENCH_VERP", 1) == 0 || std::env::var_os("GAZETTE_BENCH_BIN").is_some() {
        ""
    } else {
        "[bounces]\naddress = \"bounces@news.example.org\"\n"
    }
}

/// A gazette home with `n` confirmed subscribers, sending to `port`. With `choose`, the digest
/// has [`TOPICS`] sections and reader `i` takes choice `i % 20` of [`choices`].
fn home(
    n: usize,
    port: u16,
    connections: usize,
    signing: Signing,
    choose: bool,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let feed = feed(dir.path());
    let config = dir.path().join("gazette.toml");
    std::fs::write(
        &config,
        format!(
            r#"[newsletter]
name = "Bench Wire"
from = "Bench Wire <digest@news.example.org>"
base_url = "https://news.example.org"

[storage]
path = "{db}"

[delivery]
url = "smtp://127.0.0.1:{port}"
max_per_second = 100000
connections = {connections}
{dkim}

[[feeds]]
url = "{feed}"

[[digests]]
name = "weekly"
title = "Bench Weekly"
schedule = "0 8 * * MON"
window = "7d"
max_stories = {STORIES}
max_per_section = {STORIES}
{topics_line}
{topic_tables}
{bounces}"#,
            db = dir.path().join("gazette.db").display(),
            connections = connections,
            feed = feed.display(),
            dkim = dkim(dir.path(), signing),
            bounces = bounces(),
            topics_line = if choose {
                topics_config().1
            } else {
                String::new()
            },
            topic_tables = if choose {
                topics_config().0
            } else {
                String::new()
            },
        ),
    )
    .unwrap();
    // One subscriber through gazette (creates the database), the rest inserted in one
    // transaction: `subscribers import` commits per row, which takes minutes at 100,000.
    let csv = dir.path().join("subs.csv");
    std::fs::write(
        &csv,
        "email,name,digests\nreader000000@example.net,Reader 0,\n",
    )
    .unwrap();
    succeeded(&mut gazette(
        &config,
        &["subscribers", "import", csv.to_str().unwrap()],
    ));
    let mut db = rusqlite::Connection::open(dir.path().join("gazette.db")).unwrap();
    let tx = db.transaction().unwrap();
    let (digests, created): (String, String) = tx
        .query_row("SELECT digests, created FROM subscribers", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO subscribers (email, name, status, digests, created, confirmed_at)
                 VALUES (?1, ?2, 'confirmed', ?3, ?4, ?4)",
            )
            .unwrap();
        for i in 1..n {
            stmt.execute(rusqlite::params![
                format!("reader{i:06}@example.net"),
                format!("Reader {i}"),
                digests,
                created
            ])
            .unwrap();
        }
    }
    if choose {
        let all = choices();
        for (k, (topics, format)) in all.iter().enumerate() {
            let topics = topics
                .as_ref()
                .map(|t| serde_json::json!({ "weekly": t }).to_string());
            tx.execute(
                "UPDATE subscribers SET topics = ?1, format = ?2 WHERE (id - 1) % ?3 = ?4",
                rusqlite::params![topics, format, all.len() as i64, k as i64],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    (dir, config)
}

/// Runs `cmd` and returns its output; panics with its stderr if it failed.
fn succeeded(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn gazette(config: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(binary());
    c.arg("--config").arg(config).args(args);
    c.env("GAZETTE_SECRET", "bench-secret-0123456789abcdef");
    c
}

/// Runs `gazette send` under /usr/bin/time -v.
fn measure_send(config: &Path, n: usize, what: &str) -> Row {
    let t = Instant::now();
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-v");
    // GAZETTE_BENCH_WRAP runs the send under a profiler, e.g. `perf record -g -o /tmp/p.data`
    // (its CPU then counts too).
    if let Ok(wrap) = std::env::var("GAZETTE_BENCH_WRAP") {
        cmd.args(wrap.split_whitespace());
    }
    let out = cmd
        .arg(binary())
        .arg("--config")
        .arg(config)
        .args(["-q", "send"])
        .env("GAZETTE_SECRET", "bench-secret-0123456789abcdef")
        // Only the deliver stage's info lines: how many copies were rendered.
        .env("RUST_LOG", "gazette::deliver=info")
        .output()
        .unwrap();
    let seconds = t.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gazette send failed: {err}");
    let field = |name: &str| -> f64 {
        err.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    // The log is coloured: drop the ANSI escapes before reading `key=value`.
    let plain = regex::Regex::new("\x1b\\[[0-9;]*m")
        .unwrap()
        .replace_all(&err, "");
    let logged = |key: &str| -> Option<u64> {
        let at = plain.find(&format!("{key}="))? + key.len() + 1;
        plain[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Row {
        what: what.into(),
        messages: n,
        seconds,
        cpu_seconds: field("User time (seconds):") + field("System time (seconds):"),
        peak_kb: field("Maximum resident set size (kbytes):") as u64,
        renders: logged("copies").map(|n| (n as usize, logged("render_ms").unwrap_or(0))),
        parts: logged("compose_cpu_ms").zip(logged("ledger_cpu_ms")),
    }
}

/// User + system CPU seconds of this process so far.
fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// The CPU of gazette's ledger alone: a copy of every delivery of the last issue sent from
/// `config`'s home is claimed and marked sent through the store, as the send loop does
/// (`Store::apply`: one `BEGIN IMMEDIATE` transaction with `synchronous=FULL` per group),
/// `group` messages per commit, with no rendering and no SMTP, the thread idle for `gap` after
/// each commit (idle time costs no CPU).
fn ledger_alone(config: &Path, n: usize, group: usize, gap: Duration) -> Row {
    use gazette::store::{Claim, Step, Store};
    let db = config.with_file_name("gazette.db");
    let ids: Vec<i64> = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        // Rows as a send meets them: a copy of the last issue and of its deliveries,
        // queued, never claimed, with no reply yet.
        conn.execute_batch(
            "BEGIN;
             CREATE TEMP TABLE i AS SELECT * FROM issues ORDER BY id DESC LIMIT 1;
             UPDATE i SET id = (SELECT max(id) + 1 FROM issues), number = number + 1000, slot = NULL;
             INSERT INTO issues SELECT * FROM i;
             CREATE TEMP TABLE d AS SELECT * FROM deliveries WHERE issue_id = (SELECT max(id) - 1 FROM issues);
             UPDATE d SET id = id + (SELECT max(id) FROM deliveries), issue_id = (SELECT id FROM i),
               status = 'queued', attempts = 0, reply = NULL, owner = NULL, lease_until = NULL,
               relay = NULL, message_id = message_id || '.again';
             INSERT INTO deliveries SELECT * FROM d;
             COMMIT;",
        )
        .unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT id FROM deliveries WHERE issue_id = (SELECT max(id) FROM issues) ORDER BY id",
            )
            .unwrap();
        let ids = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        ids
    };
    assert_eq!(ids.len(), n, "the send made one delivery per subscriber");
    let store = Store::open(&db).unwrap();
    let (t, cpu) = (Instant::now(), own_cpu_seconds());
    let mut sent: Vec<Step> = Vec::new();
    for chunk in ids.chunks(group) {
        // Each connection's request: the outcome of its last message and the claim of its next.
        let mut steps = std::mem::take(&mut sent);
        steps.extend(chunk.iter().map(|&id| Step::Claim { id, relay: None }));
        let applied = store.apply(&steps, chrono::Utc::now()).unwrap();
        std::thread::sleep(gap);
        let claimed = applied
            .iter()
            .filter(|a| **a == gazette::store::Applied::Claim(Claim::Claimed))
            .count();
        assert_eq!(claimed, chunk.len(), "every row claimed once");
        sent = chunk
            .iter()
            .map(|&id| Step::Sent {
                id,
                reply: "250 2.0.0 Ok: queued".into(),
            })
            .collect();
    }
    store.apply(&sent, chrono::Utc::now()).unwrap();
    let (seconds, cpu_seconds) = (t.elapsed().as_secs_f64(), own_cpu_seconds() - cpu);
    let what = format!(
        "ledger alone: each message's durable claim and outcome (SQLite, synchronous=FULL), {group} messages per commit, no SMTP, {}",
        match gap.as_millis() {
            0 => "one commit after another".to_string(),
            ms => format!("{ms} ms idle between commits"),
        }
    );
    Row::in_process(what, n, seconds, cpu_seconds)
}

/// The floor under any sender: one blocking connection sending the same prepared bytes with the
/// fewest syscalls (one write per command, the message and its "." in one write), no rendering,
/// no ledger. `pipelined` sends MAIL, RCPT and DATA in one write (RFC 2920): two round trips per
/// message instead of four. CPU is this process's user+system time during the loop.
fn floor(port: u16, template: &Path, n: usize, pipelined: bool) -> Row {
    use std::io::{Read, Write};
    let raw = std::fs::read(template).unwrap();
    let text = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
    let mut data = String::with_capacity(text.len() + 4096);
    for line in text.lines() {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_nodelay(true).unwrap();
    let mut buf = [0u8; 4096];
    // Reads until `replies` complete reply lines (no multi-line replies after EHLO).
    let mut read = |conn: &mut std::net::TcpStream, replies: usize| {
        let mut got = 0;
        while got < replies {
            let k = conn.read(&mut buf).unwrap();
            assert!(k > 0, "sink closed the connection");
            got += buf[..k].iter().filter(|&&b| b == b'\n').count();
        }
    };
    read(&mut conn, 1);
    conn.write_all(b"HELO bench\r\n").unwrap();
    read(&mut conn, 1);
    let (t, cpu) = (Instant::now(), own_cpu_seconds());
    for i in 0..n {
        let mail = "MAIL FROM:<digest@news.example.org>\r\n";
        let rcpt = format!("RCPT TO:<floor{i:06}@example.net>\r\n");
        if pipelined {
            conn.write_all(format!("{mail}{rcpt}DATA\r\n").as_bytes())
                .unwrap();
            read(&mut conn, 3);
        } else {
            for cmd in [mail, &rcpt, "DATA\r\n"] {
                conn.write_all(cmd.as_bytes()).unwrap();
                read(&mut conn, 1);
            }
        }
        conn.write_all(data.as_bytes()).unwrap();
        read(&mut conn, 1);
    }
    let (seconds, cpu_seconds) = (t.elapsed().as_secs_f64(), own_cpu_seconds() - cpu);
    conn.write_all(b"QUIT\r\n").unwrap();
    let how = if pipelined { "pipelined, 2" } else { "4" };
    let what = format!("floor: Rust, 1 connection, prepared bytes, {how} round trips, no ledger");
    Row::in_process(what, n, seconds, cpu_seconds)
}

fn smtplib(port: u16, template: &Path, n: usize, procs: usize) -> Row {
    let out = succeeded(
        Command::new(python())
            .arg(Path::new(ROOT).join("benches/smtplib_send.py"))
            .args(["--port", &port.to_string(), "--count", &n.to_string()])
            .args(["--procs", &procs.to_string(), "--template"])
            .arg(template),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Row {
        what: format!("Python smtplib, {procs} process(es) x 1 connection, prepared messages"),
        messages: v["messages"].as_u64().unwrap() as usize,
        seconds: v["seconds"].as_f64().unwrap(),
        cpu_seconds: v["cpu_seconds"].as_f64().unwrap(),
        peak_kb: v["peak_rss_kb"].as_u64().unwrap(),
        renders: None,
        parts: None,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env_usize("GAZETTE_BENCH_N", 10_000);
    let big = env_usize("GAZETTE_BENCH_BIG", 100_000);
    let work = tempfile::tempdir().unwrap();
    let sink = Sink::start(work.path());

    // One message as gazette renders it, for smtplib to send copies of.
    let (dir, config) = home(1, sink.port, 1, Signing::None, false);
    succeeded(&mut gazette(&config, &["-q", "fetch"]));
    let eml = dir.path().join("sample.eml");
    succeeded(&mut gazette(
        &config,
        &["build", "--format", "eml", "--out", eml.to_str().unwrap()],
    ));
    let size = std::fs::metadata(&eml).unwrap().len();
    let html = gazette(&config, &["build", "--format", "html"])
        .output()
        .unwrap();
    eprintln!(
        "message size {} KB (HTML part {} KB)",
        size / 1024,
        html.stdout.len() / 1024
    );

    let mut rows = Vec::new();
    // GAZETTE_BENCH_SMTPLIB=0 skips the smtplib rows (when profiling gazette alone).
    if env_usize("GAZETTE_BENCH_SMTPLIB", 1) > 0 {
        rows.push(smtplib(sink.port, &eml, n, 1));
        rows.push(smtplib(sink.port, &eml, n, 4));
    }
    // GAZETTE_BENCH_FLOOR=1 adds the floor rows: what sending alone costs the kernel.
    if env_usize("GAZETTE_BENCH_FLOOR", 0) > 0 {
        rows.push(floor(sink.port, &eml, n, false));
        rows.push(floor(sink.port, &eml, n, true));
    }
    let counts = connection_counts();
    let signings: &[Signing] = if env_usize("GAZETTE_BENCH_DKIM", 0) > 0 {
        &[Signing::None, Signing::Rsa, Signing::RsaEd25519]
    } else {
        &[Signing::None]
    };
    for &c in &counts {
        for &signing in signings {
            let (_dir, config) = home(n, sink.port, c, signing, false);
            let what = format!(
                "gazette send, {c} connections, rendering each message{}",
                signing.label()
            );
            rows.push(measure_send(&config, n, &what));
            // With the floor rows: what the durable ledger alone costs, on the deliveries the
            // send just made (3 messages per commit, as gazette's 4 connections group them).
            if env_usize("GAZETTE_BENCH_FLOOR", 0) > 0 && signing == Signing::None && c == counts[0]
            {
                // Back to back, then with the pauses a send has between its commits (about
                // 100 commits a second at 300 messages/s and 3 per commit).
                rows.push(ledger_alone(&config, n, 3, Duration::ZERO));
                rows.push(ledger_alone(&config, n, 3, Duration::from_millis(10)));
            }
        }
    }
    if let (true, Some(&c)) = (big > 0, counts.last()) {
        let (_dir, config) = home(big, sink.port, c, Signing::None, false);
        let what = format!("gazette send, {c} connections, rendering each message");
        rows.push(measure_send(&config, big, &what));
        // GAZETTE_BENCH_CHOICES=0 skips the run with 20 distinct choices of topics and format.
        if env_usize("GAZETTE_BENCH_CHOICES", 1) > 0 {
            let (_dir, config) = home(big, sink.port, c, Signing::None, true);
            let what = format!(
                "gazette send, {c} connections, {} distinct choices of topics and format",
                choices().len()
            );
            rows.push(measure_send(&config, big, &what));
        }
    }
    let mut storage = Vec::new();
    if let Ok(admin) = std::env::var("GAZETTE_BENCH_POSTGRES") {
        let pg_n = env_usize("GAZETTE_BENCH_PG_N", 100_000);
        let c = counts.last().copied().unwrap_or(4);
        storage = storage_rows(&admin, sink.port, pg_n, c);
    }
    let received = sink.stop();
    println!(
        "\nmessage: {} KB ({} KB HTML), sink accepted {received} messages in all\n",
        size / 1024,
        html.stdout.len() / 1024
    );
    println!("| sender | messages | seconds | messages/s | CPU s per 1,000 | of which composing + ledger | peak RSS MB | copies rendered |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in &rows {
        r.print();
    }
    if !storage.is_empty() {
        println!("\n| storage | senders | messages | seconds | messages/s | gazette CPU s per 1,000 (each process) | database CPU s per 1,000 | peak RSS MB (each process) |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for r in &storage {
            r.print();
        }
    }
}

/// One run of the storage comparison.
struct StorageRow {
    storage: &'static str,
    senders: Vec<Row>,
    seconds: f64,
    db_cpu: f64,
    messages: usize,
}

impl StorageRow {
    fn print(&self) {
        let per_k = |cpu: f64| cpu / self.messages as f64 * 1000.0;
        let each =
            |f: &dyn Fn(&Row) -> String| self.senders.iter().map(f).collect::<Vec<_>>().join(" + ");
        println!(
            "| {} | {} | {} | {:.1} | {:.0} | {:.3} ({}) | {} | {} |",
            self.storage,
            self.senders.len(),
            self.messages,
            self.seconds,
            self.messages as f64 / self.seconds,
            per_k(self.senders.iter().map(|r| r.cpu_seconds).sum()),
            each(&|r| format!("{:.3}", per_k(r.cpu_seconds))),
            if self.storage == "SQLite" {
                "-".to_string()
            } else {
                format!("{:.3}", per_k(self.db_cpu))
            },
            each(&|r| format!("{:.0}", r.peak_kb as f64 / 1024.0)),
        );
    }
}

/// CPU seconds the PostgreSQL server has used so far: its postmaster, the children it reaped
/// (backends that ended) and the live ones. 0 without `GAZETTE_BENCH_PGDATA`.
fn server_cpu() -> f64 {
    let Some(data) = std::env::var_os("GAZETTE_BENCH_PGDATA") else {
        return 0.0;
    };
    let pid_file = Path::new(&data).join("postmaster.pid");
    let Some(master) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
    else {
        return 0.0;
    };
    let ticks = 100.0; // USER_HZ on Linux
    let stat = |pid: u32| -> Option<(u32, [f64; 4])> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = &s[s.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        Some((n(1) as u32, [n(11), n(12), n(13), n(14)]))
    };
    let mut total = 0.0;
    if let Some((_, t)) = stat(master) {
        total += t.iter().sum::<f64>();
    }
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Some((ppid, t)) = stat(pid) {
            if ppid == master {
                total += t[0] + t[1];
            }
        }
    }
    total / ticks
}

/// The same issue to `n` subscribers on SQLite, on PostgreSQL with one sender, and on
/// PostgreSQL with two senders started together.
fn storage_rows(admin: &str, port: u16, n: usize, connections: usize) -> Vec<StorageRow> {
    let mut out = Vec::new();
    for (storage, senders) in [("SQLite", 1), ("PostgreSQL", 1), ("PostgreSQL", 2)] {
        let (_dir, config) = home(n, port, connections, Signing::None, false);
        if storage == "PostgreSQL" {
            let url = gazette::store::postgres::fresh_database(admin).unwrap();
            succeeded(&mut gazette(&config, &["-q", "migrate", "--to", &url]));
            let text = std::fs::read_to_string(&config).unwrap();
            let db = config.parent().unwrap().join("gazette.db");
            let text = text.replace(
                &format!("path = \"{}\"", db.display()),
                &format!("url = \"{url}\""),
            );
            std::fs::write(&config, text).unwrap();
            std::fs::remove_file(db).unwrap();
        }
        // Fetched first: the senders plan the issue (one of them) and deliver it.
        succeeded(&mut gazette(&config, &["-q", "fetch"]));
        let db_before = server_cpu();
        let t = Instant::now();
        let rows: Vec<Row> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..senders)
                .map(|k| {
                    let config = &config;
                    s.spawn(move || measure_send(config, n, &format!("{storage} sender {k}")))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let seconds = t.elapsed().as_secs_f64();
        out.push(StorageRow {
            storage,
            senders: rows,
            seconds,
            db_cpu: server_cpu() - db_before,
            messages: n,
        });
        eprintln!("storage: {storage}, {senders} sender(s): {seconds:.1} s");
    }
    out
}
