//! Readers choose (issue 20), against the real binary and a real SMTP server: topics per reader
//! (a privacy-only reader gets no trade story, a reader with nothing to read gets nothing), a
//! text-only reader gets one text/plain part, the manage link is in every part, pause then
//! resume without a catch-up flood, and export → erase (over HTTP on `gazette serve`) → import
//! does not bring the address back; forged or cross-purpose tokens are 404 and a POST without
//! CSRF is 403.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};

use crate::support::{config_text, free_port, tempdir, write_config, SmtpSink};

const SECRET: &str = "test-secret-0123456789abcdef";

/// Runs the real binary with the clock pinned at `now` (when given).
fn run(dir: &Path, now: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gazette"));
    c.args(["--config", "gazette.toml"])
        .args(args)
        .current_dir(dir)
        .env_remove("GAZETTE_CONFIG")
        .env("GAZETTE_SECRET", SECRET);
    if let Some(t) = now {
        c.env("GAZETTE_NOW", t);
    }
    let out = c.output().expect("run gazette");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(dir: &Path, now: Option<&str>, args: &[&str]) -> String {
    let (code, out, err) = run(dir, now, args);
    assert_eq!(code, 0, "gazette {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    out
}

/// Writes the feed: each `(title, lead, published)` as an item.
fn write_feed(dir: &Path, items: &[(&str, &str, DateTime<Utc>)]) {
    let items: String = items
        .iter()
        .enumerate()
        .map(|(i, (title, lead, published))| {
            format!(
                "<item><title>{title}</title><link>https://wire.example/{i}</link><guid>https://wire.example/{i}</guid>\
                 <pubDate>{}</pubDate><description>&lt;p&gt;{lead}&lt;/p&gt;</description></item>",
                published.to_rfc2822()
            )
        })
        .collect();
    std::fs::write(
        dir.join("feed.xml"),
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title><link>https://wire.example/</link>{items}</channel></rss>"),
    )
    .unwrap();
}

fn hours_ago(h: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::hours(h)
}

const TRADE: (&str, &str) = (
    "Tariff rules on chips tighten",
    "Officials said the tariff would apply to chips and tools from next year, according to a statement published on Tuesday.",
);
const PRIVACY: (&str, &str) = (
    "Regulator fines app over location privacy",
    "The data protection regulator said the app collected location data without consent for two years, and fined it.",
);

/// A site with one `weekly` digest whose sections are trade, privacy and ai.
fn site(dir: &Path, delivery: &str, base_url: Option<&str>) {
    let text = config_text(
        dir,
        delivery,
        r#"[[feeds]]
url = "feed.xml"

[[digests]]
name = "weekly"
title = "Tech Policy Weekly"
schedule = "0 8 1 1 *"
window = "30d"
topics = ["trade", "privacy", "ai"]

[topics.trade]
keywords = ["tariff", "export control"]

[topics.privacy]
keywords = ["privacy", "data protection"]

[topics.ai]
keywords = ["artificial intelligence", "chatbot"]
"#,
    );
    let text = match base_url {
        Some(b) => text.replace("https://news.example.org", b),
        None => text,
    };
    write_config(dir, &text);
}

/// Each message the sink received: (recipient, parsed message bytes).
fn mails(sink: &SmtpSink) -> Vec<(String, Vec<u8>)> {
    sink.messages()
        .into_iter()
        .map(|(r, raw)| (r[0].clone(), raw))
        .collect()
}

#[test]
fn each_reader_gets_their_topics_and_format_and_the_manage_link() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let d = dir.path();
    site(d, &sink.url(), None);
    write_feed(
        d,
        &[
            (TRADE.0, TRADE.1, hours_ago(3)),
            (PRIVACY.0, PRIVACY.1, hours_ago(2)),
        ],
    );
    for email in [
        "all@example.org",
        "privacy@example.org",
        "ai@example.org",
        "text@example.org",
    ] {
        ok(d, None, &["subscribers", "add", email]);
    }
    ok(
        d,
        None,
        &[
            "subscribers",
            "set",
            "privacy@example.org",
            "--topics",
            "weekly:privacy",
        ],
    );
    ok(
        d,
        None,
        &[
            "subscribers",
            "set",
            "ai@example.org",
            "--topics",
            "weekly:ai",
        ],
    );
    ok(
        d,
        None,
        &["subscribers", "set", "text@example.org", "--format", "text"],
    );
    let (code, _, err) = run(
        d,
        None,
        &[
            "subscribers",
            "set",
            "all@example.org",
            "--topics",
            "weekly:sports",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("no topic \"sports\""), "{err}");

    let out = ok(d, None, &["send"]);
    assert!(out.contains("3 sent, 0 failed"), "{out}");
    let got = mails(&sink);
    let mut rcpts: Vec<&str> = got.iter().map(|(r, _)| r.as_str()).collect();
    rcpts.sort();
    assert_eq!(
        rcpts,
        ["all@example.org", "privacy@example.org", "text@example.org"],
        "nothing on ai in this issue: the ai reader gets nothing"
    );
    let (_, issues, _) = run(d, None, &["--json", "issues", "list"]);
    let issues: serde_json::Value = serde_json::from_str(&issues).unwrap();
    assert_eq!(issues[0]["sent"], 3);
    assert_eq!(
        issues[0]["failed"], 0,
        "no row was written for the ai reader"
    );

    let manage =
        regex::Regex::new(r"https://news\.example\.org/manage/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")
            .unwrap();
    for (rcpt, raw) in &got {
        let m = MessageParser::default().parse(raw).unwrap();
        let text = m.body_text(0).unwrap().to_string();
        assert_eq!(
            manage.find_iter(&text).count(),
            2,
            "{rcpt}: top and footer of the text part"
        );
        let unsub = m.header_raw("List-Unsubscribe").unwrap();
        assert!(
            unsub.contains("/unsubscribe/") && unsub.contains("mailto:"),
            "{unsub}"
        );
        assert_eq!(
            m.header_raw("List-Unsubscribe-Post").unwrap().trim(),
            "List-Unsubscribe=One-Click"
        );
        match rcpt.as_str() {
            "text@example.org" => {
                assert_eq!(m.content_type().unwrap().ctype(), "text");
                assert_eq!(m.content_type().unwrap().subtype(), Some("plain"));
                assert_eq!(m.parts.len(), 1, "a single text/plain part");
                assert!(!String::from_utf8_lossy(raw).contains("text/html"));
                assert!(text.contains(TRADE.0) && text.contains(PRIVACY.0));
            }
            other => {
                assert_eq!(m.content_type().unwrap().subtype(), Some("alternative"));
                let html = m.body_html(0).unwrap().to_string();
                assert!(
                    html.contains(">Manage your subscription</a>"),
                    "{other}: footer link"
                );
                assert!(manage.is_match(&html));
                let privacy_only = other == "privacy@example.org";
                for body in [&text, &html] {
                    assert!(body.contains(PRIVACY.0), "{other}");
                    assert_eq!(body.contains(TRADE.0), !privacy_only, "{other}");
                }
                if privacy_only {
                    assert!(
                        m.subject().unwrap().ends_with(PRIVACY.0),
                        "{:?}",
                        m.subject()
                    );
                }
            }
        }
    }
    // The archive keeps every section.
    let id = issues[0]["id"].as_i64().unwrap();
    let (_, show, _) = run(d, None, &["issues", "show", &id.to_string()]);
    assert!(show.contains("privacy@example.org"), "{show}");
}

#[test]
fn a_paused_reader_gets_nothing_until_the_date_then_only_the_next_issue() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let d = dir.path();
    site(d, &sink.url(), None);
    ok(d, None, &["subscribers", "add", "ada@example.org"]);
    ok(d, None, &["subscribers", "add", "pia@example.org"]);
    ok(
        d,
        None,
        &[
            "subscribers",
            "set",
            "pia@example.org",
            "--pause-until",
            "2027-01-10",
        ],
    );
    let list: serde_json::Value =
        serde_json::from_str(&ok(d, None, &["--json", "subscribers", "list"])).unwrap();
    let pia = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "pia@example.org")
        .unwrap();
    assert_eq!(pia["paused_until"], "2027-01-10");
    assert_eq!(pia["topics"], serde_json::json!({}));
    assert_eq!(pia["format"], "html");
    assert_eq!(pia["timezone"], serde_json::Value::Null);

    let days = [
        ("2027-01-08T09:00:00Z", "Export control list grows", "Officials added forty companies to the export control list on Friday, the department said in a statement."),
        ("2027-01-09T09:00:00Z", "Tariff talks stall again", "Negotiators said the tariff talks had stalled over chips, and that no new round was planned before spring."),
        ("2027-01-11T09:00:00Z", "New tariff on steel announced", "The government announced a new tariff on steel imports on Monday, to take effect in March, officials said."),
    ];
    let mut items: Vec<(&str, &str, DateTime<Utc>)> = Vec::new();
    for (n, (at, title, lead)) in days.iter().enumerate() {
        let now: DateTime<Utc> = at.parse().unwrap();
        // Each day adds a story, published an hour before that day's send.
        items.push((title, lead, now - chrono::Duration::hours(1)));
        write_feed(d, &items);
        ok(d, Some(at), &["send"]);
        let to_pia: Vec<String> = mails(&sink)
            .into_iter()
            .filter(|(r, _)| r == "pia@example.org")
            .map(|(_, raw)| String::from_utf8_lossy(&raw).into_owned())
            .collect();
        let to_ada = mails(&sink)
            .iter()
            .filter(|(r, _)| r == "ada@example.org")
            .count();
        assert_eq!(to_ada, n + 1, "ada gets every issue");
        if n < 2 {
            assert!(to_pia.is_empty(), "paused on {at}");
        } else {
            assert_eq!(to_pia.len(), 1, "one issue after the pause, no backlog");
            let m = MessageParser::default()
                .parse(to_pia[0].as_bytes())
                .unwrap();
            assert!(
                m.subject().unwrap().starts_with("Tech Policy Weekly #3"),
                "{:?}",
                m.subject()
            );
            let text = m.body_text(0).unwrap();
            assert!(text.contains("New tariff on steel"));
            assert!(
                !text.contains("Tariff talks stall") && !text.contains("Export control list grows")
            );
        }
    }
}

