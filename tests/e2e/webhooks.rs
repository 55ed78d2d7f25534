//! Provider webhooks against `gazette serve` (issue 18): each takes a correctly signed sample
//! (keys and certificates made here with openssl) and refuses a wrongly signed one (401), a
//! replayed one (409; 401 when its timestamp is outside `webhook_max_age`) and an oversized
//! one (413).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::delivery::{addresses, import, run, setup};
use crate::support::{free_port, tempdir, SmtpSink};

/// POSTs over a plain socket; returns (status, body). Sends only the headers when `body` is
/// None and `length` says how long the body would be (the server refuses by Content-Length).
fn post(port: u16, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    post_raw(port, path, headers, Some(body), body.len())
}

fn post_raw(
    port: u16,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
    length: usize,
) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {length}\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    if let Some(b) = body {
        s.write_all(b).unwrap();
    }
    let mut text = Vec::new();
    let _ = s.read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (code, body)
}

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Signs `data` with a PEM key (`openssl dgst -DIGEST -sign`), base64.
fn sign(dir: &Path, key: &str, digest: &str, data: &[u8]) -> String {
    std::fs::write(dir.join("to-sign"), data).unwrap();
    B64.encode(openssl(dir, &["dgst", digest, "-sign", key, "to-sign"]))
}

