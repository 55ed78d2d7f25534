//! Readers choose (issue 20): the manage page over HTTP (`oneshot`), one render per distinct
//! choice of topics, and local delivery time driven through the scheduler with a pinned clock
//! across a daylight-saving change.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use chrono::{DateTime, Utc};
use gazette::config::Config;
use gazette::model::SubscriberStatus;
use gazette::pipeline::{Clock, Gazette};
use gazette::schedule::runner::{Runner, SlotOutcome};
use gazette::store::PreferencesChange;
use gazette::tokens::Claim;
use gazette::web::{router, AppState, WebOptions};
use tower::ServiceExt;

use crate::support::{config_text, gazette as run_gazette, tempdir, write_config};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A clock the test moves by hand.
fn pinned(t: &str) -> (Clock, Arc<Mutex<DateTime<Utc>>>) {
    let now = Arc::new(Mutex::new(utc(t)));
    let c = now.clone();
    (Arc::new(move || *c.lock().unwrap()), now)
}

/// An RSS feed with one trade story and one privacy story, published just before `at`.
fn feed(dir: &Path, at: DateTime<Utc>) -> std::path::PathBuf {
    let item = |title: &str, link: &str, lead: &str| {
        format!(
            "<item><title>{title}</title><link>{link}</link><guid>{link}</guid><pubDate>{}</pubDate>\
             <description>&lt;p&gt;{lead}&lt;/p&gt;</description></item>",
            (at - chrono::Duration::hours(3)).to_rfc2822()
        )
    };
    let p = dir.join("feed.xml");
    std::fs::write(
        &p,
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title><link>https://wire.example/</link>{}{}</channel></rss>",
            item("Tariff rules on chips tighten", "https://wire.example/trade", "Officials said the tariff would apply to chips and tools from next year, according to a statement."),
            item("Regulator fines app over location privacy", "https://wire.example/privacy", "The data protection regulator said the app collected location data without consent for two years."),
        ),
    )
    .unwrap();
    p
}

/// A config with a `weekly` digest (topics trade, privacy, ai) and a `daily` one; `extra` is
/// added to the weekly digest.
fn config(dir: &Path, now: DateTime<Utc>, weekly_extra: &str) -> String {
    let feed = feed(dir, now);
    config_text(
        dir,
        &format!("file://{}", dir.join("outbox").display()),
        &format!(
            r#"[[feeds]]
url = "{}"

[[digests]]
name = "weekly"
title = "Tech Policy Weekly"
schedule = "0 8 * * MON"
window = "30d"
topics = ["trade", "privacy", "ai"]
{weekly_extra}

[[digests]]
name = "daily"
title = "Daily Brief"
schedule = "0 7 * * *"
window = "30d"

[topics.trade]
keywords = ["tariff", "export control"]

[topics.privacy]
keywords = ["privacy", "data protection"]

[topics.ai]
keywords = ["artificial intelligence", "chatbot"]
"#,
            feed.display()
        ),
    )
}

fn open(dir: &Path, text: &str, clock: Clock) -> Gazette {
    let path = write_config(dir, text);
    Gazette::open(Config::parse(text, &path).unwrap(), clock).unwrap()
}

fn add(g: &Gazette, email: &str) -> i64 {
    g.store
        .upsert_subscriber(email, None, &[], SubscriberStatus::Confirmed, g.now())
        .unwrap();
    g.store.subscriber(email).unwrap().unwrap().id
}

fn set(g: &Gazette, id: i64, change: PreferencesChange) {
    g.store
        .set_preferences(id, &change, "test", g.now())
        .unwrap();
}

fn topics(digest: &str, t: &[&str]) -> Option<std::collections::BTreeMap<String, Vec<String>>> {
    Some(
        [(
            digest.to_string(),
            t.iter().map(|s| s.to_string()).collect(),
        )]
        .into(),
    )
}

// ---------------------------------------------------------------------------------------------
// The manage page over HTTP.

