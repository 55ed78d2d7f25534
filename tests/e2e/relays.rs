//! Named relays (issue 19, item 3) against the real binary and real SMTP servers (aiosmtpd) on
//! loopback: a relay that refuses connections hands its share to the other, a daily quota stops
//! its relay at exactly that many messages (also with two `gazette send` on one database), and
//! when every relay's quota is spent the rows stay queued until the next UTC day.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::delivery::{addresses, feed, import, received, run, show};
use crate::support::{config_text, free_port, tempdir, write_config, SmtpSink};

/// A config whose `[delivery] url` is `delivery_url` (ignored: `relays` are configured).
fn relay_config(dir: &Path, delivery_url: &str, relays: &str) -> PathBuf {
    let feed = feed(dir, "Data brokers face new rules", 3);
    let text = config_text(
        dir,
        delivery_url,
        &format!(
            "[[feeds]]\nurl = \"{}\"\n\n[[digests]]\nname = \"weekly\"\ntitle = \"Test Weekly\"\n\
             schedule = \"0 8 * * MON\"\nwindow = \"7d\"\n\n{relays}",
            feed.display()
        ),
    )
    .replace(
        "max_per_second = 1000\n",
        "max_per_second = 1000\nretry_backoff = \"1s\"\nmax_attempts = 3\n",
    );
    write_config(dir, &text)
}

