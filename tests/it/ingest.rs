use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gazette::config::Config;
use gazette::ingest::{fetch_all, FeedOutcome, FeedStatus};
use gazette::store::Store;

use crate::support::{config_text, root, tempdir, HttpServer};

#[derive(Clone, Default)]
struct Hits {
    feeds: Arc<AtomicUsize>,
    limited: Arc<AtomicUsize>,
    broken: Arc<AtomicBool>,
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/data/feeds").join(name)).unwrap()
}

async fn feed(State(h): State<Hits>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    h.feeds.fetch_add(1, Ordering::SeqCst);
    if h.broken.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    if headers.get("if-none-match").is_some_and(|v| v == "\"v1\"") {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let ct = if name.ends_with(".html") {
        "text/html"
    } else {
        "application/rss+xml"
    };
    (
        [
            ("content-type", ct),
            ("etag", "\"v1\""),
            ("last-modified", "Mon, 23 Nov 2026 10:00:00 GMT"),
        ],
        data(&name),
    )
        .into_response()
}

fn app(h: Hits) -> Router {
    Router::new()
        .route("/feeds/{name}", get(feed))
        .route(
            "/limited",
            get(|State(h): State<Hits>| async move {
                h.limited.fetch_add(1, Ordering::SeqCst);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "120")],
                    "slow down",
                )
            }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [("location", "/loop")]) }),
        )
        .route(
            "/huge",
            get(|| async {
                let chunk = bytes_of(1 << 20);
                let stream = futures_util::stream::iter(
                    (0..50).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
                );
                Response::builder()
                    .header("content-type", "application/rss+xml")
                    .body(Body::from_stream(stream))
                    .unwrap()
            }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        )
        .route(
            "/gzip",
            get(|| async {
                use std::io::Write;
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(&data("rss2-basic.xml")).unwrap();
                (
                    [
                        ("content-type", "application/rss+xml"),
                        ("content-encoding", "gzip"),
                    ],
                    enc.finish().unwrap(),
                )
            }),
        )
        .with_state(h)
}

/// The path of a feed in tests/data/feeds.
fn data_file(name: &str) -> String {
    root()
        .join("tests/data/feeds")
        .join(name)
        .display()
        .to_string()
}

fn bytes_of(n: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b'x'; n])
}

fn feeds_toml(urls: &[String]) -> String {
    let mut s = String::new();
    for u in urls {
        s.push_str(&format!("[[feeds]]\nurl = \"{u}\"\n\n"));
    }
    s + "[[digests]]\nname = \"weekly\"\n"
}

async fn run(config: &Config, store: &Arc<Store>) -> Vec<FeedOutcome> {
    fetch_all(config, store, chrono::Utc::now(), &|_| {})
        .await
        .unwrap()
}

fn setup(urls: &[String]) -> (tempfile::TempDir, Config, Arc<Store>) {
    let dir = tempdir();
    let text = config_text(dir.path(), "file:///tmp/outbox", &feeds_toml(urls));
    let config = Config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    let store = Arc::new(Store::open(&config.storage_path).unwrap());
    (dir, config, store)
}

#[tokio::test]
async fn each_broken_feed_is_its_own_error_and_the_others_are_unharmed() {
    let server = HttpServer::start(app(Hits::default()));
    let urls: Vec<String> = [
        "/feeds/rss2-basic.xml",
        "/limited",
        "/loop",
        "/huge",
        "/hang",
        "/gzip",
        "/feeds/not-a-feed.html",
    ]
    .iter()
    .map(|p| server.url(p))
    .chain([format!("http://127.0.0.1:{}/refused", unused_port())])
    .collect();
    let (_dir, config, store) = setup(&urls);
    let out = run(&config, &store).await;
    let by = |suffix: &str| out.iter().find(|o| o.url.ends_with(suffix)).unwrap();
    assert_eq!(by("rss2-basic.xml").status, FeedStatus::New);
    assert_eq!(by("rss2-basic.xml").new, 2);
    let err = |suffix: &str| by(suffix).error.clone().unwrap_or_default();
    assert!(
        err("/limited").contains("HTTP 429") && err("/limited").contains("retry after 120s"),
        "{}",
        err("/limited")
    );
    assert!(err("/loop").contains("redirect"), "{}", err("/loop"));
    assert!(err("/huge").contains("limit"), "{}", err("/huge"));
    assert!(err("/hang").contains("timed out"), "{}", err("/hang"));
    assert!(
        err("not-a-feed.html").contains("not a feed: got an HTML page"),
        "{}",
        err("not-a-feed.html")
    );
    assert!(
        err("/refused").contains("fetch http://127.0.0.1"),
        "{}",
        err("/refused")
    );
    for suffix in [
        "/limited",
        "/loop",
        "/huge",
        "/hang",
        "not-a-feed.html",
        "/refused",
    ] {
        assert_eq!(by(suffix).status, FeedStatus::Error, "{suffix}");
        assert!(
            by(suffix)
                .error
                .as_deref()
                .unwrap()
                .contains(&server.addr.ip().to_string()),
            "error names the feed: {suffix}"
        );
    }
    // The gzip feed carries the same stories as rss2-basic: deduplicated across feeds.
    assert_eq!(by("/gzip").status, FeedStatus::Unchanged);
    assert_eq!(store.story_count().unwrap(), 2);
}

fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn conditional_get_gives_not_modified_and_failures_keep_what_was_seen() {
    let hits = Hits::default();
    let server = HttpServer::start(app(hits.clone()));
    let (_dir, config, store) = setup(&[server.url("/feeds/rss2-basic.xml")]);
    assert_eq!(run(&config, &store).await[0].status, FeedStatus::New);
    assert_eq!(
        run(&config, &store).await[0].status,
        FeedStatus::NotModified
    );
    hits.broken.store(true, Ordering::SeqCst);
    let failed = run(&config, &store).await;
    assert_eq!(failed[0].status, FeedStatus::Error);
    assert!(failed[0].error.as_deref().unwrap().contains("HTTP 500"));
    let state = store.feed_state(&config.feeds[0].url).unwrap();
    assert_eq!(
        state.etag.as_deref(),
        Some("\"v1\""),
        "a failed fetch keeps the validators"
    );
    assert_eq!(
        store.story_count().unwrap(),
        2,
        "a failed fetch keeps the stories"
    );
    hits.broken.store(false, Ordering::SeqCst);
    assert_eq!(
        run(&config, &store).await[0].status,
        FeedStatus::NotModified
    );
}

#[tokio::test]
async fn retry_after_is_respected() {
    let hits = Hits::default();
    let server = HttpServer::start(app(hits.clone()));
    let (_dir, config, store) = setup(&[server.url("/limited")]);
    run(&config, &store).await;
    let second = run(&config, &store).await;
    assert_eq!(
        hits.limited.load(Ordering::SeqCst),
        1,
        "no request before Retry-After has passed"
    );
    assert!(
        second[0]
            .error
            .as_deref()
            .unwrap()
            .contains("not retried before"),
        "{:?}",
        second[0].error
    );
}

#[tokio::test]
async fn entries_without_ids_get_the_same_id_on_every_fetch() {
    let path = root()
        .join("tests/data/feeds/rss2-no-guids.xml")
        .display()
        .to_string();
    let (_dir, config, store) = setup(&[path]);
    assert_eq!(run(&config, &store).await[0].new, 2);
    let again = run(&config, &store).await;
    assert_eq!(again[0].status, FeedStatus::Unchanged);
    assert_eq!(store.story_count().unwrap(), 2);
}

#[tokio::test]
async fn duplicate_guids_are_stored_once() {
    let url = format!(
        "file://{}",
        root()
            .join("tests/data/feeds/rss2-duplicate-guids.xml")
            .display()
    );
    let (_dir, config, store) = setup(&[url]);
    let out = run(&config, &store).await;
    assert_eq!(out[0].new, 2);
    let stories = store
        .stories_for_digest("weekly", chrono::DateTime::UNIX_EPOCH, i64::MAX)
        .unwrap();
    let titles: Vec<_> = stories.iter().map(|s| s.story.title.as_str()).collect();
    assert!(
        titles.contains(&"Original story") && titles.contains(&"Different story"),
        "{titles:?}"
    );
}

/// Issue 15: a story is its GUID within its feed. Items with their own GUIDs that share one link
/// are all kept (a podcast lost 122 of 131 episodes that way); links that differ only in the
/// fragment are different items; the URL deduplicates items without a GUID, and across feeds.
#[tokio::test]
async fn identity_is_the_guid_within_a_feed_and_the_url_across_feeds() {
    let (_dir, config, store) = setup(&[
        data_file("rss2-shared-link-own-guids.xml"),
        data_file("rss2-fragment-links-no-guids.xml"),
        data_file("rss2-cross-posted.xml"),
    ]);
    let out = run(&config, &store).await;
    assert_eq!(out[0].new, 5, "five episodes, one shared link: {out:?}");
    assert_eq!(
        out[1].new, 2,
        "#v2.1 and #v2.0; the repeated #v2.0 once: {out:?}"
    );
    assert_eq!(
        out[2].new, 1,
        "the re-post of #v2.1 is the same story: {out:?}"
    );
    let again = run(&config, &store).await;
    assert!(again.iter().all(|o| o.new == 0), "{again:?}");
    assert_eq!(store.story_count().unwrap(), 8);
}

