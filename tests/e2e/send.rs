use axum::routing::get;
use axum::Router;
use mail_parser::{MessageParser, MimeHeaders};

use crate::support::{
    config_text, fixtures, gazette, root, tempdir, write_config, HttpServer, SmtpSink,
};

/// An RSS feed whose one item carries the GeekWire fragment as its content.
fn geekwire_feed(fragment: &str) -> String {
    let date = (chrono::Utc::now() - chrono::Duration::hours(20)).to_rfc2822();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>GeekWire Policy</title><link>https://www.geekwire.com/policy/</link><description>x</description>
<item><title>Microsoft gets U.S. license to sell software to Huawei</title>
<link>https://www.geekwire.com/2019/microsoft-gets-license-sell-software-huawei/?utm_source=rss</link>
<guid isPermaLink="false">https://www.geekwire.com/?p=1</guid><pubDate>{date}</pubDate>
<content:encoded><![CDATA[{fragment}]]></content:encoded></item>
</channel></rss>"#
    )
}

#[test]
fn send_delivers_one_message_per_subscriber_and_never_twice() {
    let Some(fx) = fixtures() else { return };
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let fragment =
        std::fs::read_to_string(fx.join("articles/html/seed-geekwire-fragment.html")).unwrap();
    let feed = geekwire_feed(&fragment);
    let server =
        HttpServer::start(Router::new().route("/policy/feed/", get(move || async move { feed })));
    let dir = tempdir();
    let demo = root().join("config/demo/feeds/market-watch.json");
    let feeds = format!(
        "[[feeds]]\nurl = \"{}\"\n\n[[feeds]]\nurl = \"{}\"\n\n[[feeds]]\nurl = \"http://127.0.0.1:9/unreachable\"\n\n[[digests]]\nname = \"weekly\"\ntitle = \"Tech Policy Weekly\"\nwindow = \"3650d\"\n",
        server.url("/policy/feed/"),
        demo.display()
    );
    write_config(dir.path(), &config_text(dir.path(), &sink.url(), &feeds));
    let d = dir.path();
    for (email, name) in [
        ("ada@example.org", "Ada Lovelace"),
        ("bob@example.net", "Bob"),
    ] {
        let (code, _, err) = gazette(
            &[
                "--config",
                "gazette.toml",
                "subscribers",
                "add",
                email,
                "--name",
                name,
            ],
            d,
        );
        assert_eq!(code, 0, "{err}");
    }

    let (code, out, err) = gazette(&["--config", "gazette.toml", "send"], d);
    // The unreachable feed is reported but does not stop the digest; it fails the job in
    // part, so `send` exits 1 (README: "1 when the job failed, also in part: a feed").
    assert!(
        err.contains("fetch http://127.0.0.1:9/unreachable"),
        "{err}"
    );
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("2 sent, 0 failed"), "{out}");

    let messages = sink.messages();
    let mut rcpts: Vec<String> = messages.iter().flat_map(|(r, _)| r.clone()).collect();
    rcpts.sort();
    assert_eq!(rcpts, ["ada@example.org", "bob@example.net"]);
    let mut ids = Vec::new();
    for (rcpt, raw) in &messages {
        let m = MessageParser::default().parse(raw).expect("MIME parses");
        assert_eq!(
            m.content_type().map(|c| c.subtype()),
            Some(Some("alternative"))
        );
        assert!(m.subject().unwrap().starts_with("Tech Policy Weekly #1: "));
        let id = m.message_id().unwrap().to_string();
        assert!(id.ends_with("@news.example.org"), "{id}");
        ids.push(id);
        assert!(m.date().is_some());
        let unsub = m.header_raw("List-Unsubscribe").unwrap();
        assert!(
            unsub.contains("<https://news.example.org/unsubscribe/") && unsub.contains("<mailto:"),
            "{unsub}"
        );
        assert_eq!(
            m.header_raw("List-Unsubscribe-Post").unwrap().trim(),
            "List-Unsubscribe=One-Click"
        );
        assert!(m
            .header_raw("List-Id")
            .unwrap()
            .contains("<weekly.news.example.org>"));
        assert!(m.header_raw("Precedence").is_none());
        let text = m.body_text(0).unwrap();
        let html = m.body_html(0).unwrap();
        assert_eq!(m.text_body.len(), 1);
        assert_eq!(m.html_body.len(), 1);
        for body in [&text, &html] {
            assert!(
                body.contains("Microsoft said it has been granted a license"),
                "lead missing for {rcpt:?}"
            );
            assert!(!body.contains("Huawei Photo"), "caption picked");
            assert!(!body.contains("Like what you"), "newsletter footer picked");
            assert!(!body.contains("Job Listings"), "job footer picked");
            assert!(
                body.contains("The Federal Trade Commission sued on Wednesday"),
                "second feed's lead"
            );
        }
        assert!(
            text.contains("https://news.example.org/unsubscribe/"),
            "unsubscribe link in the text part"
        );
        assert!(html.contains("news.example.org") && html.contains("unsubscribe"));
        let first = if rcpt[0] == "ada@example.org" {
            "Ada Lovelace"
        } else {
            "Bob"
        };
        assert!(html.contains(first), "greeting by name");
    }
    assert_ne!(ids[0], ids[1], "Message-IDs are unique");

    let (code, out, err) = gazette(&["--config", "gazette.toml", "send"], d);
    assert_eq!(code, 1, "the feed is still unreachable: {err}");
    assert!(
        err.contains("no new stories for weekly since issue #1") && err.contains("nothing sent"),
        "{err}"
    );
    assert_eq!(
        sink.messages().len(),
        2,
        "a second send adds no message: {out}"
    );

    let (_, list, _) = gazette(&["--config", "gazette.toml", "--json", "issues", "list"], d);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["sent"], 2);
    assert_eq!(list[0]["failed"], 0);
}

