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
    assert_eq!(code, 2, "bad usage");
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
    assert_eq!(csv, "email,name,digests,status,topics,format,timezone,paused_until\nann@example.org,Ann,weekly;daily,confirmed,,html,,\nbo@example.org,,,confirmed,,html,,\ncy@example.org,\"Cy, Jr.\",daily,confirmed,,html,,\n");
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
        let store = crate::support::open_store(&d.join("gazette.toml"));
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
        out.contains("0 added, 0 updated, 1 unchanged, 1 suppressed"),
        "{out}"
    );
    assert!(
        err.contains("list.csv:2: ann@example.org: unsubscribed earlier: not re-subscribed"),
        "each suppressed line is named: {err}"
    );
    let l = list(d);
    assert_eq!(l[0]["email"], "ann@example.org");
    assert_eq!(l[0]["status"], "unsubscribed");
}

/// Issue 14: `remove` of an unsubscribed or bouncing address keeps it suppressed (by hash), so
/// neither `add` nor `import` brings it back; `import` never turns `bouncing` into `confirmed`;
/// `export` writes every row with its status, `--status` filters, and importing that export
/// elsewhere keeps the unsubscribed suppressed.
#[test]
fn remove_then_import_never_resubscribes_and_export_keeps_every_status() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(
        d.join("list.csv"),
        "email,name,digests\nann@example.org,Ann,\nbo@example.org,Bo,\ncy@example.org,Cy,\n",
    )
    .unwrap();
    assert_eq!(subscribers(d, &["import", "list.csv"]).0, 0);
    {
        use gazette::model::SubscriberStatus::{Bouncing, Unsubscribed};
        let store = crate::support::open_store(&d.join("gazette.toml"));
        let now = chrono::Utc::now();
        let ann = store.subscriber("ann@example.org").unwrap().unwrap();
        store
            .set_subscriber_status(ann.id, Unsubscribed, Some("one-click"), now)
            .unwrap();
        let bo = store.subscriber("bo@example.org").unwrap().unwrap();
        store
            .set_subscriber_status(bo.id, Bouncing, None, now)
            .unwrap();
    }
    let (code, csv, _) = subscribers(d, &["export"]);
    assert_eq!(code, 0);
    assert_eq!(
        csv,
        "email,name,digests,status,topics,format,timezone,paused_until\nann@example.org,Ann,,unsubscribed,,html,,\nbo@example.org,Bo,,bouncing,,html,,\ncy@example.org,Cy,,confirmed,,html,,\n"
    );
    let (_, csv, _) = subscribers(d, &["export", "--status", "bouncing"]);
    assert_eq!(
        csv,
        "email,name,digests,status,topics,format,timezone,paused_until\nbo@example.org,Bo,,bouncing,,html,,\n"
    );
    std::fs::write(d.join("export.csv"), subscribers(d, &["export"]).1).unwrap();

    let (code, out, _) = subscribers(d, &["remove", "ann@example.org"]);
    assert_eq!(code, 0);
    assert!(out.contains("stays suppressed"), "{out}");
    let (code, out, err) = subscribers(d, &["import", "list.csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0 added, 0 updated, 1 unchanged, 2 suppressed"),
        "{out}"
    );
    assert!(
        err.contains("list.csv:2: ann@example.org: suppressed"),
        "{err}"
    );
    assert!(
        err.contains("list.csv:3: bo@example.org: bouncing"),
        "{err}"
    );
    let (code, out, _) = subscribers(d, &["add", "ann@example.org"]);
    assert_eq!(code, 0);
    assert!(out.contains("suppressed"), "{out}");
    let statuses: Vec<(String, String)> = list(d)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["email"].as_str().unwrap().into(),
                s["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("bo@example.org".to_string(), "bouncing".to_string()),
            ("cy@example.org".to_string(), "confirmed".to_string())
        ]
    );

    // The export, imported into a new list, keeps the unsubscribed and bouncing suppressed.
    let other = setup();
    std::fs::copy(d.join("export.csv"), other.path().join("export.csv")).unwrap();
    let (code, out, _) = subscribers(other.path(), &["import", "export.csv"]);
    assert_eq!(code, 0);
    assert!(out.contains("1 added"), "{out}");
    assert_eq!(list(other.path()).as_array().unwrap().len(), 1);
    let (_, out, _) = subscribers(other.path(), &["add", "ann@example.org"]);
    assert!(out.contains("suppressed"), "{out}");
}

