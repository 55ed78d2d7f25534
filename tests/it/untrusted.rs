//! Issue 15: a feed is written by strangers. Its links cannot reach inside (SSRF), its redirects
//! are checked on every hop, article pages are fetched only where they can matter and within
//! bounds (each cut reported in the feed's notes), and a hostile entry costs little.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use gazette::config::Config;
use gazette::ingest::FeedStatus;
use gazette::pipeline::Gazette;

use crate::support::{config_text, tempdir, HttpServer};

/// An "internal" server: its page holds a secret, and it counts every request.
fn internal(ip: &'static str) -> (HttpServer, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = Router::new().fallback(move || {
        h.fetch_add(1, Ordering::SeqCst);
        async {
            (
                [("content-type", "text/html")],
                "<html><body><article><p>INTERNAL SECRET: db_password=hunter2, the admin console \
                 of the billing system, reachable only from inside the network.</p></article>\
                 </body></html>",
            )
        }
    });
    (HttpServer::start_on(ip, app), hits)
}

/// An RSS feed of teaser items linking to `links`, dated now.
fn teaser_feed(links: &[String]) -> String {
    let now = chrono::Utc::now();
    let items: String = links
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "<item><title>Story {i} about export controls</title><link>{l}</link>\
                 <guid>urn:story:{i}</guid><pubDate>{}</pubDate>\
                 <description>The ministry said on Monday […]</description></item>",
                (now - chrono::Duration::hours(i as i64 + 1)).to_rfc2822()
            )
        })
        .collect();
    format!(
        "<rss version=\"2.0\"><channel><title>Teasers</title><link>https://teasers.example/</link>{items}</channel></rss>"
    )
}

fn gazette_for(dir: &std::path::Path, feed_url: &str, ingest: &str) -> Gazette {
    let feeds = format!(
        "[[feeds]]\nurl = \"{feed_url}\"\nfetch_article = true\n[[digests]]\nname = \"weekly\"\nwindow = \"7d\"\n"
    );
    let text = config_text(dir, "file:///tmp/outbox", &feeds)
        .replace("[ingest]\n", &format!("[ingest]\n{ingest}\n"));
    let config = Config::parse(&text, std::path::Path::new("t.toml")).unwrap();
    Gazette::open(config, Arc::new(chrono::Utc::now)).unwrap()
}

fn leads(g: &Gazette) -> Vec<String> {
    g.store
        .stories_for_digest("weekly", chrono::DateTime::UNIX_EPOCH, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|s| s.lead.map(|l| l.text).unwrap_or_default())
        .collect()
}

/// An item link to an internal server (another loopback address than the feed's, or a host name
/// that resolves to loopback) is never requested, the refusal is a note of the feed, and the
/// secret reaches no lead. The operator opened only the feed server's address.
#[tokio::test]
async fn item_links_to_internal_addresses_are_never_fetched() {
    let (secret, hits) = internal("127.0.0.2");
    let (by_name, name_hits) = internal("127.0.0.1");
    let links = vec![
        secret.url("/admin"),
        format!("http://localhost:{}/admin", by_name.addr.port()),
        format!("http://[::1]:{}/admin", by_name.addr.port()),
        "http://169.254.169.254/latest/meta-data/".to_string(),
    ];
    let body = teaser_feed(&links);
    let feeds = HttpServer::start(Router::new().route(
        "/feed.xml",
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/rss+xml")], body) }
        }),
    ));
    let dir = tempdir();
    // The feed server's own port on 127.0.0.1 is the operator's; feed links may not go there
    // under another name, nor anywhere else inside.
    let g = gazette_for(dir.path(), &feeds.url("/feed.xml"), "");
    let out = g.refresh(&|_| {}).await.unwrap();
    assert_eq!(out[0].status, FeedStatus::New, "{:?}", out[0]);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "127.0.0.2 was reached");
    assert_eq!(name_hits.load(Ordering::SeqCst), 0, "localhost was reached");
    let notes = out[0].notes.join("\n");
    assert!(
        notes.contains(&format!("refused {}", secret.url("/admin")))
            && notes.contains("127.0.0.2 is a loopback address"),
        "{notes}"
    );
    assert!(notes.contains("refused localhost"), "{notes}");
    assert!(
        notes.contains("169.254.169.254 is a link-local address"),
        "{notes}"
    );
    assert!(out[0].error.is_none(), "refusals are notes, not errors");
    let leads = leads(&g);
    assert_eq!(leads.len(), 4);
    assert!(
        leads.iter().all(|l| !l.contains("INTERNAL SECRET")),
        "{leads:?}"
    );
}

