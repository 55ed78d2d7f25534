//! Provider webhooks for bounces and complaints: `POST /webhooks/ses` (SNS, signature checked
//! against the SNS signing certificate), `/webhooks/postmark` (basic auth), `/webhooks/sendgrid`
//! (ECDSA-signed event webhook), `/webhooks/mailgun` (HMAC) and the generic `/webhooks/bounce`
//! (bearer token). Each answers 404 until its credential is configured, 401 to a bad signature
//! or a request older than `webhook_max_age`, 409 to a request id it took before (a replay),
//! and 413 to a body over [`MAX_BODY`]. What passes is recorded like a bounce mail.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use super::AppState;
use crate::bounces::providers::{self, Event};
use crate::bounces::record::{Origin, Recorder};
use crate::bounces::{ses, signature};
use crate::store::Recorded;

/// The largest webhook body taken (SendGrid batches events; SNS messages are at most 256 KB).
pub const MAX_BODY: usize = 1 << 20;

/// Why a request was refused.
#[derive(Debug)]
pub enum Refusal {
    /// The webhook is not configured.
    NotConfigured,
    Unauthorized(String),
    Replay,
    BadRequest(String),
    Upstream(String),
    Unexpected(anyhow::Error),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (code, error) = match self {
            Refusal::NotConfigured => (StatusCode::NOT_FOUND, "not configured".to_string()),
            Refusal::Unauthorized(why) => (StatusCode::UNAUTHORIZED, why),
            Refusal::Replay => (
                StatusCode::CONFLICT,
                "this request was taken before (replay)".to_string(),
            ),
            Refusal::BadRequest(why) => (StatusCode::BAD_REQUEST, why),
            Refusal::Upstream(why) => (StatusCode::BAD_GATEWAY, why),
            Refusal::Unexpected(e) => {
                tracing::error!(error = %format!("{e:#}"), "webhook: could not record");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "could not record".to_string(),
                )
            }
        };
        if code == StatusCode::UNAUTHORIZED {
            tracing::warn!(%error, "webhook refused");
        }
        (code, Json(json!({ "error": error }))).into_response()
    }
}

impl From<anyhow::Error> for Refusal {
    fn from(e: anyhow::Error) -> Refusal {
        Refusal::Unexpected(e)
    }
}

type Answer = Result<Json<Value>, Refusal>;

/// Refuses a body announced larger than [`MAX_BODY`] before reading it (a body without a
/// length is cut at the limit by the extractor, also with 413).
pub async fn refuse_oversized(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        let error = format!("body larger than {MAX_BODY} bytes");
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({ "error": error })),
        )
            .into_response();
    }
    next.run(req).await
}

fn json_body(body: &[u8]) -> Result<Value, Refusal> {
    serde_json::from_slice(body).map_err(|e| Refusal::BadRequest(format!("not JSON: {e}")))
}

/// Refuses a request signed at `at` outside `webhook_max_age` of now (or from the future).
fn fresh(state: &AppState, at: Option<DateTime<Utc>>) -> Result<(), Refusal> {
    let g = state.gazette();
    let at = at.ok_or_else(|| Refusal::Unauthorized("no timestamp".into()))?;
    let now = g.now();
    let max = g.config.bounces.webhook_max_age;
    if now - at > max || at - now > chrono::Duration::minutes(5) {
        return Err(Refusal::Unauthorized(format!(
            "timestamp {} is outside the replay window of {}s",
            at.to_rfc3339(),
            max.num_seconds()
        )));
    }
    Ok(())
}

/// Takes a request id once; a second time is a replay.
fn once(state: &AppState, provider: &str, nonce: &str) -> Result<(), Refusal> {
    let g = state.gazette();
    let keep = g.config.bounces.webhook_max_age + chrono::Duration::minutes(10);
    if g.store.take_nonce(provider, nonce, keep, g.now())? {
        Ok(())
    } else {
        Err(Refusal::Replay)
    }
}

/// Gives back the request id taken by [`once`] when the request then failed, so that the
/// provider's retry of it is not refused as a replay (recording is idempotent on its own).
fn settle(state: &AppState, provider: &str, nonce: &str, answer: Answer) -> Answer {
    if answer.is_err() {
        if let Err(e) = state.gazette().store.release_nonce(provider, nonce) {
            tracing::error!(provider, error = %format!("{e:#}"), "webhook: could not release the request id; a retry will be refused as a replay");
        }
    }
    answer
}

/// Takes the request id (a replay is refused), records the events, and gives the id back when
/// recording failed: what every provider does once its request is authenticated and parsed.
fn accept(state: &AppState, source: &'static str, id: &str, events: Vec<Event>) -> Answer {
    once(state, source, id)?;
    settle(state, source, id, record(state, source, events))
}

