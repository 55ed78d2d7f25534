//! Shared test support: the shared fixtures, a real HTTP server on 127.0.0.1 serving feeds and
//! misbehaving on purpose, and a real SMTP server (aiosmtpd) receiving mail.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// `../shared/fixtures` (or `$GAZETTE_FIXTURES`). None, with a message, when absent; a panic
/// when `GAZETTE_REQUIRE_FIXTURES=1` (CI).
pub fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("GAZETTE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("GAZETTE_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!(
            "fixtures not found at {} and GAZETTE_REQUIRE_FIXTURES=1",
            dir.display()
        );
    }
    eprintln!(
        "skipping: fixtures not found at {} (set GAZETTE_FIXTURES)",
        dir.display()
    );
    None
}

/// Flags for headless Chromium on this closed network (no background connections, no sandbox as
/// root); each test adds its own profile folder and window size.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary folder removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// The `[storage]` lines of a test's config: the SQLite file `gazette.db` in `dir`, or, when
/// `GAZETTE_TEST_POSTGRES` names a PostgreSQL server (tests/run.sh starts one), a new database
/// on it (one per `dir`: a config written again names the same one), so the same test runs on
/// both engines.
pub fn storage(dir: &Path) -> String {
    let named = dir.join(".postgres-url");
    if let Ok(url) = std::fs::read_to_string(&named) {
        return format!("url = \"{url}\"");
    }
    match postgres() {
        Some(admin) => {
            let named = dir.join(".postgres-url");
            let url = std::fs::read_to_string(&named).unwrap_or_else(|_| {
                let url =
                    gazette::store::postgres::fresh_database(&admin).expect("a test database");
                std::fs::write(&named, &url).unwrap();
                url
            });
            format!("url = \"{url}\"")
        }
        None => format!("path = \"{}\"", dir.join("gazette.db").display()),
    }
}

/// The admin URL of the tests' PostgreSQL server, when the tests run on PostgreSQL.
pub fn postgres() -> Option<String> {
    std::env::var("GAZETTE_TEST_POSTGRES").ok()
}

/// The store a test's config names (see [`storage`]).
pub fn open_store(config: &Path) -> gazette::store::Store {
    let text = std::fs::read_to_string(config).unwrap();
    let url = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("url = \"postgres"))
        .map(|rest| format!("postgres{}", rest.trim_end_matches('"')));
    match url {
        Some(url) => gazette::store::Store::connect(&url).unwrap(),
        None => gazette::store::Store::open(&config.parent().unwrap().join("gazette.db")).unwrap(),
    }
}

/// A minimal valid config around the given `[[feeds]]`/extra TOML.
pub fn config_text(dir: &Path, delivery: &str, extra: &str) -> String {
    config_with_storage(&storage(dir), delivery, extra)
}

/// [`config_text`] on the SQLite file `gazette.db` in `dir`, whatever engine the tests run on.
pub fn sqlite_config_text(dir: &Path, delivery: &str, extra: &str) -> String {
    let storage = format!("path = \"{}\"", dir.join("gazette.db").display());
    config_with_storage(&storage, delivery, extra)
}

/// The admin URL of a PostgreSQL server for tests that need one whatever engine the others
/// run on (`GAZETTE_TEST_POSTGRES_SERVER`); None, with a message, when there is none, and a
/// panic when `GAZETTE_REQUIRE_PEERS=1`.
pub fn postgres_server() -> Option<String> {
    if let Some(url) = std::env::var("GAZETTE_TEST_POSTGRES_SERVER")
        .ok()
        .or_else(postgres)
    {
        return Some(url);
    }
    if std::env::var("GAZETTE_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("no PostgreSQL server (run tests/run.sh) and GAZETTE_REQUIRE_PEERS=1");
    }
    eprintln!("skipping: no PostgreSQL server (run `bash tests/run.sh`)");
    None
}

fn config_with_storage(storage: &str, delivery: &str, extra: &str) -> String {
    format!(
        r#"[newsletter]
name = "Test Wire"
from = "Test Wire <digest@news.example.org>"
base_url = "https://news.example.org"
timezone = "Europe/Berlin"

[storage]
{storage}

[delivery]
url = "{delivery}"
max_per_second = 1000

[ingest]
fetch_article = false           # tests never leave 127.0.0.1; the article-page tests turn it on
timeout = "3s"
connect_timeout = "2s"
max_bytes = 2000000

{extra}
"#,
    )
}