/// A configured feed may be anywhere (the operator chose it), but where it redirects to is
/// checked: a redirect to another internal address, by number or by name, is refused, naming it.
#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_naming_it() {
    let (secret, hits) = internal("127.0.0.2");
    let to_number = secret.url("/feed.xml");
    let to_name = format!("http://localhost:{}/feed.xml", secret.addr.port());
    let server = HttpServer::start(
        Router::new()
            .route(
                "/moved",
                get(move || {
                    let to = to_number.clone();
                    async move { (axum::http::StatusCode::FOUND, [("location", to)]) }
                }),
            )
            .route(
                "/renamed",
                get(move || {
                    let to = to_name.clone();
                    async move {
                        (
                            axum::http::StatusCode::MOVED_PERMANENTLY,
                            [("location", to)],
                        )
                    }
                }),
            ),
    );
    for (path, named) in [
        ("/moved", "127.0.0.2 is a loopback address"),
        ("/renamed", "refused localhost"),
    ] {
        let dir = tempdir();
        let g = gazette_for(dir.path(), &server.url(path), "");
        let out = g.refresh(&|_| {}).await.unwrap();
        assert_eq!(out[0].status, FeedStatus::Error);
        let err = out[0].error.as_deref().unwrap();
        assert!(err.contains(named), "{path}: {err}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

/// `allow_private` opens exactly the networks it names.
#[tokio::test]
async fn allow_private_opens_the_named_network_only() {
    let (inside, hits) = internal("127.0.0.3");
    let body = teaser_feed(&[inside.url("/wiki/page")]);
    let feeds = HttpServer::start(Router::new().route(
        "/feed.xml",
        get(move || {
            let body = body.clone();
            async move { body }
        }),
    ));
    let dir = tempdir();
    let g = gazette_for(
        dir.path(),
        &feeds.url("/feed.xml"),
        "allow_private = [\"127.0.0.3/32\"]",
    );
    let out = g.refresh(&|_| {}).await.unwrap();
    assert!(out[0].notes.is_empty(), "{:?}", out[0].notes);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// Pages only where they can matter: not for stories older than any digest's window, at most
/// `article_fetch_limit` a feed, and a host that does not answer costs one timeout, not one per
/// page. Every cut is a note.
#[tokio::test]
async fn article_pages_are_bounded_and_every_cut_is_reported() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let hung = Arc::new(AtomicUsize::new(0));
    let hh = hung.clone();
    let hanging = HttpServer::start_on(
        "127.0.0.5",
        Router::new().route(
            "/hang/{n}",
            get(move || {
                hh.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    "never"
                }
            }),
        ),
    );
    let pages = HttpServer::start_on(
        "127.0.0.4",
        Router::new().route(
            "/page/{n}",
            get(move || {
                h.fetch_add(1, Ordering::SeqCst);
                async {
                    "<html><body><article><p>The ministry said on Monday that the new \
                         rules would apply to every exporter of advanced chips.</p></article>\
                         </body></html>"
                }
            }),
        ),
    );
    let now = chrono::Utc::now();
    let item = |i: usize, link: String, age: chrono::Duration| {
        format!(
            "<item><title>Story {i}</title><link>{link}</link><guid>urn:b:{i}</guid>\
             <pubDate>{}</pubDate><description>Teaser […]</description></item>",
            (now - age).to_rfc2822()
        )
    };
    let mut fresh = String::new();
    for i in 0..5 {
        fresh += &item(
            i,
            pages.url(&format!("/page/{i}")),
            chrono::Duration::hours(1),
        );
    }
    for i in 5..7 {
        fresh += &item(
            i,
            pages.url(&format!("/page/{i}")),
            chrono::Duration::days(400),
        );
    }
    let mut dead = String::new();
    for i in 0..10 {
        dead += &item(
            10 + i,
            hanging.url(&format!("/hang/{i}")),
            chrono::Duration::hours(2),
        );
    }
    let feed = |items: String| {
        move |headers: HeaderMap| {
            let _ = headers;
            let body = rss(&items);
            async move { body }
        }
    };
    let feeds = HttpServer::start(
        Router::new()
            .route("/fresh.xml", get(feed(fresh)))
            .route("/dead.xml", get(feed(dead))),
    );
    let dir = tempdir();
    let g = fetching_articles(
        dir.path(),
        &[feeds.url("/fresh.xml"), feeds.url("/dead.xml")],
        "allow_private = [\"127.0.0.4/31\"]\narticle_fetch_limit = 3\nper_host = 2\n",
    );
    let timeout = g.config.ingest.timeout;
    let started = Instant::now();
    let out = g.refresh(&|_| {}).await.unwrap();
    let took = started.elapsed();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "three pages of the fresh feed"
    );
    let fresh_notes = out[0].notes.join("\n");
    assert!(
        fresh_notes.contains("2 article pages not fetched: over article_fetch_limit (3 a run)"),
        "{fresh_notes}"
    );
    assert!(
        fresh_notes.contains("2 article pages not fetched: published before any digest's window"),
        "{fresh_notes}"
    );
    let dead_notes = out[1].notes.join("\n");
    assert!(
        dead_notes.contains("1 article page not fetched: their host failed to connect twice")
            || dead_notes.contains("article pages not fetched: their host failed to connect twice"),
        "{dead_notes}"
    );
    // A dead host costs one timeout, not one per page: at most `per_host` requests reach it,
    // then its other pages are given up. (The time bound is loose, for loaded machines: ten
    // pages waited for two at a time would take five timeouts.)
    let asked = hung.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&asked),
        "{asked} requests to the dead host"
    );
    assert!(
        took < timeout * 4,
        "a dead host costs one timeout ({timeout:?}), this took {took:?}"
    );
    assert!(out.iter().all(|o| o.error.is_none()), "{out:?}");
}

