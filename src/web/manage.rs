//! The reader's own page, reached by the signed, never-expiring link in every email:
//! `GET /manage/{token}` shows their choices (digests, topics of each, format, time zone, pause);
//! `POST /manage/{token}` saves them; `GET /manage/{token}/data` is everything stored about
//! them as JSON; `POST /manage/{token}/erase` erases it, keeping only a suppression hash.
//!
//! The POSTs are browser forms: rate-limited per client IP, same-origin, with the CSRF token;
//! GETs change nothing. Only a manage token opens these pages: an unsubscribe or confirm token
//! (or a forged one) is "not valid", 404. The page works without JavaScript; a small script
//! only presets the time zone from the browser when the reader never chose one.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::pages::{self, html, invalid_link, mask_email};
use super::security::{self, client_ip, CSP_MANAGE};
use super::subscribe::with_cookie;
use super::AppState;
use crate::config::DeliveryTime;
use crate::model::{parse_pause_date, parse_timezone, InvalidInput, MailFormat, Subscriber};
use crate::store::PreferencesChange;
use crate::tokens::{join, Claim};

/// The subscriber a manage token stands for, or the response to give instead.
#[allow(clippy::result_large_err)] // a Response, returned at once by the handler
fn reader(state: &AppState, token: &str) -> Result<Subscriber, Response> {
    let g = state.gazette();
    let Some(Claim::Manage(id)) = state.tokens().verify(token, g.now().timestamp()) else {
        return Err(invalid_link(state));
    };
    match g.store.subscriber_by_id(id) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(invalid_link(state)),
        Err(e) => Err(failed(state, e)),
    }
}

fn failed(state: &AppState, e: anyhow::Error) -> Response {
    tracing::error!("manage: {e:#}");
    pages::message(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again later.",
    )
}

/// IANA names for the time zone select: the canonical region/city zones and UTC.
fn zone_names() -> Vec<&'static str> {
    const REGIONS: [&str; 10] = [
        "Africa/",
        "America/",
        "Antarctica/",
        "Arctic/",
        "Asia/",
        "Atlantic/",
        "Australia/",
        "Europe/",
        "Indian/",
        "Pacific/",
    ];
    let mut names: Vec<&str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name())
        .filter(|n| REGIONS.iter().any(|r| n.starts_with(r)))
        .collect();
    names.push("UTC");
    names.sort_unstable();
    names
}

/// `topic_name` → `Topic name`, as the email's section titles show it.
fn title(topic: &str) -> String {
    let spaced = topic.replace(['_', '-'], " ");
    let mut c = spaced.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// What the page shows.
struct Shown<'a> {
    saved: bool,
    error: Option<&'a str>,
}

