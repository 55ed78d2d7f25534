//! Issue 14, against the real binary and a real SMTP server (aiosmtpd): every issue exactly once,
//! whatever happens. Two `send` racing, a SIGKILL then `send`, leftovers that never make a
//! second issue, `serve` through an SMTP outage (with `/healthz` showing it), a stored name that
//! cannot go into a header, and refusals classified by their enhanced status code.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::delivery::{addresses, import, received, rows, run, setup, show};
use crate::support::{free_port, tempdir, SmtpSink};

/// `gazette send` started in the background.
fn spawn_send(config: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--config", config.to_str().unwrap(), "-q", "send"])
        .args(args)
        .current_dir(config.parent().unwrap())
        .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_ok(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "send failed: {err}");
    err
}

fn issue_count(config: &Path) -> usize {
    let (_, list, _) = run(config, &["--json", "issues", "list"]);
    serde_json::from_str::<serde_json::Value>(&list)
        .unwrap()
        .as_array()
        .unwrap()
        .len()
}

fn every_address_once(sink: &SmtpSink, emails: &[String]) {
    let got = received(sink);
    for e in emails {
        assert_eq!(got.get(e), Some(&1), "{e} got {:?} messages", got.get(e));
    }
    assert_eq!(got.values().sum::<usize>(), emails.len());
}

