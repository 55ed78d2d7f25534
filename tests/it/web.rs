//! The web app over HTTP, as a value (`tower::ServiceExt::oneshot`): every route, CSRF, the
//! RFC 8058 one-click exception, forged / expired / malformed tokens, no enumeration, honeypot,
//! rate limit, escaping of feed and visitor text, and the Atom feed parsed by feed-rs.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use gazette::config::Config;
use gazette::model::SubscriberStatus;
use gazette::pipeline::{Gazette, Recipient};
use gazette::tokens::Claim;
use gazette::web::{router, AppState, WebOptions};
use tower::ServiceExt;

use crate::support::{config_text, tempdir};

const EVIL_TITLE: &str = "\"><script>alert(1)</script> Export rules tighten";

/// A test world: a config with one local feed (one story has a hostile title), an outbox, a
/// clock the test moves.
struct World {
    dir: tempfile::TempDir,
    state: AppState,
    clock: Arc<AtomicI64>,
}

fn rss(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("feed.xml");
    let item = |title: &str, link: &str, date: &str| {
        format!(
            "<item><title>{}</title><link>{link}</link><guid>{link}</guid><pubDate>{date}</pubDate>\
             <description>&lt;p&gt;Officials said the rules would apply to chips and tools from next year, \
             according to a statement published on Tuesday.&lt;/p&gt;</description></item>",
            // Escaped twice: feed titles are HTML, which ingest reduces to text.
            html_escape::encode_text(&html_escape::encode_text(title))
        )
    };
    std::fs::write(
        &p,
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title><link>https://wire.example/</link>{}</channel></rss>",
            item(EVIL_TITLE, "https://wire.example/a", "Wed, 18 Nov 2026 10:00:00 GMT"),
        ),
    )
    .unwrap();
    p
}

fn now0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

