//! The mails editors get: the review mail when a draft is planned (a banner with their own
//! signed review link above the issue as it stands), and the "held" notice when its slot passes
//! unapproved. Each editor gets their own link, so the log can say who did what.

use std::sync::LazyLock;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::Review;
use crate::config::ReviewPolicy;
use crate::deliver::{message, Mailer};
use crate::pipeline::Gazette;
use crate::tokens::{join, Claim, ReviewClaim};

static BANNERS: LazyLock<tera::Tera> = LazyLock::new(|| {
    let mut tera = tera::Tera::default();
    tera.add_raw_templates([
        ("banner.html", include_str!("templates/banner.html")),
        ("banner.txt", include_str!("templates/banner.txt")),
    ])
    .expect("built-in review banners parse");
    tera.autoescape_on(vec![".html"]);
    tera
});

/// Which mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A draft is ready (held already when it was planned after its slot).
    Review { held: bool },
    /// The slot passed unapproved: the draft is held.
    Held,
}

/// When an editor's review link stops working: the slot plus `catch_up`.
pub fn link_until(g: &Gazette, r: &Review) -> DateTime<Utc> {
    let catch_up = g
        .config
        .digest(Some(&r.digest))
        .map(|d| d.catch_up)
        .unwrap_or_else(|_| chrono::Duration::hours(12));
    r.slot + catch_up
}

/// An editor's review link.
pub fn link(g: &Gazette, tokens: &crate::tokens::Tokens, r: &Review, editor: &str) -> String {
    let token = tokens.sign(&Claim::Review(ReviewClaim {
        issue: r.issue,
        digest: r.digest.clone(),
        editor: editor.to_string(),
        until: link_until(g, r).timestamp(),
    }));
    join(&g.config.newsletter.base_url, &format!("review/{token}"))
}

/// A time as editors read it: in the newsletter's zone.
pub fn local(g: &Gazette, t: DateTime<Utc>) -> String {
    t.with_timezone(&g.config.newsletter.timezone)
        .format("%a %-d %b %Y %H:%M %Z")
        .to_string()
}

/// Sends the mail to every editor; returns those it reached. Fails only when it reached none.
pub async fn send(g: &Gazette, r: &Review, kind: Kind) -> Result<Vec<String>> {
    let nl = &g.config.newsletter;
    let tokens = g.tokens()?;
    let transport = Mailer::new(&g.config, g.store.clone(), 1)?;
    let (html, text, _) = g
        .store
        .issue_content(r.issue)?
        .with_context(|| format!("no issue {}", r.issue))?;
    let subject = g
        .store
        .issue(r.issue)?
        .map(|i| i.subject)
        .unwrap_or_default();
    let held = matches!(kind, Kind::Held | Kind::Review { held: true });
    let subject = if held {
        format!("[Held] {subject}")
    } else {
        format!("[Review] {subject}")
    };
    let mut reached = Vec::new();
    let mut last_error = None;
    for editor in &nl.editors {
        let ctx = tera::Context::from_value(json!({
            "held": held,
            "required": r.policy == ReviewPolicy::Required,
            "number": r.number,
            "digest": g.config.digest(Some(&r.digest)).map(|d| d.title.clone()).unwrap_or_else(|_| r.digest.clone()),
            "slot": local(g, r.slot),
            "until": local(g, link_until(g, r)),
            "link": link(g, &tokens, r, editor),
            "editor": editor,
        }))?;
        let banner_html = BANNERS.render("banner.html", &ctx)?;
        let banner_text = BANNERS.render("banner.txt", &ctx)?;
        let nonce: u64 = rand::random();
        let message_id = format!(
            "<review.{}.{nonce:016x}@{}>",
            r.issue,
            nl.from.email.domain()
        );
        let msg = message::build(message::Email {
            from: &nl.from,
            reply_to: nl.reply_to.as_ref(),
            to: lettre::message::Mailbox::new(None, editor.parse()?),
            subject: &subject,
            text: format!("{banner_text}{text}"),
            html: Some(with_banner(&html, &banner_html)),
            message_id: &message_id,
            date: g.now().into(),
            list_id: None,
            unsubscribe_url: None,
            unsubscribe_mailto: None,
            verp: None,
        })?;
        let msg = message::seal(msg, g.dkim()?.as_deref(), g.now().timestamp());
        let file = format!(
            "review-{}-{nonce:016x}-{}.eml",
            r.issue,
            crate::deliver::sanitize_file_name(editor)
        );
        match transport.send(&msg, &file, g.now()).await {
            Ok(reply) => {
                tracing::info!(to = %editor, issue = r.issue, %reply, "review mail sent");
                reached.push(editor.clone());
            }
            Err(e) => {
                tracing::warn!(to = %editor, issue = r.issue, "review mail: {e}");
                last_error = Some(format!("review mail to {editor}: {e}"));
            }
        }
    }
    match last_error {
        Some(e) if reached.is_empty() => anyhow::bail!(e),
        _ => Ok(reached),
    }
}

/// The issue's HTML with the banner at the top of its body.
fn with_banner(issue_html: &str, banner: &str) -> String {
    let at = issue_html
        .find("<body")
        .and_then(|b| issue_html[b..].find('>').map(|e| b + e + 1))
        .unwrap_or(0);
    format!("{}{banner}{}", &issue_html[..at], &issue_html[at..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_banner_goes_first_in_the_body() {
        assert_eq!(
            super::with_banner("<html><body class=\"x\"><p>a</p></body>", "<div>B</div>"),
            "<html><body class=\"x\"><div>B</div><p>a</p></body>"
        );
        assert_eq!(super::with_banner("<p>a</p>", "<b>"), "<b><p>a</p>");
    }
}