/// `gazette serve` on a free port, stopped on drop.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path, port: u16) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--config", "gazette.toml", "serve", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(dir)
        .env("GAZETTE_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gazette serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    Serve(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_erase_then_import_does_not_resubscribe() {
    let dir = tempdir();
    let d = dir.path();
    let port = free_port();
    let site_url = format!("http://127.0.0.1:{port}");
    site(
        d,
        &format!("file://{}", d.join("outbox").display()),
        Some(&site_url),
    );
    write_feed(d, &[(TRADE.0, TRADE.1, hours_ago(3))]);
    ok(
        d,
        None,
        &["subscribers", "add", "eve@example.org", "--name", "Eve"],
    );
    ok(
        d,
        None,
        &[
            "subscribers",
            "set",
            "eve@example.org",
            "--format",
            "text",
            "--timezone",
            "Asia/Tokyo",
        ],
    );
    ok(d, None, &["send"]);
    std::fs::write(
        d.join("export.csv"),
        ok(d, None, &["subscribers", "export"]),
    )
    .unwrap();
    let csv = std::fs::read_to_string(d.join("export.csv")).unwrap();
    assert!(
        csv.contains("eve@example.org,Eve,,confirmed,,text,Asia/Tokyo,"),
        "{csv}"
    );
    // The manage link from the mail the file outbox kept.
    let eml = std::fs::read_dir(d.join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .next()
        .unwrap();
    let link = regex::Regex::new(&format!(
        r"{}/manage/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+",
        regex::escape(&site_url)
    ))
    .unwrap()
    .find(&eml.replace("=\r\n", "").replace("=\n", ""))
    .expect("manage link in the mail")
    .as_str()
    .to_string();
    let token = link.rsplit('/').next().unwrap().to_string();

    let _server = serve(d, port);
    let http = reqwest::Client::new();
    // Forged and cross-purpose tokens: 404.
    let id: i64 = {
        let store = crate::support::open_store(&d.join("gazette.toml"));
        store.subscriber("eve@example.org").unwrap().unwrap().id
    };
    let tokens = gazette::tokens::Tokens::new(SECRET.as_bytes());
    let unsubscribe = tokens.sign(&gazette::tokens::Claim::Unsubscribe(id));
    let forged = gazette::tokens::Tokens::new(b"not the secret at all")
        .sign(&gazette::tokens::Claim::Manage(id));
    for bad in [&unsubscribe, &forged] {
        let r = http
            .get(format!("{site_url}/manage/{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = http
            .get(format!("{site_url}/manage/{bad}/data"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    // The page: a CSRF cookie and token.
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body = page.text().await.unwrap();
    let csrf = regex::Regex::new(r#"name="csrf" value="([^"]+)""#)
        .unwrap()
        .captures(&body)
        .unwrap()[1]
        .to_string();
    let post = |path: String, form: String, with_cookie: bool| {
        let mut r = http
            .post(format!("{site_url}/manage/{token}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", &site_url)
            .body(form);
        if with_cookie {
            r = r.header("cookie", &cookie);
        }
        r.send()
    };
    // No CSRF token (or no cookie): 403, nothing changes.
    let r = post(String::new(), "digest=weekly&format=html".into(), true)
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post("/erase".into(), format!("csrf={csrf}&confirm=yes"), false)
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let list = ok(d, None, &["--json", "subscribers", "list"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["format"], "text", "nothing changed");
    // Their data, then erase.
    let data = http
        .get(format!("{link}/data"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["subscriber"]["email"], "eve@example.org");
    assert_eq!(data["deliveries"][0]["status"], "sent");
    assert!(data["consent"].as_array().unwrap().len() >= 3);
    let r = post("/erase".into(), format!("csrf={csrf}&confirm=yes"), true)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Your data is erased"));
    let list: serde_json::Value =
        serde_json::from_str(&ok(d, None, &["--json", "subscribers", "list"])).unwrap();
    assert_eq!(list, serde_json::json!([]));
    assert_eq!(http.get(&link).send().await.unwrap().status(), 404);
    let (_, shown, _) = run(d, None, &["issues", "show", "1"]);
    assert!(
        !shown.contains("eve@example.org"),
        "the address is gone from the ledger too:\n{shown}"
    );

    // Import of the old export, and add: suppressed, not resubscribed.
    let (code, out, err) = run(d, None, &["subscribers", "import", "export.csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("eve@example.org: erased"), "{err}");
    assert!(out.contains("0 added"), "{out}");
    let (_, out, _) = run(d, None, &["subscribers", "add", "eve@example.org"]);
    assert!(
        out.contains("erased") && out.contains("left alone"),
        "{out}"
    );
    assert_eq!(ok(d, None, &["--json", "subscribers", "list"]).trim(), "[]");
}