async fn world_with(options: WebOptions, templates: Option<&Path>) -> World {
    let dir = tempdir();
    let feed = rss(dir.path());
    let templates = templates
        .map(|t| format!("templates = \"{}\"\n", t.display()))
        .unwrap_or_default();
    let text = config_text(
        dir.path(),
        &format!("file://{}", dir.path().join("outbox").display()),
        &format!(
            "[[feeds]]\nurl = \"{}\"\n\n[[digests]]\nname = \"weekly\"\ntitle = \"Tech Policy Weekly\"\nschedule = \"0 8 * * MON\"\nwindow = \"30d\"\n\n[[digests]]\nname = \"daily\"\ntitle = \"Daily Brief\"\nschedule = \"0 7 * * *\"\nwindow = \"30d\"\n",
            feed.display()
        ),
    )
    .replace("[newsletter]\n", &format!("[newsletter]\n{templates}"));
    let path = dir.path().join("gazette.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::parse(&text, &path).unwrap();
    let clock = Arc::new(AtomicI64::new(now0().timestamp()));
    let c = clock.clone();
    let g = Gazette::open(
        config,
        Arc::new(move || Utc.timestamp_opt(c.load(Ordering::SeqCst), 0).unwrap()),
    )
    .unwrap();
    g.refresh(&|_: &gazette::ingest::FeedOutcome| {})
        .await
        .unwrap();
    let state = AppState::new(g, options).unwrap();
    World { dir, state, clock }
}

async fn world() -> World {
    world_with(WebOptions::default(), None).await
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl World {
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
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// A browser-like form POST from `ip`, with the given cookie and same-origin fetch metadata.
    async fn post_form(&self, path: &str, body: &str, cookie: Option<&str>, ip: [u8; 4]) -> Reply {
        let mut req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let mut req = req.body(Body::from(body.to_string())).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        self.send(req).await
    }

    /// The CSRF cookie and form token of a fresh subscribe page.
    async fn csrf(&self) -> (String, String) {
        let page = self.get("/subscribe").await;
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

    async fn subscribe(&self, email: &str, extra: &str, ip: [u8; 4]) -> Reply {
        let (cookie, token) = self.csrf().await;
        let body = format!(
            "csrf={}&email={}&digest=weekly{extra}",
            urlencode(&token),
            urlencode(email)
        );
        let r = self.post_form("/subscribe", &body, Some(&cookie), ip).await;
        self.state.mail_idle().await;
        r
    }

    fn outbox(&self) -> Vec<String> {
        let dir = self.dir.path().join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    fn status_of(&self, email: &str) -> Option<SubscriberStatus> {
        self.state
            .gazette()
            .store
            .subscriber(email)
            .unwrap()
            .map(|s| s.status)
    }

    fn advance(&self, d: chrono::Duration) {
        self.clock.fetch_add(d.num_seconds(), Ordering::SeqCst);
    }

    /// Publishes the next issue to one confirmed reader and marks it sent.
    fn publish_sent_issue(&self) -> i64 {
        let g = self.state.gazette();
        let now = g.now();
        g.store
            .upsert_subscriber(
                "reader@example.org",
                None,
                &[],
                SubscriberStatus::Confirmed,
                now,
            )
            .unwrap();
        let reader = g.store.subscriber("reader@example.org").unwrap().unwrap();
        let digest = g.config.digest(Some("weekly")).unwrap().clone();
        let plan = g.plan(&digest, None).unwrap();
        let (gazette::store::Created::Stored(id, _), _) = g
            .publish(
                &plan,
                vec![Recipient {
                    subscriber_id: Some(reader.id),
                    email: reader.email,
                    name: None,
                    ..Default::default()
                }],
                None,
            )
            .unwrap()
        else {
            panic!("nothing else stored an issue")
        };
        for d in g.store.deliveries(id).unwrap() {
            assert_eq!(
                g.store.claim(d.id, now).unwrap(),
                gazette::store::Claim::Claimed
            );
            g.store.mark_sent(d.id, "250 ok", now).unwrap();
        }
        id
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The confirm link in a raw confirmation mail.
fn confirm_path(eml: &str) -> String {
    let msg = mail_parser::MessageParser::default()
        .parse(eml.as_bytes())
        .unwrap();
    let text = msg.body_text(0).unwrap();
    let url = regex::Regex::new(r"https://news\.example\.org(/confirm/[A-Za-z0-9_.\-]+)")
        .unwrap()
        .captures(&text)
        .expect("confirm link in the mail")[1]
        .to_string();
    url
}

fn assert_security_headers(r: &Reply, what: &str) {
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("base-uri 'none'"), "{what}: {csp}");
    assert_eq!(
        r.headers[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff",
        "{what}"
    );
    assert_eq!(r.headers[header::REFERRER_POLICY], "no-referrer", "{what}");
}

#[tokio::test]
async fn every_route_answers_with_security_headers() {
    let w = world().await;
    let id = w.publish_sent_issue();
    let t = w.state.gazette().tokens().unwrap();
    let unsub = t.sign(&Claim::Unsubscribe(1));
    let paths = [
        ("/".to_string(), StatusCode::OK),
        ("/preview".into(), StatusCode::OK),
        (
            "/preview?format=text&width=phone&digest=daily".into(),
            StatusCode::OK,
        ),
        ("/subscribe".into(), StatusCode::OK),
        ("/archive".into(), StatusCode::OK),
        (format!("/issues/{id}"), StatusCode::OK),
        ("/feed.xml".into(), StatusCode::OK),
        (format!("/unsubscribe/{unsub}"), StatusCode::OK),
        ("/confirm/not-a-token".into(), StatusCode::NOT_FOUND),
        ("/nothing-here".into(), StatusCode::NOT_FOUND),
    ];
    for (path, status) in paths {
        let r = w.get(&path).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert_security_headers(&r, &path);
    }
    // Only the preview may run its own script; no page allows inline scripts.
    let preview = w.get("/preview").await;
    let csp = preview.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"));
    assert!(preview.body.contains("preview.js"));
    let js = w.get("/preview.js").await;
    assert!(js.body.contains("EventSource"));
    for path in ["/", "/archive", &format!("/issues/{id}")] {
        let r = w.get(path).await;
        assert!(!r.body.contains("<script"), "{path} has a script");
        assert!(
            !r.headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("script-src"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn preview_has_a_toolbar_outside_the_email_and_the_next_issue_has_none() {
    let w = world().await;
    let preview = w.get("/preview").await;
    for id in [
        "width-desktop",
        "width-phone",
        "format-html",
        "format-text",
        "digest-weekly",
        "digest-daily",
    ] {
        assert!(
            preview.body.contains(&format!("id=\"{id}\"")),
            "toolbar lacks {id}"
        );
    }
    // The email is in a sandboxed frame without scripts; its HTML is escaped into srcdoc.
    assert!(preview.body.contains("<iframe id=\"email\""));
    assert!(preview
        .body
        .contains("sandbox=\"allow-popups allow-popups-to-escape-sandbox\""));
    let text = w.get("/preview?format=text").await;
    assert!(text.body.contains("<pre id=\"text\">"));
    assert!(text.body.contains("Export rules tighten"));
    let next = w.get("/").await;
    assert!(next.body.contains("Export rules tighten"));
    assert!(!next.body.contains("preview.js") && !next.body.contains("EventSource"));
    assert!(!next.body.contains("toolbar"));
}

#[tokio::test]
async fn preview_shows_a_template_error_with_file_and_line_and_recovers() {
    let templates = tempdir();
    for (name, body) in gazette::render::Renderer::builtin_templates() {
        std::fs::write(templates.path().join(name), body).unwrap();
    }
    let w = world_with(WebOptions::default(), Some(templates.path())).await;
    w.state.watch();
    let page = templates.path().join("digest.html");
    let good = std::fs::read_to_string(&page).unwrap();
    // Let the watcher take its first fingerprint before the change.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let broken = format!("{good}\n<p>{{% if %}}</p>\n");
    std::fs::write(&page, &broken).unwrap();
    let r = poll_preview(&w, |b| b.contains("id=\"problem\"")).await;
    let file = page.display().to_string().replace('/', "&#x2F;");
    assert!(r.contains(&file), "no file in {r}");
    let line = broken.lines().position(|l| l.contains("{% if %}")).unwrap() + 1;
    assert!(r.contains(&format!("{line}:")), "no line {line} in {r}");
    std::fs::write(
        &page,
        good.replace("</body>", "<p>Edited just now</p></body>"),
    )
    .unwrap();
    let r = poll_preview(&w, |b| b.contains("Edited just now")).await;
    assert!(!r.contains("id=\"problem\""));
}

/// GETs /preview until `ok` holds (the watcher polls every 250 ms).
async fn poll_preview(w: &World, ok: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = w.get("/preview").await;
        if ok(&r.body) {
            return r.body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "preview never changed: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn preview_events_tell_a_stale_page_to_reload() {
    use futures_util::StreamExt;
    let w = world().await;
    // A page rendered at another version than the current one reloads at once.
    let res = router(w.state.clone())
        .oneshot(
            Request::get("/preview/events?v=999")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut stream = res.into_body().into_data_stream();
    let first = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("an event")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: reload"));
}

#[tokio::test]
async fn subscribe_confirm_with_double_opt_in() {
    let w = world().await;
    let r = w
        .subscribe("Ada@Example.ORG", "&name=Ada", [10, 0, 0, 1])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Check your inbox"));
    assert_eq!(
        w.status_of("Ada@example.org"),
        Some(SubscriberStatus::Pending)
    );
    let mails = w.outbox();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: Ada@example.org"), "{}", mails[0]);
    assert!(!mails[0].contains("List-Unsubscribe"));
    let confirm = confirm_path(&mails[0]);
    // GET (what a link scanner does) changes nothing.
    let page = w.get(&confirm).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"confirm\""));
    assert!(page.body.contains("A***@example.org"));
    assert_eq!(
        w.status_of("Ada@example.org"),
        Some(SubscriberStatus::Pending)
    );
    // A cross-site POST is refused.
    let mut req = Request::post(&confirm)
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 9], 1))));
    assert_eq!(w.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        w.status_of("Ada@example.org"),
        Some(SubscriberStatus::Pending)
    );
    let done = w.post_form(&confirm, "", None, [10, 0, 0, 2]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("You are subscribed"));
    assert_eq!(
        w.status_of("Ada@example.org"),
        Some(SubscriberStatus::Confirmed)
    );
    let g = w.state.gazette();
    let s = g.store.subscriber("Ada@example.org").unwrap().unwrap();
    assert_eq!(s.name.as_deref(), Some("Ada"));
    assert_eq!(s.digests, vec!["weekly".to_string()]);
    let audit = g.store.consent_audit(s.id).unwrap().unwrap();
    assert!(audit.confirmed_at.is_some());
    assert_eq!(audit.ip.as_deref(), Some("10.0.0.2"));
    // Reusing the token is a no-op; re-subscribing a confirmed address sends nothing.
    assert_eq!(
        w.post_form(&confirm, "", None, [10, 0, 0, 2]).await.status,
        StatusCode::OK
    );
    w.advance(chrono::Duration::days(3));
    w.subscribe("ada@example.org", "", [10, 0, 0, 3]).await;
    assert_eq!(w.outbox().len(), 1);
    assert_eq!(
        w.status_of("Ada@example.org"),
        Some(SubscriberStatus::Confirmed)
    );
}

#[tokio::test]
async fn subscribe_without_csrf_is_refused() {
    let w = world().await;
    // No cookie, no token.
    let r = w
        .post_form(
            "/subscribe",
            "email=a%40example.org&digest=weekly",
            None,
            [10, 0, 0, 1],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A token that does not belong to the cookie.
    let (cookie, _) = w.csrf().await;
    let (_, other) = w.csrf().await;
    let body = format!("csrf={}&email=a%40example.org", urlencode(&other));
    let r = w
        .post_form("/subscribe", &body, Some(&cookie), [10, 0, 0, 1])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A valid pair sent cross-site.
    let (cookie, token) = w.csrf().await;
    let req = Request::post("/subscribe")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(format!(
            "csrf={}&email=a%40example.org",
            urlencode(&token)
        )))
        .unwrap();
    assert_eq!(w.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(w.status_of("a@example.org"), None);
    assert!(w.outbox().is_empty());
}

#[tokio::test]
async fn same_answer_for_known_and_unknown_addresses_and_a_mail_cap() {
    let w = world().await;
    let g = w.state.gazette();
    g.store
        .upsert_subscriber(
            "known@example.org",
            None,
            &[],
            SubscriberStatus::Confirmed,
            g.now(),
        )
        .unwrap();
    let new = w.subscribe("new@example.org", "", [10, 0, 0, 1]).await;
    let known = w.subscribe("known@example.org", "", [10, 0, 0, 2]).await;
    let pending_again = w.subscribe("new@example.org", "", [10, 0, 0, 3]).await;
    for r in [&known, &pending_again] {
        assert_eq!(r.status, new.status);
        assert_eq!(r.body, new.body);
        let mut a = r.headers.clone();
        let mut b = new.headers.clone();
        a.remove(header::DATE);
        b.remove(header::DATE);
        assert_eq!(a, b);
    }
    // One confirmation mail: none for the confirmed address, none for the repeat within a day.
    assert_eq!(w.outbox().len(), 1);
    // The next day another one is allowed; at most three a week.
    for _ in 0..4 {
        w.advance(chrono::Duration::hours(25));
        w.subscribe("new@example.org", "", [10, 0, 0, 4]).await;
    }
    assert_eq!(w.outbox().len(), 3);
}

#[tokio::test]
async fn honeypot_gets_the_same_answer_and_nothing_happens() {
    let w = world().await;
    let normal = w.subscribe("real@example.org", "", [10, 0, 0, 1]).await;
    let bot = w
        .subscribe(
            "bot@example.org",
            "&website=http%3A%2F%2Fspam.example",
            [10, 0, 0, 2],
        )
        .await;
    assert_eq!(bot.status, StatusCode::OK);
    assert_eq!(bot.body, normal.body);
    assert_eq!(w.status_of("bot@example.org"), None);
    assert_eq!(w.outbox().len(), 1);
}

#[tokio::test]
async fn rate_limit_per_client_ip() {
    let w = world_with(
        WebOptions {
            subscribe_limit: 3,
            ..WebOptions::default()
        },
        None,
    )
    .await;
    for i in 0..3 {
        let r = w
            .subscribe(&format!("p{i}@example.org"), "", [10, 0, 0, 7])
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = w.subscribe("p3@example.org", "", [10, 0, 0, 7]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(w.status_of("p3@example.org"), None);
    // Another client is not affected; X-Forwarded-For from an untrusted peer is ignored.
    let r = w.subscribe("p4@example.org", "", [10, 0, 0, 8]).await;
    assert_eq!(r.status, StatusCode::OK);
    let (cookie, token) = w.csrf().await;
    let mut req = Request::post("/subscribe")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &cookie)
        .header("x-forwarded-for", "1.2.3.4")
        .body(Body::from(format!(
            "csrf={}&email=p5%40example.org",
            urlencode(&token)
        )))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 7], 1))));
    assert_eq!(w.send(req).await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn invalid_addresses_are_rejected() {
    let w = world().await;
    for bad in [
        "not-an-address",
        "a@b.c\r\nBcc: x@y.org",
        &format!("{}@example.org", "a".repeat(300)),
    ] {
        let r = w.subscribe(bad, "", [10, 0, 0, 1]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert!(w.state.gazette().store.subscribers().unwrap().is_empty());
    assert!(w.outbox().is_empty());
}

#[tokio::test]
async fn forged_expired_and_malformed_tokens_are_refused() {
    let w = world().await;
    w.subscribe("tok@example.org", "", [10, 0, 0, 1]).await;
    let confirm = confirm_path(&w.outbox()[0]);
    let token = confirm.trim_start_matches("/confirm/").to_string();
    let id = w
        .state
        .gazette()
        .store
        .subscriber("tok@example.org")
        .unwrap()
        .unwrap()
        .id;
    // One character changed in the signature, or in the payload.
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let unknown = w.get("/confirm/unknown.token").await;
    let t = w.state.gazette().tokens().unwrap();
    let other_purpose = t.sign(&Claim::Unsubscribe(id));
    let other_key =
        gazette::tokens::Tokens::new(b"some other secret key").sign(&Claim::Confirm(id, i64::MAX));
    for bad in [
        flipped.as_str(),
        "",
        "....",
        "%00",
        "bm90LWEtdG9rZW4",
        other_purpose.as_str(),
        other_key.as_str(),
    ] {
        let r = w.get(&format!("/confirm/{bad}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "GET {bad:?}");
        if !bad.is_empty() {
            assert_eq!(r.body, unknown.body, "{bad:?}");
        }
        let r = w
            .post_form(&format!("/confirm/{bad}"), "", None, [10, 0, 0, 1])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {bad:?}");
    }
    // A confirm token is not an unsubscribe token.
    let r = w
        .post_form(
            &format!("/unsubscribe/{token}"),
            "List-Unsubscribe=One-Click",
            None,
            [10, 0, 0, 1],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        w.status_of("tok@example.org"),
        Some(SubscriberStatus::Pending)
    );
    // Expired after 7 days: refused, nothing changes.
    w.advance(chrono::Duration::days(7) + chrono::Duration::seconds(1));
    let r = w.get(&confirm).await;
    assert_eq!(r.status, StatusCode::GONE);
    let r = w.post_form(&confirm, "", None, [10, 0, 0, 1]).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(r.body.contains("expired"));
    assert_eq!(
        w.status_of("tok@example.org"),
        Some(SubscriberStatus::Pending)
    );
}

/// A confirmation link is good for its own request only: after the reader confirmed,
/// unsubscribed and asked again, the first mail's link (still within its 7 days) confirms
/// nothing; the new mail's link does.
#[tokio::test]
async fn an_old_confirmation_link_does_not_confirm_a_later_request() {
    let w = world().await;
    w.subscribe("again@example.org", "", [10, 0, 0, 1]).await;
    let first = confirm_path(&w.outbox()[0]);
    let done = w.post_form(&first, "", None, [10, 0, 0, 1]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let g = w.state.gazette();
    let id = g.store.subscriber("again@example.org").unwrap().unwrap().id;
    assert!(g.store.unsubscribe(id, "one-click", g.now()).unwrap());
    w.advance(chrono::Duration::days(2));
    w.subscribe("again@example.org", "", [10, 0, 0, 2]).await;
    let mails = w.outbox();
    assert_eq!(mails.len(), 2);
    let second = mails
        .iter()
        .map(|m| confirm_path(m))
        .find(|p| *p != first)
        .expect("a second confirmation link");
    let r = w.post_form(&first, "", None, [10, 0, 0, 3]).await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    assert_eq!(
        w.status_of("again@example.org"),
        Some(SubscriberStatus::Pending)
    );
    let r = w.post_form(&second, "", None, [10, 0, 0, 2]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        w.status_of("again@example.org"),
        Some(SubscriberStatus::Confirmed)
    );
}

#[tokio::test]
async fn pending_rows_expire_after_seven_days() {
    let w = world().await;
    w.subscribe("late@example.org", "", [10, 0, 0, 1]).await;
    let g = w.state.gazette();
    w.advance(chrono::Duration::days(6));
    assert_eq!(g.store.purge_expired_pending(g.now()).unwrap(), 0);
    w.advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    assert_eq!(g.store.purge_expired_pending(g.now()).unwrap(), 1);
    assert_eq!(w.status_of("late@example.org"), None);
}

#[tokio::test]
async fn one_click_unsubscribe_needs_no_cookie_and_get_changes_nothing() {
    let w = world().await;
    let g = w.state.gazette();
    g.store
        .upsert_subscriber(
            "bye@example.org",
            None,
            &[],
            SubscriberStatus::Confirmed,
            g.now(),
        )
        .unwrap();
    let id = g.store.subscriber("bye@example.org").unwrap().unwrap().id;
    let path = format!(
        "/unsubscribe/{}",
        g.tokens().unwrap().sign(&Claim::Unsubscribe(id))
    );
    let page = w.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("b***@example.org") && page.body.contains("id=\"unsubscribe\""));
    assert!(!page.body.contains("bye@example.org"));
    assert_eq!(
        w.status_of("bye@example.org"),
        Some(SubscriberStatus::Confirmed)
    );
    // RFC 8058: no cookie, no Origin, no fetch metadata, no form token.
    let one_click = || {
        Request::post(&path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("List-Unsubscribe=One-Click"))
            .unwrap()
    };
    let r = w.send(one_click()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.headers.get(header::LOCATION).is_none());
    assert!(r.body.contains("/subscribe"), "offers to subscribe again");
    assert_eq!(
        w.status_of("bye@example.org"),
        Some(SubscriberStatus::Unsubscribed)
    );
    // Idempotent, and multipart bodies work too.
    assert_eq!(w.send(one_click()).await.status, StatusCode::OK);
    let multipart = Request::post(&path)
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
        .body(Body::from(
            "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n",
        ))
        .unwrap();
    assert_eq!(w.send(multipart).await.status, StatusCode::OK);
    assert_eq!(
        w.status_of("bye@example.org"),
        Some(SubscriberStatus::Unsubscribed)
    );
    // Subscribing again needs a fresh opt-in.
    w.subscribe("bye@example.org", "", [10, 0, 0, 1]).await;
    assert_eq!(
        w.status_of("bye@example.org"),
        Some(SubscriberStatus::Pending)
    );
    assert_eq!(w.outbox().len(), 1);
    // An invalid token changes nothing.
    let r = w
        .post_form(
            "/unsubscribe/x.y",
            "List-Unsubscribe=One-Click",
            None,
            [10, 0, 0, 1],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn feed_titles_and_subscriber_names_are_escaped() {
    let w = world().await;
    // The next issue (preview and `/`) before it is sent, the archive after.
    let mut pages = vec![];
    for path in ["/preview", "/preview?format=text", "/"] {
        pages.push((path.to_string(), w.get(path).await));
    }
    let id = w.publish_sent_issue();
    for path in ["/archive".to_string(), format!("/issues/{id}")] {
        pages.push((path.clone(), w.get(&path).await));
    }
    for (path, r) in pages {
        assert!(
            !r.body.contains("<script>alert(1)"),
            "{path} has raw script"
        );
        // Escaped once on pages, twice where the email sits in a frame's srcdoc.
        assert!(
            r.body.contains("&lt;script&gt;alert(1)")
                || r.body.contains("&amp;lt;script&amp;gt;alert(1)")
                || r.body.contains("&amp;lt;script&amp;gt;alert(1)"),
            "{path}: title missing or not escaped"
        );
    }
    let name = "<img src=x onerror=alert(1)>";
    w.subscribe(
        "name@example.org",
        &format!("&name={}", urlencode(name)),
        [10, 0, 0, 1],
    )
    .await;
    let confirm = confirm_path(&w.outbox()[0]);
    let page = w.get(&confirm).await;
    assert!(!page.body.contains(name));
    assert!(page.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[tokio::test]
async fn archive_lists_sent_issues_newest_first_without_personal_links() {
    let w = world().await;
    let empty = w.get("/archive").await;
    assert!(empty.body.contains("No issue has been sent yet"));
    assert!(
        empty.body.contains("name=\"csrf\""),
        "the archive carries the subscribe form"
    );
    let first = w.publish_sent_issue();
    w.advance(chrono::Duration::days(1));
    let second = w.publish_sent_issue();
    let list = w.get("/archive").await;
    let a = list.body.find(&format!("/issues/{second}\"")).unwrap();
    let b = list.body.find(&format!("/issues/{first}\"")).unwrap();
    assert!(a < b, "newest first");
    let issue = w.get(&format!("/issues/{first}")).await;
    assert_eq!(issue.status, StatusCode::OK);
    assert!(!issue.body.contains("reader@example.org"));
    assert!(!issue.body.contains("/unsubscribe/"));
    for missing in ["/issues/999", "/issues/abc", "/issues/-1"] {
        assert_eq!(
            w.get(missing).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[tokio::test]
async fn atom_feed_parses_with_feed_rs() {
    let w = world().await;
    let id = w.publish_sent_issue();
    let r = w.get("/feed.xml").await;
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/atom+xml"));
    let feed = feed_rs::parser::parse(r.body.as_bytes()).expect("valid Atom");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(feed.title.unwrap().content, "Test Wire");
    assert_eq!(feed.entries.len(), 1);
    let e = &feed.entries[0];
    assert_eq!(
        e.links[0].href,
        format!("https://news.example.org/issues/{id}")
    );
    assert!(e.title.as_ref().unwrap().content.contains(EVIL_TITLE));
    assert!(e
        .content
        .as_ref()
        .unwrap()
        .body
        .as_deref()
        .unwrap()
        .contains("Officials said the rules"));
    assert!(!r.body.contains("<script>"));
}
