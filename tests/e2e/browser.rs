//! Real headless Chromium (driven through chromedriver's WebDriver HTTP API) against the real
//! `gazette preview` binary and a real SMTP server on loopback: subscribe, read the
//! confirmation mail, confirm, see the address confirmed; then edit a template and watch the
//! preview reload itself. Screenshots go to `target/screenshots/`.
//!
//! Skips with a message when chromium or chromedriver is missing, unless
//! `GAZETTE_REQUIRE_BROWSER=1`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::support::{free_port, root, tempdir, SmtpSink};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// chromium and chromedriver, or None (with a message) when the machine has no browser.
pub(crate) fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = std::env::var_os("GAZETTE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| which("chromium"))
        .or_else(|| which("chromium-browser"));
    let driver = which("chromedriver");
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        _ if std::env::var("GAZETTE_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("chromium and chromedriver are required (GAZETTE_REQUIRE_BROWSER=1): apt-get install chromium chromium-driver")
        }
        _ => {
            eprintln!("skipping: chromium or chromedriver not found (apt-get install chromium chromium-driver)");
            None
        }
    }
}

/// A child process killed on drop.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver session over plain HTTP.
pub(crate) struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
    _proc: Proc,
    _profile: tempfile::TempDir,
}

impl Driver {
    pub(crate) async fn start(chromium: &Path, chromedriver: &Path) -> Driver {
        Self::start_with(chromium, chromedriver, json!({})).await
    }

    /// A session whose `goog:chromeOptions` also hold `options` (e.g. `mobileEmulation`,
    /// `prefs`).
    pub(crate) async fn start_with(chromium: &Path, chromedriver: &Path, options: Value) -> Driver {
        let port = free_port();
        let proc = Proc(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        wait_for(&http, &format!("{base}/status")).await;
        let profile = tempdir();
        let mut args: Vec<String> = crate::support::CHROMIUM_FLAGS
            .iter()
            .chain(&["--disable-dev-shm-usage", "--window-size=1200,900"])
            .map(|f| f.to_string())
            .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut chrome = json!({"binary": chromium, "args": args});
        if let (Some(c), Some(extra)) = (chrome.as_object_mut(), options.as_object()) {
            c.extend(extra.clone());
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": chrome
        }}});
        let r = json_call(http.post(format!("{base}/session")), Some(caps)).await;
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_string();
        Driver {
            http,
            base,
            session,
            _proc: proc,
            _profile: profile,
        }
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let v = json_call(self.http.request(method, url), body).await;
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {v}");
        }
        v["value"].clone()
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub(crate) async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub(crate) async fn script(&self, js: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
    }

    /// Waits until the page source contains `needle`.
    pub(crate) async fn wait_for_text(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let s = self.source().await;
            if s.contains(needle) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "page never showed {needle:?}: {s}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        let dir = root().join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        // Best effort: close the browser before chromedriver is killed.
        let _ = std::thread::spawn(move || {
            let _ = std::process::Command::new("curl")
                .args(["-s", "-X", "DELETE", &url])
                .output();
        })
        .join();
    }
}

/// Sends a request with an optional JSON body and parses the JSON answer.
async fn json_call(req: reqwest::RequestBuilder, body: Option<Value>) -> Value {
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&b).unwrap()),
        None => req,
    };
    let bytes = req.send().await.unwrap().bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Polls `url` until it answers (a server starting up).
