//! Subscribe with double opt-in: the form, the pending row and its confirmation mail, and the
//! confirm page (GET shows a button, POST confirms: link scanners follow GETs).
//!
//! The answer to a valid request is the same whatever the address's state (no enumeration); the
//! mail goes out in the background so timing does not tell either.

use std::sync::atomic::Ordering;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::pages::{self, digest_choices, html, invalid_link, mask_email};
use super::security::{self, client_ip};
use super::AppState;
use crate::deliver::message;
use crate::render::{ConfirmView, NewsletterView};
use crate::store::{ConfirmOutcome, SignupOutcome, PENDING_LIFETIME_DAYS};
use crate::tokens::{join, Claim};

/// `GET /subscribe`: the form.
pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    form_page(&state, &headers, StatusCode::OK, None, "")
}

fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
    email: &str,
) -> Response {
    let (cookie, set_cookie) = security::csrf_cookie(state, headers);
    let body = pages::render(
        state,
        "subscribe.html",
        json!({
            "csrf": security::csrf_token(state, &cookie),
            "digests": digest_choices(state),
            "error": error,
            "email": email,
        }),
    );
    with_cookie(html(status, body), set_cookie)
}

/// Adds a `Set-Cookie` header when there is one.
pub fn with_cookie(mut res: Response, set_cookie: Option<String>) -> Response {
    if let Some(v) = set_cookie.and_then(|v| v.parse().ok()) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// The fields of the subscribe form.
#[derive(Debug, Default)]
struct SubscribeForm {
    email: String,
    name: Option<String>,
    digests: Vec<String>,
    csrf: Option<String>,
    honeypot: bool,
}

fn parse_form(body: &[u8]) -> SubscribeForm {
    let mut f = SubscribeForm::default();
    for (k, v) in url::form_urlencoded::parse(body) {
        match &*k {
            "email" => f.email = v.into_owned(),
            "name" => f.name = Some(v.into_owned()),
            "digest" => f.digests.push(v.into_owned()),
            "csrf" => f.csrf = Some(v.into_owned()),
            "website" => f.honeypot |= !v.trim().is_empty(),
            _ => {}
        }
    }
    f
}

/// `POST /subscribe`: rate limit, CSRF, honeypot, then a pending row and a confirmation mail.
pub async fn submit(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let ip = client_ip(&state, &parts.extensions, &parts.headers);
    if !state.inner.limiter.allow(ip) {
        return pages::message(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Please wait a few minutes and try again.",
        );
    }
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let form = parse_form(&body);
    if !security::csrf_ok(&state, &parts.headers, form.csrf.as_deref()) {
        return pages::message(
            &state,
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form could not be checked. Open the subscribe page again and resend it.",
        );
    }
    if form.honeypot {
        tracing::info!(%ip, "subscribe: honeypot filled; ignored");
        return check_inbox(&state);
    }
    let email = match crate::model::EmailAddress::parse(&form.email) {
        Ok(e) => e.into_string(),
        Err(_) => {
            return form_page(
                &state,
                &parts.headers,
                StatusCode::BAD_REQUEST,
                Some("That does not look like an email address."),
                "",
            )
        }
    };
    let name = match crate::model::DisplayName::parse(form.name.as_deref().unwrap_or("")) {
        Ok(n) => n.map(crate::model::DisplayName::into_string),
        Err(_) => {
            return form_page(
                &state,
                &parts.headers,
                StatusCode::BAD_REQUEST,
                Some("Please give a name of at most 100 characters, on one line."),
                &email,
            )
        }
    };
    let g = state.gazette();
    let known: Vec<String> = g.config.digests.iter().map(|d| d.name.clone()).collect();
    let mut digests: Vec<String> = form
        .digests
        .into_iter()
        .filter(|d| known.contains(d))
        .collect();
    digests.sort();
    digests.dedup();
    if digests.len() == known.len() {
        digests.clear(); // every digest, including ones added later
    }
    let now = g.now();
    let outcome = g.store.purge_expired_pending(now).and_then(|_| {
        g.store
            .request_subscription(&email, name.as_deref(), &digests, now)
    });
    match outcome {
        Ok(SignupOutcome::SendConfirmation(id)) => spawn_confirmation(&state, id, email, digests),
        Ok(SignupOutcome::AlreadyConfirmed) | Ok(SignupOutcome::Capped) => {}
        Err(e) => {
            tracing::error!("subscribe: {e:#}");
            return pages::message(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Your request could not be stored. Please try again later.",
            );
        }
    }
    check_inbox(&state)
}

/// The one answer to every acceptable subscribe request.
fn check_inbox(state: &AppState) -> Response {
    pages::message(
        state,
        StatusCode::OK,
        "Check your inbox",
        "If this address can be subscribed, a message with a confirmation link is on its way. \
         The link is valid for 7 days.",
    )
}

/// Sends the confirmation mail in the background (the response must not wait for SMTP).
fn spawn_confirmation(state: &AppState, id: i64, email: String, digests: Vec<String>) {
    state.inner.mails_in_flight.fetch_add(1, Ordering::SeqCst);
    let state = state.clone();
    tokio::spawn(async move {
        let sent = send_confirmation(
            &state.gazette(),
            state.tokens(),
            &state.inner.transport,
            id,
            &email,
            &digests,
        )
        .await;
        if let Err(e) = sent {
            tracing::warn!(to = %email, "confirmation mail: {e:#}");
        }
        if state.inner.mails_in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            state.inner.mails_idle.notify_waiters();
        }
    });
}

