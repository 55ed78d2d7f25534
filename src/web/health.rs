//! `GET /healthz`: 200 when the scheduler is working and the database answers, 503 otherwise.
//! Anyone gets `{"healthy", "scheduler": {"state"}}`; a request with
//! `Authorization: Bearer $GAZETTE_STATUS_TOKEN` gets the whole `gazette status` document.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::AppState;

pub async fn healthz(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let g = state.gazette();
    let live = state.inner.options.scheduler.as_deref();
    if let Err(e) = g.store.ping() {
        tracing::error!(error = %format!("{e:#}"), "health check: database unreachable");
        let body = serde_json::json!({"healthy": false, "scheduler": {"state": "unknown"}, "error": "database unreachable"});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let code = |healthy: bool| {
        if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    if authorized(&headers) {
        return match crate::status::status(&g, live) {
            Ok(s) => (code(s.healthy), Json(s)).into_response(),
            Err(e) => {
                let body = serde_json::json!({"healthy": false, "error": format!("{e:#}")});
                (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
            }
        };
    }
    match crate::status::scheduler(&g, live) {
        Ok(s) => {
            let healthy = s.healthy();
            let body = serde_json::json!({"healthy": healthy, "scheduler": {"state": s.state}});
            (code(healthy), Json(body)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "health check failed");
            let body = serde_json::json!({"healthy": false, "scheduler": {"state": "unknown"}});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// Whether the request carries `Authorization: Bearer $GAZETTE_STATUS_TOKEN` (compared in
/// constant time; never, when the variable is unset or empty).
fn authorized(headers: &HeaderMap) -> bool {
    let Some(token) = std::env::var("GAZETTE_STATUS_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
    else {
        return false;
    };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    use sha2::Digest;
    sha2::Sha256::digest(given.trim().as_bytes()) == sha2::Sha256::digest(token.as_bytes())
}
