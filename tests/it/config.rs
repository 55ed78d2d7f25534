use gazette::config::Config;

use crate::support::{gazette, root, tempdir};

/// The starter config that `gazette init` writes parses and validates.
#[test]
fn starter_config_is_valid() {
    let path = root().join("config/gazette.toml");
    let config = Config::from_file(&path).unwrap();
    assert!(config.feeds.len() >= 7);
    assert_eq!(config.digests[0].name, "weekly");
    // Every [bounces] key is documented (commented or set) with its default.
    let text = std::fs::read_to_string(&path).unwrap();
    for key in [
        "address",
        "imap",
        "imap_password",
        "imap_processed",
        "maildir",
        "poll_interval",
        "webhook_token",
        "hard_threshold",
        "soft_threshold",
        "soft_window",
        "pause_above",
        "postmark_user",
        "postmark_password",
        "sendgrid_public_key",
        "mailgun_signing_key",
        "ses_topic_arn",
        "ses_certificate",
        "webhook_max_age",
    ] {
        assert!(
            text.contains(&format!("\n{key} = ")) || text.contains(&format!("# {key} = ")),
            "[bounces] {key} undocumented"
        );
    }
    // Every [[relays]] key is documented, commented (no relay by default), and a digest's
    // `relays` too.
    let relays = &text[text.find("# [[relays]]").expect("[[relays]] documented")..];
    for key in [
        "name",
        "url",
        "max_per_second",
        "connections",
        "weight",
        "daily_quota",
    ] {
        assert!(
            relays.contains(&format!("# {key} = ")),
            "[[relays]] {key} undocumented"
        );
    }
    assert!(
        text.contains("# relays = ["),
        "[[digests]] relays undocumented"
    );
    assert!(config.relays.is_empty());
    let defaults = gazette::config::bounces::Bounces::default();
    assert_eq!(config.bounces.hard_threshold, defaults.hard_threshold);
    assert_eq!(config.bounces.soft_threshold, defaults.soft_threshold);
    assert_eq!(config.bounces.soft_window, defaults.soft_window);
    assert_eq!(config.bounces.pause_above, defaults.pause_above);
    assert_eq!(config.bounces.webhook_max_age, defaults.webhook_max_age);
    assert_eq!(config.bounces.poll_interval, defaults.poll_interval);
    for topic in [
        "trade",
        "antitrust",
        "privacy",
        "speech",
        "telecom",
        "ai",
        "cybersecurity",
        "labour",
    ] {
        assert!(
            config.topics.iter().any(|t| t.name == topic),
            "starter lexicon lacks {topic}"
        );
    }
}

#[test]
fn demo_config_is_valid() {
    let dir = root();
    let old = std::env::current_dir().unwrap();
    std::env::set_current_dir(&dir).unwrap();
    let r = Config::from_file(&dir.join("config/demo.toml"));
    std::env::set_current_dir(old).unwrap();
    r.unwrap();
}