/// Records events; answers what became of each.
fn record(state: &AppState, source: &'static str, events: Vec<Event>) -> Answer {
    let g = state.gazette();
    let recorder = Recorder::new(&g.store, state.tokens(), &g.config.bounces);
    let mut rows = Vec::new();
    for e in events {
        let origin = Origin {
            source,
            raw_ref: Some(format!("{source}:{}", e.id)),
            occurred: e.occurred.unwrap_or_else(|| g.now()),
        };
        let key = format!(
            "{source}:{}:{}",
            e.id,
            e.classification.recipient.as_deref().unwrap_or("")
        );
        let r = recorder.record(&e.classification, &origin, key, g.now())?;
        rows.push(json!({
            "id": e.id,
            "kind": e.classification.kind.as_str(),
            "recipient": e.classification.recipient,
            "recorded": matches!(r, Recorded::New(_)),
            "outcome": match &r { Recorded::New(n) => n.outcome.as_str(), Recorded::Duplicate => "duplicate" },
        }));
    }
    Ok(Json(json!({ "events": rows })))
}

/// `POST /webhooks/bounce`: `Authorization: Bearer webhook_token`; a JSON event (see
/// `providers::generic`) or a raw RFC 5322 bounce message.
pub async fn generic(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Answer {
    let g = state.gazette();
    let token = g
        .config
        .bounces
        .webhook_token
        .clone()
        .ok_or(Refusal::NotConfigured)?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !signature::same_secret(given.trim().as_bytes(), token.expose().as_bytes()) {
        return Err(Refusal::Unauthorized("bad bearer token".into()));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        let event = providers::generic(&json_body(&body)?).map_err(Refusal::BadRequest)?;
        fresh(&state, event.occurred)?;
        let id = event.id.clone();
        return accept(&state, "webhook", &id, vec![event]);
    }
    // A raw message: classified like a bounce mail, refused when its Message-ID was taken.
    let recorder = Recorder::new(&g.store, state.tokens(), &g.config.bounces);
    let c = recorder.classifier.classify(&body);
    let id = c.message_id.clone().unwrap_or_else(|| {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(&body))
    });
    let event = Event {
        classification: c,
        id: id.clone(),
        occurred: None,
    };
    accept(&state, "webhook", &id, vec![event])
}

/// `POST /webhooks/postmark`: basic auth with `postmark_user` / `postmark_password`.
pub async fn postmark(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Answer {
    let g = state.gazette();
    let (user, password) = g
        .config
        .bounces
        .postmark
        .clone()
        .ok_or(Refusal::NotConfigured)?;
    let want = format!("{user}:{}", password.expose());
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
        .unwrap_or_default();
    if !signature::same_secret(&given, want.as_bytes()) {
        return Err(Refusal::Unauthorized("bad basic auth".into()));
    }
    let event = providers::postmark(&json_body(&body)?)
        .ok_or_else(|| Refusal::BadRequest("not a Postmark webhook".into()))?;
    fresh(&state, event.occurred)?;
    let id = event.id.clone();
    accept(&state, "postmark", &id, vec![event])
}

/// `POST /webhooks/sendgrid`: the signed event webhook (`X-Twilio-Email-Event-Webhook-Signature`
/// over `X-Twilio-Email-Event-Webhook-Timestamp` + body, with `sendgrid_public_key`).
pub async fn sendgrid(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Answer {
    let g = state.gazette();
    let key = g
        .config
        .bounces
        .sendgrid_public_key
        .clone()
        .ok_or(Refusal::NotConfigured)?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let sig = header("x-twilio-email-event-webhook-signature");
    let ts = header("x-twilio-email-event-webhook-timestamp");
    if !signature::sendgrid(&key, &ts, &body, &sig) {
        return Err(Refusal::Unauthorized("bad signature".into()));
    }
    fresh(
        &state,
        ts.parse()
            .ok()
            .and_then(|t| Utc.timestamp_opt(t, 0).single()),
    )?;
    // Keyed on what was signed, not on the signature: an ECDSA signature is one of many for
    // the same bytes (signing again, or negating s), and each would pass as new.
    let signed = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(ts.as_bytes());
        h.update(&body);
        format!("{:x}", h.finalize())
    };
    let events = providers::sendgrid(&json_body(&body)?);
    accept(&state, "sendgrid", &signed, events)
}

/// `POST /webhooks/mailgun`: `signature.signature` is the HMAC of timestamp + token with
/// `mailgun_signing_key`; the token is taken once.
pub async fn mailgun(State(state): State<AppState>, body: Bytes) -> Answer {
    let g = state.gazette();
    let key = g
        .config
        .bounces
        .mailgun_signing_key
        .clone()
        .ok_or(Refusal::NotConfigured)?;
    let v = json_body(&body)?;
    let field = |k: &str| {
        v.pointer(&format!("/signature/{k}"))
            .map(|x| {
                x.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| x.to_string())
            })
            .unwrap_or_default()
    };
    let (ts, token, sig) = (field("timestamp"), field("token"), field("signature"));
    if token.is_empty() || !signature::mailgun(key.expose(), &ts, &token, &sig) {
        return Err(Refusal::Unauthorized("bad signature".into()));
    }
    fresh(
        &state,
        ts.parse()
            .ok()
            .and_then(|t| Utc.timestamp_opt(t, 0).single()),
    )?;
    let event =
        providers::mailgun(&v).ok_or_else(|| Refusal::BadRequest("not a Mailgun event".into()))?;
    accept(&state, "mailgun", &token, vec![event])
}

