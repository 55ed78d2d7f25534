use crate::support::{config_text, gazette, tempdir, write_config};

fn setup() -> tempfile::TempDir {
    let dir = tempdir();
    let text = config_text(dir.path(), "file:///tmp/outbox", "[[feeds]]\nurl = \"x.xml\"\n[[digests]]\nname = \"weekly\"\n[[digests]]\nname = \"daily\"\n");
    write_config(dir.path(), &text);
    dir
}

fn list(dir: &std::path::Path) -> serde_json::Value {
    let (code, out, err) = gazette(
        &["--config", "gazette.toml", "--json", "subscribers", "list"],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn add_list_remove() {
    let dir = setup();
    let d = dir.path();
    let (code, _, err) = subscribers(
        d,
        &[
            "add",
            "Ada@EXAMPLE.org",
            "--name",
            "Ada",
            "--digest",
            "weekly",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let l = list(d);
    assert_eq!(l[0]["email"], "Ada@example.org");
    assert_eq!(l[0]["status"], "confirmed");
    assert_eq!(l[0]["digests"], serde_json::json!(["weekly"]));
    let (code, _, err) = subscribers(d, &["add", "x@y.org", "--digest", "monthly"]);
    assert_eq!(code, 1);
    assert!(err.contains("no digest named \"monthly\""), "{err}");
    let (code, _, _) = subscribers(d, &["remove", "ada@example.org"]);
    assert_eq!(code, 0);
    assert_eq!(list(d).as_array().unwrap().len(), 0);
}

#[test]
fn import_rejects_bad_lines_by_number_and_is_idempotent() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(
        d.join("bad.csv"),
        "email,name,digests\nok@example.org,Ok,weekly\nnot-an-address,Bad,\n",
    )
    .unwrap();
    let (code, _, err) = subscribers(d, &["import", "bad.csv"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("bad.csv:3:") && err.contains("not-an-address"),
        "{err}"
    );
    assert_eq!(
        list(d).as_array().unwrap().len(),
        0,
        "nothing from a bad file is stored"
    );

    std::fs::write(d.join("good.csv"), "email,name,digests\nann@example.org,Ann,weekly;daily\nbo@example.org,,\n\"cy@example.org\",\"Cy, Jr.\",daily\n").unwrap();
    let (code, out, err) = subscribers(d, &["import", "good.csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 added, 0 updated, 0 unchanged"), "{out}");
    let (_, out, _) = subscribers(d, &["import", "good.csv"]);
    assert!(out.contains("0 added, 0 updated, 3 unchanged"), "{out}");
    let (code, csv, _) = subscribers(d, &["export"]);
    assert_eq!(code, 0);
    assert_eq!(csv, "email,name,digests\nann@example.org,Ann,weekly;daily\nbo@example.org,,\ncy@example.org,\"Cy, Jr.\",daily\n");
}

/// `add --pending` stores a pending subscriber and sends the double opt-in mail.
#[test]
fn add_pending_sends_a_confirmation_mail() {
    let dir = tempdir();
    let outbox = dir.path().join("outbox");
    let text = config_text(
        dir.path(),
        &format!("file://{}", outbox.display()),
        "[[feeds]]\nurl = \"x.xml\"\n[[digests]]\nname = \"weekly\"\n",
    );
    write_config(dir.path(), &text);
    let d = dir.path();
    let (code, out, err) = subscribers(d, &["add", "new@example.org", "--pending"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pending; confirmation mail sent"), "{out}");
    assert_eq!(list(d)[0]["status"], "pending");
    let mails: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(mails.len(), 1);
    let mail = std::fs::read_to_string(&mails[0]).unwrap();
    assert!(
        mail.contains("To: new@example.org") && mail.contains("https://news.example.org/confirm/"),
        "{mail}"
    );
    // Asking again the same day sends nothing more (per-address cap).
    let (_, out, _) = subscribers(d, &["add", "new@example.org", "--pending"]);
    assert!(out.contains("not sending another"), "{out}");
    assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 1);
}

/// Re-importing an old list never re-subscribes someone who unsubscribed.
#[test]
fn import_leaves_unsubscribed_addresses_alone() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(
        d.join("list.csv"),
        "email,name,digests\nann@example.org,Ann,\nbo@example.org,Bo,\n",
    )
    .unwrap();
    let (code, _, err) = subscribers(d, &["import", "list.csv"]);
    assert_eq!(code, 0, "{err}");
    {
        let store = gazette::store::Store::open(&d.join("gazette.db")).unwrap();
        let ann = store.subscriber("ann@example.org").unwrap().unwrap();
        store
            .set_subscriber_status(
                ann.id,
                gazette::model::SubscriberStatus::Unsubscribed,
                Some("one-click"),
                chrono::Utc::now(),
            )
            .unwrap();
    }
    let (code, out, err) = subscribers(d, &["import", "list.csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0 added, 0 updated, 1 unchanged, 1 unsubscribed (left alone)"),
        "{out}"
    );
    let l = list(d);
    assert_eq!(l[0]["email"], "ann@example.org");
    assert_eq!(l[0]["status"], "unsubscribed");
}

/// `gazette --config gazette.toml subscribers ARGS` in `d`.
fn subscribers(d: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--config", "gazette.toml", "subscribers"];
    all.extend_from_slice(args);
    gazette(&all, d)
}