/// `gazette check` reports every problem at once, each with file, line and key; exit 2.
#[test]
fn check_reports_every_problem_with_file_line_and_key() {
    let dir = tempdir();
    let text = r#"[newsletter]
name = "X"
from = "not an address"
timezone = "Mars/Olympus"
colour = "blue"

[[feeds]]
url = "htp:/broken"

[[feeds]]
url = "https://ok.example/feed"
wieght = 2.0

[[digests]]
name = "weekly"
schedule = "every monday"
window = "7 days"
topics = ["trade"]
"#;
    std::fs::write(dir.path().join("bad.toml"), text).unwrap();
    let (code, _out, err) = gazette(&["--config", "bad.toml", "check"], dir.path());
    assert_eq!(code, 2, "{err}");
    for expected in [
        "bad.toml:3: newsletter.from: not an email address",
        "bad.toml:4: newsletter.timezone: unknown IANA time zone",
        "bad.toml:5: newsletter.colour: unknown key",
        "bad.toml:8: feeds[0].url: unsupported URL scheme",
        "bad.toml:12: feeds[1].wieght: unknown key",
        "bad.toml:16: digests[0].schedule: bad cron",
        "bad.toml:17: digests[0].window: bad duration",
        "bad.toml:18: digests[0].topics: no [topics.trade] defined",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}

/// `[storage] url` must be a PostgreSQL URL that gazette can use: another scheme, an `sslmode`
/// libpq does not know, and a root certificate file that is not there are refused with the
/// line and key.
#[test]
fn a_storage_url_is_checked() {
    let dir = tempdir();
    for (url, expected) in [
        (
            "mysql://db.example/news",
            "bad.toml:6: storage.url: \"mysql://db.example/news\" is not a PostgreSQL URL",
        ),
        (
            "postgres://db.example/news?sslmode=verify",
            "bad.toml:6: storage.url: sslmode=verify: use disable, prefer, require, verify-ca or verify-full",
        ),
        (
            "postgres://db.example/news?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            "bad.toml:6: storage.url: sslrootcert /nonexistent/ca.pem: No such file",
        ),
    ] {
        let text = format!(
            "[newsletter]\nname = \"X\"\nfrom = \"X <x@news.example.org>\"\n\n[storage]\nurl = \"{url}\"\n\n[[feeds]]\nurl = \"https://ok.example/feed\"\n\n[[digests]]\nname = \"weekly\"\n"
        );
        std::fs::write(dir.path().join("bad.toml"), text).unwrap();
        let (code, _out, err) = gazette(&["--config", "bad.toml", "check"], dir.path());
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // A relative root file resolves from the config's folder, like every path in a config.
    let text = "[newsletter]\nname = \"X\"\nfrom = \"X <x@news.example.org>\"\n\n[storage]\nurl = \"postgres://db.example/news?sslmode=verify-full&sslrootcert=certs/ca.pem\"\n\n[[feeds]]\nurl = \"https://ok.example/feed\"\n\n[[digests]]\nname = \"weekly\"\n";
    let sub = dir.path().join("conf");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("bad.toml"), text).unwrap();
    let (code, _out, err) = gazette(&["--config", "conf/bad.toml", "check"], dir.path());
    assert_eq!(code, 2, "{err}");
    let expected = "conf/bad.toml:6: storage.url: sslrootcert conf/certs/ca.pem: No such file";
    assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
}

#[test]
fn a_syntax_error_names_the_line() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[newsletter]\nname = \"x\nfrom = 1\n",
    )
    .unwrap();
    let (code, _, err) = gazette(&["--config", "bad.toml", "check"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:2:"), "{err}");
}

#[test]
fn init_writes_a_config_that_checks_and_takes_feeds_from_opml() {
    let dir = tempdir();
    let opml = r#"<?xml version="1.0"?><opml version="2.0"><body>
      <outline text="Policy"><outline text="EFF" type="rss" xmlUrl="https://www.eff.org/rss/updates.xml"/>
      <outline title="Techdirt" type="rss" xmlUrl="https://www.techdirt.com/feed/"/>
      <outline title="Bad" type="rss" xmlUrl="javascript:alert(1)"/></outline></body></opml>"#;
    std::fs::write(dir.path().join("subs.opml"), opml).unwrap();
    let (code, out, err) = gazette(&["init", "site", "--opml", "subs.opml"], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("templates/digest.html"));
    assert!(out.contains("next: edit site/config/gazette.toml"), "{out}");
    assert!(
        err.contains("skipped the outline with xmlUrl \"javascript:alert(1)\""),
        "{err}"
    );
    let (code, _, err) = gazette(
        &["--config", "site/config/gazette.toml", "check"],
        dir.path(),
    );
    assert_eq!(code, 0, "the config written checks: {err}");
    let config = Config::from_file(&dir.path().join("site/config/gazette.toml")).unwrap();
    let urls: Vec<_> = config.feeds.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://www.eff.org/rss/updates.xml",
            "https://www.techdirt.com/feed/"
        ]
    );
    let (code, _, err) = gazette(&["init", "site"], dir.path());
    assert_eq!(code, 1, "refuses to overwrite");
    assert!(err.contains("not overwriting"), "{err}");
}

/// Issue 14: relative paths in a config are read from the config file's folder, so a copied
/// config works from any working directory: `fetch` and `send --dry-run` of the demo run from
/// `/`, and the outbox lands next to the config, not in the current folder.
#[test]
fn relative_paths_resolve_from_the_config_folder() {
    let dir = tempdir();
    let home = dir.path().join("site");
    for rel in [
        "config/demo.toml",
        "config/demo/intro.md",
        "config/demo/feeds/policy-wire-rss.xml",
        "config/demo/feeds/digital-rights-atom.xml",
        "config/demo/feeds/market-watch.json",
    ] {
        let to = home.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root().join(rel), to).unwrap();
    }
    let config = home.join("config/demo.toml");
    let elsewhere = tempdir();
    let (code, out, err) = gazette(
        &["--config", config.to_str().unwrap(), "send", "--dry-run"],
        elsewhere.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote "), "{out}");
    assert!(
        home.join("out/demo/gazette.db").is_file(),
        "database next to the config"
    );
    assert!(
        std::fs::read_dir(home.join("out/outbox")).unwrap().count() >= 2,
        "outbox next to the config"
    );
    assert!(
        std::fs::read_dir(elsewhere.path())
            .unwrap()
            .next()
            .is_none(),
        "nothing written in the current folder"
    );
    let c = Config::from_file(&config).unwrap();
    assert_eq!(
        c.digests[0].intro.as_deref(),
        Some(home.join("config/demo/intro.md").as_path())
    );
    // The feed keys stay as written, so stories keep their ids whatever the working folder.
    assert_eq!(c.feeds[0].url, "demo/feeds/policy-wire-rss.xml");
}