/// `POST /webhooks/ses`: an SNS message from the topic `ses_topic_arn`, signed with the SNS
/// signing certificate (https on an amazonaws.com host, fetched through the SSRF guard, or
/// `ses_certificate`). A subscription confirmation is confirmed by visiting its SubscribeURL.
pub async fn ses(State(state): State<AppState>, body: Bytes) -> Answer {
    let g = state.gazette();
    let topic = g
        .config
        .bounces
        .ses_topic_arn
        .clone()
        .ok_or(Refusal::NotConfigured)?;
    let v = json_body(&body)?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    if text("TopicArn") != topic {
        return Err(Refusal::Unauthorized(format!(
            "topic {:?} is not ses_topic_arn",
            text("TopicArn")
        )));
    }
    let cert_url = url::Url::parse(&text("SigningCertURL"))
        .ok()
        .filter(signature::sns_url_ok)
        .ok_or_else(|| {
            Refusal::Unauthorized("SigningCertURL is not https on an SNS amazonaws.com host".into())
        })?;
    let pem = certificate(&state, &cert_url).await?;
    signature::sns(&pem, &v).map_err(Refusal::Unauthorized)?;
    let at = DateTime::parse_from_rfc3339(&text("Timestamp"))
        .ok()
        .map(|t| t.with_timezone(&Utc));
    fresh(&state, at)?;
    let id = text("MessageId");
    once(&state, "ses", &id)?;
    let answer = async {
        match text("Type").as_str() {
            "SubscriptionConfirmation" => {
                let url = url::Url::parse(&text("SubscribeURL"))
                    .ok()
                    .filter(signature::sns_url_ok)
                    .ok_or_else(|| Refusal::BadRequest("SubscribeURL is not an SNS URL".into()))?;
                fetch(&state, &url).await?;
                tracing::info!(topic = %topic, "SNS subscription confirmed");
                Ok(Json(json!({ "confirmed": true })))
            }
            "Notification" => {
                let message: Value = serde_json::from_str(&text("Message")).map_err(|_| {
                    Refusal::BadRequest("Message is not an SES notification".into())
                })?;
                let Some(mut c) = ses::from_notification(&message) else {
                    return Ok(Json(json!({ "events": [] })));
                };
                if c.verp_token.is_none() {
                    c.verp_token = message
                        .pointer("/mail/source")
                        .and_then(Value::as_str)
                        .and_then(verp_token);
                }
                let event = Event {
                    classification: c,
                    id: text("MessageId"),
                    occurred: at,
                };
                record(&state, "ses", vec![event])
            }
            _ => Ok(Json(json!({ "events": [] }))),
        }
    }
    .await;
    settle(&state, "ses", &id, answer)
}

/// The TOKEN of `local+TOKEN@domain`.
fn verp_token(address: &str) -> Option<String> {
    let local = address.trim().trim_matches(['<', '>']).rsplit_once('@')?.0;
    Some(local.split_once('+')?.1.to_string()).filter(|t| !t.is_empty())
}

/// The SNS signing certificate: `ses_certificate` when set, else fetched (and kept) by URL.
async fn certificate(state: &AppState, url: &url::Url) -> Result<Vec<u8>, Refusal> {
    static CACHE: Mutex<Option<HashMap<String, Vec<u8>>>> = Mutex::new(None);
    let g = state.gazette();
    if let Some(path) = &g.config.bounces.ses_certificate {
        return std::fs::read(path)
            .map_err(|e| Refusal::Unexpected(anyhow::anyhow!("read {}: {e}", path.display())));
    }
    if let Some(pem) = CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .get(url.as_str())
    {
        return Ok(pem.clone());
    }
    let pem = fetch(state, url).await?;
    CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(url.to_string(), pem.clone());
    Ok(pem)
}

/// GETs an SNS URL through the SSRF guard (public addresses only, on every hop).
async fn fetch(state: &AppState, url: &url::Url) -> Result<Vec<u8>, Refusal> {
    use crate::ingest::http::{Fetched, Fetcher, Trust, Validators};
    let g = state.gazette();
    let fetcher = Fetcher::new(&g.config.ingest)?;
    match fetcher
        .fetch_url(url, Trust::FeedContent, &Validators::default())
        .await
    {
        Ok(Fetched::Body { bytes, .. }) => Ok(bytes),
        Ok(Fetched::NotModified) => Err(Refusal::Upstream(format!("{url}: not modified"))),
        Err(e) => Err(Refusal::Upstream(format!("{url}: {e}"))),
    }
}