/// Runs the binary with the clock pinned at `now`.
fn run_at(config: &Path, now: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--config", config.to_str().unwrap()])
        .args(args)
        .current_dir(config.parent().unwrap())
        .env_remove("GAZETTE_CONFIG")
        .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
        .env("GAZETTE_NOW", now)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Rows of issue 1 by relay (sent ones) and by status.
fn tally(config: &Path) -> (HashMap<String, usize>, HashMap<String, usize>) {
    let issue = show(config, 1);
    let (mut by_relay, mut by_status) = (HashMap::new(), HashMap::new());
    for d in issue["deliveries"].as_array().unwrap() {
        let status = d["status"].as_str().unwrap().to_string();
        if status == "sent" {
            let relay = d["relay"].as_str().unwrap_or("(none)").to_string();
            *by_relay.entry(relay).or_default() += 1;
        }
        *by_status.entry(status).or_default() += 1;
    }
    (by_relay, by_status)
}

fn status_relay(status: &str, name: &str) -> serde_json::Value {
    let s: serde_json::Value = serde_json::from_str(status).unwrap();
    s["relays"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["relay"] == name)
        .unwrap_or_else(|| panic!("no relay {name} in {s}"))
        .clone()
}

fn each_once(sinks: &[&SmtpSink], emails: &[String]) {
    let mut got: HashMap<String, usize> = HashMap::new();
    for s in sinks {
        for (k, v) in received(s) {
            *got.entry(k).or_default() += v;
        }
    }
    for e in emails {
        assert_eq!(got.get(e), Some(&1), "{e} got {:?} messages", got.get(e));
    }
    assert_eq!(got.values().sum::<usize>(), emails.len());
}

/// (a) Two relays, one refusing connections (a closed port): every subscriber gets exactly one
/// message, all through the other; `status` says the refusing one is paused. `[delivery] url`
/// (also a closed port) is ignored, and `gazette check` warns of it.
#[test]
fn a_relay_that_refuses_connections_hands_its_share_to_the_other() {
    let Some(up) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let closed = free_port();
    let config = relay_config(
        dir.path(),
        &format!("smtp://127.0.0.1:{}", free_port()),
        &format!(
            "[[relays]]\nname = \"down\"\nurl = \"smtp://127.0.0.1:{closed}\"\nconnections = 2\n\n\
             [[relays]]\nname = \"up\"\nurl = \"{}\"\nconnections = 2\n",
            up.url()
        ),
    );
    let (code, _, err) = run(&config, &["check"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("delivery.url") && err.contains("ignored"),
        "check warns that [delivery] url is ignored: {err}"
    );
    let emails = addresses(60);
    import(dir.path(), &config, &emails);
    let (code, out, err) = run(&config, &["send"]);
    assert_eq!(code, 0, "send: {out}\n{err}");
    each_once(&[&up], &emails);
    let (by_relay, by_status) = tally(&config);
    assert_eq!(by_relay.get("up"), Some(&60), "{by_relay:?}");
    assert_eq!(by_status.get("sent"), Some(&60), "{by_status:?}");
    let (code, status, err) = run(&config, &["--json", "status"]);
    assert!(code == 0 || code == 1, "{err}");
    let down = status_relay(&status, "down");
    assert_eq!(down["paused"], true, "{down}");
    assert_eq!(down["state"], "paused");
    assert_eq!(down["sent_today"], 0, "nothing tried counts: {down}");
    let up_status = status_relay(&status, "up");
    assert_eq!(up_status["sent_today"], 60, "{up_status}");
    assert_eq!(up_status["paused"], false);
    let (_, text, _) = run(&config, &["issues", "show", "1"]);
    assert!(text.contains("sent through relays: up 60"), "{text}");
}

/// (b) A relay with `daily_quota = 100` (and most of the weight) beside a second relay, 150
/// subscribers, two `gazette send` started together on one database: the first relay sends
/// exactly 100, the second the other 50, every subscriber one message. The second relay is
/// paced at 5 a second so that, on a loaded machine too, the first is offered more than its
/// quota (a relay slower than its share is dealt less: see `deliver::share`).
#[test]
fn a_daily_quota_stops_its_relay_at_exactly_that_many_across_two_processes() {
    let (Some(small), Some(big)) = (SmtpSink::start(&[]), SmtpSink::start(&[])) else {
        return;
    };
    let dir = tempdir();
    let config = relay_config(
        dir.path(),
        "file://unused",
        &format!(
            "[[relays]]\nname = \"small\"\nurl = \"{}\"\nweight = 9\ndaily_quota = 100\nconnections = 3\n\n\
             [[relays]]\nname = \"big\"\nurl = \"{}\"\nweight = 1\nconnections = 1\nmax_per_second = 5\n",
            small.url(),
            big.url()
        ),
    );
    let emails = addresses(150);
    import(dir.path(), &config, &emails);
    assert_eq!(run(&config, &["-q", "fetch"]).0, 0);
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args([
                "--config",
                config.to_str().unwrap(),
                "-q",
                "send",
                "--no-fetch",
            ])
            .current_dir(dir.path())
            .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "send: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(small.messages().len(), 100, "the quota is never exceeded");
    assert_eq!(big.messages().len(), 50);
    each_once(&[&small, &big], &emails);
    let (by_relay, _) = tally(&config);
    assert_eq!(by_relay.get("small"), Some(&100), "{by_relay:?}");
    assert_eq!(by_relay.get("big"), Some(&50), "{by_relay:?}");
    let (_, status, err) = run(&config, &["--json", "status"]);
    let s = status_relay(&status, "small");
    assert_eq!(s["sent_today"], 100, "{s} {err}");
    assert_eq!(s["daily_quota"], 100);
    assert_eq!(s["quota_spent"], true);
    assert_eq!(s["state"], "quota_spent");
    assert_eq!(status_relay(&status, "big")["sent_today"], 50);
}

/// (c) One relay with `daily_quota = 100`, 150 subscribers: 100 are sent and 50 stay queued
/// (not failed), `send` and `status` say the quota is spent; a second send the same day sends
/// nothing; the next UTC day (a pinned clock) sends the other 50.
#[test]
fn when_every_relay_is_spent_the_rows_wait_for_the_next_day() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let config = relay_config(
        dir.path(),
        "file://unused",
        &format!(
            "[[relays]]\nname = \"only\"\nurl = \"{}\"\ndaily_quota = 100\n",
            sink.url()
        ),
    );
    let day1 = chrono::Utc::now();
    let day2 = day1 + chrono::Duration::days(1);
    let (t1, t2) = (day1.to_rfc3339(), day2.to_rfc3339());
    let emails = addresses(150);
    import(dir.path(), &config, &emails);

    let (code, out, err) = run_at(&config, &t1, &["send"]);
    assert_eq!(
        code, 0,
        "rows held for a quota are not a failure: {out}\n{err}"
    );
    assert!(
        out.contains(
            "daily quota spent on every relay of weekly (only): 50 deliveries stay queued"
        ),
        "{out}"
    );
    assert_eq!(sink.messages().len(), 100);
    let (_, by_status) = tally(&config);
    assert_eq!(by_status.get("sent"), Some(&100), "{by_status:?}");
    assert_eq!(by_status.get("queued"), Some(&50), "{by_status:?}");
    assert_eq!(by_status.get("failed"), None, "{by_status:?}");
    let (_, status, _) = run_at(&config, &t1, &["--json", "status"]);
    let only = status_relay(&status, "only");
    assert_eq!(only["quota_spent"], true, "{only}");
    assert_eq!(only["sent_today"], 100);
    assert_eq!(only["state"], "quota_spent");
    assert!(
        only["resets_at"].as_str().unwrap().ends_with("T00:00:00Z"),
        "{only}"
    );
    let (_, text, _) = run_at(&config, &t1, &["status"]);
    assert!(text.contains("relay only: 100 sent"), "{text}");
    assert!(text.contains("quota spent until"), "{text}");

    // The same day: nothing more goes out.
    let (code, out, err) = run_at(&config, &t1, &["--json", "send", "--no-fetch"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(sink.messages().len(), 100);
    let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(line["quota_spent"], serde_json::json!(["only"]), "{line}");
    assert_eq!(line["queued"], 50);

    // The next UTC day: the other 50, and no second issue.
    let (code, out, err) = run_at(&config, &t2, &["send", "--no-fetch"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(sink.messages().len(), 150);
    each_once(&[&sink], &emails);
    let (_, by_status) = tally(&config);
    assert_eq!(by_status.get("sent"), Some(&150), "{by_status:?}");
    let (_, status, _) = run_at(&config, &t2, &["--json", "status"]);
    let only = status_relay(&status, "only");
    assert_eq!(only["sent_today"], 50, "{only}");
    assert_eq!(only["quota_spent"], false);
    let (_, list, _) = run(&config, &["--json", "issues", "list"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "one issue: {list}");
}