/// The README's first command: a dry run of the bundled demo, offline.
#[test]
fn demo_dry_run_writes_eml_and_html_preview() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::create_dir_all(d.join("config")).unwrap();
    let copy = |rel: &str| {
        let to = d.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root().join(rel), to).unwrap();
    };
    for f in [
        "config/demo.toml",
        "config/demo/intro.md",
        "config/demo/feeds/policy-wire-rss.xml",
        "config/demo/feeds/digital-rights-atom.xml",
        "config/demo/feeds/market-watch.json",
    ] {
        copy(f);
    }
    let (code, out, err) = gazette(&["send", "--config", "config/demo.toml", "--dry-run"], d);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("wrote out/outbox/weekly-1-digest@policy-wire.example.eml"),
        "{out}"
    );
    assert!(out.contains("preview out/outbox/weekly-1.html"), "{out}");
    let eml = std::fs::read_to_string(d.join("out/outbox/weekly-1-digest@policy-wire.example.eml"))
        .unwrap();
    let m = MessageParser::default().parse(eml.as_bytes()).unwrap();
    let html = m.body_html(0).unwrap();
    assert!(html.contains("The U.S. Department of Commerce has granted Microsoft a license"));
    for never in [
        "Huawei Photo",
        "By Dana Whitfield",
        "Like what you're reading",
        "Job Listings",
        "Getty Images",
        "Updated 10:42",
        "Photo: European Parliament",
        "Subscribe to our newsletter",
        "gift ideas",
    ] {
        assert!(!html.contains(never), "{never:?} must not be in the digest");
    }
    // Nothing was marked as sent: a second dry run produces the same issue number.
    let (code, out, _) = gazette(
        &[
            "send",
            "--config",
            "config/demo.toml",
            "--dry-run",
            "--no-fetch",
        ],
        d,
    );
    assert_eq!(code, 0);
    assert!(out.contains("weekly-1.html"), "{out}");
    // A feed that fails fails the job (exit 1, as `fetch` does), and the digest still goes out
    // from the others; `fetch -q` prints only that error.
    let cfg = std::fs::read_to_string(d.join("config/demo.toml")).unwrap();
    std::fs::write(
        d.join("config/demo.toml"),
        cfg.replacen(
            "[[feeds]]",
            "[[feeds]]\nurl = \"demo/feeds/missing.xml\"\n\n[[feeds]]",
            1,
        ),
    )
    .unwrap();
    let (code, out, err) = gazette(&["send", "--config", "config/demo.toml", "--dry-run"], d);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("missing.xml"), "{err}");
    assert!(out.contains("preview out/outbox/weekly-1.html"), "{out}");
    let (code, out, err) = gazette(&["-q", "fetch", "--config", "config/demo.toml"], d);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("missing.xml") && err.lines().count() == 1,
        "{err}"
    );
    // Bad usage exits 2 and names the fault: a digest that is not configured, and a
    // `GAZETTE_NOW` that would silently leave the clock unpinned.
    let (code, _, err) = gazette(
        &["build", "--config", "config/demo.toml", "--digest", "nope"],
        d,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no digest named \"nope\" (configured: weekly)"),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["schedule", "--config", "config/demo.toml"])
        .current_dir(d)
        .env("GAZETTE_NOW", "2027-03-14T00:00:00")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("GAZETTE_NOW=\"2027-03-14T00:00:00\" is not an RFC 3339 time"),
        "{err}"
    );
}