/// A feed that links to a dead port of a host (connection refused, twice and more) does not
/// cut the pages another feed links to on a live port of that host: failures count by host
/// and port.
#[tokio::test]
async fn a_dead_port_does_not_cut_another_feeds_pages_on_that_host() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let pages = HttpServer::start_on(
        "127.0.0.6",
        Router::new().route(
            "/page/{n}",
            get(move || {
                h.fetch_add(1, Ordering::SeqCst);
                async {
                    "<html><body><article><p>The regulator said on Tuesday that the merger \
                     would be reviewed in a second phase.</p></article></body></html>"
                }
            }),
        ),
    );
    let now = chrono::Utc::now();
    let items = |links: Vec<String>| {
        links
            .iter()
            .enumerate()
            .map(|(i, link)| {
                format!(
                    "<item><title>Story {i}</title><link>{link}</link><guid>{link}</guid>\
                     <pubDate>{}</pubDate><description>Teaser […]</description></item>",
                    (now - chrono::Duration::minutes(i as i64 + 1)).to_rfc2822()
                )
            })
            .collect::<String>()
    };
    // Newest first: the hostile feed's pages are tried before the victim's.
    let hostile = items(
        (0..4)
            .map(|i| format!("http://127.0.0.6:1/x/{i}"))
            .collect(),
    );
    let victim = items((0..2).map(|i| pages.url(&format!("/page/{i}"))).collect());
    let serve = |items: String| {
        move || {
            let body = rss(&items);
            async move { body }
        }
    };
    let feeds = HttpServer::start(
        Router::new()
            .route("/hostile.xml", get(serve(hostile)))
            .route("/victim.xml", get(serve(victim))),
    );
    let dir = tempdir();
    let g = fetching_articles(
        dir.path(),
        &[feeds.url("/hostile.xml"), feeds.url("/victim.xml")],
        "allow_private = [\"127.0.0.6/32\"]\nper_host = 1\n",
    );
    let out = g.refresh(&|_| {}).await.unwrap();
    let hostile_notes = out[0].notes.join("\n");
    assert!(
        hostile_notes.contains("not fetched: their host failed to connect twice"),
        "{hostile_notes}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "both of the victim's pages: {out:?}"
    );
    assert!(out[1].notes.is_empty(), "{:?}", out[1].notes);
}

