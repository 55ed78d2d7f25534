//! The archive: sent issues newest first, one issue as sent (the generic archived copy, with no
//! personal links), and an Atom feed of them.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::pages::{self, digest_choices, html};
use super::security;
use super::subscribe::with_cookie;
use super::AppState;
use crate::store::IssueRecord;
use crate::tokens::join;

/// Issues that went out to at least one reader, newest first.
fn sent_issues(state: &AppState) -> anyhow::Result<Vec<IssueRecord>> {
    Ok(state
        .gazette()
        .store
        .issues()?
        .into_iter()
        .filter(|i| i.sent > 0)
        .collect())
}

fn display_date(state: &AppState, t: chrono::DateTime<chrono::Utc>) -> String {
    let tz = state.gazette().config.newsletter.timezone;
    t.with_timezone(&tz).format("%-d %B %Y").to_string()
}

fn failed(state: &AppState, e: anyhow::Error) -> Response {
    tracing::error!("archive: {e:#}");
    pages::message(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again later.",
    )
}

/// `GET /archive`: the list, and the subscribe form.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let issues = match sent_issues(&state) {
        Ok(i) => i,
        Err(e) => return failed(&state, e),
    };
    let items: Vec<_> = issues
        .iter()
        .map(|i| json!({"id": i.id, "subject": i.subject, "date": display_date(&state, i.created)}))
        .collect();
    let (cookie, set_cookie) = security::csrf_cookie(&state, &headers);
    let body = pages::render(
        &state,
        "archive.html",
        json!({
            "issues": items,
            "csrf": security::csrf_token(&state, &cookie),
            "digests": digest_choices(&state),
        }),
    );
    with_cookie(html(StatusCode::OK, body), set_cookie)
}

/// `GET /issues/{id}`: one sent issue, as archived, in a sandboxed frame.
pub async fn issue(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let g = state.gazette();
    let record = id
        .parse::<i64>()
        .ok()
        .map(|id| g.store.issue(id))
        .transpose();
    let record = match record {
        Ok(r) => r.flatten().filter(|i| i.sent > 0),
        Err(e) => return failed(&state, e),
    };
    let Some(record) = record else {
        return pages::not_found(State(state.clone())).await;
    };
    let content = match g.store.issue_content(record.id) {
        Ok(Some((html, _, _))) => html,
        Ok(None) => return pages::not_found(State(state.clone())).await,
        Err(e) => return failed(&state, e),
    };
    let body = pages::render(
        &state,
        "issue.html",
        json!({
            "subject": record.subject,
            "date": display_date(&state, record.created),
            "html": content,
        }),
    );
    html(StatusCode::OK, body)
}

/// `GET /feed.xml`: an Atom feed of the sent issues.
pub async fn feed(State(state): State<AppState>) -> Response {
    let issues = match sent_issues(&state) {
        Ok(i) => i,
        Err(e) => return failed(&state, e),
    };
    let g = state.gazette();
    let mut entries = Vec::new();
    for i in issues.iter().take(50) {
        let html = match g.store.issue_content(i.id) {
            Ok(Some((html, _, _))) => html,
            Ok(None) => continue,
            Err(e) => return failed(&state, e),
        };
        entries.push((i, html));
    }
    let body = atom(&g.config.newsletter, &entries, g.now());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The Atom document; every value is XML-escaped.
fn atom(
    nl: &crate::config::Newsletter,
    entries: &[(&IssueRecord, String)],
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let x = |s: &str| html_escape::encode_quoted_attribute(s).into_owned();
    let t = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let base = &nl.base_url;
    let updated = entries.first().map(|(i, _)| i.created).unwrap_or(now);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!("  <title>{}</title>\n", x(&nl.name)));
    out.push_str(&format!("  <id>{}</id>\n", x(&join(base, "feed.xml"))));
    out.push_str(&format!(
        "  <link rel=\"self\" href=\"{}\"/>\n",
        x(&join(base, "feed.xml"))
    ));
    out.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        x(&join(base, "archive"))
    ));
    out.push_str(&format!("  <updated>{}</updated>\n", t(updated)));
    out.push_str(&format!(
        "  <author><name>{}</name></author>\n",
        x(&nl.name)
    ));
    for (i, html) in entries {
        let url = join(base, &format!("issues/{}", i.id));
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <title>{}</title>\n", x(&i.subject)));
        out.push_str(&format!("    <id>{}</id>\n", x(&url)));
        out.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            x(&url)
        ));
        out.push_str(&format!("    <published>{}</published>\n", t(i.created)));
        out.push_str(&format!("    <updated>{}</updated>\n", t(i.created)));
        out.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            x(html)
        ));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}
