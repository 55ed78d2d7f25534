//! Editorial review (issue 21) with pinned clocks: the review page as a value (`oneshot`):
//! CSRF, forged, cross-purpose and other-issue links, two editors at once, sanitized leads; and
//! the scheduler: a draft `review_lead` before the slot, held at the slot, editors told once,
//! sent when approved, and no later slot planning past a held draft.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::{DateTime, Utc};
use gazette::config::Config;
use gazette::model::SubscriberStatus;
use gazette::pipeline::{Clock, Gazette, NextIssue, PlanArgs};
use gazette::review::{self, Review, Status};
use gazette::schedule::runner::{Runner, SlotOutcome};
use gazette::tokens::{Claim, ReviewClaim};
use gazette::web::{router, AppState, WebOptions};
use tower::ServiceExt;

use crate::support::{config_text, root, tempdir};

const ED: &str = "ed@example.org";
const SECOND: &str = "second@example.org";

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A clock the test moves by hand.
fn pinned(t: &str) -> (Clock, Arc<Mutex<DateTime<Utc>>>) {
    let now = Arc::new(Mutex::new(utc(t)));
    let c = now.clone();
    (Arc::new(move || *c.lock().unwrap()), now)
}

/// The demo feeds (stories of 23–27 Nov 2026); `weekly` on Monday 08:00 New York (13:00 UTC),
/// reviewed as `policy`, two editors, one reader, a file outbox. Feeds fetched.
async fn gazette_at(dir: &Path, clock: Clock, policy: &str) -> Gazette {
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
    let extra = format!(
        "{feeds}\n[[digests]]\nname = \"weekly\"\ntitle = \"Tech Policy Weekly\"\nschedule = \"0 8 * * MON\"\n\
         window = \"7d\"\ncatch_up = \"12h\"\nreview = \"{policy}\"\nreview_lead = \"2h\"\n"
    );
    let text = config_text(
        dir,
        &format!("file://{}", dir.join("outbox").display()),
        &extra,
    )
    .replace("Europe/Berlin", "America/New_York")
    .replace(
        "[newsletter]\n",
        &format!("[newsletter]\neditors = [\"{ED}\", \"{SECOND}\"]\n"),
    );
    let config = Config::parse(&text, &dir.join("gazette.toml")).unwrap();
    let g = Gazette::open(config, clock).unwrap();
    g.store
        .upsert_subscriber(
            "ada@example.org",
            None,
            &[],
            SubscriberStatus::Confirmed,
            g.now(),
        )
        .unwrap();
    g.refresh(&|_: &gazette::ingest::FeedOutcome| {})
        .await
        .unwrap();
    g
}