pub(crate) async fn wait_for(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(url).send().await.is_err() {
        assert!(Instant::now() < deadline, "{url} never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn write_site(dir: &Path, port: u16, smtp: &str) {
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    for (name, body) in gazette::render::Renderer::builtin_templates() {
        std::fs::write(templates.join(name), body).unwrap();
    }
    std::fs::write(
        dir.join("feed.xml"),
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><link>https://wire.example/</link>
<item><title>Spectrum auction delayed again</title><link>https://wire.example/b</link><guid>b</guid>
<pubDate>Thu, 19 Nov 2026 10:00:00 GMT</pubDate><description>&lt;p&gt;The FCC said on Thursday that the auction of mid-band spectrum would move to the spring, citing litigation.&lt;/p&gt;</description></item>
</channel></rss>"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("gazette.toml"),
        format!(
            r#"[newsletter]
name = "Browser Wire"
from = "Browser Wire <digest@news.example.org>"
base_url = "http://127.0.0.1:{port}"
timezone = "Europe/Berlin"
templates = "templates"

[storage]
path = "gazette.db"

[delivery]
url = "{smtp}"

[[feeds]]
url = "feed.xml"

[[digests]]
name = "weekly"
title = "Tech Policy Weekly"
schedule = "0 8 * * MON"
window = "3650d"
"#
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_confirm_and_live_preview_in_chromium() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let d = dir.path();
    let port = free_port();
    write_site(d, port, &sink.url());
    let (code, _, err) = crate::support::gazette(&["--config", "gazette.toml", "fetch"], d);
    assert_eq!(code, 0, "{err}");
    let _server = Proc(
        Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(["--config", "gazette.toml", "preview", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(d)
            .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gazette preview"),
    );
    let site = format!("http://127.0.0.1:{port}");
    wait_for(&reqwest::Client::new(), &format!("{site}/subscribe")).await;
    let b = Driver::start(&chromium, &chromedriver).await;

    // Subscribe through the form.
    b.goto(&format!("{site}/subscribe")).await;
    b.type_into("#email", "reader@example.org").await;
    b.type_into("#name", "Reader").await;
    b.screenshot("01-subscribe").await;
    b.click("#subscribe").await;
    b.wait_for_text("Check your inbox", Duration::from_secs(10))
        .await;
    b.screenshot("02-check-inbox").await;

    // The confirmation mail arrives at the real SMTP server.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mail = loop {
        if let Some((rcpts, raw)) = sink.messages().into_iter().next() {
            assert_eq!(rcpts, vec!["reader@example.org".to_string()]);
            break raw;
        }
        assert!(Instant::now() < deadline, "no confirmation mail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let msg = mail_parser::MessageParser::default().parse(&mail).unwrap();
    let text = msg.body_text(0).unwrap();
    let link = regex::Regex::new(&format!(
        r"{}/confirm/[A-Za-z0-9_.\-]+",
        regex::escape(&site)
    ))
    .unwrap()
    .find(&text)
    .expect("confirm link in the mail")
    .as_str()
    .to_string();

    // Following the link only shows a button; pressing it confirms.
    b.goto(&link).await;
    b.wait_for_text("Confirm subscription", Duration::from_secs(5))
        .await;
    b.screenshot("03-confirm").await;
    assert_eq!(list_status(d), "pending");
    b.click("#confirm").await;
    b.wait_for_text("You are subscribed", Duration::from_secs(10))
        .await;
    b.screenshot("04-confirmed").await;
    assert_eq!(list_status(d), "confirmed");

    // The preview reloads itself when a template changes.
    b.goto(&format!("{site}/preview")).await;
    b.wait_for_text("Spectrum auction delayed again", Duration::from_secs(5))
        .await;
    b.script("window.gazetteNotReloaded = true; return null;")
        .await;
    b.screenshot("05-preview").await;
    // The watcher compares modification times; make sure the edit gets a new one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let page = d.join("templates/digest.html");
    let html = std::fs::read_to_string(&page).unwrap();
    let edited = html
        .replacen("<body", "<body data-edited=\"yes\"", 1)
        .replace(
            "</body>",
            "<p id=\"edited\">Edited while the preview was open</p></body>",
        );
    assert_ne!(html, edited);
    std::fs::write(&page, edited).unwrap();
    b.wait_for_text("Edited while the preview was open", Duration::from_secs(3))
        .await;
    let reloaded = b
        .script("return window.gazetteNotReloaded === undefined;")
        .await;
    assert_eq!(
        reloaded,
        json!(true),
        "the page should have reloaded itself"
    );
    b.screenshot("06-preview-after-edit").await;
    b.goto(&format!("{site}/preview?width=phone&format=text"))
        .await;
    b.wait_for_text("Spectrum auction delayed again", Duration::from_secs(5))
        .await;
    b.screenshot("07-preview-phone-text").await;
}

fn list_status(dir: &Path) -> String {
    let (code, out, err) = crate::support::gazette(
        &["--config", "gazette.toml", "--json", "subscribers", "list"],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let s = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "reader@example.org")
        .expect("reader in the list");
    s["status"].as_str().unwrap().to_string()
}
