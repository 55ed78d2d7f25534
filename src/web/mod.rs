//! The web app: preview, subscribe with double opt-in, one-click unsubscribe, the reader's
//! manage page (choices, their data, erasure), archive and Atom feed, the editors' review page,
//! and the bounce and complaint webhooks of mail providers. The app is a value
//! (`router(state)`), so tests drive it with `oneshot` or on port 0,
//! and `gazette preview` / `gazette serve` run it with `run_server`.
//!
//! Invariants: a GET never changes state; every page escapes what came from feeds or visitors
//! (Tera autoescaping); every response carries the security headers of `security`; the only
//! state-changing POST without CSRF protection is the RFC 8058 one-click unsubscribe, whose
//! signed token is the authorization.

mod archive;
mod health;
mod manage;
mod pages;
mod preview;
mod review;
mod security;
pub mod subscribe;
mod unsubscribe;
pub mod webhooks;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::routing::{get, post};
use axum::Router;

use crate::deliver::Mailer;
use crate::pipeline::Gazette;
use crate::tokens::Tokens;

/// Knobs of the web app that are not in the config file.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Subscribe requests one client IP may make per `subscribe_window`.
    pub subscribe_limit: u32,
    pub subscribe_window: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed (the rightmost untrusted hop counts).
    pub trusted_proxies: Vec<IpAddr>,
    /// The scheduler running in this process (`serve`), whose health `/healthz` reports.
    pub scheduler: Option<Arc<crate::schedule::health::Health>>,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            subscribe_limit: 5,
            subscribe_window: Duration::from_secs(600),
            trusted_proxies: Vec::new(),
            scheduler: None,
        }
    }
}

/// Shared state of the web app; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    gazette: RwLock<Arc<Gazette>>,
    /// Why the last reload of config or templates failed (shown by the preview), if it did.
    load_error: RwLock<Option<String>>,
    /// Bumped on every change the preview should show.
    version: tokio::sync::watch::Sender<u64>,
    tokens: Tokens,
    transport: Mailer,
    limiter: security::RateLimiter,
    options: WebOptions,
    mails_in_flight: AtomicUsize,
    mails_idle: tokio::sync::Notify,
}

impl AppState {
    /// The state around a loaded gazette: its signing keys and its delivery transport.
    pub fn new(gazette: Gazette, options: WebOptions) -> Result<AppState> {
        let tokens = gazette.tokens()?;
        let transport = Mailer::new(
            &gazette.config,
            gazette.store.clone(),
            gazette.config.delivery.connections,
        )
        .context("delivery transport for confirmation mails")?;
        Ok(AppState {
            inner: Arc::new(Inner {
                gazette: RwLock::new(Arc::new(gazette)),
                load_error: RwLock::new(None),
                version: tokio::sync::watch::channel(0).0,
                tokens,
                transport,
                limiter: security::RateLimiter::new(
                    options.subscribe_limit,
                    options.subscribe_window,
                ),
                options,
                mails_in_flight: AtomicUsize::new(0),
                mails_idle: tokio::sync::Notify::new(),
            }),
        })
    }

    /// The current gazette (replaced when the preview reloads config or templates).
    pub fn gazette(&self) -> Arc<Gazette> {
        self.inner
            .gazette
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn tokens(&self) -> &Tokens {
        &self.inner.tokens
    }

    /// Starts watching config, templates and intro files (every 250 ms): on a change the
    /// gazette is reloaded and open previews reload themselves.
    pub fn watch(&self) {
        preview::spawn_watcher(self.clone());
    }

    /// Waits until every confirmation mail started so far has been handed to the transport.
    pub async fn mail_idle(&self) {
        loop {
            let notified = self.inner.mails_idle.notified();
            if self.inner.mails_in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The whole web app.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(preview::next_issue))
        .route("/preview", get(preview::page))
        .route("/preview/events", get(preview::events))
        .route("/preview.js", get(preview::script))
        .route("/subscribe", get(subscribe::form).post(subscribe::submit))
        .route(
            "/confirm/{token}",
            get(subscribe::confirm_page).post(subscribe::confirm),
        )
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::page).post(unsubscribe::one_click),
        )
        .route("/manage/{token}", get(manage::page).post(manage::save))
        .route("/manage/{token}/data", get(manage::data))
        .route("/manage/{token}/erase", axum::routing::post(manage::erase))
        .route("/manage.js", get(manage::script))
        .route("/archive", get(archive::list))
        .route("/issues/{id}", get(archive::issue))
        .route("/feed.xml", get(archive::feed))
        .route("/healthz", get(health::healthz))
        .route("/review/{token}", get(review::page).post(review::act))
        .route("/review/{token}/intro", post(review::intro_preview))
        .route("/review.js", get(review::script))
        .merge(webhook_routes())
        .fallback(pages::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .layer(axum::middleware::map_response(security::headers))
        .with_state(state)
}

/// The provider webhooks, which take bodies up to `webhooks::MAX_BODY`.
fn webhook_routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/bounce", post(webhooks::generic))
        .route("/webhooks/ses", post(webhooks::ses))
        .route("/webhooks/postmark", post(webhooks::postmark))
        .route("/webhooks/sendgrid", post(webhooks::sendgrid))
        .route("/webhooks/mailgun", post(webhooks::mailgun))
        .layer(axum::extract::DefaultBodyLimit::max(webhooks::MAX_BODY))
        .layer(axum::middleware::from_fn(webhooks::refuse_oversized))
}

/// Serves the app on `listener` until `shutdown` resolves (client addresses are passed on for
/// the rate limit). `gazette serve` runs this next to the scheduler.
pub async fn run_server(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let purge = tokio::spawn(purge_loop(state.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("web server");
    purge.abort();
    served
}

/// Expires stale pending subscriptions once an hour.
async fn purge_loop(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let g = state.gazette();
        if let Err(e) = g.store.purge_expired_pending(g.now()) {
            tracing::warn!("purge expired pending subscriptions: {e:#}");
        }
    }
}
