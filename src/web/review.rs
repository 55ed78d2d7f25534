//! The review page of a draft issue, reached by an editor's signed link `/review/{token}`: the
//! issue as it will be sent, per-story controls (up, down, pin, drop, edit the lead), stories
//! that arrived since the draft (add), the intro in Markdown (live preview with JavaScript),
//! approve and skip, and the log.
//!
//! Every change is a POST with the CSRF token and the version the page was loaded at: a page
//! loaded before someone else's change is refused with "changed since you loaded it" (409) and
//! shows the text it would have saved. The token names the issue, its digest and the editor; a
//! form for another issue, or a story not in this draft, is answered 404. A GET changes nothing.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};

use super::pages::{self, html, invalid_link};
use super::security::{self, CSP_PREVIEW};
use super::subscribe::with_cookie;
use super::AppState;
use crate::pipeline::Gazette;
use crate::review::{self, mail::local, Change, Edit, EditError, Review, Status};
use crate::tokens::{join, Claim, ReviewClaim};

/// The longest intro accepted, in characters.
const MAX_INTRO_CHARS: usize = 10_000;

/// The review a token opens, with who opened it.
struct Target {
    claim: ReviewClaim,
    review: Review,
}

/// The review a token refers to, or the answer instead: 404 for a forged link, one for another
/// digest's or a missing issue, or an editor no longer configured; 410 when it expired.
#[allow(clippy::result_large_err)] // a Response, returned at once by the handler
fn target(state: &AppState, token: &str) -> Result<Target, Response> {
    let Some(Claim::Review(claim)) = state.tokens().verify(token, i64::MIN) else {
        return Err(invalid_link(state));
    };
    let g = state.gazette();
    if claim.until < g.now().timestamp() {
        return Err(pages::message(
            state,
            StatusCode::GONE,
            "Link expired",
            "This review link has expired. `gazette review show` and `gazette review approve` still work.",
        ));
    }
    if !g.config.newsletter.editors.contains(&claim.editor) {
        return Err(invalid_link(state));
    }
    match review::load(&g, claim.issue) {
        Ok(Some(r)) if r.digest == claim.digest => Ok(Target { claim, review: r }),
        Ok(_) => Err(invalid_link(state)),
        Err(e) => Err(failed(state, e)),
    }
}

fn failed(state: &AppState, e: anyhow::Error) -> Response {
    tracing::error!("review: {e:#}");
    pages::message(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again later.",
    )
}

/// A message on the page, and text the editor typed that was not saved.
#[derive(Default)]
struct Notice {
    text: Option<String>,
    kind: &'static str,
    /// (story, lead) or (None, intro) that was not saved.
    kept: Option<(Option<i64>, String)>,
}

/// `GET /review/{token}`: the page.
pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let t = match target(&state, &token) {
        Ok(t) => t,
        Err(r) => return r,
    };
    render(
        &state,
        &headers,
        &token,
        &t,
        StatusCode::OK,
        Notice::default(),
    )
}

/// Renders the page for the review as it is now, with a notice.
fn render(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    token: &str,
    t: &Target,
    status: StatusCode,
    notice: Notice,
) -> Response {
    let g = state.gazette();
    let (cookie, set_cookie) = security::csrf_cookie(state, headers);
    let ctx = match context(&g, token, t, &notice) {
        Ok(mut ctx) => {
            ctx["csrf"] = json!(security::csrf_token(state, &cookie));
            ctx
        }
        Err(e) => return failed(state, e),
    };
    let mut res = with_cookie(
        html(status, pages::render(state, "review.html", ctx)),
        set_cookie,
    );
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP_PREVIEW),
    );
    res
}

