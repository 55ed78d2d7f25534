//! The preview: the next issue exactly as it will be sent, with a toolbar outside the email
//! (digest, desktop / phone width, HTML / plain text) and a reload script that listens on a
//! server-sent event stream. A watcher polls config, templates and intro files every 250 ms
//! and reloads them; a broken template shows on the page with its file and line until fixed.
//! `GET /` is the same issue with no toolbar and no script.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::pages::{self, html};
use super::security::CSP_PREVIEW;
use super::AppState;
use crate::config::Config;
use crate::pipeline::Gazette;
use crate::render::{Personal, Renderer};
use crate::tokens::join;

#[derive(Debug, Default, Deserialize)]
pub struct PreviewQuery {
    digest: Option<String>,
    width: Option<String>,
    format: Option<String>,
}

/// `GET /`: the next issue of a digest as it will be sent (the generic copy).
pub async fn next_issue(State(state): State<AppState>, Query(q): Query<PreviewQuery>) -> Response {
    let g = state.gazette();
    match render_next(&g, q.digest.as_deref(), false) {
        Ok((_, html_body, _)) => html(StatusCode::OK, html_body),
        Err(e) => {
            tracing::error!("next issue: {e:#}");
            pages::message(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Not available",
                "The next issue cannot be shown right now.",
            )
        }
    }
}

/// The next issue of a digest: (subject, html, text); `sample` adds a sample recipient's
/// personal parts, as in a sent copy.
fn render_next(
    g: &Gazette,
    digest: Option<&str>,
    sample: bool,
) -> anyhow::Result<(String, String, String)> {
    let digest = g.config.digest(digest)?.clone();
    // A reviewed digest's next issue is its open draft, as edited so far.
    let view = match crate::review::open(g, &digest.name)? {
        Some(r) => g.stored_view(r.issue)?,
        None => g.plan(&digest, None)?.view,
    };
    let nl = &g.config.newsletter;
    let personal = sample.then(|| Personal {
        email: nl.from.email.to_string(),
        name: nl.from.name.clone(),
        unsubscribe_url: join(&nl.base_url, "unsubscribe/preview-sample"),
        manage_url: join(&nl.base_url, "manage/preview-sample"),
    });
    let r = g.renderer.render(&view, personal.as_ref())?;
    Ok((view.subject, r.html, r.text))
}

/// `GET /preview`: toolbar, the email in a sandboxed frame (or its text), and the reload script.
pub async fn page(State(state): State<AppState>, Query(q): Query<PreviewQuery>) -> Response {
    let version = *state.inner.version.borrow();
    let g = state.gazette();
    let width = if q.width.as_deref() == Some("phone") {
        "phone"
    } else {
        "desktop"
    };
    let format = if q.format.as_deref() == Some("text") {
        "text"
    } else {
        "html"
    };
    let digest = g
        .config
        .digest(q.digest.as_deref())
        .map(|d| d.name.clone())
        .unwrap_or_default();
    let href = |d: &str, w: &str, f: &str| {
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("digest", d)
            .append_pair("width", w)
            .append_pair("format", f)
            .finish();
        format!("?{qs}")
    };
    let digests: Vec<_> = g
        .config
        .digests
        .iter()
        .map(|d| json!({"name": d.name, "title": d.title, "href": href(&d.name, width, format)}))
        .collect();
    let load_error = state
        .inner
        .load_error
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let (subject, body, problem) = match load_error {
        Some(p) => (None, String::new(), Some(p)),
        None => match render_next(&g, Some(digest.as_str()), true) {
            Ok((subject, h, t)) => (Some(subject), if format == "text" { t } else { h }, None),
            Err(e) => (None, String::new(), Some(describe(&g.config, &e))),
        },
    };
    let page = pages::render(
        &state,
        "preview.html",
        json!({
            "version": version,
            "digests": digests,
            "digest": digest,
            "width": width,
            "format": format,
            "hrefs": {
                "desktop": href(&digest, "desktop", format),
                "phone": href(&digest, "phone", format),
                "html": href(&digest, width, "html"),
                "text": href(&digest, width, "text"),
            },
            "subject": subject,
            "body": body,
            "problem": problem,
        }),
    );
    let mut res = html(StatusCode::OK, page);
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP_PREVIEW),
    );
    res
}

