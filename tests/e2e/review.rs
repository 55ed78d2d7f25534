//! Editorial review (issue 21) against the real binary and a real SMTP server (aiosmtpd): `send`
//! on a reviewed digest mails the editor and nobody else, `review show --json` lists the draft,
//! a drop, a pin and an edited lead reach the sent issue, approve then `send` delivers once,
//! `serve` holds an unapproved issue at its slot and tells the editor once, and the review page
//! in headless Chromium.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use serde_json::Value;

use crate::browser::{browser, wait_for, Driver, Proc};
use crate::delivery::{addresses, import, received, run};
use crate::support::{config_text, free_port, tempdir, write_config, SmtpSink};

const EDITOR: &str = "editor@example.org";

/// Four stories on four subjects, published in the last hours: none clusters with another.
const STORIES: [(&str, &str); 4] = [
    (
        "Court blocks merger of two grocery chains",
        "A federal judge on Friday blocked the merger of the two largest grocery chains, saying it would raise prices for shoppers in a dozen states.",
    ),
    (
        "Spectrum auction delayed until spring",
        "The FCC said on Thursday that the auction of mid-band spectrum would move to the spring, citing litigation by two wireless carriers.",
    ),
    (
        "Data brokers must register under new rule",
        "The agency said on Tuesday that brokers would have to register, disclose their sources and honour deletion requests within thirty days.",
    ),
    (
        "Ransomware gang hits city water utility",
        "Investigators said on Monday that a ransomware gang had locked the billing systems of a city water utility, though the water stayed safe.",
    ),
];

fn url(i: usize) -> String {
    format!("https://example.com/story/{i}")
}

fn feed(dir: &Path) -> PathBuf {
    let now = Utc::now();
    let items: String = STORIES
        .iter()
        .enumerate()
        .map(|(i, (title, lead))| {
            let date = (now - chrono::Duration::hours(i as i64 + 1)).to_rfc2822();
            format!(
                "<item><title>{title}</title><link>{u}</link><guid>{u}</guid><pubDate>{date}</pubDate>\
                 <description>&lt;p&gt;{lead}&lt;/p&gt;</description></item>",
                u = url(i)
            )
        })
        .collect();
    let path = dir.join("feed.xml");
    std::fs::write(
        &path,
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Test Desk</title>\
             <link>https://example.com/</link><description>t</description>{items}</channel></rss>"
        ),
    )
    .unwrap();
    path
}

/// A config with one editor and a reviewed `weekly` digest (`schedule`, `policy`), sending to
/// `sink`, its web app at `base`.
fn setup(dir: &Path, sink: &SmtpSink, base: &str, schedule: &str) -> PathBuf {
    let feed = feed(dir);
    let text = config_text(
        dir,
        &sink.url(),
        &format!(
            "[[feeds]]\nurl = \"{}\"\n\n[[digests]]\nname = \"weekly\"\ntitle = \"Test Weekly\"\n\
             schedule = \"{schedule}\"\nwindow = \"3650d\"\nreview = \"required\"\nreview_lead = \"2h\"\n",
            feed.display()
        ),
    )
    .replace("Europe/Berlin", "UTC")
    .replace("https://news.example.org", base)
    .replace("[newsletter]\n", &format!("[newsletter]\neditors = [\"{EDITOR}\"]\n"));
    write_config(dir, &text)
}

/// (recipients, subject, text, html) of each message the sink got.
fn mails(sink: &SmtpSink) -> Vec<(Vec<String>, String, String, String)> {
    sink.messages()
        .into_iter()
        .map(|(rcpts, raw)| {
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            (
                rcpts,
                m.subject().unwrap_or("").to_string(),
                m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                m.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
            )
        })
        .collect()
}

fn editor_mails(sink: &SmtpSink) -> Vec<(Vec<String>, String, String, String)> {
    mails(sink)
        .into_iter()
        .filter(|m| m.0 == [EDITOR.to_string()])
        .collect()
}

/// The review link in an editor's mail.
fn review_link(text: &str, base: &str) -> String {
    regex::Regex::new(&format!(r"{}/review/[A-Za-z0-9_.\-]+", regex::escape(base)))
        .unwrap()
        .find(text)
        .unwrap_or_else(|| panic!("no review link in {text}"))
        .as_str()
        .to_string()
}

fn show(config: &Path) -> Value {
    let (code, out, err) = run(config, &["--json", "review", "show", "weekly"]);
    assert_eq!(code, 0, "review show: {err}");
    serde_json::from_str(&out).unwrap()
}

