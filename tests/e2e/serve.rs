use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};

use crate::support::{config_text, root, tempdir, write_config, SmtpSink};

fn stop(child: &mut std::process::Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn serve(dir: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args([
            "--config",
            "gazette.toml",
            "-v",
            "serve",
            "--bind",
            "127.0.0.1:0",
        ])
        .current_dir(dir)
        .env("GAZETTE_SECRET", "test-secret-0123456789abcdef")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The real `gazette serve` with a schedule about a minute away: exactly one issue arrives, a
/// restart does not send it again, and SIGTERM exits 0.
#[test]
fn serve_sends_the_scheduled_issue_exactly_once() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let d = dir.path();
    let mut at = Utc::now() + chrono::Duration::minutes(1);
    if Utc::now().second() > 50 {
        at += chrono::Duration::minutes(1);
    }
    let feeds = format!(
        "[[feeds]]\nurl = \"{}\"\n\n[[digests]]\nname = \"daily\"\nschedule = \"{} {} * * *\"\nwindow = \"3650d\"\n",
        root().join("config/demo/feeds/policy-wire-rss.xml").display(),
        at.minute(),
        at.hour()
    );
    let text = config_text(d, &sink.url(), &feeds).replace("Europe/Berlin", "UTC");
    write_config(d, &text);
    let (code, _, err) = crate::support::gazette(
        &[
            "--config",
            "gazette.toml",
            "subscribers",
            "add",
            "ada@example.org",
        ],
        d,
    );
    assert_eq!(code, 0, "{err}");

    let mut child = serve(d);
    let deadline = Instant::now() + Duration::from_secs(150);
    while sink.messages().is_empty() {
        assert!(Instant::now() < deadline, "no issue arrived");
        assert!(child.try_wait().unwrap().is_none(), "serve exited early");
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(stop(&mut child).success(), "serve exits 0 on SIGTERM");
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(sink.messages()[0].0, ["ada@example.org"]);

    // A restart on the same database: the slot is claimed, nothing is sent again.
    let mut child = serve(d);
    std::thread::sleep(Duration::from_secs(3));
    assert!(stop(&mut child).success());
    assert_eq!(sink.messages().len(), 1);
}
