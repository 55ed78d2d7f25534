//! The web app's own small HTML pages, rendered with Tera from templates compiled into the
//! binary. Every value is autoescaped (the templates end in `.html`); nothing is marked safe.

use std::sync::LazyLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::AppState;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("message.html", include_str!("templates/message.html")),
    (
        "subscribe_form.html",
        include_str!("templates/subscribe_form.html"),
    ),
    ("subscribe.html", include_str!("templates/subscribe.html")),
    ("confirm.html", include_str!("templates/confirm.html")),
    (
        "unsubscribe.html",
        include_str!("templates/unsubscribe.html"),
    ),
    ("archive.html", include_str!("templates/archive.html")),
    ("issue.html", include_str!("templates/issue.html")),
    ("preview.html", include_str!("templates/preview.html")),
    ("manage.html", include_str!("templates/manage.html")),
    ("review.html", include_str!("templates/review.html")),
];

static PAGES: LazyLock<tera::Tera> = LazyLock::new(|| {
    let mut tera = tera::Tera::default();
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .expect("built-in web templates parse");
    tera.autoescape_on(vec![".html"]);
    tera
});

/// Renders a page with the site-wide values (`site`, `base`, `lang`) added to `ctx`.
pub fn render(state: &AppState, name: &str, mut ctx: Value) -> String {
    let g = state.gazette();
    let nl = &g.config.newsletter;
    if let Value::Object(map) = &mut ctx {
        map.insert("site".into(), json!(nl.name));
        map.insert(
            "base".into(),
            json!(nl.base_url.as_str().trim_end_matches('/')),
        );
        map.insert("lang".into(), json!(nl.lang));
    }
    let context = tera::Context::from_value(ctx).expect("page context is an object");
    PAGES.render(name, &context).unwrap_or_else(|e| {
        tracing::error!("page {name}: {e:?}");
        "<!DOCTYPE html><title>Error</title><p>Something went wrong.</p>".into()
    })
}

/// An HTML response that no cache keeps (pages may carry tokens).
pub fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// A short page with a heading and one message.
pub fn message(state: &AppState, status: StatusCode, heading: &str, message: &str) -> Response {
    message_with_link(state, status, heading, message, None)
}

/// A short page with a heading, a message and a link.
pub fn message_with_link(
    state: &AppState,
    status: StatusCode,
    heading: &str,
    message: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let (link, link_text) = link.unzip();
    html(
        status,
        render(
            state,
            "message.html",
            json!({"heading": heading, "message": message, "link": link, "link_text": link_text}),
        ),
    )
}

/// The answer for an unknown, forged or malformed link: the same for all of them.
pub fn invalid_link(state: &AppState) -> Response {
    message(
        state,
        StatusCode::NOT_FOUND,
        "Link not valid",
        "This link is not valid. Check that you copied all of it from the email.",
    )
}

pub async fn not_found(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    message(
        &state,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
}

/// `jane@example.com` → `j***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((user, domain)) => {
            let first: String = user.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// The digests of the config as `{name, title}` for forms.
pub fn digest_choices(state: &AppState) -> Value {
    let g = state.gazette();
    json!(g
        .config
        .digests
        .iter()
        .map(|d| json!({"name": d.name, "title": d.title}))
        .collect::<Vec<_>>())
}
