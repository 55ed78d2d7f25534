//! Render stage: an issue (view structs) in, the HTML email, plain text and Markdown out.
//!
//! Templates are Tera: built-ins compiled in, overridable one file at a time. Only `.html`
//! templates autoescape; the only values a template may mark `| safe` are `lead_html` and
//! `intro_html`, which this module re-sanitizes itself. Every URL reaches a template validated
//! as absolute http(s) (or mailto), and the subscriber's HTML stays under a byte budget by
//! dropping the lowest-ranked stories.

mod context;
mod inline;
mod markdown;
mod personalize;
mod templates;
mod text;
mod url;
mod view;

use std::path::Path;

use anyhow::{Context as _, Result};

pub use self::context::MAX_SUBJECT_CHARS;
pub use self::markdown::{markdown_to_safe_html, markdown_to_text, sanitize_fragment};
pub use self::personalize::{Escape, Field, Filled, Piece, Prepared, PreparedEmail, Values};
pub use self::text::{wrap, LinkRef, LinkRefs, TEXT_WIDTH};
pub use self::url::absolute_http;
pub use self::view::{
    AlsoView, ConfirmView, DigestView, IssueView, NewsletterView, Personal, SectionView, StoryView,
};

use self::context::{
    best_ranked, confirm_context, digest_context, total_stories, SubscriberContext,
};
use self::inline::inline_css;
use self::templates::{TemplateSet, BUILTIN};

/// Gmail clips messages above ~102 KB; stay well below, since transfer encoding adds bytes.
pub const DEFAULT_MAX_HTML_BYTES: usize = 90_000;

/// Bytes of the budget kept for a subscriber's own fields (address, name, unsubscribe link), so
/// that every copy of an issue shows the same stories.
pub const PERSONAL_RESERVE: usize = 1_024;

/// The three renderings of one copy of an issue.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The HTML email, CSS inlined.
    pub html: String,
    /// The plain-text email, wrapped at 72 columns.
    pub text: String,
    /// CommonMark.
    pub markdown: String,
    /// Lowest-ranked stories left out to keep the HTML under the budget ("N more stories").
    pub dropped: usize,
}

/// Renders issues and confirmation emails with one loaded template set.
pub struct Renderer {
    templates: TemplateSet,
    max_html_bytes: usize,
}

impl Renderer {
    /// Loads the built-in templates, then lets each same-named file in `override_dir` replace
    /// one (files named `_*.html|txt|md` there are added as extra partials).
    /// A syntax error names the file and line.
    pub fn new(override_dir: Option<&Path>) -> Result<Self> {
        Ok(Self {
            templates: TemplateSet::load(override_dir)?,
            max_html_bytes: DEFAULT_MAX_HTML_BYTES,
        })
    }

    /// Sets the HTML byte budget for subscriber copies (default [`DEFAULT_MAX_HTML_BYTES`]).
    pub fn with_max_html_bytes(mut self, bytes: usize) -> Self {
        self.max_html_bytes = bytes;
        self
    }