/// A render problem for a person: which template file (when it is the user's copy) and Tera's
/// message, which carries the line and column.
fn describe(config: &Config, e: &anyhow::Error) -> String {
    let msg = format!("{e:#}");
    let dir = config.newsletter.templates.as_deref();
    let file = Renderer::builtin_templates()
        .iter()
        .map(|(name, _)| *name)
        .find(|name| msg.contains(name))
        .map(
            |name| match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(p) => p.display().to_string(),
                None => format!("{name} (built in)"),
            },
        );
    match file {
        Some(f) => format!("file: {f}\n{msg}"),
        None => msg,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    /// The version the page was rendered at; a newer one reloads at once.
    v: Option<u64>,
}

/// `GET /preview/events`: a `reload` event whenever config, templates or intro change.
pub async fn events(
    State(state): State<AppState>,
    Query(q): Query<EventsQuery>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let rx = state.inner.version.subscribe();
    let stale = q.v.is_some_and(|v| v != *rx.borrow());
    let stream = futures_util::stream::unfold((rx, stale), |(mut rx, stale)| async move {
        if !stale {
            rx.changed().await.ok()?;
        }
        let v = *rx.borrow_and_update();
        let event = Event::default().event("reload").data(v.to_string());
        Some((Ok(event), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

const SCRIPT: &str = r#"(function () {
  var v = document.body.getAttribute("data-version") || "";
  var es = new EventSource("preview/events?v=" + encodeURIComponent(v));
  es.addEventListener("reload", function () { es.close(); location.reload(); });
})();
"#;

/// `GET /preview.js`: the reload script (served, not inline, so the CSP forbids inline scripts).
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// Polls what the preview depends on and reloads on change.
pub fn spawn_watcher(state: AppState) {
    tokio::spawn(async move {
        let mut last = fingerprint(&state.gazette().config);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = fingerprint(&state.gazette().config);
            if now != last {
                last = now;
                reload(&state);
                // A failed config reload keeps the old config; watch the files it names too.
                last.extend(fingerprint(&state.gazette().config));
                last.sort();
                last.dedup();
            }
        }
    });
}

type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// Modification time and size of the config file, every file in the templates folder and
/// every intro file.
fn fingerprint(config: &Config) -> Fingerprint {
    let mut paths = vec![config.path.clone()];
    if let Some(dir) = &config.newsletter.templates {
        if let Ok(entries) = std::fs::read_dir(dir) {
            paths.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
        }
    }
    paths.extend(config.digests.iter().filter_map(|d| d.intro.clone()));
    let mut fp: Fingerprint = paths.into_iter().map(|p| stamp(&p)).collect();
    fp.sort();
    fp
}

fn stamp(p: &Path) -> (PathBuf, Option<SystemTime>, u64) {
    let meta = std::fs::metadata(p).ok();
    (
        p.to_path_buf(),
        meta.as_ref().and_then(|m| m.modified().ok()),
        meta.map(|m| m.len()).unwrap_or(0),
    )
}

/// Reloads config and templates; keeps the old ones (and records why) when they do not load.
fn reload(state: &AppState) {
    let old = state.gazette();
    let path = old.config.path.clone();
    let loaded = Config::from_file(&path)
        .map_err(|e| e.to_string())
        .and_then(
            |config| match Renderer::new(config.newsletter.templates.as_deref()) {
                Ok(r) => Ok((config, r)),
                Err(e) => Err(describe(&config, &e)),
            },
        );
    let problem = match loaded {
        Ok((config, renderer)) => {
            let fresh = old.reloaded(config, renderer);
            *state
                .inner
                .gazette
                .write()
                .unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
            tracing::info!("preview: reloaded {}", path.display());
            None
        }
        Err(p) => {
            tracing::warn!("preview: {p}");
            Some(p)
        }
    };
    *state
        .inner
        .load_error
        .write()
        .unwrap_or_else(|e| e.into_inner()) = problem;
    state.inner.version.send_modify(|v| *v += 1);
}
