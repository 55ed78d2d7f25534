//! The scheduler driven by a pinned clock: missed slots, races, restarts, empty weeks.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use gazette::config::Config;
use gazette::model::SubscriberStatus;
use gazette::pipeline::{Clock, Gazette};
use gazette::schedule::runner::{Runner, SlotOutcome};
use gazette::schedule::slot_key;

use crate::support::{config_text, root, tempdir};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A clock the test moves by hand.
fn pinned(t: &str) -> (Clock, Arc<Mutex<DateTime<Utc>>>) {
    let now = Arc::new(Mutex::new(utc(t)));
    let c = now.clone();
    (Arc::new(move || *c.lock().unwrap()), now)
}

/// Weekly on Monday 08:00 America/New_York; the demo feeds (stories of 23–27 Nov 2026).
fn gazette_at(dir: &std::path::Path, clock: Clock) -> Gazette {
    let feeds: String = [
        "policy-wire-rss.xml",
        "digital-rights-atom.xml",
        "market-watch.json",
    ]
    .iter()
    .map(|f| {
        format!(
            "[[feeds]]\nurl = \"{}\"\n",
            root().join("config/demo/feeds").join(f).display()
        )
    })
    .collect();
    let extra = format!("{feeds}\n[[digests]]\nname = \"weekly\"\nschedule = \"0 8 * * MON\"\nwindow = \"7d\"\ncatch_up = \"12h\"\n");
    let text = config_text(
        dir,
        &format!("file://{}", dir.join("outbox").display()),
        &extra,
    )
    .replace("Europe/Berlin", "America/New_York");
    let config = Config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    let g = Gazette::open(config, clock).unwrap();
    g.store
        .upsert_subscriber(
            "ada@example.org",
            Some("Ada"),
            &[],
            SubscriberStatus::Confirmed,
            g.now(),
        )
        .unwrap();
    g
}

fn outbox(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("outbox"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn runner(g: &Gazette) -> Runner<'_> {
    Runner {
        gazette: g,
        stop: Default::default(),
        health: Default::default(),
    }
}

#[tokio::test]
async fn a_missed_slot_inside_catch_up_runs_once_at_start_and_never_after_a_restart() {
    let dir = tempdir();
    // Monday 30 Nov 2026, 10:00 in New York: the 08:00 slot was missed 2 hours ago.
    let (clock, _) = pinned("2026-11-30T15:00:00Z");
    let g = gazette_at(dir.path(), clock.clone());
    let out = runner(&g).start().await.unwrap();
    let ran: Vec<_> = out
        .iter()
        .filter(|(_, _, o)| matches!(o, SlotOutcome::Issue { sent: 1, .. }))
        .collect();
    assert_eq!(ran.len(), 1, "{out:?}");
    assert_eq!(ran[0].1, utc("2026-11-30T13:00:00Z"));
    assert_eq!(outbox(dir.path()), 1);
    // A restart on the same database does not run the slot again.
    let g2 = gazette_at(dir.path(), clock);
    let again = runner(&g2).start().await.unwrap();
    assert!(
        again
            .iter()
            .all(|(_, _, o)| *o == SlotOutcome::AlreadyClaimed),
        "{again:?}"
    );
    assert_eq!(g2.store.issues().unwrap().len(), 1);
    assert_eq!(outbox(dir.path()), 1);
}

#[tokio::test]
async fn a_slot_missed_by_more_than_catch_up_is_skipped() {
    let dir = tempdir();
    // Monday 30 Nov 2026, 23:00 in New York: 15 hours late.
    let (clock, _) = pinned("2026-12-01T04:00:00Z");
    let g = gazette_at(dir.path(), clock);
    let out = runner(&g).start().await.unwrap();
    assert!(
        out.iter().any(|(_, s, o)| *s == utc("2026-11-30T13:00:00Z")
            && *o == SlotOutcome::Skipped("missed by more than catch_up")),
        "{out:?}"
    );
    assert!(g.store.issues().unwrap().is_empty());
    assert_eq!(outbox(dir.path()), 0);
}

#[tokio::test]
async fn two_schedulers_racing_for_one_slot_make_one_issue() {
    let dir = tempdir();
    let (clock, _) = pinned("2026-11-30T13:00:05Z");
    let a = gazette_at(dir.path(), clock.clone());
    let b = gazette_at(dir.path(), clock);
    let slot = utc("2026-11-30T13:00:00Z");
    let digest = a.config.digests[0].clone();
    let (ra, rb) = (runner(&a), runner(&b));
    let (x, y) = tokio::join!(ra.run_slot(&digest, slot), rb.run_slot(&digest, slot));
    let outcomes = [x.unwrap(), y.unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, SlotOutcome::Issue { .. }))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == SlotOutcome::AlreadyClaimed)
            .count(),
        1
    );
    assert_eq!(a.store.issues().unwrap().len(), 1);
    assert_eq!(outbox(dir.path()), 1);
}

