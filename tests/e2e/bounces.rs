//! Bounces and complaints close the loop (issue 18), against the real binary and real peers: a
//! relay (aiosmtpd) accepts the issue; the bounce arrives in a real Dovecot mailbox addressed
//! to the VERP address; `serve` reads it and the reader is `bouncing`, so the next issue skips
//! them. An ARF complaint suppresses at once; `bounces process` twice records once; the pause
//! rule stops a send; each provider webhook takes a correctly signed sample and refuses a
//! wrongly signed, a replayed and an oversized one.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::delivery::{addresses, import, received, run, setup, show};
use crate::support::{free_port, tempdir, Dovecot, SmtpSink};

/// Appends TOML to a config file.
fn append(config: &Path, toml: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(config, format!("{text}\n{toml}\n")).unwrap();
}

/// (envelope sender, envelope recipients, raw message) of each message the sink accepted.
fn envelopes(sink: &SmtpSink) -> Vec<(String, Vec<String>, String)> {
    let mut names: Vec<_> = std::fs::read_dir(sink.dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| {
            let env: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            let rcpts = env["rcpt_tos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_lowercase())
                .collect();
            let raw = std::fs::read_to_string(p.with_extension("eml")).unwrap();
            (env["mail_from"].as_str().unwrap().to_string(), rcpts, raw)
        })
        .collect()
}

/// The header block of a message.
fn headers(raw: &str) -> &str {
    raw.split("\r\n\r\n")
        .next()
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap()
}

/// An RFC 3464 bounce from a remote MTA for `recipient`, sent to `to` (the Return-Path),
/// returning the original's headers.
fn dsn(to: &str, recipient: &str, original: &str, id: &str) -> Vec<u8> {
    format!(
        "Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n\
         To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{id}@mx.example.net>\r\n\
         Date: Mon, 30 Nov 2026 08:05:00 +0000\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not\r\n\
         be delivered to one or more recipients.\r\n\r\n<{recipient}>: host mx.example.net said: 550 5.1.1\r\n\
         <{recipient}>: Recipient address rejected: User unknown\r\n\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822; {recipient}\r\nAction: failed\r\n\
         Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\r\n\r\n\
         --b1\r\nContent-Type: text/rfc822-headers\r\n\r\n{}\r\n\r\n--b1--\r\n",
        headers(original).trim_end()
    )
    .into_bytes()
}

/// An RFC 5965 feedback report (`abuse` or `auth-failure`) about `original`, for `recipient`.
fn arf(feedback: &str, recipient: &str, original: &str, id: &str) -> Vec<u8> {
    format!(
        "From: feedback@fbl.example.net\r\nTo: bounces@news.example.org\r\nSubject: FW: report\r\n\
         Message-ID: <{id}@fbl.example.net>\r\nDate: Mon, 30 Nov 2026 08:05:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"f1\"\r\n\r\n\
         --f1\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\r\n\
         --f1\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: {feedback}\r\nUser-Agent: FBL/1.0\r\n\
         Version: 1\r\nOriginal-Rcpt-To: {recipient}\r\n\r\n\
         --f1\r\nContent-Type: text/rfc822-headers\r\n\r\n{}\r\n\r\n--f1--\r\n",
        headers(original).trim_end()
    )
    .into_bytes()
}

fn subscriber_status(config: &Path, email: &str) -> String {
    let (code, out, err) = run(config, &["--json", "subscribers", "list"]);
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == email)
        .map(|s| s["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "absent".into())
}

fn stop(child: &mut std::process::Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success(), "serve exits 0 on SIGTERM");
}

#[test]
fn a_bounce_in_dovecot_makes_the_reader_bouncing_and_the_next_issue_skips_them() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let Some(dovecot) = Dovecot::start() else {
        return;
    };
    let dir = tempdir();
    // No slot of the schedule runs while serve reads the mailbox (catch-up of one second).
    let config = setup(
        dir.path(),
        &sink,
        "",
        "send_empty = true\ncatch_up = \"1s\"",
    );
    append(
        &config,
        &format!(
            "[bounces]\naddress = \"bounces@news.example.org\"\n\
             imap = \"imap://bounces@127.0.0.1:{}/INBOX\"\nimap_password = \"secret\"\npoll_interval = \"1s\"",
            dovecot.port
        ),
    );
    let emails = addresses(3);
    import(dir.path(), &config, &emails);
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(code, 0, "{err}");

    // VERP: each message's envelope sender names its delivery; From is unchanged.
    let sent = envelopes(&sink);
    assert_eq!(sent.len(), 3);
    for (from, _, raw) in &sent {
        let token = from
            .strip_prefix("bounces+")
            .and_then(|r| r.strip_suffix("@news.example.org"))
            .unwrap_or_else(|| panic!("not a VERP address: {from}"));
        assert!(
            raw.contains(&format!("X-Gazette-Delivery: {token}\r\n")),
            "{raw}"
        );
        let from_line = raw.lines().find(|l| l.starts_with("From: ")).unwrap();
        assert!(
            from_line.ends_with("<digest@news.example.org>"),
            "{from_line}"
        );
    }
    let of = |email: &str| sent.iter().find(|(_, r, _)| r[0] == email).unwrap().clone();

    // reader001's bounce comes back to its VERP address; reader002's to the plain address with
    // the token, the X-header and the Message-ID lost: it is found by its Final-Recipient.
    let (verp, _, original) = of(&emails[1]);
    dovecot.deliver(&verp, &dsn(&verp, &emails[1], &original, "dsn-1"));
    let (_, _, original2) = of(&emails[2]);
    let stripped: String = original2
        .lines()
        .filter(|l| !l.starts_with("X-Gazette-Delivery") && !l.starts_with("Message-ID"))
        .collect::<Vec<_>>()
        .join("\r\n");
    dovecot.deliver(
        "bounces@news.example.org",
        &dsn("bounces@news.example.org", &emails[2], &stripped, "dsn-2"),
    );
    assert_eq!(dovecot.messages("").len(), 2);

    let web = free_port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--config", config.to_str().unwrap(), "serve", "--bind"])
        .arg(format!("127.0.0.1:{web}"))
        .current_dir(dir.path())
        .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while subscriber_status(&config, &emails[1]) != "bouncing"
        || subscriber_status(&config, &emails[2]) != "bouncing"
    {
        assert!(Instant::now() < deadline, "serve never read the bounces");
        assert!(serve.try_wait().unwrap().is_none(), "serve exited");
        std::thread::sleep(Duration::from_millis(200));
    }
    stop(&mut serve);
    assert_eq!(subscriber_status(&config, &emails[0]), "confirmed");
    // Read, recorded, then moved: nothing deleted.
    assert!(
        dovecot.messages("").is_empty(),
        "processed messages leave INBOX"
    );
    assert_eq!(dovecot.messages("gazette-processed").len(), 2);

    let (_, list, _) = run(&config, &["--json", "bounces", "list"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let by = |email: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["recipient"] == email)
            .unwrap()
            .clone()
    };
    assert_eq!(by(&emails[1])["matched_by"], "verp", "{list}");
    assert_eq!(by(&emails[2])["matched_by"], "recipient", "{list}");
    for e in [&emails[1], &emails[2]] {
        assert_eq!(by(e)["kind"], "hard");
        assert_eq!(by(e)["status"], "5.1.1");
        assert_eq!(by(e)["source"], "imap");
        assert_eq!(by(e)["issue"], 1);
    }
    let issue = show(&config, 1);
    let d = issue["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["email"] == emails[1].as_str())
        .unwrap();
    assert_eq!(d["bounces"][0]["reason"], "user unknown", "{issue}");
    let (_, status, _) = run(&config, &["--json", "status"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let rate = status["issues"][0]["bounce_rate"].as_f64().unwrap();
    assert!((rate - 2.0 / 3.0).abs() < 1e-9, "{status}");

    // The next issue goes to reader000 only.
    let (code, _, err) = run(&config, &["send", "--no-fetch"]);
    assert_eq!(code, 0, "{err}");
    let got = received(&sink);
    assert_eq!(got.get(&emails[0]), Some(&2));
    assert_eq!(got.get(&emails[1]), Some(&1));
    assert_eq!(got.get(&emails[2]), Some(&1));
}

#[test]
fn a_complaint_suppresses_at_once_and_processing_twice_records_once() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "", "");
    let maildir = dir.path().join("bounces");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    append(
        &config,
        "[bounces]\naddress = \"bounces@news.example.org\"\nmaildir = \"bounces\"",
    );
    let emails = addresses(2);
    import(dir.path(), &config, &emails);
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(code, 0, "{err}");
    let sent = envelopes(&sink);
    let original = |email: &str| {
        sent.iter()
            .find(|(_, r, _)| r[0] == email)
            .unwrap()
            .2
            .clone()
    };

    // An abuse report, delivered to the Maildir: complained at once, and suppressed.
    let report = arf("abuse", &emails[0], &original(&emails[0]), "arf-1");
    std::fs::write(maildir.join("new/1.arf.host"), &report).unwrap();
    let (code, out, err) = run(&config, &["bounces", "poll"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 messages processed"), "{out}");
    assert_eq!(subscriber_status(&config, &emails[0]), "complained");
    assert!(std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .next()
        .is_none());
    assert!(maildir.join("cur/1.arf.host:2,S").exists());
    let (_, out, err) = run(&config, &["subscribers", "add", &emails[0]]);
    assert!(
        out.contains("complained") || err.contains("complained"),
        "add does not resubscribe: {out}{err}"
    );
    assert_eq!(subscriber_status(&config, &emails[0]), "complained");
    let (code, _, err) = run(&config, &["subscribers", "remove", &emails[0]]);
    assert_eq!(code, 0, "{err}");
    let (_, out, err) = run(&config, &["subscribers", "add", &emails[0]]);
    assert!(
        out.contains("suppressed") || err.contains("suppressed"),
        "the hash is kept after remove: {out}{err}"
    );
    assert_eq!(subscriber_status(&config, &emails[0]), "absent");

    // The same report again through `bounces process`, twice: recorded once in all.
    let file = dir.path().join("arf.eml");
    std::fs::write(&file, &report).unwrap();
    for _ in 0..2 {
        let (code, out, err) = run(
            &config,
            &["--json", "bounces", "process", file.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{err}");
        let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(rows[0]["recorded"], "duplicate", "{rows}");
    }
    // An authentication-failure report is the operator's: the reader stays confirmed.
    let auth = dir.path().join("auth.eml");
    std::fs::write(
        &auth,
        arf("auth-failure", &emails[1], &original(&emails[1]), "arf-2"),
    )
    .unwrap();
    for expected in ["new", "duplicate"] {
        let (code, out, err) = run(
            &config,
            &["--json", "bounces", "process", auth.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{err}");
        let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(rows[0]["recorded"], expected, "{rows}");
        if expected == "new" {
            assert_eq!(rows[0]["outcome"], "operator", "{rows}");
            // Sent to the plain address: the quoted X-Gazette-Delivery names the delivery.
            assert_eq!(rows[0]["matched_by"], "header", "{rows}");
        }
    }
    assert_eq!(subscriber_status(&config, &emails[1]), "confirmed");
    let (_, list, _) = run(&config, &["--json", "bounces", "list"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let (_, status, _) = run(&config, &["--json", "status"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let rate = status["issues"][0]["complaint_rate"].as_f64().unwrap();
    assert!((rate - 0.5).abs() < 1e-9, "1 complaint in 2 sent: {status}");
}

/// A send pauses when the issue's hard-bounce rate passes `pause_above`: it stops with rows
/// queued and says so (error, `issues show`, `status`), and goes on once resumed.
#[test]
fn pause_above_stops_a_send_until_resumed() {
    let mut emails = addresses(40);
    // Ten refused addresses that sort first, so the rate passes early.
    for (i, e) in emails.iter_mut().take(10).enumerate() {
        *e = format!("a-gone{i:02}@example.net");
    }
    let refused = emails[..10].join(",");
    let Some(sink) = SmtpSink::start(&["--fail550", &refused]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "connections = 1", "");
    append(&config, "[bounces]\npause_above = 0.1\nhard_threshold = 5");
    import(dir.path(), &config, &emails);
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("paused") && err.contains("pause_above"),
        "{err}"
    );
    let issue = show(&config, 1);
    assert!(
        issue["paused"]
            .as_str()
            .unwrap()
            .contains("hard-bounce rate"),
        "{issue}"
    );
    assert!(
        issue["queued"].as_i64().unwrap() > 0,
        "rows stay queued: {issue}"
    );
    let (code, status, _) = run(&config, &["--json", "status"]);
    assert_eq!(code, 1, "status is unhealthy while an issue is paused");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert!(status["issues"][0]["paused"].is_string(), "{status}");
    // A second send neither delivers nor plans: the paused issue holds the digest.
    let before = received(&sink).len();
    let (code, _, err) = run(&config, &["send", "--no-fetch"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(received(&sink).len(), before);
    let (code, _, err) = run(&config, &["issues", "resume", "1"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&config, &["send", "--no-fetch"]);
    assert_eq!(code, 0, "{err}");
    let issue = show(&config, 1);
    assert_eq!(issue["queued"], 0, "{issue}");
    assert_eq!(issue["sent"], 30, "{issue}");
}