/// Issue 14: `smtp://` with a user to a host that is not loopback would send AUTH in clear
/// text: refused, naming `smtp+starttls://`. `check` warns when the DKIM domain does not align
/// with the From domain.
#[test]
fn clear_text_auth_is_refused_and_unaligned_dkim_is_warned_about() {
    let err = match gazette::deliver::Transport::from_url("smtp://ann:pw@mail.example.org:25", 1) {
        Err(e) => format!("{e:#}"),
        Ok(_) => panic!("clear-text AUTH to a remote host was accepted"),
    };
    assert!(
        err.contains("clear text") && err.contains("smtp+starttls://ann@mail.example.org:587"),
        "{err}"
    );
    assert!(gazette::deliver::Transport::from_url("smtp://ann:pw@127.0.0.1:2525", 1).is_ok());
    assert!(gazette::deliver::Transport::from_url("smtp://mail.example.org:25", 1).is_ok());

    let dir = tempdir();
    let d = dir.path();
    let key = d.join("dkim.pem");
    let made = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("2048")
        .output();
    if !made.is_ok_and(|o| o.status.success()) {
        eprintln!("skipping the DKIM half: no openssl");
        return;
    }
    let text = crate::support::config_text(
        d,
        "file:///tmp/outbox",
        "[[feeds]]\nurl = \"x.xml\"\n[[digests]]\nname = \"weekly\"\n",
    )
    .replace(
        "max_per_second = 1000\n",
        "max_per_second = 1000\ndkim_key = \"dkim.pem\"\ndkim_selector = \"s1\"\ndkim_domain = \"mailer.example.com\"\n",
    );
    crate::support::write_config(d, &text);
    let (code, _, err) = gazette(&["--config", "gazette.toml", "check"], d);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("dkim_domain \"mailer.example.com\" does not align with the From domain \"news.example.org\""),
        "{err}"
    );
    crate::support::write_config(d, &text.replace("mailer.example.com", "example.org"));
    let (code, _, err) = gazette(&["--config", "gazette.toml", "check"], d);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains("does not align"),
        "a parent domain aligns: {err}"
    );
}

/// `check` renders every template over a sample issue: a template that names a field that
/// does not exist fails `check` (exit 2, naming the template and its line), not the first send.
#[test]
fn check_finds_a_template_field_that_does_not_exist() {
    let dir = crate::support::tempdir();
    let d = dir.path();
    std::fs::create_dir_all(d.join("tpl")).unwrap();
    std::fs::write(
        d.join("tpl/digest.txt"),
        "{{ newsletter.name }} #{{ number }}\n{{ newsletter_typo.name }}\n",
    )
    .unwrap();
    let text = crate::support::config_text(
        d,
        "file:///tmp/outbox",
        "[[feeds]]\nurl = \"x.xml\"\n[[digests]]\nname = \"weekly\"\n",
    )
    .replace("[newsletter]\n", "[newsletter]\ntemplates = \"tpl\"\n");
    crate::support::write_config(d, &text);
    let (code, _, err) = gazette(&["--config", "gazette.toml", "check"], d);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("newsletter.templates")
            && err.contains("newsletter_typo.name")
            && err.contains("digest.txt, line 2"),
        "{err}"
    );
    std::fs::write(
        d.join("tpl/digest.txt"),
        "{{ newsletter.name }} #{{ number }}\n",
    )
    .unwrap();
    let (code, _, err) = gazette(&["--config", "gazette.toml", "check"], d);
    assert_eq!(code, 0, "{err}");
    // A delivery URL that `send` would refuse fails `check` too.
    crate::support::write_config(
        d,
        &text.replace("file:///tmp/outbox", "smtp://user:pw@mail.example.org:25"),
    );
    let (code, _, err) = gazette(&["--config", "gazette.toml", "check"], d);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("delivery.url") && err.contains("clear text"),
        "{err}"
    );
    // A schedule with no such date is a warning: the digest would never go out on its own.
    crate::support::write_config(
        d,
        &text.replace(
            "name = \"weekly\"\n",
            "name = \"weekly\"\nschedule = \"0 8 31 2 *\"\n",
        ),
    );
    let (code, _, err) = gazette(&["--config", "gazette.toml", "check"], d);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("schedule \"0 8 31 2 *\" never fires"), "{err}");
}
