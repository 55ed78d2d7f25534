//! A database made by the previous version (schema 3, written by gazette before issue 18:
//! three subscribers, one removed, one issue sent to all three) opens with this one: migration 6
//! rebuilds `subscribers` for `complained` and keeps every row and foreign key; migration 8
//! rebuilds it again so that no subscriber id is ever given twice.

use crate::support::{gazette, postgres_server, root, sqlite_config_text, tempdir, write_config};

#[test]
fn a_schema_3_database_migrates_with_its_rows_and_foreign_keys() {
    let dir = schema3_home(|_| {});
    let d = dir.path();
    let run = |args: &[&str]| run(d, args);
    let (code, out, err) = run(&["--json", "subscribers", "list"]);
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let emails: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ada@example.org", "cy@example.org"]);
    let (code, out, err) = run(&["--json", "issues", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    let issue: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(issue["sent"], 3);

    let db = rusqlite::Connection::open(d.join("gazette.db")).unwrap();
    let version: usize = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version,
        gazette::store::SCHEMA_VERSION,
        "every migration applied"
    );
    let broken: i64 = db
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(broken, 0);
    let sql: String = db
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'deliveries'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.contains("REFERENCES subscribers(id)"), "{sql}");
    drop(db);

    // The rebuilt table takes the new status: a complaint about the old issue, matched by
    // its recipient (the old messages carry no VERP token).
    let report = "From: fbl@isp.example\r\nTo: digest@news.example.org\r\nSubject: report\r\n\
        Message-ID: <r1@isp.example>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nAbuse report\r\n--b\r\n\
        Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\n\
        Original-Rcpt-To: cy@example.org\r\n\r\n--b--\r\n";
    std::fs::write(d.join("arf.eml"), report).unwrap();
    let (code, out, err) = run(&["--json", "bounces", "process", "arf.eml"]);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["outcome"], "complained", "{rows}");
    assert_eq!(rows[0]["matched_by"], "recipient", "{rows}");
    let (_, out, _) = run(&["--json", "subscribers", "list"]);
    assert!(out.contains("\"complained\""), "{out}");

    // Migration 8: an id is never given again. Unsubscribe and manage links carry it and never
    // expire: the next reader must not take over the links of the one removed before.
    let id_of = |email: &str| id_of(d, email);
    assert_eq!(id_of("cy@example.org"), 3);
    let (code, _, err) = run(&["subscribers", "remove", "cy@example.org"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["subscribers", "add", "dee@example.org"]);
    assert_eq!(code, 0, "{err}");
    // bob (id 2) was removed before the migration and left no trace of his id: the sequence
    // starts far above every id still found.
    assert!(
        id_of("dee@example.org") > 1_000_000,
        "ids 2 and 3 were bob's and cy's"
    );
}

/// Migration 8 on a database whose newest reader was removed before it: the next reader does
/// not get that reader's id (their links never expire).
#[test]
fn migration_8_never_gives_the_id_of_a_reader_removed_before_it() {
    let dir = schema3_home(|db| {
        db.execute_batch(
            "UPDATE deliveries SET subscriber_id = NULL WHERE subscriber_id = 3;
             DELETE FROM subscribers WHERE id = 3;",
        )
        .unwrap();
    });
    let d = dir.path();
    let (code, _, err) = run(d, &["subscribers", "add", "eve@example.org"]);
    assert_eq!(code, 0, "{err}");
    let id = id_of(d, "eve@example.org");
    assert!(
        id > 3,
        "eve got id {id}, which a removed reader's links may carry"
    );
}