/// Issue 15: a windows-1251 feed in UserLand's old default namespace gives its items with their
/// Cyrillic titles (it gave 0 stories and no error); a document whose entries cannot be read is
/// an error naming the problem, never a silent zero.
#[tokio::test]
async fn legacy_encodings_and_dialects_are_read_and_unreadable_entries_are_an_error() {
    let (_dir, config, store) = setup(&[
        data_file("rss2-userland-windows-1251.xml"),
        data_file("entries-in-an-unknown-dialect.xml"),
    ]);
    let out = run(&config, &store).await;
    assert_eq!(out[0].status, FeedStatus::New, "{:?}", out[0]);
    assert_eq!(out[0].new, 3);
    assert_eq!(out[0].title.as_deref(), Some("Новости регулирования"));
    let stories = store
        .stories_for_digest("weekly", chrono::DateTime::UNIX_EPOCH, i64::MAX)
        .unwrap();
    let titles: Vec<_> = stories.iter().map(|s| s.story.title.as_str()).collect();
    assert!(
        titles.contains(&"Регулятор ужесточил экспортный контроль"),
        "{titles:?}"
    );
    assert_eq!(out[1].status, FeedStatus::Error, "{:?}", out[1]);
    let err = out[1].error.as_deref().unwrap();
    assert!(
        err.contains("item or entry elements") && err.contains("none could be read"),
        "{err}"
    );
}

/// Issue 15: old dialects and legacy encodings (tests/data/feeds/dialects/, one file each) give
/// their entries, with the titles decoded.
#[test]
fn every_dialect_and_encoding_gives_its_entries() {
    let dir = root().join("tests/data/feeds/dialects");
    let expect = [
        ("atom-0.3.xml", "First post"),
        ("rss-0.90-netscape.xml", "One"),
        ("rss-0.92-latin1.xml", "Café item"),
        ("rss-1.0-rdf.xml", "One"),
        ("rss-2.0-default-namespace.xml", "One"),
        ("rss-2.0-shift_jis.xml", "輸出規制が強化された"),
        ("rss-2.0-euc-jp.xml", "輸出規制が強化された"),
        ("rss-2.0-gb2312.xml", "出口管制收紧"),
        ("rss-2.0-big5.xml", "出口管制收緊"),
        ("rss-2.0-euc-kr.xml", "수출 통제 강화"),
        ("rss-2.0-koi8-r.xml", "Экспортный контроль"),
        ("rss-2.0-iso-8859-7.xml", "Έλεγχοι εξαγωγών"),
        ("rss-2.0-utf-16-bom.xml", "Ωμέγα"),
    ];
    for (file, title) in expect {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let feed = gazette::ingest::parse::parse_feed(&bytes, None, file, chrono::Utc::now())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!feed.stories.is_empty(), "{file}: no story");
        assert_eq!(feed.stories[0].title, title, "{file}");
    }
    let atom = std::fs::read(dir.join("atom-0.3.xml")).unwrap();
    let feed = gazette::ingest::parse::parse_feed(&atom, None, "a", chrono::Utc::now()).unwrap();
    assert_eq!(feed.stories.len(), 2);
    assert!(
        feed.stories[0].dated,
        "Atom 0.3 <issued> is the published date"
    );
    assert_eq!(
        feed.stories[0].published.to_rfc3339(),
        "2026-11-23T10:00:00+00:00"
    );
}