#[tokio::test]
async fn a_restart_in_the_middle_of_an_issue_finishes_it_without_repeats() {
    let dir = tempdir();
    let (clock, _) = pinned("2026-11-30T13:00:05Z");
    let g = gazette_at(dir.path(), clock.clone());
    for i in 0..4 {
        g.store
            .upsert_subscriber(
                &format!("reader{i}@example.org"),
                None,
                &[],
                SubscriberStatus::Confirmed,
                g.now(),
            )
            .unwrap();
    }
    // The first process claimed the slot and stored the issue, then died before delivering.
    let digest = g.config.digests[0].clone();
    let key = slot_key(utc("2026-11-30T13:00:00Z"));
    assert!(g
        .store
        .claim_slot(&digest.name, &key, None, g.now())
        .unwrap());
    g.summarize_pending().await.unwrap();
    gazette::ingest::fetch_all(&g.config, &g.store, g.now(), &|_| {})
        .await
        .unwrap();
    g.summarize_pending().await.unwrap();
    let plan = g.plan(&digest, None).unwrap();
    let (gazette::store::Created::Stored(id, _), _) = g
        .publish(
            &plan,
            g.readers(&digest, &plan.view, None).unwrap(),
            Some(&key),
        )
        .unwrap()
    else {
        panic!("nothing else stored an issue")
    };
    assert_eq!(outbox(dir.path()), 0);
    drop(g);
    let g = gazette_at(dir.path(), clock);
    let out = runner(&g).start().await.unwrap();
    assert!(
        out.iter()
            .all(|(_, _, o)| *o == SlotOutcome::AlreadyClaimed),
        "{out:?}"
    );
    let issue = g.store.issue(id).unwrap().unwrap();
    assert_eq!((issue.sent, issue.queued, issue.failed), (5, 0, 0));
    assert_eq!(outbox(dir.path()), 5);
    assert_eq!(g.store.issues().unwrap().len(), 1);
}

#[tokio::test]
async fn an_empty_week_sends_nothing() {
    let dir = tempdir();
    // A Monday two months after the demo stories: nothing in the 7-day window.
    let (clock, now) = pinned("2027-02-01T12:59:00Z");
    let g = gazette_at(dir.path(), clock);
    let r = runner(&g);
    let before = g.now();
    *now.lock().unwrap() = utc("2027-02-01T13:00:30Z");
    let out = r.tick(before, g.now()).await.unwrap();
    assert_eq!(
        out,
        [(
            "weekly".to_string(),
            utc("2027-02-01T13:00:00Z"),
            SlotOutcome::Empty
        )]
    );
    assert!(g.store.issues().unwrap().is_empty());
    assert_eq!(
        g.store
            .slot_outcome("weekly", "2027-02-01T13:00:00Z")
            .unwrap(),
        Some(Some("empty: nothing sent".into()))
    );
}

/// The readers of a new issue are read and written inside its transaction (nothing is held per
/// reader): the rows match the subscribers who want the digest, and a `send` that requires
/// recipients stores nothing when there are none, saying why.
#[tokio::test]
async fn an_issue_is_queued_for_each_confirmed_reader_and_none_is_stored_without_readers() {
    let dir = tempdir();
    let (clock, _) = pinned("2026-11-30T15:00:00Z");
    let g = gazette_at(dir.path(), clock);
    gazette::ingest::fetch_all(&g.config, &g.store, g.now(), &|_| {})
        .await
        .unwrap();
    g.summarize_pending().await.unwrap();
    let digest = g.config.digests[0].clone();
    let require = gazette::pipeline::PlanArgs {
        require_recipients: true,
        ..Default::default()
    };
    // Ada is the only reader; make her unsubscribed, and add a pending one: nobody gets it.
    g.store
        .upsert_subscriber(
            "ada@example.org",
            Some("Ada"),
            &[],
            SubscriberStatus::Unsubscribed,
            g.now(),
        )
        .unwrap();
    g.store
        .upsert_subscriber(
            "bo@example.org",
            None,
            &[],
            SubscriberStatus::Pending,
            g.now(),
        )
        .unwrap();
    let err = match g.next_issue(&digest, &require).await {
        Err(e) => format!("{e:#}"),
        Ok(_) => panic!("an issue without readers was stored"),
    };
    assert!(
        err.contains("no confirmed subscribers for digest \"weekly\""),
        "{err}"
    );
    assert!(g.store.issues().unwrap().is_empty(), "nothing stored");
    // Confirmed readers: two for every digest, one for another digest only; Ada, who
    // unsubscribed, is not turned back by an upsert. Two rows.
    for (email, digests) in [
        ("ada@example.org", vec![]),
        ("cy@example.org", vec![]),
        ("ed@example.org", vec![]),
        ("di@example.org", vec!["daily".to_string()]),
    ] {
        g.store
            .upsert_subscriber(email, None, &digests, SubscriberStatus::Confirmed, g.now())
            .unwrap();
    }
    let gazette::pipeline::NextIssue::Planned { id, recipients, .. } =
        g.next_issue(&digest, &require).await.unwrap()
    else {
        panic!("an issue was planned")
    };
    assert_eq!(recipients, 2);
    let issue = g.store.issue(id).unwrap().unwrap();
    assert_eq!(issue.queued, 2);
}