/// `migrate --to` copies an old home's SQLite database into a new PostgreSQL one: the same
/// commands then read the same subscribers and issue from it, a new reader's id is above every
/// id SQLite ever gave (the removed reader's too), and the link-signing secret comes along, so
/// links already mailed keep working.
#[test]
fn migrate_copies_the_sqlite_database_to_postgres() {
    let Some(admin) = postgres_server() else {
        return;
    };
    let dir = schema3_home(|_| {});
    let d = dir.path();
    let secret = "0123456789abcdef0123456789abcdef";
    std::fs::write(d.join("secret"), format!("{secret}\n")).unwrap();
    let subscribers = run(d, &["--json", "subscribers", "list"]);
    let issue = run(d, &["--json", "issues", "show", "1"]);
    assert_eq!((subscribers.0, issue.0), (0, 0), "{}", issue.2);

    let url = gazette::store::postgres::fresh_database(&admin).unwrap();
    let (code, out, err) = run(d, &["--json", "migrate", "--to", &url]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["tables"]["subscribers"], 2, "{report}");
    assert_eq!(report["tables"]["deliveries"], 3, "{report}");
    assert_eq!(report["secret"], true);

    // The config now names the PostgreSQL database; the SQLite file is gone.
    let config = std::fs::read_to_string(d.join("gazette.toml")).unwrap();
    let sqlite = format!("path = \"{}\"", d.join("gazette.db").display());
    assert!(config.contains(&sqlite));
    std::fs::write(
        d.join("gazette.toml"),
        config.replace(&sqlite, &format!("url = \"{url}\"")),
    )
    .unwrap();
    std::fs::remove_file(d.join("gazette.db")).unwrap();
    assert_eq!(run(d, &["--json", "subscribers", "list"]), subscribers);
    assert_eq!(run(d, &["--json", "issues", "show", "1"]), issue);

    let (code, _, err) = run(d, &["subscribers", "add", "eve@example.org"]);
    assert_eq!(code, 0, "{err}");
    let store = gazette::store::Store::connect(&url).unwrap();
    let eve = store.subscriber("eve@example.org").unwrap().unwrap();
    assert!(eve.id > 3, "eve got id {}, a removed reader's", eve.id);
    assert_eq!(store.shared_secret().unwrap().as_deref(), Some(secret));

    // Run again, it refuses: the config already names PostgreSQL.
    let (code, _, err) = run(d, &["migrate", "--to", &url]);
    assert_eq!(code, 1);
    assert!(err.contains("[storage] url is already set"), "{err}");
}

/// A home holding the schema-3 database (changed first by `prepare`, as the old gazette left
/// it) and a config that points at it.
fn schema3_home(prepare: impl FnOnce(&rusqlite::Connection)) -> tempfile::TempDir {
    let dir = tempdir();
    let d = dir.path();
    std::fs::copy(
        root().join("tests/data/db/schema3.db"),
        d.join("gazette.db"),
    )
    .unwrap();
    prepare(&rusqlite::Connection::open(d.join("gazette.db")).unwrap());
    let text = sqlite_config_text(
        d,
        "file:///tmp/gazette-migration-outbox",
        "[[feeds]]\nurl = \"feed.xml\"\n[[digests]]\nname = \"weekly\"\n",
    );
    write_config(d, &text);
    dir
}

fn run(d: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--config", "gazette.toml"];
    all.extend_from_slice(args);
    gazette(&all, d)
}

fn id_of(d: &std::path::Path, email: &str) -> i64 {
    rusqlite::Connection::open(d.join("gazette.db"))
        .unwrap()
        .query_row(
            "SELECT id FROM subscribers WHERE email = ?1",
            [email],
            |r| r.get(0),
        )
        .unwrap()
}

/// Hosts on one PostgreSQL database sign links with one secret: the first to need it creates it
/// in the database, the others read it, so a link signed on one host verifies on another.
#[test]
fn hosts_on_one_postgres_database_share_the_link_secret() {
    let Some(admin) = postgres_server() else {
        return;
    };
    let url = gazette::store::postgres::fresh_database(&admin).unwrap();
    let (a, b) = (
        gazette::store::Store::connect(&url).unwrap(),
        gazette::store::Store::connect(&url).unwrap(),
    );
    let secret = a.shared_secret().unwrap().expect("kept in the database");
    assert_eq!(secret.len(), 64);
    assert_eq!(b.shared_secret().unwrap().as_deref(), Some(secret.as_str()));
    let token = gazette::tokens::Tokens::new(secret.as_bytes())
        .sign(&gazette::tokens::Claim::Unsubscribe(7));
    let other = b.shared_secret().unwrap().unwrap();
    assert_eq!(
        gazette::tokens::Tokens::new(other.as_bytes()).verify(&token, 0),
        Some(gazette::tokens::Claim::Unsubscribe(7))
    );
    // SQLite keeps its secret in a file beside the database instead.
    let dir = tempdir();
    let sqlite = gazette::store::Store::open(&dir.path().join("g.db")).unwrap();
    assert_eq!(sqlite.shared_secret().unwrap(), None);
}