fn hmac_hex(key: &str, data: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    m.update(data.as_bytes());
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn status_of(config: &Path, email: &str) -> String {
    let (_, out, _) = run(config, &["--json", "subscribers", "list"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == email)
        .map(|s| s["status"].as_str().unwrap().to_string())
        .unwrap()
}

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:gazette-bounces";
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";

/// An SNS message signed with `key` (SignatureVersion `version`).
fn sns(dir: &Path, key: &str, version: &str, fields: serde_json::Value) -> serde_json::Value {
    let mut v = fields;
    v["TopicArn"] = TOPIC.into();
    v["SignatureVersion"] = version.into();
    v["SigningCertURL"] = CERT_URL.into();
    let order: &[&str] = if v["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut text = String::new();
    for f in order {
        if let Some(s) = v[*f].as_str() {
            text.push_str(&format!("{f}\n{s}\n"));
        }
    }
    let digest = if version == "2" { "-sha256" } else { "-sha1" };
    v["Signature"] = sign(dir, key, digest, text.as_bytes()).into();
    v
}

#[test]
fn each_webhook_takes_a_signed_sample_and_refuses_forged_replayed_and_oversized_ones() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let d = dir.path();
    // Keys made for this test: the SNS signing certificate (RSA), SendGrid's P-256 key.
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "sns.key",
            "-out",
            "sns.pem",
            "-subj",
            "/CN=sns.amazonaws.com",
            "-days",
            "2",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.pem",
            "-subj",
            "/CN=impostor",
            "-days",
            "2",
        ],
    );
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "sg.key",
        ],
    );
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "sg-other.key",
        ],
    );
    let sg_public = B64.encode(openssl(
        d,
        &["ec", "-in", "sg.key", "-pubout", "-outform", "DER"],
    ));

    let config = setup(d, &sink, "", "");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!(
            "{text}\n[bounces]\naddress = \"bounces@news.example.org\"\nwebhook_token = \"tok-123\"\n\
             postmark_user = \"pm\"\npostmark_password = \"pm-secret\"\nsendgrid_public_key = \"{sg_public}\"\n\
             mailgun_signing_key = \"mg-key\"\nses_topic_arn = \"{TOPIC}\"\nses_certificate = \"sns.pem\"\n\
             webhook_max_age = \"10m\"\n"
        ),
    )
    .unwrap();
    let emails = addresses(6);
    import(d, &config, &emails);
    let (code, _, err) = run(&config, &["send"]);
    assert_eq!(code, 0, "{err}");
    let verp_of = |email: &str| -> String {
        for p in std::fs::read_dir(sink.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
        {
            let p = p.path();
            if p.extension().is_some_and(|x| x == "json") {
                let env: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
                if env["rcpt_tos"][0]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case(email)
                {
                    return env["mail_from"].as_str().unwrap().to_string();
                }
            }
        }
        panic!("no message to {email}");
    };

    let port = free_port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--config", config.to_str().unwrap(), "serve", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(d)
        .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let now = chrono::Utc::now();
    let stale = now - chrono::Duration::hours(1);
    let big = vec![b'x'; (1 << 20) + 1];
    let oversized = |path: &str, headers: &[(&str, String)]| {
        let (code, _) = post_raw(port, path, headers, None, big.len());
        assert_eq!(code, 413, "{path}: oversized");
    };
    let json = ("Content-Type", "application/json".to_string());

    // Generic: bearer token.
    let bearer = ("Authorization", "Bearer tok-123".to_string());
    let event = |id: &str, at: chrono::DateTime<chrono::Utc>| {
        serde_json::json!({"id": id, "timestamp": at.to_rfc3339(), "recipient": emails[0],
            "kind": "soft", "status": "4.2.2", "reason": "mailbox full"})
        .to_string()
    };
    let (code, body) = post(
        port,
        "/webhooks/bounce",
        &[bearer.clone(), json.clone()],
        event("g1", now).as_bytes(),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"outcome\":\"counted\""), "{body}");
    let wrong = ("Authorization", "Bearer tok-124".to_string());
    assert_eq!(
        post(
            port,
            "/webhooks/bounce",
            &[wrong, json.clone()],
            event("g2", now).as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        post(
            port,
            "/webhooks/bounce",
            &[bearer.clone(), json.clone()],
            event("g1", now).as_bytes()
        )
        .0,
        409
    );
    assert_eq!(
        post(
            port,
            "/webhooks/bounce",
            &[bearer.clone(), json.clone()],
            event("g3", stale).as_bytes()
        )
        .0,
        401
    );
    oversized("/webhooks/bounce", &[bearer.clone(), json.clone()]);

    // Postmark: basic auth.
    let basic = |u: &str, p: &str| {
        (
            "Authorization",
            format!("Basic {}", B64.encode(format!("{u}:{p}"))),
        )
    };
    let bounce = |id: u64, at: chrono::DateTime<chrono::Utc>| {
        serde_json::json!({"RecordType": "Bounce", "ID": id, "Type": "HardBounce", "Email": emails[1],
            "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "BouncedAt": at.to_rfc3339()})
        .to_string()
    };
    let (code, body) = post(
        port,
        "/webhooks/postmark",
        &[basic("pm", "pm-secret"), json.clone()],
        bounce(1, now).as_bytes(),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(status_of(&config, &emails[1]), "bouncing");
    assert_eq!(
        post(
            port,
            "/webhooks/postmark",
            &[basic("pm", "guess"), json.clone()],
            bounce(2, now).as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        post(
            port,
            "/webhooks/postmark",
            &[basic("pm", "pm-secret"), json.clone()],
            bounce(1, now).as_bytes()
        )
        .0,
        409
    );
    assert_eq!(
        post(
            port,
            "/webhooks/postmark",
            &[basic("pm", "pm-secret"), json.clone()],
            bounce(3, stale).as_bytes()
        )
        .0,
        401
    );
    oversized(
        "/webhooks/postmark",
        &[basic("pm", "pm-secret"), json.clone()],
    );

    // SendGrid: ECDSA P-256 over timestamp + body.
    let events = serde_json::json!([{"email": emails[2], "timestamp": now.timestamp(), "event": "spamreport", "sg_event_id": "sg-1"}]).to_string();
    let signed = |key: &str, ts: i64, body: &str| {
        vec![
            json.clone(),
            ("X-Twilio-Email-Event-Webhook-Timestamp", ts.to_string()),
            (
                "X-Twilio-Email-Event-Webhook-Signature",
                sign(d, key, "-sha256", format!("{ts}{body}").as_bytes()),
            ),
        ]
    };
    let good = signed("sg.key", now.timestamp(), &events);
    let (code, body) = post(port, "/webhooks/sendgrid", &good, events.as_bytes());
    assert_eq!(code, 200, "{body}");
    assert_eq!(status_of(&config, &emails[2]), "complained");
    assert_eq!(
        post(
            port,
            "/webhooks/sendgrid",
            &signed("sg-other.key", now.timestamp(), &events),
            events.as_bytes()
        )
        .0,
        401
    );
    let tampered = events.replace("sg-1", "sg-2");
    assert_eq!(
        post(port, "/webhooks/sendgrid", &good, tampered.as_bytes()).0,
        401
    );
    assert_eq!(
        post(port, "/webhooks/sendgrid", &good, events.as_bytes()).0,
        409
    );
    // The same timestamp and body signed again (a fresh ECDSA signature) is still a replay.
    let resigned = signed("sg.key", now.timestamp(), &events);
    assert_ne!(
        resigned[2].1, good[2].1,
        "ECDSA signatures differ each time"
    );
    assert_eq!(
        post(port, "/webhooks/sendgrid", &resigned, events.as_bytes()).0,
        409
    );
    assert_eq!(
        post(
            port,
            "/webhooks/sendgrid",
            &signed("sg.key", stale.timestamp(), &events),
            events.as_bytes()
        )
        .0,
        401
    );
    oversized("/webhooks/sendgrid", &good);

    // Mailgun: HMAC-SHA256 of timestamp + token.
    let mailgun = |token: &str, ts: i64, key: &str| {
        serde_json::json!({"signature": {"timestamp": ts.to_string(), "token": token,
            "signature": hmac_hex(key, &format!("{ts}{token}"))},
            "event-data": {"id": format!("mg-{token}"), "event": "failed", "severity": "permanent",
            "recipient": emails[3], "timestamp": ts as f64,
            "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"}}})
        .to_string()
    };
    let (code, body) = post(
        port,
        "/webhooks/mailgun",
        std::slice::from_ref(&json),
        mailgun("t1", now.timestamp(), "mg-key").as_bytes(),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(status_of(&config, &emails[3]), "bouncing");
    assert_eq!(
        post(
            port,
            "/webhooks/mailgun",
            std::slice::from_ref(&json),
            mailgun("t2", now.timestamp(), "mg-guess").as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        post(
            port,
            "/webhooks/mailgun",
            std::slice::from_ref(&json),
            mailgun("t1", now.timestamp(), "mg-key").as_bytes()
        )
        .0,
        409
    );
    assert_eq!(
        post(
            port,
            "/webhooks/mailgun",
            std::slice::from_ref(&json),
            mailgun("t3", stale.timestamp(), "mg-key").as_bytes()
        )
        .0,
        401
    );
    oversized("/webhooks/mailgun", std::slice::from_ref(&json));

    // Amazon SES through SNS: signed with the certificate's key, v2 (SHA256) and v1 (SHA1).
    let notification = |id: &str, email: &str, at: chrono::DateTime<chrono::Utc>| {
        let message = serde_json::json!({"notificationType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": email, "action": "failed", "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
            "mail": {"source": verp_of(email), "messageId": "ses-1"}});
        serde_json::json!({"Type": "Notification", "MessageId": id, "Message": message.to_string(),
            "Timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})
    };
    let ses = sns(d, "sns.key", "2", notification("n1", &emails[4], now)).to_string();
    let (code, body) = post(port, "/webhooks/ses", &[], ses.as_bytes());
    assert_eq!(code, 200, "{body}");
    assert_eq!(status_of(&config, &emails[4]), "bouncing");
    let v1 = sns(d, "sns.key", "1", notification("n2", &emails[5], now)).to_string();
    assert_eq!(post(port, "/webhooks/ses", &[], v1.as_bytes()).0, 200);
    let forged = sns(d, "other.key", "2", notification("n3", &emails[0], now)).to_string();
    assert_eq!(post(port, "/webhooks/ses", &[], forged.as_bytes()).0, 401);
    assert_eq!(post(port, "/webhooks/ses", &[], ses.as_bytes()).0, 409);
    let old = sns(d, "sns.key", "2", notification("n4", &emails[0], stale)).to_string();
    assert_eq!(post(port, "/webhooks/ses", &[], old.as_bytes()).0, 401);
    let mut elsewhere = sns(d, "sns.key", "2", notification("n5", &emails[0], now));
    elsewhere["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com.evil.example/c.pem".into();
    assert_eq!(
        post(port, "/webhooks/ses", &[], elsewhere.to_string().as_bytes()).0,
        401
    );
    oversized("/webhooks/ses", &[]);
    // A subscription confirmation is checked the same way; a genuine one is confirmed by
    // visiting its SubscribeURL through the SSRF guard (no network here: 502).
    let confirm = |key: &str, id: &str| {
        sns(d, key, "2", serde_json::json!({"Type": "SubscriptionConfirmation", "MessageId": id,
            "Token": "tok", "Message": "You have chosen to subscribe",
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok",
            "Timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)}))
        .to_string()
    };
    assert_eq!(
        post(
            port,
            "/webhooks/ses",
            &[],
            confirm("other.key", "c1").as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        post(
            port,
            "/webhooks/ses",
            &[],
            confirm("sns.key", "c2").as_bytes()
        )
        .0,
        502
    );
    // A request that failed gives its id back: SNS's retry of it is tried again, not refused
    // as a replay.
    assert_eq!(
        post(
            port,
            "/webhooks/ses",
            &[],
            confirm("sns.key", "c2").as_bytes()
        )
        .0,
        502
    );

    Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status()
        .unwrap();
    assert!(serve.wait().unwrap().success());
    let (_, list, _) = run(&config, &["--json", "bounces", "list"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let sources: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        ["ses", "ses", "mailgun", "sendgrid", "postmark", "webhook"],
        "{list}"
    );
    let ses_event = &list[1];
    assert_eq!(ses_event["matched_by"], "verp", "{list}");
}
