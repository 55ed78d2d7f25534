//! The manage link from a real mail (aiosmtpd) opened in real headless Chromium at phone width
//! against `gazette serve`: the time zone is preset from the browser, the form saves; then the
//! same page with JavaScript turned off still saves. Screenshots go to `target/screenshots/`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use serde_json::{json, Value};

use super::browser::{browser, wait_for, Driver, Proc};
use crate::support::{config_text, free_port, tempdir, write_config, SmtpSink};

const SECRET: &str = "test-secret-0123456789abcdef";

/// A phone-sized Chromium (375 CSS pixels wide) whose clock is in Tokyo. `javascript: false`
/// blocks the page's only script (`/manage.js`), as for a reader without JavaScript.
/// (chromedriver itself needs JavaScript to click, so it cannot simply be switched off.)
async fn phone(chromium: &std::path::Path, driver: &std::path::Path, javascript: bool) -> Driver {
    let options = json!({
        "mobileEmulation": {"deviceMetrics": {"width": 375, "height": 812, "pixelRatio": 2.0}}
    });
    let b = Driver::start_with(chromium, driver, options).await;
    let cdp = |cmd: &str, params: Value| Some(json!({"cmd": cmd, "params": params}));
    let path = "/goog/cdp/execute";
    let tokyo = json!({"timezoneId": "Asia/Tokyo"});
    b.call(
        reqwest::Method::POST,
        path,
        cdp("Emulation.setTimezoneOverride", tokyo),
    )
    .await;
    if !javascript {
        b.call(
            reqwest::Method::POST,
            path,
            cdp("Network.enable", json!({})),
        )
        .await;
        let blocked = json!({"urls": ["*.js"]});
        b.call(
            reqwest::Method::POST,
            path,
            cdp("Network.setBlockedURLs", blocked),
        )
        .await;
    }
    b
}

/// The `subscribers list --json` row of `email`.
fn list(dir: &std::path::Path, email: &str) -> Value {
    let (code, out, err) = crate::support::gazette(
        &["--config", "gazette.toml", "--json", "subscribers", "list"],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let all: Value = serde_json::from_str(&out).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == email)
        .unwrap()
        .clone()
}