/// Issue 14: a name with CR/LF (or another control character) is refused at every entrance,
/// naming the field or the CSV line, and nothing is stored.
#[test]
fn names_with_line_breaks_are_refused_by_add_and_import() {
    let dir = setup();
    let d = dir.path();
    let (code, _, err) = subscribers(
        d,
        &[
            "add",
            "eve@example.org",
            "--name",
            "Eve\r\nBcc: x@evil.example",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("--name") && err.contains("control character"),
        "{err}"
    );
    std::fs::write(
        d.join("crlf.csv"),
        "email,name,digests\nok@example.org,Ok,\neve@example.org,\"Eve\r\nBcc: x@evil.example\",\n",
    )
    .unwrap();
    let (code, _, err) = subscribers(d, &["import", "crlf.csv"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("crlf.csv:3:") && err.contains("control character"),
        "{err}"
    );
    assert_eq!(
        list(d).as_array().unwrap().len(),
        0,
        "nothing from a bad file is stored"
    );
}

/// `gazette --config gazette.toml subscribers ARGS` in `d`.
fn subscribers(d: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--config", "gazette.toml", "subscribers"];
    all.extend_from_slice(args);
    gazette(&all, d)
}

/// A reader who unsubscribed (or was erased) and asked again through the form is pending until
/// their own confirmation: the operator's add or import does not confirm them instead. And a
/// form post by anyone does not rewrite a pending request's name or digests, which the
/// reader's own link would then confirm.
#[test]
fn a_form_request_is_confirmed_only_by_the_reader_and_never_rewritten() {
    use gazette::model::SubscriberStatus::{Confirmed, Pending};
    use gazette::store::{SignupOutcome, Store, SubscriberUpsert};

    let dir = tempdir();
    let store = match crate::support::postgres() {
        Some(admin) => {
            Store::connect(&gazette::store::postgres::fresh_database(&admin).unwrap()).unwrap()
        }
        None => Store::open(&dir.path().join("g.db")).unwrap(),
    };
    let now = chrono::Utc::now();
    let weekly = vec!["weekly".to_string()];
    store
        .upsert_subscriber("dave@example.org", Some("Dave"), &weekly, Confirmed, now)
        .unwrap();
    let id = store.subscriber("dave@example.org").unwrap().unwrap().id;
    assert!(store.unsubscribe(id, "one-click", now).unwrap());
    // Anyone posts the form for dave: pending, waiting for dave's own link.
    let asked = store
        .request_subscription("dave@example.org", None, &weekly, now)
        .unwrap();
    assert!(matches!(asked, SignupOutcome::SendConfirmation(_)));
    let held = store
        .upsert_subscriber("dave@example.org", Some("Dave"), &weekly, Confirmed, now)
        .unwrap();
    assert!(matches!(held, SubscriberUpsert::Suppressed(_)), "{held:?}");
    let dave = store.subscriber("dave@example.org").unwrap().unwrap();
    assert_eq!(dave.status, Pending);

    // Victoria asks for the daily digest; a stranger then posts her address again with
    // another name and digest.
    let daily = vec!["daily".to_string()];
    store
        .request_subscription("victoria@example.org", Some("Victoria"), &daily, now)
        .unwrap();
    store
        .request_subscription(
            "victoria@example.org",
            Some("Win a prize at http://evil.example"),
            &weekly,
            now,
        )
        .unwrap();
    let v = store.subscriber("victoria@example.org").unwrap().unwrap();
    assert_eq!(v.name.as_deref(), Some("Victoria"));
    assert_eq!(v.digests, daily);
    // The operator may still confirm a new address that never unsubscribed.
    let added = store
        .upsert_subscriber(
            "victoria@example.org",
            Some("Victoria"),
            &daily,
            Confirmed,
            now,
        )
        .unwrap();
    assert!(matches!(added, SubscriberUpsert::Updated), "{added:?}");
}