/// Files in the outbox whose name starts so.
fn outbox(dir: &Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("outbox"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The draft `send` would plan now.
async fn draft(g: &Gazette) -> Review {
    let digest = g.config.digest(Some("weekly")).unwrap().clone();
    match g.next_issue(&digest, &PlanArgs::default()).await.unwrap() {
        NextIssue::Review(r) => *r,
        _ => panic!("a reviewed digest's next issue is a draft"),
    }
}

/// The path of an editor's review link.
fn link(g: &Gazette, r: &Review, editor: &str) -> String {
    let url = review::mail::link(g, &g.tokens().unwrap(), r, editor);
    url.strip_prefix("https://news.example.org")
        .unwrap()
        .to_string()
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn call(state: &AppState, req: Request<Body>) -> Reply {
    let res = router(state.clone()).oneshot(req).await.unwrap();
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

async fn get(state: &AppState, path: &str) -> Reply {
    call(state, Request::get(path).body(Body::empty()).unwrap()).await
}

/// A browser's session on the review page: its CSRF cookie and the form fields of the page.
struct Session {
    cookie: String,
    csrf: String,
    version: i64,
}

async fn open_page(state: &AppState, path: &str) -> (Session, Reply) {
    let page = get(state, path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let cookie = page.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let field = |name: &str| {
        regex::Regex::new(&format!(r#"name="{name}" value="([^"]+)""#))
            .unwrap()
            .captures(&page.body)
            .unwrap_or_else(|| panic!("no {name} in the page"))[1]
            .to_string()
    };
    let session = Session {
        cookie,
        csrf: field("csrf"),
        version: field("version").parse().unwrap(),
    };
    (session, page)
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A same-origin form POST; `cookie: None` posts without the CSRF cookie.
async fn post(state: &AppState, path: &str, cookie: Option<&str>, body: &str) -> Reply {
    let mut req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    call(state, req.body(Body::from(body.to_string())).unwrap()).await
}

/// A form of the page: issue, version, csrf and the action's fields.
fn form(s: &Session, issue: i64, fields: &str) -> String {
    format!(
        "csrf={}&issue={issue}&version={}&{fields}",
        enc(&s.csrf),
        s.version
    )
}

async fn web_world(dir: &Path) -> (AppState, Review) {
    // Saturday 28 Nov 2026: the draft is for Monday's slot.
    let (clock, _) = pinned("2026-11-28T12:00:00Z");
    let g = gazette_at(dir, clock, "required").await;
    let r = draft(&g).await;
    (AppState::new(g, WebOptions::default()).unwrap(), r)
}

#[tokio::test]
async fn a_review_form_without_csrf_is_refused_and_changes_nothing() {
    let dir = tempdir();
    let (state, r) = web_world(dir.path()).await;
    let g = state.gazette();
    let path = link(&g, &r, ED);
    let (s, _) = open_page(&state, &path).await;
    let story = r.draft.entries[0].story;
    // No cookie; a cookie with another form's token; a cross-site request.
    let body = form(&s, r.issue, &format!("do=drop&story={story}"));
    assert_eq!(
        post(&state, &path, None, &body).await.status,
        StatusCode::FORBIDDEN
    );
    let forged = body.replace(&enc(&s.csrf), "AAAA");
    let res = post(&state, &path, Some(&s.cookie), &forged).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let cross = Request::post(&path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .header(header::COOKIE, &s.cookie)
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(call(&state, cross).await.status, StatusCode::FORBIDDEN);
    // The GETs and refused POSTs changed nothing.
    let now = review::load(&g, r.issue).unwrap().unwrap();
    assert_eq!(now.version, r.version);
    assert!(now.draft.entries.iter().all(|e| !e.dropped));
    // With the token it works.
    let ok = post(&state, &path, Some(&s.cookie), &body).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(review::load(&g, r.issue).unwrap().unwrap().draft.entries[0].dropped);
}

#[tokio::test]
async fn forged_cross_purpose_and_other_issue_links_are_not_found() {
    let dir = tempdir();
    let (state, r) = web_world(dir.path()).await;
    let g = state.gazette();
    let tokens = g.tokens().unwrap();
    let genuine = link(&g, &r, ED);
    let claim = |issue: i64, digest: &str, editor: &str, until: i64| {
        Claim::Review(ReviewClaim {
            issue,
            digest: digest.into(),
            editor: editor.into(),
            until,
        })
    };
    let until = (r.slot + chrono::Duration::hours(12)).timestamp();
    let flipped = if genuine.ends_with('A') { 'B' } else { 'A' };
    let forged_sig = format!("{}{flipped}", &genuine[..genuine.len() - 1]);
    let bad = [
        "/review/garbage".to_string(),
        forged_sig,
        // A confirm link's and an unsubscribe link's tokens: right key, wrong purpose.
        format!("/review/{}", tokens.sign(&Claim::Confirm(1, until))),
        format!("/review/{}", tokens.sign(&Claim::Unsubscribe(1))),
        // Signed, but for another digest, another (missing) issue, or no configured editor.
        format!(
            "/review/{}",
            tokens.sign(&claim(r.issue, "daily", ED, until))
        ),
        format!(
            "/review/{}",
            tokens.sign(&claim(r.issue + 7, "weekly", ED, until))
        ),
        format!(
            "/review/{}",
            tokens.sign(&claim(r.issue, "weekly", "eve@example.org", until))
        ),
        // Signed with another secret.
        format!(
            "/review/{}",
            gazette::tokens::Tokens::new(b"another secret, not ours")
                .sign(&claim(r.issue, "weekly", ED, until))
        ),
    ];
    for path in &bad {
        let res = get(&state, path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.body);
        assert!(!res.body.contains(&r.draft.entries[0].view.title), "{path}");
    }
    // A genuine page's form that names another issue, or a story of no draft: 404 too.
    let (s, _) = open_page(&state, &genuine).await;
    let story = r.draft.entries[0].story;
    for fields in [
        (r.issue + 1, format!("do=drop&story={story}")),
        (r.issue, "do=drop&story=99999".to_string()),
        (r.issue, "do=pin&story=99999".to_string()),
        (r.issue, "do=add&story=99999".to_string()),
    ] {
        let res = post(
            &state,
            &genuine,
            Some(&s.cookie),
            &form(&s, fields.0, &fields.1),
        )
        .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{fields:?}");
    }
    assert_eq!(
        review::load(&g, r.issue).unwrap().unwrap().version,
        r.version
    );
    // The genuine link stops working after slot + catch_up.
    let late = review::mail::link_until(&g, &r).timestamp() + 1;
    let expired = format!(
        "/review/{}",
        tokens.sign(&claim(r.issue, "weekly", ED, late - 2))
    );
    let g2 = Gazette::open(
        g.config.clone(),
        Arc::new(move || DateTime::from_timestamp(late, 0).unwrap()),
    )
    .unwrap();
    let later = AppState::new(g2, WebOptions::default()).unwrap();
    assert_eq!(get(&later, &expired).await.status, StatusCode::GONE);
}

#[tokio::test]
async fn two_editors_at_once_the_later_save_is_refused_with_its_text_kept() {
    let dir = tempdir();
    let (state, r) = web_world(dir.path()).await;
    let g = state.gazette();
    let (a, b) = (link(&g, &r, ED), link(&g, &r, SECOND));
    let (sa, _) = open_page(&state, &a).await;
    let (sb, _) = open_page(&state, &b).await;
    assert_eq!(sa.version, sb.version);
    let story = r.draft.entries[1].story;
    let lead = "The <b>new</b> lead, with <a href=\"https://example.org/x\" onclick=\"evil()\">a link</a> \
                <script>alert(1)</script>and <a href=\"javascript:alert(2)\">no other</a>.";
    let saved = post(
        &state,
        &a,
        Some(&sa.cookie),
        &form(
            &sa,
            r.issue,
            &format!("do=lead&story={story}&lead={}", enc(lead)),
        ),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    // The second editor's page is stale: refused, nothing lost silently.
    let intro = "A word from the second editor.";
    let refused = post(
        &state,
        &b,
        Some(&sb.cookie),
        &form(&sb, r.issue, &format!("do=intro&intro={}", enc(intro))),
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.body.contains("changed since you loaded it"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains(intro),
        "the typed intro is shown again"
    );
    let now = review::load(&g, r.issue).unwrap().unwrap();
    assert_eq!(now.version, r.version + 1);
    assert_eq!(now.draft.intro_markdown, r.draft.intro_markdown);
    // The lead went through the extracted leads' sanitizer.
    let e = now.draft.entry(story).unwrap();
    assert_eq!(
        e.view.lead_html,
        "<p>The new lead, with <a href=\"https://example.org/x\" rel=\"noopener\">a link</a> \
         and <a rel=\"noopener\">no other</a>.</p>"
    );
    assert_eq!(e.view.lead_text, "The new lead, with a link and no other.");
    let stored = g.stored_view(r.issue).unwrap();
    assert!(stored
        .sections
        .iter()
        .flat_map(|s| &s.stories)
        .any(|s| s.lead_text == e.view.lead_text));
    // Who did what, by link.
    let log = g.store.review_log(r.issue).unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.who, ED);
    assert!(last.what.starts_with("edited the lead of"), "{}", last.what);
    // Reloaded, the second editor's save goes through.
    let (sb, _) = open_page(&state, &b).await;
    let ok = post(
        &state,
        &b,
        Some(&sb.cookie),
        &form(&sb, r.issue, &format!("do=intro&intro={}", enc(intro))),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(
        g.store.review_log(r.issue).unwrap().last().unwrap().who,
        SECOND
    );
    assert!(g
        .stored_view(r.issue)
        .unwrap()
        .intro_html
        .unwrap()
        .contains(intro));
}

fn runner(g: &Gazette) -> Runner<'_> {
    Runner {
        gazette: g,
        stop: Default::default(),
        health: Default::default(),
    }
}

#[tokio::test]
async fn the_scheduler_drafts_ahead_holds_at_the_slot_tells_once_and_sends_when_approved() {
    let dir = tempdir();
    let d = dir.path();
    // Monday 30 Nov 2026; the slot is 13:00 UTC, the draft is due at 11:00.
    let (clock, now) = pinned("2026-11-30T10:30:00Z");
    let g = gazette_at(d, clock, "required").await;
    let run = runner(&g);
    let mut after = g.now();
    let mut tick_at = |t: &str| {
        let from = after;
        *now.lock().unwrap() = utc(t);
        after = utc(t);
        (from, utc(t))
    };
    let (a, b) = tick_at("2026-11-30T10:59:00Z");
    run.tick(a, b).await.unwrap();
    assert!(
        g.store.issues().unwrap().is_empty(),
        "too early for the draft"
    );

    let (a, b) = tick_at("2026-11-30T11:00:30Z");
    run.tick(a, b).await.unwrap();
    let r = review::open(&g, "weekly").unwrap().expect("the draft");
    assert_eq!(r.slot, utc("2026-11-30T13:00:00Z"));
    assert_eq!(outbox(d, "review-").len(), 2, "one review mail per editor");
    assert!(outbox(d, "issue-").is_empty() && g.store.deliveries(r.issue).unwrap().is_empty());

    let (a, b) = tick_at("2026-11-30T12:30:00Z");
    run.tick(a, b).await.unwrap();
    assert_eq!(outbox(d, "review-").len(), 2, "no second review mail");

    // The slot passes unapproved: held, the editors told once.
    let (a, b) = tick_at("2026-11-30T13:00:20Z");
    let out = run.tick(a, b).await.unwrap();
    assert!(
        out.iter()
            .any(|(_, _, o)| matches!(o, SlotOutcome::Held { .. })),
        "{out:?}"
    );
    assert_eq!(
        review::open(&g, "weekly").unwrap().unwrap().status,
        Status::Held
    );
    assert_eq!(outbox(d, "review-").len(), 4);
    for t in [
        "2026-11-30T13:01:20Z",
        "2026-11-30T13:02:20Z",
        "2026-11-30T18:00:00Z",
    ] {
        let (a, b) = tick_at(t);
        run.tick(a, b).await.unwrap();
    }
    assert_eq!(
        outbox(d, "review-").len(),
        4,
        "told once, not once per tick"
    );
    assert!(g.store.deliveries(r.issue).unwrap().is_empty());

    // A week later the held draft is still the next issue: no second draft, no mail.
    for t in ["2026-12-07T11:00:30Z", "2026-12-07T13:00:30Z"] {
        let (a, b) = tick_at(t);
        run.tick(a, b).await.unwrap();
    }
    assert_eq!(g.store.issues().unwrap().len(), 1);
    assert_eq!(outbox(d, "review-").len(), 4);

    // Approved: it goes out on the next tick, once.
    let change = review::approve(&g, r.issue, None, "cli:test").unwrap();
    assert!(matches!(change, review::Change::Saved { .. }), "{change:?}");
    let (a, b) = tick_at("2026-12-07T13:01:30Z");
    run.tick(a, b).await.unwrap();
    let issue = g.store.issue(r.issue).unwrap().unwrap();
    assert_eq!((issue.sent, issue.queued), (1, 0));
    let (a, b) = tick_at("2026-12-07T13:02:30Z");
    run.tick(a, b).await.unwrap();
    assert_eq!(g.store.issue(r.issue).unwrap().unwrap().sent, 1);
    assert_eq!(outbox(d, "issue-").len(), 1, "{:?}", outbox(d, ""));
    let who: Vec<String> = g
        .store
        .review_log(r.issue)
        .unwrap()
        .into_iter()
        .map(|l| format!("{}: {}", l.who, l.what))
        .collect();
    assert!(
        who.iter().any(|l| l.starts_with("gazette serve: held it")),
        "{who:?}"
    );
    assert!(
        who.iter()
            .any(|l| l.starts_with("cli:test: approved the held issue")),
        "{who:?}"
    );
    assert!(
        who.iter().any(|l| l.starts_with("gazette serve: sent it")),
        "{who:?}"
    );
}

#[tokio::test]
async fn an_optional_review_goes_out_at_the_slot_as_it_stands_with_its_edits() {
    let dir = tempdir();
    let d = dir.path();
    let (clock, now) = pinned("2026-11-30T11:30:00Z");
    let g = gazette_at(d, clock, "optional").await;
    let run = runner(&g);
    run.tick(utc("2026-11-30T11:29:00Z"), g.now())
        .await
        .unwrap();
    let r = review::open(&g, "weekly").unwrap().expect("the draft");
    let dropped = r.draft.entries[0].clone();
    review::edit(&g, r.issue, None, ED, review::Edit::Drop(dropped.story)).unwrap();
    *now.lock().unwrap() = utc("2026-11-30T13:00:10Z");
    let out = run
        .tick(utc("2026-11-30T11:30:00Z"), g.now())
        .await
        .unwrap();
    assert!(
        out.iter()
            .any(|(_, _, o)| matches!(o, SlotOutcome::Issue { sent: 1, .. })),
        "{out:?}"
    );
    let sent = outbox(d, "issue-");
    assert_eq!(sent.len(), 1);
    let eml = std::fs::read(d.join("outbox").join(&sent[0])).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&eml).unwrap();
    let (text, html) = (msg.body_text(0).unwrap(), msg.body_html(0).unwrap());
    assert!(text.contains(&r.draft.entries[1].view.title), "{text}");
    assert!(
        !text.contains(&dropped.view.url) && !html.contains(&dropped.view.title),
        "the dropped story stayed out: {text}"
    );
    assert_eq!(
        outbox(d, "review-").len(),
        2,
        "no held notice for an optional review"
    );
}

#[test]
fn review_keys_are_checked_each_naming_its_key() {
    let dir = tempdir();
    let path = dir.path().join("gazette.toml");
    let digests = "[[feeds]]\nurl = \"feed.xml\"\n\n[[digests]]\nname = \"weekly\"\n\
                   review = \"sometimes\"\nreview_lead = \"soon\"\n";
    let text = config_text(dir.path(), "file://out", digests).replace(
        "[newsletter]\n",
        "[newsletter]\neditors = [\"not an address\"]\n",
    );
    let problems = Config::parse(&text, &path).unwrap_err().0;
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for key in [
        "digests[0].review",
        "digests[0].review_lead",
        "newsletter.editors",
    ] {
        assert!(keys.contains(&key), "{key} in {problems:?}");
    }
    assert!(problems.iter().all(|p| p.line.is_some()), "{problems:?}");
    // A reviewed digest needs someone to review it.
    let text = config_text(
        dir.path(),
        "file://out",
        "[[feeds]]\nurl = \"feed.xml\"\n\n[[digests]]\nname = \"weekly\"\nreview = \"required\"\n",
    );
    let problems = Config::parse(&text, &path).unwrap_err().0;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("editors"), "{problems:?}");
    // And the keys as documented parse.
    let text = config_text(
        dir.path(),
        "file://out",
        "[[feeds]]\nurl = \"feed.xml\"\n\n[[digests]]\nname = \"weekly\"\nreview = \"optional\"\nreview_lead = \"90m\"\n",
    )
    .replace("[newsletter]\n", "[newsletter]\neditors = [\"Ed@Example.org\"]\n");
    let c = Config::parse(&text, &path).unwrap();
    assert_eq!(c.newsletter.editors, ["Ed@example.org"]);
    assert_eq!(
        c.digests[0].review,
        Some(gazette::config::ReviewPolicy::Optional)
    );
    assert_eq!(c.digests[0].review_lead, chrono::Duration::minutes(90));
}

/// An RSS feed file of `(id, title)` stories published on 27 Nov 2026.
fn write_feed(path: &Path, stories: &[(usize, &str)]) {
    let items: String = stories
        .iter()
        .map(|(i, title)| {
            format!(
                "<item><title>{title}</title><link>https://example.com/{i}</link><guid>https://example.com/{i}</guid>\
                 <pubDate>Fri, 27 Nov 2026 0{i}:00:00 GMT</pubDate><description>&lt;p&gt;{title}: officials said on \
                 Thursday that the change would take effect next year, after a long review by regulators.&lt;/p&gt;\
                 </description></item>"
            )
        })
        .collect();
    std::fs::write(
        path,
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Desk</title><link>https://example.com/</link>{items}</channel></rss>"),
    )
    .unwrap();
}

#[tokio::test]
async fn stories_arriving_after_the_draft_are_offered_never_added_silently_and_the_rest_wait() {
    let dir = tempdir();
    let d = dir.path();
    let feed = d.join("desk.xml");
    write_feed(
        &feed,
        &[
            (1, "Court blocks grocery merger"),
            (2, "Spectrum auction delayed"),
        ],
    );
    let text = config_text(
        d,
        &format!("file://{}", d.join("outbox").display()),
        &format!(
            "[[feeds]]\nurl = \"{}\"\n\n[[digests]]\nname = \"weekly\"\nschedule = \"0 8 * * MON\"\nwindow = \"7d\"\nreview = \"required\"\n",
            feed.display()
        ),
    )
    .replace("[newsletter]\n", &format!("[newsletter]\neditors = [\"{ED}\"]\n"));
    let (clock, _) = pinned("2026-11-28T12:00:00Z");
    let g = Gazette::open(
        Config::parse(&text, &d.join("gazette.toml")).unwrap(),
        clock,
    )
    .unwrap();
    g.refresh(&|_: &gazette::ingest::FeedOutcome| {})
        .await
        .unwrap();
    let r = draft(&g).await;
    assert_eq!(r.draft.shown().count(), 2);

    write_feed(
        &feed,
        &[
            (1, "Court blocks grocery merger"),
            (2, "Spectrum auction delayed"),
            (3, "Ransomware hits water utility"),
            (4, "Satellite makers seek orbit rules"),
        ],
    );
    g.refresh(&|_: &gazette::ingest::FeedOutcome| {})
        .await
        .unwrap();
    let state = AppState::new(g, WebOptions::default()).unwrap();
    let g = state.gazette();
    let path = link(&g, &r, ED);
    let (s, page) = open_page(&state, &path).await;
    assert!(page.body.contains("Arrived since the draft"));
    for title in [
        "Ransomware hits water utility",
        "Satellite makers seek orbit rules",
    ] {
        assert!(page.body.contains(title), "{title} offered");
    }
    let now = review::load(&g, r.issue).unwrap().unwrap();
    assert_eq!(now.draft.shown().count(), 2, "nothing added silently");
    assert!(!g
        .stored_view(r.issue)
        .unwrap()
        .subject
        .contains("Ransomware"));

    let arrived = review::arrived(&g, &now).unwrap();
    let add = arrived
        .iter()
        .find(|e| e.view.title == "Ransomware hits water utility")
        .unwrap()
        .story;
    let res = post(
        &state,
        &path,
        Some(&s.cookie),
        &form(&s, r.issue, &format!("do=add&story={add}")),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let now = review::load(&g, r.issue).unwrap().unwrap();
    assert_eq!(now.draft.shown().count(), 3);
    assert!(now.draft.entry(add).unwrap().added);
    let left: Vec<String> = review::arrived(&g, &now)
        .unwrap()
        .into_iter()
        .map(|e| e.view.title)
        .collect();
    assert_eq!(left, ["Satellite makers seek orbit rules"]);

    // Released, the draft carries the added story; the next issue takes only the one left.
    review::approve(&g, r.issue, None, ED).unwrap();
    let approved = review::load(&g, r.issue).unwrap().unwrap();
    let step = review::on_send(&g, approved, None, false).await.unwrap();
    assert!(matches!(step, review::SendStep::Released { .. }));
    let next = g
        .plan(g.config.digest(Some("weekly")).unwrap(), None)
        .unwrap();
    let titles: Vec<&str> = next
        .stories
        .iter()
        .map(|s| s.story.title.as_str())
        .collect();
    assert_eq!(titles, ["Satellite makers seek orbit rules"]);
}
