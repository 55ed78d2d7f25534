//! Named relays under the scheduler (`serve` makes one pass a tick): a relay that refuses
//! connections hands its share to the other within the slot, and a spent daily quota holds the
//! rest of the issue, quietly, until the next UTC day.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use gazette::config::Config;
use gazette::model::SubscriberStatus;
use gazette::pipeline::{Clock, Gazette};
use gazette::schedule::runner::{Runner, SlotOutcome};

use crate::support::{config_text, free_port, root, tempdir};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Weekly on Monday 08:00 America/New_York over the demo feeds (23–27 Nov 2026), five readers,
/// sent through `relays`.
fn gazette_at(
    dir: &std::path::Path,
    now: DateTime<Utc>,
    relays: &str,
) -> (Gazette, Arc<Mutex<DateTime<Utc>>>) {
    let at = Arc::new(Mutex::new(now));
    let c = at.clone();
    let clock: Clock = Arc::new(move || *c.lock().unwrap());
    let feed = root().join("config/demo/feeds/policy-wire-rss.xml");
    let extra = format!(
        "[[feeds]]\nurl = \"{}\"\n\n[[digests]]\nname = \"weekly\"\nschedule = \"0 8 * * MON\"\n\
         window = \"7d\"\ncatch_up = \"12h\"\n\n{relays}",
        feed.display()
    );
    let text = config_text(dir, "file://unused", &extra)
        .replace("Europe/Berlin", "America/New_York")
        .replace(
            "max_per_second = 1000\n",
            "max_per_second = 1000\nretry_backoff = \"1s\"\n",
        );
    let config = Config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    let g = Gazette::open(config, clock).unwrap();
    for i in 0..5 {
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
    (g, at)
}

fn files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn runner(g: &Gazette) -> Runner<'_> {
    Runner {
        gazette: g,
        stop: Default::default(),
        health: Default::default(),
    }
}

#[tokio::test]
async fn a_refusing_relay_hands_its_share_to_the_other_within_the_slot() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let relays = format!(
        "[[relays]]\nname = \"down\"\nurl = \"smtp://127.0.0.1:{}\"\n\n\
         [[relays]]\nname = \"out\"\nurl = \"file://{}\"\n",
        free_port(),
        out.display()
    );
    let (g, now) = gazette_at(dir.path(), utc("2026-11-30T12:59:00Z"), &relays);
    let r = runner(&g);
    let before = g.now();
    *now.lock().unwrap() = utc("2026-11-30T13:00:30Z");
    let done = r.tick(before, g.now()).await.unwrap();
    assert!(
        matches!(
            done[..],
            [(
                _,
                _,
                SlotOutcome::Issue {
                    sent: 5,
                    failed: 0,
                    ..
                }
            )]
        ),
        "{done:?}"
    );
    assert_eq!(files(&out), 5);
    let id = g.store.issues().unwrap()[0].id;
    let rows = g.store.deliveries(id).unwrap();
    assert!(
        rows.iter().all(|d| d.relay.as_deref() == Some("out")),
        "{rows:?}"
    );
    let paused: Vec<String> = g
        .store
        .relay_pauses()
        .unwrap()
        .into_iter()
        .map(|p| p.relay)
        .collect();
    assert_eq!(paused, ["down"]);
    // The status document says so.
    let relays = gazette::status::relays(&g, g.now()).unwrap();
    assert!(
        relays[0].paused && relays[0].state == "paused",
        "{relays:?}"
    );
    assert_eq!((relays[1].sent_today, relays[1].paused), (5, false));
}

#[tokio::test]
async fn a_spent_quota_holds_the_rest_of_the_issue_until_the_next_utc_day() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let relays = format!(
        "[[relays]]\nname = \"out\"\nurl = \"file://{}\"\ndaily_quota = 2\n",
        out.display()
    );
    let (g, now) = gazette_at(dir.path(), utc("2026-11-30T12:59:00Z"), &relays);
    let r = runner(&g);
    let before = g.now();
    *now.lock().unwrap() = utc("2026-11-30T13:00:30Z");
    let done = r.tick(before, g.now()).await.unwrap();
    assert!(
        matches!(
            done[..],
            [(
                _,
                _,
                SlotOutcome::Issue {
                    sent: 2,
                    failed: 0,
                    ..
                }
            )]
        ),
        "{done:?}"
    );
    let id = g.store.issues().unwrap()[0].id;
    let counts = |g: &Gazette| {
        let c = g.store.delivery_counts(id).unwrap();
        (c.sent, c.queued, c.failed)
    };
    assert_eq!(counts(&g), (2, 3, 0));
    // A minute later, the same day: nothing more, and the scheduler is not in trouble.
    let before = g.now();
    *now.lock().unwrap() = utc("2026-11-30T13:01:30Z");
    r.tick(before, g.now()).await.unwrap();
    assert_eq!(counts(&g), (2, 3, 0));
    assert_eq!(files(&out), 2);
    let relays = gazette::status::relays(&g, g.now()).unwrap();
    assert!(
        relays[0].quota_spent && relays[0].state == "quota_spent",
        "{relays:?}"
    );
    // The next UTC day (still Monday evening in New York): two more, then the last one.
    let before = g.now();
    *now.lock().unwrap() = utc("2026-12-01T00:00:30Z");
    r.tick(before, g.now()).await.unwrap();
    assert_eq!(counts(&g), (4, 1, 0));
    let before = g.now();
    *now.lock().unwrap() = utc("2026-12-02T00:00:30Z");
    r.tick(before, g.now()).await.unwrap();
    assert_eq!(counts(&g), (5, 0, 0));
    assert_eq!(files(&out), 5);
    assert_eq!(g.store.issues().unwrap().len(), 1);
    assert_eq!(g.store.relay_sent("out", "2026-12-01").unwrap(), 2);
    assert_eq!(g.store.relay_sent("out", "2026-12-02").unwrap(), 1);
}