/// Readers paused or removed after the issue was planned (here while the SMTP server was down)
/// get nothing, and that is not a failure of the job: `send` exits 0.
#[test]
fn readers_gone_since_the_issue_was_planned_get_nothing_without_failing_the_job() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(
        d.join("feed.xml"),
        geekwire_feed("<p>The regulator said on Monday that the merger would be reviewed again in a second phase.</p>"),
    )
    .unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let extra =
        "[[feeds]]\nurl = \"feed.xml\"\n[[digests]]\nname = \"weekly\"\nwindow = \"3650d\"\n";
    let down = config_text(d, &format!("smtp://127.0.0.1:{port}"), extra).replace(
        "max_per_second = 1000\n",
        "max_per_second = 1000\nmax_attempts = 1\n",
    );
    write_config(d, &down);
    let run = |args: &[&str]| {
        let mut all = vec!["--config", "gazette.toml"];
        all.extend_from_slice(args);
        gazette(&all, d)
    };
    for who in ["ada@example.org", "bo@example.org", "cy@example.org"] {
        let (code, _, err) = run(&["subscribers", "add", who]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = run(&["--json", "send"]);
    assert_eq!(code, 1, "the server is down: {out}{err}");
    // Even stopped, the run gives its issue's JSON object, with the error.
    let doc: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(doc["queued"], 3, "{doc}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("SMTP server unavailable"),
        "{doc}"
    );
    let (code, _, err) = run(&[
        "subscribers",
        "set",
        "bo@example.org",
        "--pause-until",
        "2099-01-01",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["subscribers", "remove", "cy@example.org"]);
    assert_eq!(code, 0, "{err}");
    write_config(
        d,
        &config_text(d, &format!("file://{}", d.join("outbox").display()), extra),
    );
    let (code, out, err) = run(&["--json", "send", "--no-fetch"]);
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    // cy's row was closed when cy was removed; bo's is skipped by this run.
    assert_eq!(
        (&doc["sent"], &doc["failed"], &doc["skipped"]),
        (&1.into(), &1.into(), &1.into()),
        "{doc}"
    );
    let sent: Vec<_> = std::fs::read_dir(d.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("ada@example.org"), "{sent:?}");
    let (_, out, _) = run(&["--json", "issues", "show", "1"]);
    let issue: serde_json::Value = serde_json::from_str(&out).unwrap();
    let replies: Vec<_> = issue["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["reply"].as_str())
        .filter(|r| r.starts_with("skipped"))
        .collect();
    assert_eq!(replies.len(), 2, "{issue}");
}