/// The page for `s`, with a CSRF cookie and token.
fn page_for(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    s: &Subscriber,
    status: StatusCode,
    shown: Shown<'_>,
) -> Response {
    let g = state.gazette();
    let nl = &g.config.newsletter;
    let (cookie, set_cookie) = security::csrf_cookie(state, headers);
    let digests: Vec<Value> = g
        .config
        .digests
        .iter()
        .map(|d| {
            let chosen = s.prefs.topics_of(&d.name).unwrap_or_default();
            json!({
                "name": d.name,
                "title": d.title,
                "chosen": s.wants(&d.name),
                "topics": d.topics.iter().map(|t| json!({
                    "name": t,
                    "title": title(t),
                    "chosen": chosen.contains(t),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut zones = zone_names();
    let timezone = s.prefs.timezone.as_deref().unwrap_or(nl.timezone.name());
    if !zones.contains(&timezone) {
        zones.push(timezone);
    }
    let action = join(&nl.base_url, &format!("manage/{token}"));
    let body = pages::render(
        state,
        "manage.html",
        json!({
            "masked": mask_email(&s.email),
            "status": s.status,
            "saved": shown.saved,
            "error": shown.error,
            "csrf": security::csrf_token(state, &cookie),
            "action": action,
            "digests": digests,
            "format": s.prefs.format,
            "zones": zones,
            "timezone": timezone,
            "preset_from_browser": s.prefs.timezone.is_none(),
            "local": g.config.digests.iter().any(|d| d.delivery == DeliveryTime::Local),
            "paused_until": s.prefs.paused_until.map(|d| d.to_string()).unwrap_or_default(),
            "unsubscribe": state.tokens().unsubscribe_url(&nl.base_url, Some(s.id), &s.email),
        }),
    );
    let mut res = with_cookie(html(status, body), set_cookie);
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP_MANAGE),
    );
    res
}

/// `GET /manage/{token}`: the reader's choices in a form; changes nothing.
pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    match reader(&state, &token) {
        Ok(s) => page_for(
            &state,
            &headers,
            &token,
            &s,
            StatusCode::OK,
            Shown {
                saved: false,
                error: None,
            },
        ),
        Err(r) => r,
    }
}

/// The checks every POST here passes first: the per-IP rate limit, the token, then the
/// same-origin and CSRF check. Returns the reader and the form body.
#[allow(clippy::result_large_err)] // a Response, returned at once by the handler
async fn checked_post(
    state: &AppState,
    token: &str,
    req: axum::extract::Request,
) -> Result<(Subscriber, HeaderMap, Vec<(String, String)>), Response> {
    let (parts, body) = req.into_parts();
    let ip = client_ip(state, &parts.extensions, &parts.headers);
    if !state.inner.limiter.allow(ip) {
        return Err(pages::message(
            state,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Please wait a few minutes and try again.",
        ));
    }
    let body: Bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    let s = reader(state, token)?;
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if !security::csrf_ok(state, &parts.headers, csrf) {
        return Err(pages::message(
            state,
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form could not be checked. Open the link in your email again and resend it.",
        ));
    }
    Ok((s, parts.headers, form))
}

/// The change a manage form asks for.
fn change_of(
    config: &crate::config::Config,
    form: &[(String, String)],
) -> Result<PreferencesChange, InvalidInput> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut digests: Vec<String> = config
        .digests
        .iter()
        .filter(|d| form.iter().any(|(k, v)| k == "digest" && *v == d.name))
        .map(|d| d.name.clone())
        .collect();
    if digests.is_empty() {
        return Err(InvalidInput(
            "Choose at least one digest, or unsubscribe from everything below.".into(),
        ));
    }
    if digests.len() == config.digests.len() {
        digests.clear(); // every digest, including ones added later
    }
    let topics = config
        .digests
        .iter()
        .map(|d| {
            let key = format!("topic:{}", d.name);
            let chosen: Vec<String> = d
                .topics
                .iter()
                .filter(|t| form.iter().any(|(k, v)| *k == key && v == *t))
                .cloned()
                .collect();
            // All ticked is every topic, including ones added later; none ticked likewise.
            let all = chosen.len() == d.topics.len();
            (d.name.clone(), if all { Vec::new() } else { chosen })
        })
        .collect();
    Ok(PreferencesChange {
        digests: Some(digests),
        topics: Some(topics),
        format: Some(MailFormat::parse(field("format").unwrap_or("html"))?),
        timezone: Some(parse_timezone(field("timezone").unwrap_or(""))?),
        paused_until: Some(parse_pause_date(field("paused_until").unwrap_or(""))?),
    })
}

/// `POST /manage/{token}`: saves the reader's choices.
pub async fn save(
    State(state): State<AppState>,
    Path(token): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let (s, headers, form) = match checked_post(&state, &token, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let g = state.gazette();
    let change = match change_of(&g.config, &form) {
        Ok(c) => c,
        Err(e) => {
            return page_for(
                &state,
                &headers,
                &token,
                &s,
                StatusCode::BAD_REQUEST,
                Shown {
                    saved: false,
                    error: Some(&e.0),
                },
            )
        }
    };
    if let Err(e) = g.store.set_preferences(s.id, &change, "manage", g.now()) {
        return failed(&state, e);
    }
    match g.store.subscriber_by_id(s.id) {
        Ok(Some(s)) => page_for(
            &state,
            &headers,
            &token,
            &s,
            StatusCode::OK,
            Shown {
                saved: true,
                error: None,
            },
        ),
        Ok(None) => invalid_link(&state),
        Err(e) => failed(&state, e),
    }
}

/// `GET /manage/{token}/data`: everything stored about the reader, as JSON.
pub async fn data(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let s = match reader(&state, &token) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match state.gazette().store.reader_data(s.id) {
        Ok(Some(doc)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            serde_json::to_string_pretty(&doc).unwrap_or_default(),
        )
            .into_response(),
        Ok(None) => invalid_link(&state),
        Err(e) => failed(&state, e),
    }
}

/// `POST /manage/{token}/erase`: erases the reader (the box must be ticked).
pub async fn erase(
    State(state): State<AppState>,
    Path(token): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let (s, headers, form) = match checked_post(&state, &token, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !form.iter().any(|(k, v)| k == "confirm" && v == "yes") {
        return page_for(
            &state,
            &headers,
            &token,
            &s,
            StatusCode::BAD_REQUEST,
            Shown {
                saved: false,
                error: Some("Tick the box to confirm that your data should be erased."),
            },
        );
    }
    let g = state.gazette();
    if let Err(e) = g.store.erase_subscriber(s.id, g.now()) {
        return failed(&state, e);
    }
    pages::message(
        &state,
        StatusCode::OK,
        "Your data is erased",
        &format!(
            "{} keeps nothing about you but a one-way hash of your address, so that nobody can \
             subscribe it again without you. You can always subscribe again yourself.",
            g.config.newsletter.name
        ),
    )
}

const SCRIPT: &str = r#"(function () {
  // Presets the time zone from the browser when the reader never chose one; the form works
  // without this.
  var s = document.getElementById("timezone");
  if (!s || !s.hasAttribute("data-preset-browser")) return;
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  for (var i = 0; i < s.options.length; i++) {
    if (s.options[i].value === zone) {
      s.value = zone;
      var note = document.getElementById("timezone-note");
      if (note) note.textContent = "Preset from your browser: " + zone + ". Save to keep it.";
      return;
    }
  }
})();
"#;

/// `GET /manage.js`: the time zone preset (served, not inline: the CSP forbids inline scripts).
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