fn context(g: &Gazette, token: &str, t: &Target, notice: &Notice) -> anyhow::Result<Value> {
    let r = &t.review;
    let base = &g.config.newsletter.base_url;
    let (email, _, _) = g.store.issue_content(r.issue)?.unwrap_or_default();
    let subject = g
        .store
        .issue(r.issue)?
        .map(|i| i.subject)
        .unwrap_or_default();
    let kept_lead = |id: i64| match &notice.kept {
        Some((Some(s), text)) if *s == id => Some(text.clone()),
        _ => None,
    };
    let shown: Vec<&review::Entry> = r.draft.shown().collect();
    let group = |e: &review::Entry| (e.pinned, e.section.clone());
    let stories: Vec<Value> = shown
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let kept = kept_lead(e.story);
            json!({
                "id": e.story, "title": e.view.title, "url": e.view.url, "source": e.view.source,
                // What the headline links to: an absolute http(s) address without user info,
                // as in the email; else the headline is not linked.
                "link": crate::render::absolute_http(&e.view.url).unwrap_or_default(),
                "section": if e.pinned { None } else { e.section.clone() },
                "lead": e.view.lead_text, "pinned": e.pinned, "added": e.added,
                "edited": e.lead_edited, "open_lead": kept.is_some(),
                "lead_edit": kept.unwrap_or_else(|| review::editable(&e.view.lead_html)),
                "first": i == 0 || group(shown[i - 1]) != group(e),
                "last": i + 1 == shown.len() || group(shown[i + 1]) != group(e),
            })
        })
        .collect();
    let dropped: Vec<Value> = r
        .draft
        .entries
        .iter()
        .filter(|e| e.dropped)
        .map(|e| json!({"id": e.story, "title": e.view.title, "url": e.view.url, "source": e.view.source}))
        .collect();
    let arrived: Vec<Value> = review::arrived(g, r)?
        .iter()
        .map(|e| {
            json!({"id": e.story, "title": e.view.title, "url": e.view.url, "source": e.view.source,
                "link": crate::render::absolute_http(&e.view.url).unwrap_or_default(),
                "section": e.section, "lead": e.view.lead_text})
        })
        .collect();
    let intro = match &notice.kept {
        Some((None, text)) => text.clone(),
        _ => r.draft.intro_markdown.clone().unwrap_or_default(),
    };
    let log: Vec<Value> = g
        .store
        .review_log(r.issue)?
        .iter()
        .map(|l| json!({"at": local(g, l.at), "who": l.who, "what": l.what}))
        .collect();
    let status = review::closed_status(r);
    Ok(json!({
        "action": join(base, &format!("review/{token}")),
        "intro_action": join(base, &format!("review/{token}/intro")),
        "script": join(base, "review.js"),
        "issue": r.issue,
        "version": r.version,
        "digest": g.config.digest(Some(&r.digest)).map(|d| d.title.clone()).unwrap_or_else(|_| r.digest.clone()),
        "number": r.number,
        "subject": subject,
        "status": status,
        "status_text": status_text(g, r),
        "policy": r.policy.as_str(),
        "slot": local(g, r.slot),
        "editor": t.claim.editor,
        "editable": r.is_open(),
        "can_approve": r.is_open() && r.status != Status::Approved,
        "stories": stories,
        "dropped": dropped,
        "arrived": arrived,
        "intro": intro,
        "email": email,
        "log": log,
        "notice": notice.text,
        "notice_kind": notice.kind,
    }))
}

fn status_text(g: &Gazette, r: &Review) -> String {
    let slot = local(g, r.slot);
    if r.released.is_some() {
        return "Sent.".into();
    }
    match (r.status, r.policy) {
        (Status::Skipped, _) => "Skipped: it will not be sent.".into(),
        (Status::Held, _) => format!(
            "Held: it was not approved by its slot ({slot}). Nobody gets it until it is approved."
        ),
        (Status::Approved, _) if r.slot <= g.now() => "Approved: it goes out now.".into(),
        (Status::Approved, _) => format!("Approved: it goes out at {slot}."),
        (Status::Draft, crate::config::ReviewPolicy::Required) => {
            format!("Draft: it goes out at {slot}, but only once approved.")
        }
        (Status::Draft, crate::config::ReviewPolicy::Optional) => {
            format!("Draft: it goes out at {slot} as it stands.")
        }
    }
}

/// The fields of a review form.
#[derive(Debug, Default)]
struct Form {
    csrf: Option<String>,
    issue: Option<i64>,
    version: Option<i64>,
    action: String,
    story: Option<i64>,
    lead: Option<String>,
    intro: Option<String>,
}