    /// `(file name, contents)` of every built-in template plus its README, for `gazette init`.
    pub fn builtin_templates() -> &'static [(&'static str, &'static str)] {
        BUILTIN
    }

    /// Renders one copy of `issue`. `personal` is the recipient; `None` is the archived web
    /// copy: no greeting, a generic subscribe link instead of an unsubscribe link, and no size
    /// budget (it is the page the "N more stories" link points to).
    ///
    /// A recipient's copy shows the stories of [`Renderer::prepare_email`]: when the issue's HTML
    /// exceeds the budget less [`PERSONAL_RESERVE`], the highest-`rank` stories are left out of
    /// all three renderings until it fits, and `dropped` says how many. (Fields longer than the
    /// reserve cost that copy more stories.)
    pub fn render(&self, issue: &IssueView, personal: Option<&Personal>) -> Result<Rendered> {
        let sub = personal.map(SubscriberContext::of);
        self.render_parts(issue, sub.as_ref(), true)
    }

    /// What one recipient's email needs: HTML and text, without the Markdown.
    pub fn render_email(&self, issue: &IssueView, personal: &Personal) -> Result<Rendered> {
        self.render_parts(issue, Some(&SubscriberContext::of(personal)), false)
    }

    /// Renders the issue's email once, for [`PreparedEmail::for_recipient`] to fill in per
    /// recipient; identical, byte for byte, to [`Renderer::render_email`] (each variant is
    /// checked against it with a probe recipient, and left out when they differ).
    pub fn prepare_email(&self, issue: &IssueView) -> Result<PreparedEmail> {
        let kept = self.email_stories(issue)?;
        let mut variants = [None, None];
        for with_name in [false, true] {
            let placeholders = personalize::placeholder_subscriber(with_name);
            let (html, text) = personalize::with_placeholders(|| -> Result<_> {
                Ok((
                    self.html(issue, Some(&placeholders), &kept)?,
                    self.text(issue, Some(&placeholders), &kept)?,
                ))
            })?;
            let prepared = personalize::parse(&html, true)
                .zip(personalize::parse(&text, false))
                .map(|(html, text)| Prepared { html, text });
            let probe = personalize::probe(with_name);
            let sub = SubscriberContext::of(&probe);
            let values = personalize::values(&sub);
            let expected = (
                self.html(issue, Some(&sub), &kept)?,
                self.text(issue, Some(&sub), &kept)?,
            );
            let checked = prepared.filter(|p| (p.html(&values), p.text(&values)) == expected);
            if checked.is_none() {
                tracing::info!(
                    with_name,
                    "the templates change subscriber fields; each copy is rendered in full"
                );
            }
            variants[usize::from(with_name)] = checked;
        }
        Ok(PreparedEmail {
            variants,
            dropped: total_stories(issue) - kept.len(),
            max_html_bytes: self.max_html_bytes,
        })
    }

    fn render_parts(
        &self,
        issue: &IssueView,
        sub: Option<&SubscriberContext>,
        with_markdown: bool,
    ) -> Result<Rendered> {
        let total = total_stories(issue);
        let (kept, html) = match sub {
            None => {
                let kept = best_ranked(issue, total);
                let html = self.html(issue, None, &kept)?;
                (kept, html)
            }
            Some(sub) => {
                let kept = self.email_stories(issue)?;
                let html = self.html(issue, Some(sub), &kept)?;
                match html.len() > self.max_html_bytes {
                    true => self.fit(issue, Some(sub), total, self.max_html_bytes)?,
                    false => (kept, html),
                }
            }
        };
        let text = self.text(issue, sub, &kept)?;
        let markdown = match with_markdown {
            true => tidy_text(&self.digest("digest.md", issue, sub, &kept)?),
            false => String::new(),
        };
        Ok(Rendered {
            html,
            text,
            markdown,
            dropped: total - kept.len(),
        })
    }

    /// The stories every subscriber's copy shows: the best-ranked whose HTML, with placeholder
    /// fields, fits the budget less [`PERSONAL_RESERVE`].
    fn email_stories(&self, issue: &IssueView) -> Result<Vec<(usize, usize)>> {
        let total = total_stories(issue);
        let placeholders = personalize::placeholder_subscriber(true);
        let budget = self.max_html_bytes.saturating_sub(PERSONAL_RESERVE);
        let kept = best_ranked(issue, total);
        if self.html(issue, Some(&placeholders), &kept)?.len() <= budget {
            return Ok(kept);
        }
        Ok(self.fit(issue, Some(&placeholders), total, budget)?.0)
    }

    /// The most best-ranked stories whose HTML fits `budget` (binary search on the count).
    fn fit(
        &self,
        issue: &IssueView,
        sub: Option<&SubscriberContext>,
        total: usize,
        budget: usize,
    ) -> Result<(Vec<(usize, usize)>, String)> {
        let (mut lo, mut hi) = (0, total);
        let mut best = None;
        while lo < hi {
            let mid = (lo + hi) / 2;
            let kept = best_ranked(issue, mid);
            let html = self.html(issue, sub, &kept)?;
            if html.len() <= budget {
                best = Some((kept, html));
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        best.with_context(|| {
            format!(
                "issue HTML exceeds {budget} bytes even with no stories; shorten the template or \
                 intro"
            )
        })
    }

    /// One of the `digest.*` templates over the stories at `kept`.
    fn digest(
        &self,
        template: &str,
        issue: &IssueView,
        sub: Option<&SubscriberContext>,
        kept: &[(usize, usize)],
    ) -> Result<String> {
        let ctx = tera_context(&digest_context(issue, sub, kept))?;
        self.templates.render(template, &ctx)
    }

    fn html(
        &self,
        issue: &IssueView,
        sub: Option<&SubscriberContext>,
        kept: &[(usize, usize)],
    ) -> Result<String> {
        inline_css(&self.digest("digest.html", issue, sub, kept)?)
    }

    fn text(
        &self,
        issue: &IssueView,
        sub: Option<&SubscriberContext>,
        kept: &[(usize, usize)],
    ) -> Result<String> {
        Ok(tidy_text(&self.digest("digest.txt", issue, sub, kept)?))
    }

    /// Renders every template once over a sample issue (a titled section, a story covered by
    /// another source, an intro) for a subscriber with a name, for the web copy, and the
    /// confirmation email: what `gazette check` runs, so that a template naming a field that
    /// does not exist fails there and not at send time.
    pub fn check_templates(&self) -> Result<()> {
        let story = StoryView {
            title: "Sample headline".into(),
            url: "https://news.example.org/sample".into(),
            source: "Sample Source".into(),
            date: "1 January 2027".into(),
            published: "2027-01-01T09:00:00Z".into(),
            lead_text: "The sample lead paragraph.".into(),
            lead_html: "<p>The sample lead paragraph.</p>".into(),
            also: vec![AlsoView {
                source: "Other Source".into(),
                url: "https://other.example.org/sample".into(),
                title: "Another take".into(),
            }],
            rank: 0,
        };
        let newsletter = NewsletterView {
            name: "Sample".into(),
            base_url: "https://news.example.org".into(),
            lang: "en".into(),
        };
        let issue = IssueView {
            newsletter: newsletter.clone(),
            digest: DigestView {
                name: "weekly".into(),
                title: "Sample Weekly".into(),
            },
            number: 1,
            date: "1 January 2027".into(),
            window_from: "25 December 2026".into(),
            window_to: "1 January 2027".into(),
            subject: "Sample Weekly #1: Sample headline".into(),
            intro_html: Some("<p>Intro.</p>".into()),
            intro_markdown: Some("Intro.".into()),
            sections: vec![SectionView {
                title: Some("Trade".into()),
                topic: Some("trade".into()),
                stories: vec![story],
            }],
            web_url: "https://news.example.org/issues/1".into(),
            archive_url: "https://news.example.org/archive".into(),
            subscribe_url: "https://news.example.org/subscribe".into(),
        };
        self.render(&issue, None)?;
        self.render(&issue, Some(&personalize::probe(true)))?;
        self.render_confirm(&ConfirmView {
            newsletter,
            digests: vec!["Sample Weekly".into()],
            confirm_url: "https://news.example.org/confirm/t".into(),
            email: "reader@example.org".into(),
        })?;
        Ok(())
    }

    /// Renders the double opt-in email: `(html, text)`.
    pub fn render_confirm(&self, c: &ConfirmView) -> Result<(String, String)> {
        let ctx = tera_context(&confirm_context(c))?;
        let html = inline_css(&self.templates.render("confirm.html", &ctx)?)?;
        let text = tidy_text(&self.templates.render("confirm.txt", &ctx)?);
        Ok((html, text))
    }
}

fn tera_context(value: &impl serde::Serialize) -> Result<tera::Context> {
    tera::Context::from_serialize(value).context("build template context")
}

/// Trailing spaces dropped, runs of blank lines collapsed to one, one final newline.
fn tidy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
