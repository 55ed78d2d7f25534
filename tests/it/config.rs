use gazette::config::Config;

use crate::support::{gazette, root, tempdir};

/// The starter config that `gazette init` writes parses and validates.
#[test]
fn starter_config_is_valid() {
    let path = root().join("config/gazette.toml");
    let config = Config::from_file(&path).unwrap();
    assert!(config.feeds.len() >= 7);
    assert_eq!(config.digests[0].name, "weekly");
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
      <outline title="Techdirt" type="rss" xmlUrl="https://www.techdirt.com/feed/"/></outline></body></opml>"#;
    std::fs::write(dir.path().join("subs.opml"), opml).unwrap();
    let (code, out, err) = gazette(&["init", "site", "--opml", "subs.opml"], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("templates/digest.html"));
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
