//! Delivery against a real SMTP server (aiosmtpd): exactly once across SIGKILL, 4xx retried,
//! 5xx recorded, dropped connections, bouncing subscribers, and what the server receives (headers,
//! both MIME parts, a DKIM signature checked by dkimpy).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};

use crate::support::{config_text, gazette, python, root, tempdir, write_config, SmtpSink};

/// An RSS feed of `n` stories published in the last hours, the first titled `first_title`.
pub(crate) fn feed(dir: &Path, first_title: &str, n: usize) -> PathBuf {
    let now = chrono::Utc::now();
    let mut items = String::new();
    for i in 0..n {
        let title = if i == 0 {
            first_title.to_string()
        } else {
            format!("Regulators weigh rule number {i} on data brokers")
        };
        let date = (now - chrono::Duration::hours(i as i64 + 1)).to_rfc2822();
        items.push_str(&format!(
            "<item><title>{title}</title><link>https://example.com/story/{i}</link>\
             <guid>https://example.com/story/{i}</guid><pubDate>{date}</pubDate>\
             <description>&lt;p&gt;The agency said on Tuesday that rule {i} would require brokers \
             to register, disclose their sources and honour deletion requests within thirty days, \
             a change that industry groups called costly and advocates called overdue.&lt;/p&gt;\
             </description></item>"
        ));
    }
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

/// A config sending to `sink` with the given `[delivery]` extras and digest options.
pub(crate) fn setup(dir: &Path, sink: &SmtpSink, delivery: &str, digest: &str) -> PathBuf {
    let feed = feed(dir, "Data brokers face new rules", 3);
    let text = config_text(
        dir,
        &sink.url(),
        &format!(
            "[[feeds]]\nurl = \"{}\"\n\n[[digests]]\nname = \"weekly\"\ntitle = \"Test Weekly\"\n\
             schedule = \"0 8 * * MON\"\nwindow = \"7d\"\n{digest}\n",
            feed.display()
        ),
    )
    .replace(
        "max_per_second = 1000\n",
        &format!("max_per_second = 1000\nretry_backoff = \"1s\"\n{delivery}\n"),
    );
    write_config(dir, &text)
}

/// Imports `emails` as confirmed subscribers.
pub(crate) fn import(dir: &Path, config: &Path, emails: &[String]) {
    let csv = dir.join("subs.csv");
    let mut text = String::from("email,name,digests\n");
    for e in emails {
        text.push_str(&format!("{e},,\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let (code, _, err) = run(config, &["subscribers", "import", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "import: {err}");
}

pub(crate) fn run(config: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    gazette(&all, config.parent().unwrap())
}

/// `gazette issues show ID --json`.
pub(crate) fn show(config: &Path, id: i64) -> serde_json::Value {
    let (code, out, err) = run(config, &["--json", "issues", "show", &id.to_string()]);
    assert_eq!(code, 0, "issues show: {err}");
    serde_json::from_str(&out).unwrap()
}

/// Delivery rows of an issue by email: (status, attempts, reply).
pub(crate) fn rows(issue: &serde_json::Value) -> HashMap<String, (String, i64, String)> {
    issue["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["email"].as_str().unwrap().to_string(),
                (
                    d["status"].as_str().unwrap().to_string(),
                    d["attempts"].as_i64().unwrap(),
                    d["reply"].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect()
}

/// How many messages each envelope recipient got.
pub(crate) fn received(sink: &SmtpSink) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for (rcpts, _) in sink.messages() {
        for r in rcpts {
            *n.entry(r.to_lowercase()).or_default() += 1;
        }
    }
    n
}

pub(crate) fn addresses(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("reader{i:03}@example.net"))
        .collect()
}

#[test]
fn sigkill_mid_issue_then_resume_sends_each_address_exactly_once() {
    // The sink answers each DATA after 5 ms, so that the kill lands mid-issue. It does not offer
    // PIPELINING here: this test covers the one-command-at-a-time path (the others pipeline).
    let Some(sink) = SmtpSink::start(&["--delay", "0.005", "--no-pipelining"]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "connections = 1", "");
    let emails = addresses(500);
    import(dir.path(), &config, &emails);

    let mut child = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--config", config.to_str().unwrap(), "-q", "send"])
        .current_dir(dir.path())
        .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let arrived = std::fs::read_dir(sink.dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .count();
        if arrived >= 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {arrived} messages arrived"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "send ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = sink.messages().len();
    assert!(
        at_kill < 500,
        "the kill came too late: {at_kill} already sent"
    );

    let (code, _, err) = run(&config, &["send", "--no-fetch"]);
    assert!(
        err.contains("in flight") || !err.contains("error"),
        "second send: {err}"
    );
    assert!(code == 0 || code == 1, "second send exit {code}: {err}");

    let issue = show(&config, 1);
    let rows = rows(&issue);
    let unknown: Vec<_> = rows
        .iter()
        .filter(|(_, r)| r.0 == "unknown")
        .map(|(e, _)| e.clone())
        .collect();
    assert!(unknown.len() <= 1, "in doubt: {unknown:?}");
    let got = received(&sink);
    for e in &emails {
        let n = got.get(e).copied().unwrap_or(0);
        assert!(n <= 1, "{e} received {n} copies");
        if n == 0 {
            assert!(unknown.contains(e), "{e} never received and not in doubt");
        } else if !unknown.contains(e) {
            assert_eq!(rows[e].0, "sent", "{e}: {:?}", rows[e]);
        }
    }
    let total: usize = got.values().sum();
    assert!(
        total == 500 || (total == 499 && unknown.len() == 1),
        "{total} received"
    );
    assert_eq!(issue["queued"], 0);

    // A third send finds the issue finished and sends nothing.
    let (_, _, err) = run(&config, &["send", "--no-fetch"]);
    assert!(err.contains("nothing"), "{err}");
    assert_eq!(sink.messages().len(), total);
    assert!(
        sink.pipelined().iter().all(|&p| !p),
        "pipelined without PIPELINING"
    );
}

#[test]
fn greylisted_recipients_arrive_after_a_retry_and_rejected_ones_are_recorded() {
    let Some(sink) = SmtpSink::start(&[
        "--fail451",
        "reader001@example.net,reader004@example.net",
        "--fail550",
        "reader002@example.net,reader005@example.net",
    ]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "connections = 2", "send_empty = true");
    // Three refusals in a row before `bouncing` (the default is one).
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}\n[bounces]\nhard_threshold = 3\n")).unwrap();
    let emails = addresses(8);
    import(dir.path(), &config, &emails);
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(code, 1, "send reports the failures in its exit code: {err}");

    let rows = rows(&show(&config, 1));
    let got = received(&sink);
    for e in ["reader001@example.net", "reader004@example.net"] {
        assert_eq!(rows[e].0, "sent", "{e}: {:?}", rows[e]);
        assert_eq!(rows[e].1, 2, "{e} took a retry");
        assert_eq!(got.get(e), Some(&1));
    }
    for e in ["reader002@example.net", "reader005@example.net"] {
        assert_eq!(rows[e].0, "failed");
        assert_eq!(rows[e].1, 1, "a 5xx is not retried");
        assert!(
            rows[e].2.contains("550") && rows[e].2.contains("mailbox unavailable"),
            "{e}: {:?}",
            rows[e]
        );
        assert_eq!(got.get(e), None);
    }
    for e in ["reader000", "reader003", "reader006", "reader007"] {
        let e = format!("{e}@example.net");
        assert_eq!(rows[&e].0, "sent");
        assert_eq!(rows[&e].1, 1);
        assert_eq!(got.get(&e), Some(&1));
    }

    // Two more issues: the third 550 in a row makes the subscriber bouncing.
    for _ in 0..2 {
        run(&config, &["send", "--no-fetch"]);
    }
    let (_, list, _) = run(&config, &["subscribers", "list"]);
    let line = |e: &str| list.lines().find(|l| l.contains(e)).unwrap().to_string();
    assert!(line("reader002@example.net").contains("bouncing"), "{list}");
    assert!(
        line("reader001@example.net").contains("confirmed"),
        "{list}"
    );
    run(&config, &["send", "--no-fetch"]);
    let rows4 = self::rows(&show(&config, 4));
    assert!(
        !rows4.contains_key("reader002@example.net"),
        "bouncing is skipped"
    );
    assert_eq!(rows4["reader000@example.net"].0, "sent");
}

#[test]
fn a_connection_dropped_before_the_message_is_retried_and_the_issue_completes() {
    let Some(sink) = SmtpSink::start(&["--drop-mail", "4"]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "connections = 1", "");
    let emails = addresses(10);
    import(dir.path(), &config, &emails);
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(code, 0, "{err}");
    let got = received(&sink);
    assert_eq!(got.len(), 10);
    assert!(got.values().all(|n| *n == 1));
    assert!(rows(&show(&config, 1)).values().all(|r| r.0 == "sent"));
}

#[test]
fn a_connection_dropped_after_the_message_is_in_doubt_and_not_resent() {
    let Some(sink) = SmtpSink::start(&["--drop-after", "3"]) else {
        return;
    };
    let dir = tempdir();
    let config = setup(dir.path(), &sink, "connections = 1", "");
    let emails = addresses(10);
    import(dir.path(), &config, &emails);
    let (code, out, err) = run(&config, &["send"]);
    assert_eq!(
        code, 1,
        "an unknown delivery shows in the exit code: {out}{err}"
    );
    let issue = show(&config, 1);
    let rows = rows(&issue);
    let unknown: Vec<_> = rows.iter().filter(|(_, r)| r.0 == "unknown").collect();
    assert_eq!(unknown.len(), 1, "{rows:?}");
    assert!(unknown[0].1 .2.contains("may have it"), "{unknown:?}");
    assert_eq!(issue["sent"], 9);
    // The issue completed after reconnecting; the one in doubt is listed and not resent.
    assert_eq!(received(&sink).len(), 9);
    let (_, text, _) = run(&config, &["issues", "show", "1"]);
    assert!(text.contains("unknown (1)"), "{text}");
    assert!(text.contains(unknown[0].0.as_str()), "{text}");
    run(&config, &["send", "--no-fetch"]);
    assert_eq!(received(&sink).len(), 9);
}

/// Generates an RSA key with openssl; returns (PKCS#1 PEM path, base64 DER public key).
/// A new key made by openssl, and its DNS record's `k=…; p=…`: RSA of `bits` (PKCS#8, as
/// `openssl genrsa` writes it today, or PKCS#1 with `-traditional`), or Ed25519 (`bits` 0).
fn new_key(dir: &Path, bits: u32, traditional: bool) -> Option<(PathBuf, String)> {
    let key = dir.join(format!(
        "dkim{bits}{}.pem",
        if traditional { "t" } else { "" }
    ));
    let mut make = Command::new("openssl");
    if bits == 0 {
        make.args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&key);
    } else {
        make.arg("genrsa");
        if traditional {
            make.arg("-traditional");
        }
        make.arg("-out").arg(&key).arg(bits.to_string());
    }
    if !make
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipping: openssl could not make a key");
        return None;
    }
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&key)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    Some(if bits == 0 {
        // RFC 8463: the raw 32-byte key, the end of the SubjectPublicKeyInfo.
        (
            key,
            format!(
                "k=ed25519; p={}",
                b64.encode(&out.stdout[out.stdout.len() - 32..])
            ),
        )
    } else {
        (key, format!("k=rsa; p={}", b64.encode(out.stdout)))
    })
}

fn rsa_key(dir: &Path, bits: u32) -> Option<(PathBuf, String)> {
    new_key(dir, bits, true)
}

/// dkimpy's verdict on a message's first signature, with this RSA record for every DNS query.
fn dkim_verifies(message: &[u8], record: &str) -> bool {
    dkim_verdicts(message, &[("", record)]).first() == Some(&true)
}

/// dkimpy's verdict on each DKIM signature of a message, in order, with the record of each
/// selector served for its DNS name (a selector "" answers every name).
fn dkim_verdicts(message: &[u8], records: &[(&str, &str)]) -> Vec<bool> {
    let py = python().unwrap();
    let table: String = records
        .iter()
        .map(|(sel, rec)| format!("'{sel}': b'v=DKIM1; {rec}',"))
        .collect();
    let script = format!(
        "import sys, dkim\nmsg = sys.stdin.buffer.read()\nrecs = {{{table}}}\n\
         def dns(name, timeout=5):\n    sel = name.decode().split('._domainkey')[0]\n    return recs.get(sel, recs.get(''))\n\
         d = dkim.DKIM(msg)\nn = len([h for h in d.headers if h[0].lower() == b'dkim-signature'])\n\
         print(' '.join(str(d.verify(idx=i, dnsfunc=dns)) for i in range(n)))\n"
    );
    let mut child = Command::new(py)
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|v| v == "True")
        .collect()
}