fn parse_form(body: &[u8]) -> Form {
    let mut f = Form::default();
    for (k, v) in url::form_urlencoded::parse(body) {
        match &*k {
            "csrf" => f.csrf = Some(v.into_owned()),
            "issue" => f.issue = v.parse().ok(),
            "version" => f.version = v.parse().ok(),
            "do" => f.action = v.into_owned(),
            "story" => f.story = v.parse().ok(),
            "lead" => f.lead = Some(v.into_owned()),
            "intro" => f.intro = Some(v.into_owned()),
            _ => {}
        }
    }
    f
}

fn forbidden(state: &AppState) -> Response {
    pages::message(
        state,
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form could not be checked. Open the review link from your email again.",
    )
}

/// A review form's POST: its body (at most 16 KiB), CSRF-checked, and the draft its link names;
/// or the answer that refuses it.
async fn checked_post(
    state: &AppState,
    token: &str,
    req: axum::extract::Request,
) -> Result<(axum::http::HeaderMap, Form, Target), Response> {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024).await else {
        return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response());
    };
    let form = parse_form(&body);
    if !security::csrf_ok(state, &parts.headers, form.csrf.as_deref()) {
        return Err(forbidden(state));
    }
    let t = target(state, token)?;
    Ok((parts.headers, form, t))
}