/// A teaser-only feed: the lead comes from the article page, fetched once and cached; with
/// `fetch_article = false` the feed's own summary is used.
#[tokio::test]
async fn teaser_feeds_take_the_lead_from_the_article_page_fetched_once() {
    let Some(fx) = crate::support::fixtures() else {
        return;
    };
    let page = std::fs::read_to_string(fx.join("articles/html/seed-geekwire.html")).unwrap();
    let page_hits = Arc::new(AtomicUsize::new(0));
    let hits = page_hits.clone();
    let server = HttpServer::start(
        Router::new()
            .route(
                "/article",
                get(move || {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let page = page.clone();
                    async move { ([("content-type", "text/html")], page) }
                }),
            )
            .route(
                "/feed.xml",
                get(|headers: HeaderMap| async move {
                    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("").to_string();
                    format!(
                        r#"<rss version="2.0"><channel><title>Teasers</title><link>http://{host}/</link>
                        <item><title>Microsoft gets license</title><link>http://{host}/article</link><guid>urn:teaser:1</guid>
                        <description>Microsoft said it has been granted a license to sell software to Huawei […]</description></item>
                        </channel></rss>"#
                    )
                }),
            ),
    );
    for fetch_article in [true, false] {
        let dir = tempdir();
        let feeds = format!("[[feeds]]\nurl = \"{}\"\nfetch_article = {fetch_article}\n[[digests]]\nname = \"weekly\"\n", server.url("/feed.xml"));
        // The test's page server is on loopback, which feed links may reach only when opened.
        let text = config_text(dir.path(), "file:///tmp/outbox", &feeds).replace(
            "[ingest]\n",
            "[ingest]\nallow_private = [\"127.0.0.1/32\"]\n",
        );
        let config = Config::parse(&text, std::path::Path::new("t.toml")).unwrap();
        let g = gazette::pipeline::Gazette::open(config, Arc::new(chrono::Utc::now)).unwrap();
        g.refresh(&|_| {}).await.unwrap();
        let story = &g
            .store
            .stories_for_digest("weekly", chrono::DateTime::UNIX_EPOCH, i64::MAX)
            .unwrap()[0];
        let lead = story.lead.as_ref().unwrap();
        if fetch_article {
            assert_eq!(lead.source, "article");
            assert!(
                lead.text
                    .starts_with("Microsoft said it has been granted a license")
                    && lead.text.len() > 150,
                "{}",
                lead.text
            );
        } else {
            assert_eq!(lead.source, "summary");
            assert!(lead.text.ends_with("[…]"), "{}", lead.text);
        }
    }
    assert_eq!(
        page_hits.load(Ordering::SeqCst),
        1,
        "the page is fetched once, only when allowed"
    );
}

/// Issue 15 (speed): a new story whose feed gives its full text is stored with its lead by the
/// fetch itself; one that waits for its article page is left without, for `summarize_pending`;
/// a story already stored is never judged again.
#[tokio::test]
async fn fetch_stores_full_text_stories_with_their_leads_and_leaves_teasers_for_their_page() {
    let dir = tempdir();
    let body = "<p>The commission fined the platform for tying its app store to its payment \
                system, the first penalty under the new rules.</p><p>It has sixty days to comply, \
                and a further fine of up to five percent of its daily turnover for each day it does \
                not. The company said it would appeal the decision in court.</p>";
    let feed = dir.path().join("mixed.xml");
    std::fs::write(
        &feed,
        format!(
            "<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\
             <channel><title>Mixed</title>\
             <item><title>Fine</title><guid>urn:full</guid><link>https://news.example/fine</link>\
             <content:encoded><![CDATA[{body}]]></content:encoded></item>\
             <item><title>Teaser</title><guid>urn:teaser</guid><link>https://news.example/teaser</link>\
             <description>Read more…</description></item></channel></rss>"
        ),
    )
    .unwrap();
    let text = config_text(
        dir.path(),
        "file:///tmp/outbox",
        &feeds_toml(&[feed.display().to_string()]),
    )
    .replace("fetch_article = false", "fetch_article = true");
    let config = Config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    assert!(config.feeds[0].fetch_article);
    let store = Arc::new(Store::open(&config.storage_path).unwrap());
    let out = run(&config, &store).await;
    assert_eq!(out[0].new, 2, "{out:?}");
    let pending: Vec<String> = store
        .stories_without_lead()
        .unwrap()
        .into_iter()
        .map(|s| s.story.title)
        .collect();
    assert_eq!(pending, ["Teaser"], "only the teaser waits for its page");
    let fine = store
        .stories_for_digest(
            "weekly",
            chrono::Utc::now() - chrono::Duration::days(30),
            i64::MAX,
        )
        .unwrap()
        .into_iter()
        .find(|s| s.story.title == "Fine")
        .unwrap();
    let lead = fine.lead.expect("stored with its lead");
    assert_eq!(lead.source, "content");
    assert!(
        lead.text.starts_with("The commission fined the platform"),
        "{}",
        lead.text
    );
    // Fetched again: nothing new, and the stored lead is the same.
    let again = run(&config, &store).await;
    assert_eq!(again[0].new, 0);
    assert_eq!(store.stories_without_lead().unwrap().len(), 1);
}