/// Two `send` started together make one issue between them, each address gets one message, and
/// both processes deliver part of it (the queued rows are shared, and neither marks the other's
/// in-flight rows as `unknown`).
#[test]
fn two_sends_started_together_make_one_issue_and_share_it() {
    let Some(sink) = SmtpSink::start(&["--delay", "0.01"]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "connections = 1", "");
    let emails = addresses(60);
    import(dir.path(), &config, &emails);
    assert_eq!(run(&config, &["-q", "fetch"]).0, 0);

    let a = spawn_send(&config, &["--no-fetch"]);
    let b = spawn_send(&config, &["--no-fetch"]);
    wait_ok(a);
    wait_ok(b);
    assert_eq!(issue_count(&config), 1, "one issue, not two");
    every_address_once(&sink, &emails);
    let rows = rows(&show(&config, 1));
    assert!(
        rows.values().all(|r| r.0 == "sent"),
        "no row in doubt: {rows:?}"
    );

    // A send right after the completed issue adds nothing.
    let (code, _, err) = run(&config, &["send", "--no-fetch"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no new stories"), "{err}");
    assert_eq!(issue_count(&config), 1);
    assert_eq!(sink.messages().len(), 60);
}

/// Issue 19: two `send` processes on one PostgreSQL database split an issue of 3,000 readers,
/// both delivering part of it; one is SIGKILLed mid-way and the other finishes, the rows the
/// killed one had reserved included (at once on one host, else when their lease ends). Every reader gets exactly one
/// message, except the at most one row the killed process had in flight: the survivor marks it
/// `unknown` and never resends it.
#[test]
fn two_senders_on_postgres_split_an_issue_and_one_outlives_the_others_sigkill() {
    let Some(admin) = crate::support::postgres_server() else {
        return;
    };
    if crate::support::postgres().is_some() {
        return; // the SQLite pass already ran it on PostgreSQL
    }
    let Some(sink) = SmtpSink::start(&["--delay", "0.002"]) else {
        return;
    };
    let dir = tempdir();
    let url = gazette::store::postgres::fresh_database(&admin).unwrap();
    std::fs::write(dir.path().join(".postgres-url"), &url).unwrap();
    let config = setup(dir.path(), &sink, "connections = 1", "");
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("url = \"postgres://"));
    let emails = addresses(3000);
    import(dir.path(), &config, &emails);
    assert_eq!(run(&config, &["-q", "fetch"]).0, 0);

    let mut a = spawn_send(&config, &["--no-fetch"]);
    let b = spawn_send(&config, &["--no-fetch"]);
    let started = Instant::now();
    while sink.messages().len() < 1000 {
        assert!(started.elapsed() < Duration::from_secs(120), "too slow");
        assert!(
            a.try_wait().unwrap().is_none(),
            "the first send ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    a.kill().unwrap();
    a.wait().unwrap();
    wait_ok(b);

    let pg = gazette::store::postgres::Pg::connect(&url).unwrap();
    let lease = pg.lease().unwrap();
    let mut by_status = std::collections::HashMap::<String, i64>::new();
    lease
        .conn()
        .for_each(
            "SELECT status, COUNT(*) FROM deliveries GROUP BY status",
            &[],
            &mut |r| {
                by_status.insert(r.get(0)?, r.get(1)?);
                Ok(())
            },
        )
        .unwrap();
    let mut senders = 0i64;
    lease
        .conn()
        .for_each(
            "SELECT COUNT(DISTINCT owner) FROM deliveries WHERE status = 'sent'",
            &[],
            &mut |r| {
                senders = r.get(0)?;
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(senders, 2, "both processes delivered part: {by_status:?}");
    let unknown = by_status.get("unknown").copied().unwrap_or(0);
    assert!(unknown <= 1, "{by_status:?}");
    assert_eq!(
        by_status.get("sent").copied().unwrap_or(0) + unknown,
        3000,
        "nothing left queued or in flight: {by_status:?}"
    );
    let got = received(&sink);
    let rows = rows(&show(&config, 1));
    for e in &emails {
        let n = got.get(e).copied().unwrap_or(0);
        if rows[e].0 == "sent" {
            assert_eq!(n, 1, "{e}");
        } else {
            assert!(n <= 1, "{e} in doubt got {n}");
        }
    }
}

/// A second `send` started while the first is delivering joins it: it does not plan a second
/// issue, does not wait for the first to finish, and leaves the first one's rows alone.
#[test]
fn a_send_started_mid_issue_joins_it_without_touching_the_other_process_rows() {
    let Some(sink) = SmtpSink::start(&["--delay", "0.02"]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "connections = 1", "");
    let emails = addresses(80);
    import(dir.path(), &config, &emails);
    let a = spawn_send(&config, &[]);
    let started = Instant::now();
    while sink.messages().len() < 10 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "first send stalled"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let b = spawn_send(&config, &["--no-fetch"]);
    let err_b = wait_ok(b);
    wait_ok(a);
    assert!(!err_b.contains("in flight"), "{err_b}");
    assert_eq!(issue_count(&config), 1);
    every_address_once(&sink, &emails);
    let rows = rows(&show(&config, 1));
    assert!(rows.values().all(|r| r.0 == "sent"), "{rows:?}");
}

/// SIGKILL mid-send to 300 subscribers, then `send`: the interrupted issue is finished (at most
/// one `unknown`), and the stories that did not fit in it (`max_stories = 2` of 3) never make a
/// second issue.
#[test]
fn sigkill_then_send_finishes_the_issue_and_leftovers_make_no_second_one() {
    let Some(sink) = SmtpSink::start(&["--delay", "0.005"]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(
        dir.path(),
        &sink,
        "connections = 2",
        "max_stories = 2\ntopics = []",
    );
    let emails = addresses(300);
    import(dir.path(), &config, &emails);
    let mut child = spawn_send(&config, &[]);
    let started = Instant::now();
    while sink.messages().len() < 100 {
        assert!(started.elapsed() < Duration::from_secs(60), "send stalled");
        assert!(child.try_wait().unwrap().is_none(), "send ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(sink.messages().len() < 300, "the kill came too late");

    let (code, _, err) = run(&config, &["send"]);
    assert!(code == 0 || code == 1, "{err}");
    assert!(err.contains("resuming issue #1"), "{err}");
    assert!(
        err.contains("no new stories"),
        "the leftover story is no new story: {err}"
    );
    assert_eq!(issue_count(&config), 1, "no issue #2 from the leftovers");
    let issue = show(&config, 1);
    let rows = rows(&issue);
    let unknown: Vec<_> = rows.iter().filter(|(_, r)| r.0 == "unknown").collect();
    assert!(
        unknown.len() <= 2,
        "at most one in flight per connection: {unknown:?}"
    );
    let got = received(&sink);
    for e in &emails {
        assert!(got.get(e).copied().unwrap_or(0) <= 1, "{e} got two");
    }
    assert_eq!(issue["queued"], 0);
    // And again: nothing.
    let (_, _, err) = run(&config, &["send"]);
    assert!(err.contains("no new stories"), "{err}");
    assert_eq!(issue_count(&config), 1);
}

/// A refusal that is the sender's problem (550 5.7.1) never counts against the reader, and three
/// in a row stop the issue with the rows after them still queued; an unknown user (550 5.1.1)
/// fails its row and counts.
#[test]
fn policy_refusals_stop_the_issue_and_unknown_users_count_against_the_reader() {
    if crate::support::postgres().is_some() {
        eprintln!("skipping on PostgreSQL: this test reads and writes the SQLite file");
        return;
    }
    let emails = addresses(8);
    let policy = emails[1..4].join(",");
    let Some(sink) =
        SmtpSink::start(&["--fail550", "reader000@example.net", "--policy550", &policy])
    else {
        return;
    };
    let dir = tempdir();
    // One attempt per row and one outage: the first stop ends the send.
    let config = setup(dir.path(), &sink, "connections = 1\nmax_attempts = 1", "");
    import(dir.path(), &config, &emails);
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the sender's to fix") && err.contains("5.7.1"),
        "the stop names the cause: {err}"
    );
    let r = rows(&show(&config, 1));
    assert_eq!(r["reader000@example.net"].0, "failed", "{r:?}");
    assert!(r["reader000@example.net"].2.contains("5.1.1"));
    assert_eq!(
        r.values().filter(|v| v.0 == "queued").count(),
        4,
        "the issue stopped after three policy refusals, the rest still queued: {r:?}"
    );
    assert!(received(&sink).is_empty());
    // Only the unknown user's failure is held against a reader.
    let db = rusqlite::Connection::open(dir.path().join("gazette.db")).unwrap();
    let counted: Vec<String> = db
        .prepare("SELECT email FROM deliveries WHERE counted ORDER BY email")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(counted, ["reader000@example.net"]);
    let failures: i64 = db
        .query_row(
            "SELECT SUM(failures) FROM subscribers WHERE email != 'reader000@example.net'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failures, 0, "no policy refusal counts toward bouncing");
    let (_, status, _) = run(&config, &["--json", "status"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let rate = status["issues"][0]["bounce_rate"].as_f64().unwrap();
    assert!((rate - 0.25).abs() < 1e-9, "1 bounce in 4 tried: {status}");
}

/// A name with CR/LF stored before names were checked (written straight into the database here)
/// fails its own row with the reason; the process does not panic and the queue goes on.
#[test]
fn a_stored_name_with_a_line_break_fails_its_row_and_the_queue_goes_on() {
    if crate::support::postgres().is_some() {
        eprintln!("skipping on PostgreSQL: this test reads and writes the SQLite file");
        return;
    }
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "connections = 1", "");
    let emails = addresses(3);
    import(dir.path(), &config, &emails);
    let db = rusqlite::Connection::open(dir.path().join("gazette.db")).unwrap();
    db.execute(
        "UPDATE subscribers SET name = 'Eve\r\nBcc: victim@example.org' WHERE email = ?1",
        [&emails[1]],
    )
    .unwrap();
    drop(db);
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(
        code, 1,
        "a failed row shows in the exit code, not a panic (101): {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let r = rows(&show(&config, 1));
    assert_eq!(r[&emails[1]].0, "failed");
    assert!(
        r[&emails[1]].2.contains("control character"),
        "{:?}",
        r[&emails[1]]
    );
    assert_eq!(r[&emails[0]].0, "sent");
    assert_eq!(r[&emails[2]].0, "sent");
    let got = received(&sink);
    assert_eq!(got.get(&emails[1]), None);
    assert!(sink
        .messages()
        .iter()
        .all(|(_, m)| !String::from_utf8_lossy(m).contains("Bcc:")));
}

/// `GET /healthz` over a plain socket: (status code, JSON body).
fn healthz(port: u16) -> Option<(u16, serde_json::Value)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split("\r\n\r\n").nth(1)?;
    Some((code, serde_json::from_str(body).ok()?))
}

/// `serve` at a slot while the SMTP server is down: the issue is stored and kept, `/healthz`
/// answers 503 meanwhile, and once the server is back the issue goes out (without a restart),
/// each address once.
#[test]
fn serve_during_an_smtp_outage_delivers_once_the_server_is_back() {
    let smtp_port = free_port();
    let dir = tempdir();
    // The clock is pinned a minute after Monday's 08:00 slot (catch_up lets it run at start).
    let down = SmtpSink::start(&[]); // only to learn whether the peer exists
    let Some(probe) = down else {
        return;
    };
    drop(probe);
    let config = {
        let d = dir.path();
        let feed = crate::delivery::feed(d, "Data brokers face new rules", 3);
        let text = crate::support::config_text(
            d,
            &format!("smtp://127.0.0.1:{smtp_port}"),
            &format!(
                "[[feeds]]\nurl = \"{}\"\n\n[[digests]]\nname = \"weekly\"\nschedule = \"0 8 * * MON\"\nwindow = \"3650d\"\ncatch_up = \"12h\"\n",
                feed.display()
            ),
        )
        .replace("Europe/Berlin", "UTC")
        .replace(
            "max_per_second = 1000\n",
            "max_per_second = 1000\nretry_backoff = \"1s\"\n",
        );
        crate::support::write_config(d, &text)
    };
    let emails = addresses(5);
    import(dir.path(), &config, &emails);
    let web_port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--config", config.to_str().unwrap(), "serve", "--bind"])
        .arg(format!("127.0.0.1:{web_port}"))
        .current_dir(dir.path())
        .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
        .env("GAZETTE_NOW", "2026-11-30T08:01:00Z")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let unhealthy = loop {
        assert!(
            Instant::now() < deadline,
            "/healthz never showed the outage"
        );
        assert!(child.try_wait().unwrap().is_none(), "serve exited");
        match healthz(web_port) {
            Some((503, body)) => break body,
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    assert_eq!(unhealthy["healthy"], false);
    assert_eq!(unhealthy["scheduler"]["state"], "retrying");
    assert_eq!(
        issue_count(&config),
        1,
        "the slot's issue is stored and kept"
    );
    let (code, status, _) = run(&config, &["--json", "status"]);
    assert_eq!(code, 1, "status exits 1 when not healthy");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["digests"][0]["queued"], 5, "{status}");
    assert!(status["scheduler"]["last_error"]
        .as_str()
        .unwrap()
        .contains("Connection refused"));

    // The server comes back on the same port: the queued rows go out without a restart.
    let sink = SmtpSink::start(&["--port", &smtp_port.to_string()]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while received(&sink).len() < 5 {
        assert!(Instant::now() < deadline, "not delivered after the outage");
        assert!(child.try_wait().unwrap().is_none(), "serve exited");
        std::thread::sleep(Duration::from_millis(200));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match healthz(web_port) {
            Some((200, body)) if body["healthy"] == true => break,
            _ => {
                assert!(Instant::now() < deadline, "never healthy again");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success(), "serve exits 0 on SIGTERM");
    every_address_once(&sink, &emails);
    assert_eq!(issue_count(&config), 1);
}

/// Issue 14: `check --smtp` says whether the session used TLS and what AUTH the server offers.
#[test]
fn check_smtp_reports_tls_and_auth() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "", "");
    let (code, out, err) = run(&config, &["check", "--smtp"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("SMTP session opened; TLS: no") && out.contains("AUTH: none offered"),
        "{out}"
    );
}