/// `POST /review/{token}`: one change (`do` = up, down, pin, unpin, drop, restore, lead, intro,
/// add, approve, skip), then back to the page (303), or the page with why nothing changed.
pub async fn act(
    State(state): State<AppState>,
    Path(token): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let (headers, form, t) = match checked_post(&state, &token, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if form.issue != Some(t.review.issue) {
        return invalid_link(&state);
    }
    let Some(version) = form.version else {
        return bad(
            &state,
            &headers,
            &token,
            &t,
            "The form lacks its version: reload the page.",
            None,
        );
    };
    let g = state.gazette();
    let who = t.claim.editor.clone();
    let issue = t.review.issue;
    let story = form
        .story
        .filter(|_| !matches!(form.action.as_str(), "intro" | "approve" | "skip"));
    let kept = match form.action.as_str() {
        "lead" => form.lead.clone().map(|l| (form.story, l)),
        "intro" => form.intro.clone().map(|i| (None, i)),
        _ => None,
    };
    let edit = match edit_of(&g, &t.review, &form) {
        Ok(e) => e,
        Err(Refusal::NotFound) => return invalid_link(&state),
        Err(Refusal::Bad(why)) => return bad(&state, &headers, &token, &t, &why, kept),
    };
    let change = match edit {
        Some(edit) => review::edit(&g, issue, Some(version), &who, edit),
        None if form.action == "approve" => review::approve(&g, issue, Some(version), &who),
        None => review::skip(&g, issue, Some(version), &who),
    };
    let change = match change {
        Ok(c) => c,
        Err(e) => return failed(&state, e),
    };
    match change {
        Change::Saved { .. } => {
            let anchor = story.map(|s| format!("#s{s}")).unwrap_or_default();
            let to = format!("{}{anchor}", join(&g.config.newsletter.base_url, &format!("review/{token}")));
            Redirect::to(&to).into_response()
        }
        Change::Conflict { .. } => again(
            &state,
            &headers,
            &token,
            &t,
            StatusCode::CONFLICT,
            Notice {
                text: Some(
                    "This draft changed since you loaded it (another editor, or the schedule): \
                     your change was not saved. Here is the draft as it is now; what you typed is kept below."
                        .into(),
                ),
                kind: "conflict",
                kept,
            },
        ),
        Change::Closed(s) => again(
            &state,
            &headers,
            &token,
            &t,
            StatusCode::CONFLICT,
            Notice {
                text: Some(format!("This issue is {s}: nothing was changed.")),
                kind: "error",
                kept,
            },
        ),
        Change::Refused(EditError::NoSuchStory(_)) => invalid_link(&state),
        Change::Refused(e) => bad(&state, &headers, &token, &t, &e.to_string(), kept),
    }
}

/// Why a form was refused before anything was tried.
enum Refusal {
    /// Names something that is not part of this draft: 404.
    NotFound,
    /// Cannot be done as sent: 400, with why.
    Bad(String),
}

/// The draft edit a form asks for (`None` for approve and skip).
fn edit_of(g: &Gazette, r: &Review, f: &Form) -> Result<Option<Edit>, Refusal> {
    let story = || -> Result<i64, Refusal> {
        let id = f
            .story
            .ok_or(Refusal::Bad("The form names no story.".into()))?;
        r.draft.entry(id).map(|_| id).ok_or(Refusal::NotFound)
    };
    Ok(Some(match f.action.as_str() {
        "up" => Edit::Up(story()?),
        "down" => Edit::Down(story()?),
        "pin" => Edit::Pin(story()?),
        "unpin" => Edit::Unpin(story()?),
        "drop" => Edit::Drop(story()?),
        "restore" => Edit::Restore(story()?),
        "lead" => {
            let id = story()?;
            let lead = review::edited_lead(f.lead.as_deref().unwrap_or(""))
                .map_err(|e| Refusal::Bad(format!("The lead was not saved: {e}.")))?;
            Edit::Lead(id, lead)
        }
        "intro" => {
            let text = f.intro.clone().unwrap_or_default().replace("\r\n", "\n");
            if text.chars().count() > MAX_INTRO_CHARS {
                return Err(Refusal::Bad(format!(
                    "The intro was not saved: it can have at most {MAX_INTRO_CHARS} characters."
                )));
            }
            Edit::Intro(Some(text))
        }
        "add" => {
            let id = f
                .story
                .ok_or(Refusal::Bad("The form names no story.".into()))?;
            let arrived = review::arrived(g, r).map_err(|e| Refusal::Bad(format!("{e:#}")))?;
            let entry = arrived
                .into_iter()
                .find(|e| e.story == id)
                .ok_or(Refusal::NotFound)?;
            Edit::Add(Box::new(entry))
        }
        "approve" | "skip" => return Ok(None),
        _ => return Err(Refusal::Bad("Unknown action.".into())),
    }))
}

/// The page again, reloaded, with a 400 notice.
fn bad(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    token: &str,
    t: &Target,
    why: &str,
    kept: Option<(Option<i64>, String)>,
) -> Response {
    again(
        state,
        headers,
        token,
        t,
        StatusCode::BAD_REQUEST,
        Notice {
            text: Some(why.to_string()),
            kind: "error",
            kept,
        },
    )
}

/// The page for the review as stored now (not as the refused form saw it).
fn again(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    token: &str,
    t: &Target,
    status: StatusCode,
    notice: Notice,
) -> Response {
    let g = state.gazette();
    let review = match review::load(&g, t.review.issue) {
        Ok(Some(r)) => r,
        Ok(None) => return invalid_link(state),
        Err(e) => return failed(state, e),
    };
    let fresh = Target {
        claim: t.claim.clone(),
        review,
    };
    render(state, headers, token, &fresh, status, notice)
}

/// `POST /review/{token}/intro`: the Markdown intro as sanitized HTML, for the live preview.
/// Changes nothing.
pub async fn intro_preview(
    State(state): State<AppState>,
    Path(token): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let form = match checked_post(&state, &token, req).await {
        Ok((_, form, _)) => form,
        Err(r) => return r,
    };
    let text: String = form
        .intro
        .unwrap_or_default()
        .chars()
        .take(MAX_INTRO_CHARS)
        .collect();
    let html = crate::render::markdown_to_safe_html(&text);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

const SCRIPT: &str = r#"(function () {
  var form = document.getElementById("intro-form");
  if (!form || !window.fetch) return;
  var area = form.querySelector("textarea[name=intro]");
  var out = document.getElementById("intro-preview");
  var url = form.getAttribute("data-preview");
  var timer = null;
  function show() {
    var body = new URLSearchParams();
    body.set("csrf", form.querySelector("input[name=csrf]").value);
    body.set("intro", area.value);
    fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { out.innerHTML = html; out.hidden = !html; })
      .catch(function () {});
  }
  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(show, 200);
  });
  show();
})();
"#;

/// `GET /review.js`: the intro's live preview (the page works without it).
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