/// A feed path naming a device or a pipe (`/dev/zero`, a FIFO nobody writes) fails on its
/// own at once, naming the path, and the other feeds are read: no endless read, no hang.
#[tokio::test]
async fn a_feed_path_to_a_device_or_a_pipe_fails_alone() {
    let dir = tempdir();
    let good = dir.path().join("good.xml");
    std::fs::write(
        &good,
        "<rss version=\"2.0\"><channel><title>Good</title><item><title>One</title>\
         <link>https://good.example/1</link><description>Text.</description></item></channel></rss>",
    )
    .unwrap();
    let fifo = dir.path().join("pipe.xml");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let text = config_text(
        dir.path(),
        "file:///tmp/outbox",
        &format!(
            "[[feeds]]\nurl = \"/dev/zero\"\n[[feeds]]\nurl = \"{}\"\n[[feeds]]\nurl = \"{}\"\n\
             [[digests]]\nname = \"weekly\"\n",
            fifo.display(),
            good.display()
        ),
    );
    let config = Config::parse(&text, std::path::Path::new("t.toml")).unwrap();
    let g = Gazette::open(config, Arc::new(chrono::Utc::now)).unwrap();
    let out = tokio::time::timeout(Duration::from_secs(20), g.refresh(&|_| {}))
        .await
        .expect("no hang")
        .unwrap();
    for o in &out[..2] {
        let e = o.error.as_deref().unwrap_or_default();
        assert!(
            e.contains(&o.url) && e.contains("not a regular file"),
            "{e}"
        );
    }
    assert_eq!(out[2].new, 1, "{:?}", out[2]);
}

/// One item nested 50,000 `<div>`s deep (it cost 10 to 30 s of CPU) is read, summarized and
/// stored in well under a second: nesting past the cap is flattened, and said in the notes.
#[tokio::test]
async fn a_deeply_nested_item_is_handled_in_under_a_second() {
    let dir = tempdir();
    let n = 50_000;
    let deep = format!(
        "{}<p>The regulator said on Monday that the merger would be blocked because it would \
         remove the only rival in the market for cloud gaming.</p>{}",
        "<div>".repeat(n),
        "</div>".repeat(n)
    );
    let body = format!(
        "<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel>\
         <title>Deep</title><link>https://deep.example/</link><item><title>Merger blocked</title>\
         <link>https://deep.example/1</link><guid>urn:deep:1</guid>\
         <content:encoded><![CDATA[{deep}]]></content:encoded></item></channel></rss>"
    );
    let path = dir.path().join("deep.xml");
    std::fs::write(&path, body).unwrap();
    let g = gazette_for(dir.path(), path.to_str().unwrap(), "");
    let started = Instant::now();
    let out = g.refresh(&|_| {}).await.unwrap();
    let took = started.elapsed();
    assert_eq!(out[0].new, 1, "{:?}", out[0]);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(
        out[0].notes.iter().any(|n| n.contains("flattened")),
        "{:?}",
        out[0].notes
    );
    assert!(
        leads(&g)[0].starts_with("The regulator said on Monday"),
        "{:?}",
        leads(&g)
    );
}

/// An RSS document around some `<item>`s.
fn rss(items: &str) -> String {
    format!(
        "<rss version=\"2.0\"><channel><title>Busy</title><link>https://busy.example/</link>{items}</channel></rss>"
    )
}

/// A gazette over `feeds` with article pages fetched, `ingest` added to its `[ingest]`, and one
/// weekly digest.
fn fetching_articles(dir: &std::path::Path, feeds: &[String], ingest: &str) -> Gazette {
    let mut extra = String::new();
    for f in feeds {
        extra += &format!("[[feeds]]\nurl = \"{f}\"\n");
    }
    extra += "[[digests]]\nname = \"weekly\"\nwindow = \"7d\"\n";
    let text = config_text(dir, "file:///tmp/outbox", &extra)
        .replace("[ingest]\n", &format!("[ingest]\n{ingest}"))
        .replace("fetch_article = false", "fetch_article = true");
    let config = Config::parse(&text, std::path::Path::new("t.toml")).unwrap();
    Gazette::open(config, Arc::new(chrono::Utc::now)).unwrap()
}