struct Web {
    _dir: tempfile::TempDir,
    state: AppState,
    ada: i64,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn web() -> Web {
    web_with(WebOptions {
        subscribe_limit: 1000,
        ..Default::default()
    })
    .await
}

async fn web_with(options: WebOptions) -> Web {
    let dir = tempdir();
    let now = utc("2026-11-20T12:00:00Z");
    let (clock, _) = pinned("2026-11-20T12:00:00Z");
    let g = open(dir.path(), &config(dir.path(), now, ""), clock);
    let ada = add(&g, "ada@example.org");
    let state = AppState::new(g, options).unwrap();
    Web {
        _dir: dir,
        state,
        ada,
    }
}

impl Web {
    async fn send(&self, req: Request<Body>) -> Reply {
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            // Tera writes `/` in attribute values and text as `&#x2F;`.
            body: String::from_utf8_lossy(&bytes).replace("&#x2F;", "/"),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&self, path: &str, body: &str, cookie: Option<&str>) -> Reply {
        let mut req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let mut req = req.body(Body::from(body.to_string())).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 7], 40000))));
        self.send(req).await
    }

    fn token(&self, claim: Claim) -> String {
        self.state.gazette().tokens().unwrap().sign(&claim)
    }

    fn manage(&self) -> String {
        format!("/manage/{}", self.token(Claim::Manage(self.ada)))
    }

    /// The CSRF cookie and form token of the manage page.
    async fn csrf(&self) -> (String, String) {
        let page = self.get(&self.manage()).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let cookie = page.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let token = regex::Regex::new(r#"name="csrf" value="([^"]+)""#)
            .unwrap()
            .captures(&page.body)
            .unwrap()[1]
            .to_string();
        (cookie, token)
    }

    fn prefs(&self) -> gazette::model::Subscriber {
        self.state
            .gazette()
            .store
            .subscriber_by_id(self.ada)
            .unwrap()
            .unwrap()
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn the_manage_page_shows_the_choices_and_changes_nothing() {
    let w = web().await;
    let r = w.get(&w.manage()).await;
    assert_eq!(r.status, StatusCode::OK);
    for needle in [
        r#"name="digest" value="weekly" checked"#,
        r#"name="topic:weekly" value="privacy""#,
        r#"name="format" value="text""#,
        r#"<select id="timezone" name="timezone""#,
        r#"<option value="Europe/Berlin" selected>"#,
        r#"data-preset-browser"#,
        r#"type="date" id="paused_until" name="paused_until" value="""#,
        r#"<label for="timezone">"#,
        "/data\"",
        "/erase\"",
        "/unsubscribe/",
    ] {
        assert!(r.body.contains(needle), "{needle} missing:\n{}", r.body);
    }
    assert!(r.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert_eq!(w.get("/manage.js").await.status, StatusCode::OK);
    assert_eq!(w.prefs().prefs, Default::default(), "a GET changes nothing");
}

#[tokio::test]
async fn forged_and_cross_purpose_tokens_are_404_and_a_post_without_csrf_is_403() {
    let w = web().await;
    let manage = w.token(Claim::Manage(w.ada));
    let unsubscribe = w.token(Claim::Unsubscribe(w.ada));
    let confirm = w.token(Claim::Confirm(w.ada, i64::MAX));
    let other_key =
        gazette::tokens::Tokens::new(b"another secret entirely").sign(&Claim::Manage(w.ada));
    let mut flipped = manage.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let (cookie, csrf) = w.csrf().await;
    let form = format!("csrf={}&digest=weekly&format=text", enc(&csrf));
    for bad in [
        &unsubscribe,
        &confirm,
        &other_key,
        &flipped,
        &"x.y".to_string(),
    ] {
        for path in ["", "/data"] {
            let r = w.get(&format!("/manage/{bad}{path}")).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "GET {bad}{path}");
        }
        for path in ["", "/erase"] {
            let r = w
                .post(
                    &format!("/manage/{bad}{path}"),
                    &format!("{form}&confirm=yes"),
                    Some(&cookie),
                )
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {bad}{path}");
        }
    }
    // A manage token is not an unsubscribe token either.
    let r = w
        .post(
            &format!("/unsubscribe/{manage}"),
            "List-Unsubscribe=One-Click",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Without the CSRF token, or without the cookie: 403 and nothing changes.
    let r = w
        .post(
            &format!("/manage/{manage}"),
            "digest=weekly&format=text",
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w.post(&format!("/manage/{manage}"), &form, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .post(
            &format!("/manage/{manage}/erase"),
            "confirm=yes",
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let s = w.prefs();
    assert_eq!(s.status, SubscriberStatus::Confirmed);
    assert_eq!(s.prefs, Default::default());
    assert_eq!(
        w.state.gazette().store.consent_events(w.ada).unwrap().len(),
        2,
        "only the operator's add: subscribed, confirmed"
    );
}

#[tokio::test]
async fn the_form_saves_and_the_data_and_erase_routes_work() {
    let w = web().await;
    let manage = w.manage();
    let (cookie, csrf) = w.csrf().await;
    let form = format!(
        "csrf={}&digest=weekly&topic%3Aweekly=privacy&topic%3Aweekly=nonsense&format=text&timezone=Asia%2FTokyo&paused_until=2027-01-10",
        enc(&csrf)
    );
    let r = w.post(&manage, &form, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(r#"id="saved""#), "{}", r.body);
    let s = w.prefs();
    assert_eq!(s.digests, ["weekly"]);
    assert_eq!(
        s.prefs.topics_of("weekly"),
        Some(&["privacy".to_string()][..])
    );
    assert_eq!(s.prefs.format, gazette::model::MailFormat::Text);
    assert_eq!(s.prefs.timezone.as_deref(), Some("Asia/Tokyo"));
    assert_eq!(s.prefs.paused_until.unwrap().to_string(), "2027-01-10");
    assert!(r.body.contains(r#"<option value="Asia/Tokyo" selected>"#));
    assert!(
        !r.body.contains("data-preset-browser"),
        "a chosen zone is kept"
    );

    // Every topic ticked, or none, is every topic; no digest ticked is refused.
    let all = format!(
        "csrf={}&digest=weekly&digest=daily&topic%3Aweekly=privacy&topic%3Aweekly=trade&topic%3Aweekly=ai&format=html&timezone=&paused_until=",
        enc(&csrf)
    );
    assert_eq!(
        w.post(&manage, &all, Some(&cookie)).await.status,
        StatusCode::OK
    );
    let s = w.prefs();
    assert!(
        s.digests.is_empty() && s.prefs == Default::default(),
        "{s:?}"
    );
    for bad in [
        format!("csrf={}&format=html", enc(&csrf)),
        format!("csrf={}&digest=weekly&timezone=Mars%2FOlympus", enc(&csrf)),
        format!("csrf={}&digest=weekly&paused_until=10.1.2027", enc(&csrf)),
    ] {
        let r = w.post(&manage, &bad, Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.body.contains(r#"id="error""#));
    }
    assert!(w.prefs().prefs == Default::default());

    // A bounce recorded against their address is theirs too (a full mailbox: no status change).
    {
        let g = w.state.gazette();
        let tokens = g.tokens().unwrap();
        let recorder =
            gazette::bounces::record::Recorder::new(&g.store, &tokens, &g.config.bounces);
        let dsn = "From: MAILER-DAEMON@mx.example.net\r\nTo: digest@news.example.org\r\n\
            Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.net>\r\n\
            MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; \
            boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nMailbox full\r\n\
            --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
            Final-Recipient: rfc822; ada@example.org\r\nAction: failed\r\nStatus: 4.2.2\r\n\
            Diagnostic-Code: smtp; 452 4.2.2 ada@example.org mailbox full\r\n\r\n--b--\r\n";
        let origin = gazette::bounces::record::Origin {
            source: "file",
            raw_ref: Some("dsn1.eml".into()),
            occurred: g.now(),
        };
        recorder.message(dsn.as_bytes(), &origin, g.now()).unwrap();
    }

    // Everything stored about them, with the consent log.
    let r = w.get(&format!("{manage}/data")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(doc["subscriber"]["email"], "ada@example.org");
    assert_eq!(doc["choices"]["format"], "html");
    assert_eq!(doc["bounces"][0]["kind"], "soft", "{doc}");
    assert_eq!(doc["bounces"][0]["status"], "4.2.2", "{doc}");
    let events: Vec<(String, String)> = doc["consent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().into(),
                e["source"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("subscribed".into(), "cli".into()),
            ("confirmed".into(), "cli".into()),
            ("preferences changed".into(), "manage".into()),
            ("preferences changed".into(), "manage".into()),
        ]
    );
    assert!(doc["consent"][2]["detail"]
        .as_str()
        .unwrap()
        .contains("format: text"));
    assert!(doc["consent"][0]["at"]
        .as_str()
        .unwrap()
        .starts_with("2026-11-20T12:00:00"));

    // Erase: the box must be ticked; then only a suppression hash is left.
    let erase = format!("{manage}/erase");
    let r = w
        .post(&erase, &format!("csrf={}", enc(&csrf)), Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(w
        .state
        .gazette()
        .store
        .subscriber_by_id(w.ada)
        .unwrap()
        .is_some());
    let r = w
        .post(
            &erase,
            &format!("csrf={}&confirm=yes", enc(&csrf)),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let g = w.state.gazette();
    assert!(g.store.subscriber("ada@example.org").unwrap().is_none());
    assert!(g.store.consent_events(w.ada).unwrap().is_empty());
    let kept = g.store.bounce_events(None, 100).unwrap();
    assert_eq!(kept.len(), 1, "the bounce still counts");
    assert!(
        !format!("{kept:?}").contains("ada@example.org"),
        "without the address: {kept:?}"
    );
    assert_eq!(
        g.store.suppression("ada@example.org").unwrap().as_deref(),
        Some("erased")
    );
    assert_eq!(w.get(&manage).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        w.get(&format!("{manage}/data")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn manage_posts_count_against_the_per_ip_rate_limit() {
    let w = web_with(WebOptions::default()).await;
    let (cookie, csrf) = w.csrf().await;
    let form = format!("csrf={}&digest=weekly&format=text", enc(&csrf));
    for _ in 0..5 {
        assert_eq!(
            w.post(&w.manage(), &form, Some(&cookie)).await.status,
            StatusCode::OK
        );
    }
    let r = w.post(&w.manage(), &form, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

// ---------------------------------------------------------------------------------------------
// One render per distinct choice.

#[tokio::test]
async fn each_reader_gets_their_sections_rendered_once_per_choice() {
    let dir = tempdir();
    let now = utc("2026-11-23T12:00:00Z");
    let (clock, _) = pinned("2026-11-23T12:00:00Z");
    let g = open(dir.path(), &config(dir.path(), now, ""), clock);
    g.refresh(&|_| {}).await.unwrap();
    let mut privacy = Vec::new();
    for i in 0..3 {
        let id = add(&g, &format!("privacy{i}@example.org"));
        set(
            &g,
            id,
            PreferencesChange {
                topics: topics("weekly", &["privacy"]),
                ..Default::default()
            },
        );
        privacy.push(id);
    }
    let text = add(&g, "text@example.org");
    set(
        &g,
        text,
        PreferencesChange {
            topics: topics("weekly", &["trade"]),
            format: Some(gazette::model::MailFormat::Text),
            ..Default::default()
        },
    );
    let ai = add(&g, "ai@example.org");
    set(
        &g,
        ai,
        PreferencesChange {
            topics: topics("weekly", &["ai"]),
            ..Default::default()
        },
    );
    add(&g, "all@example.org");
    let paused = add(&g, "paused@example.org");
    set(
        &g,
        paused,
        PreferencesChange {
            paused_until: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 24)),
            ..Default::default()
        },
    );

    let digest = g.config.digest(Some("weekly")).unwrap().clone();
    let plan = g.plan(&digest, None).unwrap();
    assert_eq!(
        plan.view
            .sections
            .iter()
            .map(|s| s.topic.as_deref())
            .collect::<Vec<_>>(),
        [Some("trade"), Some("privacy")]
    );
    let readers = g.readers(&plan.digest, &plan.view, None).unwrap();
    let mut who: Vec<&str> = readers.iter().map(|r| r.email.as_str()).collect();
    who.sort();
    assert_eq!(
        who,
        [
            "all@example.org",
            "privacy0@example.org",
            "privacy1@example.org",
            "privacy2@example.org",
            "text@example.org"
        ],
        "nothing on ai in this issue, and a pause until tomorrow: no copy, no row"
    );
    let (gazette::store::Created::Stored(id, _), Some(view)) =
        g.publish(&plan, readers, None).unwrap()
    else {
        panic!("stored")
    };
    assert_eq!(g.store.deliveries(id).unwrap().len(), 5);

    let tokens = g.tokens().unwrap();
    let clock = || g.now();
    let tick = |_: &gazette::store::Delivery| {};
    let sender = gazette::deliver::Sender {
        config: &g.config,
        store: g.store.clone(),
        renderer: &g.renderer,
        relays: &[],
        tokens: &tokens,
        dkim: None,
        clock: &clock,
        tick: &tick,
        stop: None,
        patience: gazette::deliver::Patience::UntilDone,
    };
    let composer = sender.composer(&view).unwrap();
    let mut mails = std::collections::BTreeMap::new();
    for d in g.store.deliveries(id).unwrap() {
        let m = composer.compose(&d).await.unwrap().bytes;
        mails.insert(d.email.clone(), String::from_utf8_lossy(&m).into_owned());
    }
    assert_eq!(composer.renders(), 3, "the whole issue, privacy, trade");
    let privacy0 = &mails["privacy0@example.org"];
    assert!(privacy0.contains("Regulator fines app over location privacy"));
    assert!(!privacy0.contains("Tariff rules"), "{privacy0}");
    assert!(
        privacy0.contains("Subject: Tech Policy Weekly #1: Regulator fines app"),
        "the copy's own first headline"
    );
    assert!(privacy0.contains("/manage/"));
    let all = &mails["all@example.org"];
    assert!(all.contains("Tariff rules") && all.contains("Regulator fines"));
    let text = &mails["text@example.org"];
    assert!(text.contains("Content-Type: text/plain"), "{text}");
    assert!(
        !text.contains("text/html") && !text.contains("multipart"),
        "{text}"
    );
    assert!(text.contains("List-Unsubscribe: <https://news.example.org/unsubscribe/"));
    assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    // The archived web copy keeps every section.
    let (html, _, _) = g.store.issue_content(id).unwrap().unwrap();
    assert!(html.contains("Tariff rules") && html.contains("Regulator fines"));
}

// ---------------------------------------------------------------------------------------------
// Local delivery time.

fn local_gazette(dir: &Path, clock: Clock, zones: &[(&str, &str)]) -> Gazette {
    local_gazette_with(dir, clock, zones, "")
}

/// [`local_gazette`] with `extra` keys for the daily digest (and an editor, for `review`).
fn local_gazette_with(dir: &Path, clock: Clock, zones: &[(&str, &str)], extra: &str) -> Gazette {
    let text = config(dir, utc("2027-03-10T00:00:00Z"), "")
        .replacen(
            "timezone = \"Europe/Berlin\"\n",
            "timezone = \"Europe/Berlin\"\neditors = [\"editor@example.org\"]\n",
            1,
        )
        .replace(
            "name = \"daily\"\ntitle = \"Daily Brief\"\nschedule = \"0 7 * * *\"",
            &format!("name = \"daily\"\ntitle = \"Daily Brief\"\nschedule = \"0 8 * * *\"\ndelivery = \"local\"\nsend_empty = true\ncatch_up = \"2h\"\n{extra}"),
        )
        .replace("schedule = \"0 8 * * MON\"", "schedule = \"0 8 1 1 *\"");
    let g = open(dir, &text, clock);
    for (email, zone) in zones {
        let id = add(&g, email);
        set(
            &g,
            id,
            PreferencesChange {
                digests: Some(vec!["daily".into()]),
                timezone: Some(Some(zone.to_string())),
                ..Default::default()
            },
        );
    }
    g
}

/// Readers in Tokyo, Berlin and New York.
const THREE_ZONES: &[(&str, &str)] = &[
    ("tokyo@example.org", "Asia/Tokyo"),
    ("berlin@example.org", "Europe/Berlin"),
    ("newyork@example.org", "America/New_York"),
];

/// Each sent delivery as (email, issue number, the slot key of when it was sent).
fn by_slot(sent: &[(String, i64, DateTime<Utc>)]) -> Vec<(String, i64, String)> {
    sent.iter()
        .map(|(e, n, t)| (e.clone(), *n, gazette::schedule::slot_key(*t)))
        .collect()
}

/// Expected rows of [`by_slot`].
fn owned(rows: &[(&str, i64, &str)]) -> Vec<(String, i64, String)> {
    rows.iter()
        .map(|(e, n, t)| (e.to_string(), *n, t.to_string()))
        .collect()
}

/// Ticks the scheduler every 30 minutes from `from` to `to`; returns every sent delivery's
/// (email, issue number, time sent).
async fn drive(
    g: &Gazette,
    now: &Arc<Mutex<DateTime<Utc>>>,
    from: &str,
    to: &str,
) -> Vec<(String, i64, DateTime<Utc>)> {
    let r = Runner {
        gazette: g,
        stop: Default::default(),
        health: Default::default(),
    };
    *now.lock().unwrap() = utc(from);
    r.start().await.unwrap();
    let mut after = utc(from);
    while after < utc(to) {
        let t = after + chrono::Duration::minutes(30);
        *now.lock().unwrap() = t;
        for (_, slot, o) in r.tick(after, t).await.unwrap() {
            assert!(
                !matches!(o, SlotOutcome::Failed(_) | SlotOutcome::Retrying { .. }),
                "{slot}: {o:?}"
            );
        }
        after = t;
    }
    let mut sent = Vec::new();
    for i in g.store.issues().unwrap() {
        let data = g.store.deliveries(i.id).unwrap();
        for d in data {
            use gazette::model::DeliveryStatus::{Queued, Sent};
            assert!(matches!(d.status, Sent | Queued), "{d:?}");
            if d.status == Queued {
                continue;
            }
            let row = g.store.subscriber(&d.email).unwrap().unwrap();
            let doc = g.store.reader_data(row.id).unwrap().unwrap();
            let updated = doc["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["issue"] == i.id)
                .unwrap()["updated"]
                .as_str()
                .unwrap()
                .to_string();
            sent.push((d.email.clone(), i.number, utc(&updated)));
        }
    }
    sent.sort_by_key(|(e, n, t)| (*t, e.clone(), *n));
    sent
}

#[tokio::test]
async fn three_zones_each_get_one_issue_at_their_local_eight_across_the_us_change() {
    let dir = tempdir();
    let (clock, now) = pinned("2027-03-12T16:00:00Z");
    let g = local_gazette(dir.path(), clock, THREE_ZONES);
    // New York moves to EDT on Sunday 14 March 2027; Berlin and Tokyo keep their offsets.
    // Started after every zone's slot of the 12th was missed by more than catch_up.
    let sent = drive(&g, &now, "2027-03-12T16:00:00Z", "2027-03-15T14:00:00Z").await;
    let got = by_slot(&sent);
    let want = owned(&[
        ("tokyo@example.org", 1, "2027-03-12T23:00:00Z"),
        ("berlin@example.org", 1, "2027-03-13T07:00:00Z"),
        ("newyork@example.org", 1, "2027-03-13T13:00:00Z"),
        ("tokyo@example.org", 2, "2027-03-13T23:00:00Z"),
        ("berlin@example.org", 2, "2027-03-14T07:00:00Z"),
        ("newyork@example.org", 2, "2027-03-14T12:00:00Z"),
        ("tokyo@example.org", 3, "2027-03-14T23:00:00Z"),
        ("berlin@example.org", 3, "2027-03-15T07:00:00Z"),
        ("newyork@example.org", 3, "2027-03-15T12:00:00Z"),
    ]);
    assert_eq!(
        got, want,
        "each at 08:00 local, one issue per day, planned at Tokyo's slot"
    );
    let issues = g.store.issues().unwrap();
    assert_eq!(issues.len(), 3);
    // Each zone's slot was claimed once, and each edition once.
    for (slot, zone) in [
        ("2027-03-13T13:00:00Z", "America/New_York"),
        ("2027-03-14T12:00:00Z", "America/New_York"),
        ("2027-03-14T07:00:00Z", "Europe/Berlin"),
    ] {
        assert!(g
            .store
            .slot_outcome("daily", &format!("{slot} {zone}"))
            .unwrap()
            .is_some());
    }
    assert!(g
        .store
        .slot_outcome("daily", "2027-03-14T08:00 local")
        .unwrap()
        .flatten()
        .unwrap()
        .starts_with("issue "));
    // A restart claims nothing again and sends nothing twice.
    let again = drive(&g, &now, "2027-03-15T13:00:00Z", "2027-03-15T14:00:00Z").await;
    assert_eq!(again.len(), 9);
}

/// A reviewed local digest: one draft per edition, due at the edition's first zone's slot
/// (Tokyo's); released there, each zone still gets it at its own 08:00.
#[tokio::test]
async fn a_reviewed_local_digest_is_due_at_the_first_zone_and_each_zone_gets_it_at_eight() {
    for policy in ["optional", "required"] {
        let dir = tempdir();
        let (clock, now) = pinned("2027-03-12T16:00:00Z");
        let g = local_gazette_with(
            dir.path(),
            clock,
            THREE_ZONES,
            &format!("review = \"{policy}\"\nreview_lead = \"2h\""),
        );
        // Drafted two hours before Tokyo's 08:00 of the 13th (23:00 UTC on the 12th).
        let sent = drive(&g, &now, "2027-03-12T16:00:00Z", "2027-03-12T21:30:00Z").await;
        assert!(sent.is_empty(), "{policy}: {sent:?}");
        let r = gazette::review::open(&g, "daily")
            .unwrap()
            .unwrap_or_else(|| panic!("{policy}: a draft"));
        assert_eq!(
            gazette::schedule::slot_key(r.slot),
            "2027-03-12T23:00:00Z",
            "{policy}: due at the first zone's slot"
        );
        assert_eq!(
            g.store.issue_slot(r.issue).unwrap().as_deref(),
            Some("2027-03-13T08:00 local"),
            "{policy}: stored under its edition"
        );
        if policy == "required" {
            gazette::review::approve(&g, r.issue, None, "test").unwrap();
        }
        let sent = drive(&g, &now, "2027-03-12T21:30:00Z", "2027-03-13T14:00:00Z").await;
        let got = by_slot(&sent);
        let want = owned(&[
            ("tokyo@example.org", 1, "2027-03-12T23:00:00Z"),
            ("berlin@example.org", 1, "2027-03-13T07:00:00Z"),
            ("newyork@example.org", 1, "2027-03-13T13:00:00Z"),
        ]);
        assert_eq!(got, want, "{policy}: each at 08:00 local");
        assert_eq!(g.store.issues().unwrap().len(), 1, "{policy}");
    }
}

#[tokio::test]
async fn a_local_issue_still_waiting_for_its_last_zone_does_not_hold_up_the_next_day() {
    let dir = tempdir();
    let (clock, now) = pinned("2027-03-12T22:00:00Z");
    // Kiritimati (UTC+14) is the first zone of each day, Pago Pago (UTC-11) the last, 25 hours
    // later: a day's Pago Pago copy goes an hour after the next day's issue is planned.
    let g = local_gazette(
        dir.path(),
        clock,
        &[
            ("east@example.org", "Pacific/Kiritimati"),
            ("west@example.org", "Pacific/Pago_Pago"),
        ],
    );
    let sent = drive(&g, &now, "2027-03-12T22:00:00Z", "2027-03-16T00:00:00Z").await;
    let got = by_slot(&sent);
    let want = owned(&[
        // 14 March's edition, planned at Kiritimati's slot; its Pago Pago copy waits a day.
        ("east@example.org", 1, "2027-03-13T18:00:00Z"),
        // 13 March's edition: Kiritimati's slot was missed while down, Pago Pago's plans it.
        ("west@example.org", 2, "2027-03-13T19:00:00Z"),
        ("east@example.org", 3, "2027-03-14T18:00:00Z"),
        ("west@example.org", 1, "2027-03-14T19:00:00Z"),
        ("east@example.org", 4, "2027-03-15T18:00:00Z"),
        ("west@example.org", 3, "2027-03-15T19:00:00Z"),
    ]);
    assert_eq!(got, want);
    // Issue 3 was planned while issue 1's Pago Pago copy was still waiting for its time.
    let issues = g.store.issues().unwrap();
    let number = |n: i64| issues.iter().find(|i| i.number == n).unwrap();
    assert_eq!(number(3).created, utc("2027-03-14T18:00:00Z"));
    assert!(number(3).created < utc("2027-03-14T19:00:00Z"));
    // Issue 4's Pago Pago copy still waits; `send` would not count it as a failure.
    assert_eq!(number(4).queued, 1);
    assert_eq!(
        g.store.waiting_deliveries(number(4).id, g.now()).unwrap(),
        1
    );
    assert!(g
        .store
        .unfinished_due_issues(Some("daily"), g.now())
        .unwrap()
        .is_empty());
}

#[test]
fn schedule_json_lists_the_instants_per_zone() {
    let dir = tempdir();
    let d = dir.path();
    let text = config(d, utc("2027-03-10T00:00:00Z"), "delivery = \"local\"");
    write_config(d, &text);
    let cli = |args: &[&str]| {
        let mut all = vec!["--config", "gazette.toml"];
        all.extend_from_slice(args);
        let (code, out, err) = run_gazette(&all, d);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    cli(&["subscribers", "add", "tokyo@example.org"]);
    cli(&[
        "subscribers",
        "set",
        "tokyo@example.org",
        "--timezone",
        "Asia/Tokyo",
    ]);
    cli(&["subscribers", "add", "ny@example.org"]);
    cli(&[
        "subscribers",
        "set",
        "ny@example.org",
        "--timezone",
        "America/New_York",
    ]);
    let out = cli(&[
        "--json",
        "schedule",
        "--from",
        "2027-03-10T00:00:00Z",
        "--count",
        "2",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let weekly = &v[0];
    assert_eq!(weekly["delivery"], "local");
    assert_eq!(
        weekly["next"],
        serde_json::json!(["2027-03-14T23:00:00Z", "2027-03-21T23:00:00Z"]),
        "planned at the first zone's slot"
    );
    assert_eq!(
        weekly["zones"],
        serde_json::json!([
            {"timezone": "America/New_York", "next": ["2027-03-15T12:00:00Z", "2027-03-22T12:00:00Z"]},
            {"timezone": "Asia/Tokyo", "next": ["2027-03-14T23:00:00Z", "2027-03-21T23:00:00Z"]},
        ])
    );
    assert_eq!(v[1]["delivery"], "newsletter");
    assert!(v[1].get("zones").is_none());
}