#[test]
fn the_server_gets_a_signed_standard_message_with_both_parts() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    // The key as `openssl genrsa` writes it today (PKCS#8), a second RSA selector (rotation) and
    // an Ed25519 key (RFC 8463): three signatures, each verified.
    let (Some((key, public)), Some((next, next_public)), Some((ed, ed_public))) = (
        new_key(dir.path(), 2048, false),
        new_key(dir.path(), 2048, true),
        new_key(dir.path(), 0, false),
    ) else {
        return;
    };
    let delivery = format!(
        "dkim_key = \"{}\"\ndkim_selector = \"gz\"\ndkim_domain = \"news.example.org\"\n\
         dkim_keys = [{{ selector = \"gz2\", key = \"{}\" }}, {{ selector = \"ed\", key = \"{}\" }}]",
        key.display(),
        next.display(),
        ed.display()
    );
    let config = setup(dir.path(), &sink, &delivery, "");
    // A story title carrying a header injection attempt and non-ASCII text leads the issue.
    feed(
        dir.path(),
        "Résumé — 日本語 🚀&#13;&#10;Bcc: victim@example.com",
        3,
    );
    let (code, _, err) = run(
        &config,
        &[
            "subscribers",
            "add",
            "zoë@example.net",
            "--name",
            "Zoë \"Z\" Ünal",
        ],
    );
    assert_eq!(code, 0, "{err}");
    import(dir.path(), &config, &["plain@example.net".to_string()]);
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(code, 0, "{err}");

    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    // The sink offers PIPELINING: each envelope went out in one write.
    assert_eq!(sink.pipelined(), [true, true]);
    let mut ids = Vec::new();
    for (rcpts, raw) in &messages {
        assert_eq!(rcpts.len(), 1, "only the subscriber is a recipient");
        assert_eq!(
            dkim_verdicts(
                raw,
                &[("gz", &public), ("gz2", &next_public), ("ed", &ed_public)]
            ),
            [true, true, true],
            "DKIM fails for {rcpts:?}"
        );
        let text = String::from_utf8_lossy(raw);
        let sig = text
            .split("\r\n")
            .skip_while(|l| !l.to_ascii_lowercase().starts_with("dkim-signature:"))
            .take_while(|l| !l.is_empty())
            .collect::<String>()
            .to_ascii_lowercase()
            .replace([' ', '\t'], "");
        let h: Vec<&str> = sig
            .split(';')
            .find_map(|t| t.strip_prefix("h="))
            .unwrap_or_else(|| panic!("no h= in {sig}"))
            .split(':')
            .collect();
        for name in [
            "list-unsubscribe",
            "list-unsubscribe-post",
            "list-id",
            "from",
            "subject",
            "message-id",
            "date",
        ] {
            assert!(h.contains(&name), "h= lacks {name}: {sig}");
        }
        assert!(sig.contains("c=relaxed/relaxed"), "{sig}");
        let headers: Vec<&str> = text
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .split("\r\n")
            .collect();
        for l in &headers {
            assert!(l.len() <= 998, "long header line {l}");
        }
        let count = |name: &str| {
            headers
                .iter()
                .filter(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                .count()
        };
        assert_eq!(count("subject"), 1);
        assert_eq!(count("bcc"), 0, "header injected");
        assert_eq!(count("precedence"), 0);

        let m = MessageParser::default().parse(raw.as_slice()).unwrap();
        let subject = m.subject().unwrap();
        assert!(subject.contains("Résumé — 日本語 🚀"), "{subject}");
        let header = |name: &str| -> String {
            m.header_raw(name)
                .unwrap_or_else(|| panic!("no {name}"))
                .replace("\r\n", "")
                .trim()
                .to_string()
        };
        let unsub = header("List-Unsubscribe");
        assert!(unsub.starts_with("<https://news.example.org/"), "{unsub}");
        assert!(unsub.contains(">, <mailto:"), "{unsub}");
        assert_eq!(
            header("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click"
        );
        assert!(header("List-Id").ends_with("<weekly.news.example.org>"));
        let id = m.message_id().unwrap().to_string();
        assert!(id.ends_with("@news.example.org"), "{id}");
        ids.push(id);
        assert!(m.date().is_some());
        assert!(m.content_type().unwrap().c_subtype.as_deref() == Some("alternative"));
        assert_eq!(m.text_body.len(), 1);
        assert_eq!(m.html_body.len(), 1);
        let text_part = m.body_text(0).unwrap();
        // Tera escapes "/" in attribute values; undo the entities to compare URLs.
        let html_part = m
            .body_html(0)
            .unwrap()
            .replace("&#x2F;", "/")
            .replace("&amp;", "&");
        assert!(
            text_part.contains("https://example.com/story/0"),
            "text part: {text_part}"
        );
        assert!(
            html_part.contains("https://example.com/story/0"),
            "html part: {html_part}"
        );
        let unsub_url = unsub[1..unsub.find('>').unwrap()].to_string();
        assert!(
            text_part.contains(&unsub_url),
            "text part lacks {unsub_url}"
        );
        assert!(
            html_part.contains(&unsub_url) || html_part.contains(&unsub_url.replace('&', "&amp;")),
            "html part lacks {unsub_url}"
        );
        // Changing the signed List-Unsubscribe breaks the signature.
        let tampered = text.replacen(
            "List-Unsubscribe: <https://news.example.org/",
            "List-Unsubscribe: <https://evil.example.org/",
            1,
        );
        assert!(
            !dkim_verifies(tampered.as_bytes(), &public),
            "tampering not detected"
        );
    }
    assert_ne!(ids[0], ids[1]);
    let zoe = messages
        .iter()
        .map(|(_, raw)| MessageParser::default().parse(raw.as_slice()).unwrap())
        .find(|m| {
            m.to().and_then(|t| t.first()).and_then(|a| a.address()) == Some("zoë@example.net")
        });
    if let Some(m) = zoe {
        let to = m.to().unwrap().first().unwrap();
        assert_eq!(to.name(), Some("Zoë \"Z\" Ünal"));
    }

    // The double opt-in mail is signed with the same key.
    let (code, _, err) = run(
        &config,
        &["subscribers", "add", "pending@example.net", "--pending"],
    );
    assert_eq!(code, 0, "{err}");
    let messages = sink.messages();
    assert_eq!(messages.len(), 3);
    let (rcpts, confirm) = &messages[2];
    assert_eq!(rcpts, &vec!["pending@example.net".to_string()]);
    assert!(
        String::from_utf8_lossy(confirm).contains("Confirm your subscription"),
        "not the confirmation mail"
    );
    assert!(
        dkim_verifies(confirm, &public),
        "the confirmation mail is not signed"
    );
}

#[test]
fn a_dkim_key_under_2048_bits_is_refused_at_config_check() {
    let dir = tempdir();
    let Some((key, _)) = rsa_key(dir.path(), 1024) else {
        return;
    };
    let Some((pkcs8, _)) = new_key(dir.path(), 1024, false) else {
        return;
    };
    let text = config_text(
        dir.path(),
        "file://out",
        &format!(
            "[[feeds]]\nurl = \"{}\"\n\n[[digests]]\nname = \"weekly\"\ntitle = \"T\"\n",
            root().join("config/demo/feeds/policy-wire-rss.xml").display()
        ),
    )
    .replace(
        "max_per_second = 1000\n",
        &format!(
            "max_per_second = 1000\ndkim_key = \"{}\"\ndkim_selector = \"gz\"\ndkim_domain = \"news.example.org\"\n",
            key.display()
        ),
    );
    let config = write_config(dir.path(), &text);
    let (code, _, err) = run(&config, &["check"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("1024 bits") && err.contains("2048"), "{err}");
    let text = text.replace(&key.display().to_string(), &pkcs8.display().to_string());
    let config = write_config(dir.path(), &text);
    let (code, _, err) = run(&config, &["check"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("1024 bits") && err.contains("2048"),
        "PKCS#8 too: {err}"
    );
}

#[test]
fn an_unreachable_server_pauses_the_send_and_spends_no_attempts() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    // A loopback port where nothing listens: every connection is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("smtp://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let config = setup(dir.path(), &sink, "connections = 2\nmax_attempts = 2", "");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replace(&sink.url(), &dead)).unwrap();
    let emails = addresses(6);
    import(dir.path(), &config, &emails);
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("SMTP server unavailable after 2 tries")
            && err.contains("6 deliveries stay queued"),
        "{err}"
    );
    // Nothing was tried for any recipient: no attempt spent, nobody failed or bouncing.
    let queued = rows(&show(&config, 1));
    assert_eq!(queued.len(), 6);
    assert!(
        queued.values().all(|r| r.0 == "queued" && r.1 == 0),
        "{queued:?}"
    );
    let (_, list, _) = run(&config, &["subscribers", "list"]);
    assert!(!list.contains("bouncing"), "{list}");
    // The server is back: the next send finishes the issue, each address once.
    std::fs::write(&config, good).unwrap();
    let (code, _, err) = run(&config, &["send", "--no-fetch"]);
    assert_eq!(code, 0, "{err}");
    let got = received(&sink);
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(got.values().all(|n| *n == 1), "{got:?}");
    assert!(rows(&show(&config, 1)).values().all(|r| r.0 == "sent"));
}
