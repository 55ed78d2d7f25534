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
mod templates;
mod text;
mod url;
mod view;

use std::path::Path;

use anyhow::{Context as _, Result};

pub use self::markdown::{markdown_to_safe_html, markdown_to_text, sanitize_fragment};
pub use self::text::{wrap, LinkRef, LinkRefs, TEXT_WIDTH};
pub use self::view::{
    AlsoView, ConfirmView, DigestView, IssueView, NewsletterView, Personal, SectionView, StoryView,
};

use self::context::{best_ranked, confirm_context, digest_context, total_stories};
use self::inline::inline_css;
use self::templates::{TemplateSet, BUILTIN};

/// Gmail clips messages above ~102 KB; stay well below, since transfer encoding adds bytes.
pub const DEFAULT_MAX_HTML_BYTES: usize = 90_000;

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
    /// For a recipient, when the HTML exceeds the budget the highest-`rank` stories are left
    /// out of all three renderings until it fits, and `dropped` says how many.
    pub fn render(&self, issue: &IssueView, personal: Option<&Personal>) -> Result<Rendered> {
        self.render_parts(issue, personal, true)
    }

    /// What one recipient's email needs: HTML and text, without the Markdown (rendered per
    /// message at send time, so the third template is skipped).
    pub fn render_email(&self, issue: &IssueView, personal: &Personal) -> Result<Rendered> {
        self.render_parts(issue, Some(personal), false)
    }

    fn render_parts(
        &self,
        issue: &IssueView,
        personal: Option<&Personal>,
        with_markdown: bool,
    ) -> Result<Rendered> {
        let total = total_stories(issue);
        let mut kept = best_ranked(issue, total);
        let mut html = self.html(issue, personal, &kept)?;
        if personal.is_some() && html.len() > self.max_html_bytes {
            (kept, html) = self.fit(issue, personal, total)?;
        }
        let ctx = tera_context(&digest_context(issue, personal, &kept))?;
        let text = self.templates.render("digest.txt", &ctx)?;
        let markdown = match with_markdown {
            true => tidy_text(&self.templates.render("digest.md", &ctx)?),
            false => String::new(),
        };
        Ok(Rendered {
            html,
            text: tidy_text(&text),
            markdown,
            dropped: total - kept.len(),
        })
    }

    /// The most best-ranked stories whose HTML fits the budget (binary search on the count).
    fn fit(
        &self,
        issue: &IssueView,
        personal: Option<&Personal>,
        total: usize,
    ) -> Result<(Vec<(usize, usize)>, String)> {
        let (mut lo, mut hi) = (0, total);
        let mut best = None;
        while lo < hi {
            let mid = (lo + hi) / 2;
            let kept = best_ranked(issue, mid);
            let html = self.html(issue, personal, &kept)?;
            if html.len() <= self.max_html_bytes {
                best = Some((kept, html));
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        best.with_context(|| {
            format!(
                "issue HTML exceeds {} bytes even with no stories; shorten the template or intro",
                self.max_html_bytes
            )
        })
    }

    fn html(
        &self,
        issue: &IssueView,
        personal: Option<&Personal>,
        kept: &[(usize, usize)],
    ) -> Result<String> {
        let ctx = tera_context(&digest_context(issue, personal, kept))?;
        inline_css(&self.templates.render("digest.html", &ctx)?)
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