/// `gazette preview` on `port` (the review page is part of the web app); killed on drop.
async fn preview(dir: &Path, port: u16) -> Proc {
    let p = Proc(
        Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(["--config", "gazette.toml", "preview", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(dir)
            .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gazette preview"),
    );
    wait_for(
        &reqwest::Client::new(),
        &format!("http://127.0.0.1:{port}/archive"),
    )
    .await;
    p
}

#[test]
fn send_mails_the_editor_only_and_after_approval_delivers_once_to_every_subscriber() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "https://news.example.org", "0 8 * * MON");
    let readers = addresses(5);
    import(dir.path(), &config, &readers);

    let (code, out, err) = run(&config, &["send"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("awaits approval"), "{out}");
    let got = mails(&sink);
    assert_eq!(got.len(), 1, "the editor's review mail only");
    assert_eq!(got[0].0, [EDITOR]);
    assert!(
        got[0].1.starts_with("[Review] Test Weekly #1"),
        "{}",
        got[0].1
    );
    review_link(&got[0].2, "https://news.example.org");
    assert!(
        got[0].2.contains(STORIES[0].0),
        "the mail previews the issue"
    );

    let draft = show(&config);
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["sent"], false);
    let stories: Vec<&str> = draft["stories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert_eq!(stories.len(), 4, "{draft}");
    assert!(draft["stories"][0]["lead"].as_str().unwrap().len() > 40);
    let log: Vec<&str> = draft["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["what"].as_str().unwrap())
        .collect();
    assert!(
        log.contains(&"mailed the review link to editor@example.org"),
        "{log:?}"
    );

    // Unapproved, a second `send` sends nothing and plans nothing; the editor is not re-mailed.
    let (code, out, _) = run(&config, &["send"]);
    assert_eq!(code, 0);
    assert!(out.contains("awaits approval"), "{out}");
    assert_eq!(sink.messages().len(), 1);
    let (_, list, _) = run(&config, &["--json", "issues", "list"]);
    let issues: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(issues.as_array().unwrap().len(), 1);
    assert_eq!(issues[0]["queued"], 0, "a draft has no deliveries");

    let (code, _, err) = run(&config, &["review", "approve", "weekly"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&config, &["send", "--no-fetch"]);
    assert_eq!(code, 0, "{err}");
    let n = received(&sink);
    for r in &readers {
        assert_eq!(n.get(r), Some(&1), "{r}: {n:?}");
    }
    assert_eq!(n.get(EDITOR), Some(&1));
    assert_eq!(sink.messages().len(), readers.len() + 1);

    // A further send adds nothing.
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no new stories"), "{err}");
    assert_eq!(sink.messages().len(), readers.len() + 1);
    let done = show(&config);
    assert_eq!(done["status"], "approved");
    assert_eq!(done["sent"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_a_pin_and_an_edited_lead_show_up_in_the_sent_issue() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let d = dir.path();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = setup(d, &sink, &base, "0 8 * * MON");
    import(d, &config, &addresses(2));
    assert_eq!(run(&config, &["send"]).0, 0);
    let link = review_link(&editor_mails(&sink)[0].2, &base);

    // Drop and pin from the command line.
    let (code, out, err) = run(&config, &["review", "drop", "weekly", &url(3)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("dropped"), "{out}");
    let (code, _, err) = run(&config, &["review", "pin", "weekly", &url(2)]);
    assert_eq!(code, 0, "{err}");
    // Only stories of this draft.
    let (code, _, err) = run(
        &config,
        &["review", "pin", "weekly", "https://example.com/elsewhere"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("no story with URL"), "{err}");

    // Edit a lead on the review page, as a browser posts the form.
    let _web = preview(d, port).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
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
    let field = |re: &str| regex::Regex::new(re).unwrap().captures(&body).unwrap()[1].to_string();
    let csrf = field(r#"name="csrf" value="([^"]+)""#);
    let version = field(r#"name="version" value="([^"]+)""#);
    let issue = field(r#"name="issue" value="([^"]+)""#);
    // Tera escapes the `/` of attribute values as `&#x2F;`.
    let story = field(&format!(
        r#"<li id="s(\d+)" class="story" data-url="{}""#,
        regex::escape(&url(1).replace('/', "&#x2F;"))
    ));
    let lead = "Edited by the desk: the auction <b>moves</b> to <a href=\"https://fcc.example/a\">April</a>.<script>alert(1)</script>";
    let res = http
        .post(&link)
        .header("cookie", &cookie)
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("csrf", csrf.as_str()),
                    ("issue", &issue),
                    ("version", &version),
                    ("do", "lead"),
                    ("story", &story),
                    ("lead", lead),
                ])
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    assert_eq!(run(&config, &["review", "approve", "weekly"]).0, 0);
    assert_eq!(run(&config, &["send", "--no-fetch"]).0, 0);
    let sent: Vec<_> = mails(&sink)
        .into_iter()
        .filter(|m| m.0 != [EDITOR.to_string()])
        .collect();
    assert_eq!(sent.len(), 2);
    let (_, subject, text, html) = &sent[0];
    assert!(
        subject.ends_with(STORIES[2].0),
        "the pinned story leads: {subject}"
    );
    assert!(
        !text.contains(STORIES[3].0) && !html.contains(&url(3)),
        "dropped: {text}"
    );
    let first = text.find(STORIES[2].0).unwrap();
    for (title, _) in [STORIES[0], STORIES[1]] {
        assert!(
            text.find(title).unwrap() > first,
            "{title} comes after the pinned one"
        );
    }
    assert!(
        text.contains("Edited by the desk: the auction moves to April."),
        "{text}"
    );
    assert!(!text.contains(STORIES[1].1), "the old lead is gone");
    assert!(
        html.contains("https://fcc.example/a"),
        "the lead's link is kept"
    );
    assert!(
        !html.contains("<b>moves</b>") && !html.contains("alert(1)"),
        "sanitized"
    );
    let log = show(&config)["log"].to_string();
    assert!(
        log.contains(EDITOR) && log.contains("edited the lead"),
        "{log}"
    );
}

/// `gazette serve`, with a slot about a minute away and the draft due 2 hours before it: the
/// draft is planned at once and mailed; at the slot, unapproved, it is held and the editor told
/// once (not again on the next tick); approved, it goes out without a restart.
#[test]
fn serve_holds_an_unapproved_issue_at_its_slot_and_tells_the_editor_once() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let d = dir.path();
    let mut at = Utc::now() + chrono::Duration::minutes(1);
    if Utc::now().second() > 45 {
        at += chrono::Duration::minutes(1);
    }
    let schedule = format!("{} {} * * *", at.minute(), at.hour());
    let config = setup(d, &sink, "https://news.example.org", &schedule);
    let readers = addresses(3);
    import(d, &config, &readers);
    let _serve = Proc(
        Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(["--config", "gazette.toml", "serve", "--bind", "127.0.0.1:0"])
            .current_dir(d)
            .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let wait = |what: &str, secs: u64, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done() {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    wait("no review mail", 60, &|| !editor_mails(&sink).is_empty());
    assert!(editor_mails(&sink)[0].1.starts_with("[Review]"));
    assert_eq!(show(&config)["status"], "draft");

    wait("the slot did not hold the draft", 180, &|| {
        editor_mails(&sink).len() >= 2
    });
    let held = &editor_mails(&sink)[1];
    assert!(held.1.starts_with("[Held]"), "{}", held.1);
    assert_eq!(show(&config)["status"], "held");
    assert_eq!(sink.messages().len(), 2, "no subscriber got it");
    // The scheduler ticks at least once a minute: a tick later, still one notice.
    std::thread::sleep(Duration::from_secs(65));
    assert_eq!(
        editor_mails(&sink).len(),
        2,
        "told once, not once per minute"
    );
    assert_eq!(sink.messages().len(), 2);

    let (code, _, err) = run(&config, &["review", "approve", "weekly"]);
    assert_eq!(code, 0, "{err}");
    wait("not sent after approval", 120, &|| {
        received(&sink).len() == readers.len() + 1
    });
    std::thread::sleep(Duration::from_secs(2));
    let n = received(&sink);
    for r in &readers {
        assert_eq!(n.get(r), Some(&1), "{r}: {n:?}");
    }
    assert_eq!(editor_mails(&sink).len(), 2);
    assert_eq!(show(&config)["sent"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_page_in_chromium_drop_a_story_approve_and_the_mail_lacks_it() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let d = dir.path();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = setup(d, &sink, &base, "0 8 * * MON");
    import(d, &config, &["reader@example.net".to_string()]);
    assert_eq!(run(&config, &["send"]).0, 0);
    let link = review_link(&editor_mails(&sink)[0].2, &base);
    let _web = preview(d, port).await;

    let b = Driver::start(&chromium, &chromedriver).await;
    b.goto(&link).await;
    b.wait_for_text("Arrived since the draft", Duration::from_secs(10))
        .await;
    b.screenshot("review-01-draft").await;
    // The intro's live preview (JavaScript), then saved with the plain form.
    b.type_into("textarea[name=intro]", "A note from the *desk*.")
        .await;
    b.wait_for_text("<em>desk</em>", Duration::from_secs(5))
        .await;
    b.click("#save-intro").await;
    b.wait_for_text("edited the intro", Duration::from_secs(10))
        .await;
    // Drop the first story.
    b.click(&format!("li[data-url=\"{}\"] button.drop", url(0)))
        .await;
    b.wait_for_text("id=\"dropped\"", Duration::from_secs(10))
        .await;
    b.screenshot("review-02-dropped").await;
    b.click("#approve").await;
    b.wait_for_text("Approved: it goes out at", Duration::from_secs(10))
        .await;
    b.screenshot("review-03-approved").await;
    let src = b.source().await;
    assert!(src.contains("approved the issue"), "the log shows it");

    let (code, _, err) = run(&config, &["send", "--no-fetch"]);
    assert_eq!(code, 0, "{err}");
    let sent: Vec<_> = mails(&sink)
        .into_iter()
        .filter(|m| m.0 == ["reader@example.net".to_string()])
        .collect();
    assert_eq!(sent.len(), 1);
    let (_, subject, text, html) = &sent[0];
    assert!(
        !text.contains(STORIES[0].0) && !html.contains(&url(0)),
        "{text}"
    );
    assert!(!subject.contains(STORIES[0].0), "{subject}");
    assert!(text.contains(STORIES[1].0), "{text}");
    assert!(text.contains("A note from the desk."), "{text}");
}