/// Writes a config file and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("gazette.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs the real binary; returns (exit code, stdout, stderr).
pub fn gazette(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(cwd)
        .env_remove("GAZETTE_CONFIG")
        .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
        .output()
        .expect("run gazette");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A real SMTP server (aiosmtpd) on 127.0.0.1, stopped on drop.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

/// Python with aiosmtpd: `$GAZETTE_PYTHON`, else `tests/.venv/bin/python` (made by tests/run.sh).
pub fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("GAZETTE_PYTHON").map(PathBuf::from),
        Some(root().join("tests/.venv/bin/python")),
    ];
    for c in candidates.into_iter().flatten() {
        let ok = Command::new(&c)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(c);
        }
    }
    if std::env::var("GAZETTE_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("no Python with aiosmtpd (run tests/run.sh) and GAZETTE_REQUIRE_PEERS=1");
    }
    eprintln!("skipping: no Python with aiosmtpd found (run `bash tests/run.sh`)");
    None
}

impl SmtpSink {
    /// Starts the sink with extra flags (see tests/peers/smtp_sink.py); None when no Python peer.
    pub fn start(flags: &[&str]) -> Option<SmtpSink> {
        let py = python()?;
        let dir = tempdir();
        let mut child = Command::new(py)
            .arg(root().join("tests/peers/smtp_sink.py"))
            .arg("--dir")
            .arg(dir.path())
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start smtp sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .expect("sink READY line")
            .parse()
            .unwrap();
        Some(SmtpSink { child, port, dir })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every received message: (envelope recipients, raw bytes), in arrival order.
    pub fn messages(&self) -> Vec<(Vec<String>, Vec<u8>)> {
        self.files("eml")
            .into_iter()
            .map(|p| {
                let env: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(p.with_extension("json")).unwrap(),
                )
                .unwrap();
                let rcpts = env["rcpt_tos"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                (rcpts, std::fs::read(&p).unwrap())
            })
            .collect()
    }

    /// The sink's files with this extension, in arrival order.
    fn files(&self, ext: &str) -> Vec<std::path::PathBuf> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        names.sort();
        names
    }

    /// For each received message, whether its MAIL, RCPT and DATA came in one pipelined write.
    pub fn pipelined(&self) -> Vec<bool> {
        self.files("json")
            .iter()
            .map(|p| {
                let env: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
                env["pipelined"].as_bool().unwrap()
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.write_all(b"");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real HTTP server on 127.0.0.1 (axum on its own runtime thread), serving `routes`.
pub struct HttpServer {
    pub addr: SocketAddr,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl HttpServer {
    pub fn start(app: axum::Router) -> HttpServer {
        Self::start_on("127.0.0.1", app)
    }

    /// The server on another loopback address (`127.0.0.2`…): an "internal" host in SSRF tests.
    pub fn start_on(ip: &'static str, app: axum::Router) -> HttpServer {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        HttpServer {
            addr: addr_rx.recv().unwrap(),
            _shutdown: tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// A throwaway Dovecot IMAP server on 127.0.0.1 (tests/peers/dovecot.sh), user `bounces`,
/// password `secret`; stopped on drop. None, with a message, when Dovecot is not installed; a
/// panic when `GAZETTE_REQUIRE_PEERS=1` (CI).
pub struct Dovecot {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Dovecot {
    pub fn start() -> Option<Dovecot> {
        let present = Path::new("/usr/sbin/dovecot").exists()
            && Path::new("/usr/lib/dovecot/dovecot-lda").exists();
        if !present {
            if std::env::var("GAZETTE_REQUIRE_PEERS").as_deref() == Ok("1") {
                panic!("Dovecot not found (install dovecot-imapd; tests/run.sh does) and GAZETTE_REQUIRE_PEERS=1");
            }
            eprintln!("skipping: Dovecot not found (apt-get install dovecot-imapd, or run `bash tests/run.sh` as root)");
            return None;
        }
        let dir = tempdir();
        let port = free_port();
        let child = Command::new("bash")
            .arg(root().join("tests/peers/dovecot.sh"))
            .arg(dir.path())
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "Dovecot did not listen on {port}; see {}/dovecot.log",
                dir.path().display()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(Dovecot { child, port, dir })
    }

    /// Delivers a message to the `bounces` mailbox through Dovecot's LDA, addressed (in the
    /// envelope) to `recipient`.
    pub fn deliver(&self, recipient: &str, message: &[u8]) {
        let mut child = Command::new("bash")
            .arg(self.dir.path().join("deliver"))
            .arg(recipient)
            .stdin(Stdio::piped())
            .spawn()
            .expect("run dovecot-lda");
        child.stdin.take().unwrap().write_all(message).unwrap();
        assert!(child.wait().unwrap().success(), "dovecot-lda failed");
    }

    /// The message files in a folder of the mailbox (`""` is INBOX), new and cur.
    pub fn messages(&self, folder: &str) -> Vec<PathBuf> {
        let base = self.dir.path().join("home/bounces/Maildir");
        let base = if folder.is_empty() {
            base
        } else {
            base.join(format!(".{folder}"))
        };
        ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(base.join(sub)).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