/// Sends the double opt-in mail with a signed, expiring confirm link (also used by
/// `gazette subscribers add --pending`).
pub async fn send_confirmation(
    g: &crate::pipeline::Gazette,
    tokens: &crate::tokens::Tokens,
    transport: &crate::deliver::Mailer,
    id: i64,
    email: &str,
    digests: &[String],
) -> anyhow::Result<()> {
    let nl = &g.config.newsletter;
    let now = g.now();
    let until = now + chrono::Duration::days(PENDING_LIFETIME_DAYS);
    let token = tokens.sign(&Claim::Confirm(id, until.timestamp()));
    let view = ConfirmView {
        newsletter: NewsletterView {
            name: nl.name.clone(),
            base_url: nl.base_url.to_string(),
            lang: nl.lang.clone(),
        },
        digests: digest_titles(&g.config, digests),
        confirm_url: join(&nl.base_url, &format!("confirm/{token}")),
        email: email.to_string(),
    };
    let (html, text) = g.renderer.render_confirm(&view)?;
    let nonce: u64 = rand::random();
    let message_id = format!("<confirm.{id}.{nonce:016x}@{}>", nl.from.email.domain());
    let subject = format!("Confirm your subscription to {}", nl.name);
    let msg = message::build(message::Email {
        from: &nl.from,
        reply_to: nl.reply_to.as_ref(),
        to: lettre::message::Mailbox::new(None, email.parse()?),
        subject: &subject,
        text,
        html: Some(html),
        message_id: &message_id,
        date: now.into(),
        list_id: None,
        unsubscribe_url: None,
        unsubscribe_mailto: None,
        verp: None,
    })?;
    let msg = message::seal(msg, g.dkim()?.as_deref(), now.timestamp());
    let file = format!(
        "confirm-{id}-{nonce:016x}-{}.eml",
        crate::deliver::sanitize_file_name(email)
    );
    let reply = transport.send(&msg, &file, now).await?;
    tracing::info!(to = %email, %reply, "confirmation mail sent");
    Ok(())
}

/// Titles of the named digests (every digest when none are named).
fn digest_titles(config: &crate::config::Config, names: &[String]) -> Vec<String> {
    config
        .digests
        .iter()
        .filter(|d| names.is_empty() || names.contains(&d.name))
        .map(|d| d.title.clone())
        .collect()
}

/// What a confirm token refers to, or the response to give instead.
#[allow(clippy::result_large_err)] // a Response, returned at once by the handler
fn confirm_target(state: &AppState, token: &str) -> Result<crate::model::Subscriber, Response> {
    let Some(Claim::Confirm(id, until)) = state.tokens().verify(token, i64::MIN) else {
        return Err(invalid_link(state));
    };
    let g = state.gazette();
    if until < g.now().timestamp() {
        return Err(expired(state));
    }
    // A link mailed for an earlier request (before an unsubscribe and a new request) confirms
    // nothing: only a link of the request now pending does.
    let issued = until - chrono::Duration::days(PENDING_LIFETIME_DAYS).num_seconds();
    match g.store.pending_since(id) {
        Ok(Some(since)) if since.timestamp() > issued => return Err(expired(state)),
        Ok(_) => {}
        Err(e) => tracing::error!("confirm: {e:#}"),
    }
    match g.store.subscriber_by_id(id) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(expired(state)),
        Err(e) => {
            tracing::error!("confirm: {e:#}");
            Err(pages::message(
                state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again later.",
            ))
        }
    }
}

fn expired(state: &AppState) -> Response {
    let base = state.gazette().config.newsletter.base_url.clone();
    pages::message_with_link(
        state,
        StatusCode::GONE,
        "Link expired",
        "This confirmation link has expired. You can subscribe again.",
        Some((&join(&base, "subscribe"), "Subscribe again")),
    )
}

/// `GET /confirm/{token}`: a page with one button; changes nothing.
pub async fn confirm_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let s = match confirm_target(&state, &token) {
        Ok(s) => s,
        Err(r) => return r,
    };
    use crate::model::SubscriberStatus::*;
    match s.status {
        Confirmed => subscribed(&state),
        Pending => {
            let g = state.gazette();
            let action = join(&g.config.newsletter.base_url, &format!("confirm/{token}"));
            let body = pages::render(
                &state,
                "confirm.html",
                json!({
                    "name": s.name,
                    "masked": mask_email(&s.email),
                    "digests": digest_titles(&g.config, &s.digests).join(", "),
                    "action": action,
                }),
            );
            html(StatusCode::OK, body)
        }
        Unsubscribed | Bouncing | Complained => expired(&state),
    }
}

/// `POST /confirm/{token}`: confirms a pending subscriber (same-origin browsers only).
pub async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let (parts, _) = req.into_parts();
    if !security::same_origin(&state, &parts.headers) {
        return pages::message(
            &state,
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Confirm from the page the link in your email opens.",
        );
    }
    let s = match confirm_target(&state, &token) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let ip = client_ip(&state, &parts.extensions, &parts.headers).to_string();
    let ua = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect::<String>();
    let g = state.gazette();
    match g.store.confirm_subscriber(s.id, &ip, &ua, g.now()) {
        Ok(ConfirmOutcome::Confirmed) | Ok(ConfirmOutcome::AlreadyConfirmed) => subscribed(&state),
        Ok(ConfirmOutcome::NotPending) => expired(&state),
        Err(e) => {
            tracing::error!("confirm: {e:#}");
            pages::message(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again later.",
            )
        }
    }
}

fn subscribed(state: &AppState) -> Response {
    let base = state.gazette().config.newsletter.base_url.clone();
    pages::message_with_link(
        state,
        StatusCode::OK,
        "You are subscribed",
        "Thank you: your subscription is confirmed. The next issue will reach you.",
        Some((&join(&base, "archive"), "Read past issues")),
    )
}
