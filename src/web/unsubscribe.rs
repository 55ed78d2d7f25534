//! Unsubscribe: `GET` shows one button and changes nothing; `POST` unsubscribes at once. The
//! POST is also the RFC 8058 one-click target: it needs no cookie, no form token and no Origin
//! (the signed token is the authorization), answers 200 without a redirect, and is idempotent.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::pages::{self, html, invalid_link, mask_email};
use super::AppState;
use crate::tokens::{join, Claim};

/// The address a token unsubscribes: (subscriber id if there is a row, address).
#[allow(clippy::result_large_err)] // a Response, returned at once by the handler
fn target(state: &AppState, token: &str) -> Result<(Option<i64>, String), Response> {
    let g = state.gazette();
    match state.tokens().verify(token, g.now().timestamp()) {
        Some(Claim::Unsubscribe(id)) => match g.store.subscriber_by_id(id) {
            Ok(Some(s)) => Ok((Some(s.id), s.email)),
            Ok(None) => Err(invalid_link(state)),
            Err(e) => Err(failed(state, e)),
        },
        Some(Claim::UnsubscribeEmail(email)) => match g.store.subscriber(&email) {
            Ok(s) => Ok((s.map(|s| s.id), email)),
            Err(e) => Err(failed(state, e)),
        },
        _ => Err(invalid_link(state)),
    }
}

fn failed(state: &AppState, e: anyhow::Error) -> Response {
    tracing::error!("unsubscribe: {e:#}");
    pages::message(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again later.",
    )
}

/// `GET /unsubscribe/{token}`: the masked address and one button.
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let (_, email) = match target(&state, &token) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let base = state.gazette().config.newsletter.base_url.clone();
    let body = pages::render(
        &state,
        "unsubscribe.html",
        json!({
            "masked": mask_email(&email),
            "action": join(&base, &format!("unsubscribe/{token}")),
        }),
    );
    html(StatusCode::OK, body)
}

/// `POST /unsubscribe/{token}`: unsubscribes now (one-click when the body says so).
pub async fn one_click(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let (id, _) = match target(&state, &token) {
        Ok(t) => t,
        Err(r) => return r,
    };
    // urlencoded `List-Unsubscribe=One-Click`, or the same field in multipart/form-data.
    let one_click = String::from_utf8_lossy(&body).contains("One-Click");
    let method = if one_click { "one-click" } else { "page" };
    let g = state.gazette();
    if let Some(id) = id {
        if let Err(e) = g.store.unsubscribe(id, method, g.now()) {
            return failed(&state, e);
        }
    }
    let resubscribe = join(&g.config.newsletter.base_url, "subscribe");
    pages::message_with_link(
        &state,
        StatusCode::OK,
        "You are unsubscribed",
        &format!(
            "You will get no more email from {}. Changed your mind?",
            g.config.newsletter.name
        ),
        Some((&resubscribe, "Subscribe again")),
    )
}