/// Fails when the page scrolls sideways at its width.
async fn fits(b: &Driver) {
    let v = b
        .script("return [document.documentElement.scrollWidth, window.innerWidth];")
        .await;
    let (scroll, inner) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
    assert_eq!(inner, 375, "phone width");
    assert!(scroll <= inner, "scrolls sideways: {scroll} > {inner}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manage_link_from_a_real_mail_opens_at_phone_width_and_saves() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let d = dir.path();
    let port = free_port();
    let site = format!("http://127.0.0.1:{port}");
    let published = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc2822();
    std::fs::write(
        d.join("feed.xml"),
        format!(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><link>https://wire.example/</link>
<item><title>Regulator fines app over location privacy</title><link>https://wire.example/p</link><guid>p</guid><pubDate>{published}</pubDate>
<description>&lt;p&gt;The data protection regulator said the app collected location data without consent for two years.&lt;/p&gt;</description></item>
</channel></rss>"#
        ),
    )
    .unwrap();
    let text = config_text(
        d,
        &sink.url(),
        r#"[[feeds]]
url = "feed.xml"

[[digests]]
name = "weekly"
title = "Tech Policy Weekly"
schedule = "0 8 1 1 *"
window = "30d"
topics = ["trade", "privacy", "ai"]

[[digests]]
name = "daily"
title = "Daily Brief"
schedule = "0 7 1 1 *"
window = "30d"

[topics.trade]
keywords = ["tariff"]

[topics.privacy]
keywords = ["privacy", "data protection"]

[topics.ai]
keywords = ["chatbot"]
"#,
    )
    .replace("https://news.example.org", &site);
    write_config(d, &text);
    let gz = |args: &[&str]| {
        let mut all = vec!["--config", "gazette.toml"];
        all.extend_from_slice(args);
        let (code, out, err) = crate::support::gazette(&all, d);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    gz(&[
        "subscribers",
        "add",
        "reader@example.org",
        "--name",
        "Reader",
    ]);
    gz(&["subscribers", "add", "nojs@example.org"]);
    gz(&["send", "--digest", "weekly"]);

    // Each reader's link, from the text part of the mail the SMTP server received.
    let link_of = |who: &str| {
        let (_, raw) = sink
            .messages()
            .into_iter()
            .find(|(r, _)| r[0] == who)
            .expect("a mail");
        let mail = MessageParser::default().parse(&raw).unwrap();
        let link = regex::Regex::new(&format!(
            r"{}/manage/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+",
            regex::escape(&site)
        ))
        .unwrap()
        .find(&mail.body_text(0).unwrap())
        .expect("manage link in the text part")
        .as_str()
        .to_string();
        assert!(
            mail.body_html(0).unwrap().contains(&link),
            "and in the HTML"
        );
        link
    };
    let link = link_of("reader@example.org");
    let nojs = link_of("nojs@example.org");

    let _server = Proc(
        Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(["--config", "gazette.toml", "serve", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(d)
            .env("GAZETTE_SECRET", SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gazette serve"),
    );
    wait_for(&reqwest::Client::new(), &format!("{site}/healthz")).await;

    // With JavaScript, in Tokyo: the time zone is preset from the browser.
    let b = phone(&chromium, &chromedriver, true).await;
    b.goto(&link).await;
    b.wait_for_text("Your subscription", Duration::from_secs(10))
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while b
        .script("return document.getElementById('timezone').value;")
        .await
        != json!("Asia/Tokyo")
    {
        assert!(
            Instant::now() < deadline,
            "time zone not preset from the browser"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fits(&b).await;
    b.screenshot("manage-01-phone").await;
    b.click("#topic-weekly-privacy").await;
    b.click("#format-text").await;
    b.click("#digest-daily").await;
    b.script("document.getElementById('paused_until').value = '2027-01-10'; return null;")
        .await;
    b.click("#save").await;
    b.wait_for_text("Your choices are saved", Duration::from_secs(10))
        .await;
    fits(&b).await;
    b.screenshot("manage-02-saved").await;
    let s = list(d, "reader@example.org");
    assert_eq!(s["topics"], json!({"weekly": ["privacy"]}));
    assert_eq!(s["format"], "text");
    assert_eq!(s["timezone"], "Asia/Tokyo");
    assert_eq!(s["paused_until"], "2027-01-10");
    assert_eq!(s["digests"], json!(["weekly"]), "daily unticked");
    drop(b);

    // Without its script the page works as well: nothing is preset (the newsletter's zone stays
    // selected though the browser is in Tokyo), and the form saves. No inline script either.
    let b = phone(&chromium, &chromedriver, false).await;
    b.goto(&nojs).await;
    b.wait_for_text("Your subscription", Duration::from_secs(10))
        .await;
    let source = b.source().await;
    assert!(
        regex::Regex::new(r#"<option value="Europe(/|&#x2F;)Berlin" selected"#)
            .unwrap()
            .is_match(&source),
        "no script ran"
    );
    assert!(!source.contains("Preset from your browser"));
    assert!(!source.contains("<script>") && !source.contains(" onclick="));
    b.screenshot("manage-03-no-javascript").await;
    b.click("#format-text").await;
    b.click("#topic-weekly-trade").await;
    b.click("#save").await;
    b.wait_for_text("Your choices are saved", Duration::from_secs(10))
        .await;
    b.screenshot("manage-04-no-javascript-saved").await;
    let s = list(d, "nojs@example.org");
    assert_eq!(s["format"], "text");
    assert_eq!(s["topics"], json!({"weekly": ["trade"]}));
    assert_eq!(s["timezone"], "Europe/Berlin");
    assert_eq!(s["paused_until"], Value::Null);
}
