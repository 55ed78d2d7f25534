//! Render: an issue's view → HTML email (CSS inlined), plain text and Markdown, with Tera.
//! (First version; see issue 4 for the full templates.)

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct NewsletterView {
    pub name: String,
    pub base_url: String,
    pub lang: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DigestView {
    pub name: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AlsoView {
    pub source: String,
    pub url: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StoryView {
    pub title: String,
    pub url: String,
    pub source: String,
    pub date: String,
    pub published: String,
    pub lead_text: String,
    pub lead_html: String,
    pub also: Vec<AlsoView>,
    pub rank: usize,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SectionView {
    pub title: Option<String>,
    pub stories: Vec<StoryView>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct IssueView {
    pub newsletter: NewsletterView,
    pub digest: DigestView,
    pub number: i64,
    pub date: String,
    pub window_from: String,
    pub window_to: String,
    pub subject: String,
    pub intro_html: Option<String>,
    pub sections: Vec<SectionView>,
    pub web_url: String,
    pub archive_url: String,
    pub subscribe_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Personal {
    pub email: String,
    pub name: Option<String>,
    pub unsubscribe_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfirmView {
    pub newsletter: NewsletterView,
    pub digests: Vec<String>,
    pub confirm_url: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub html: String,
    pub text: String,
    pub markdown: String,
    pub dropped: usize,
}

const BUILTIN: &[(&str, &str)] = &[
    ("digest.html", include_str!("../../templates/digest.html")),
    ("digest.txt", include_str!("../../templates/digest.txt")),
    ("digest.md", include_str!("../../templates/digest.md")),
    ("confirm.html", include_str!("../../templates/confirm.html")),
    ("confirm.txt", include_str!("../../templates/confirm.txt")),
];

pub struct Renderer {
    tera: tera::Tera,
}

impl Renderer {
    pub fn new(override_dir: Option<&Path>) -> Result<Self> {
        let mut tera = tera::Tera::default();
        for (name, body) in BUILTIN {
            let user = override_dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let body = match &user {
                Some(p) => std::fs::read_to_string(p)
                    .with_context(|| format!("read template {}", p.display()))?,
                None => body.to_string(),
            };
            tera.add_raw_template(name, &body)
                .map_err(|e| anyhow::anyhow!("template {name}: {}", tera_error(&e)))?;
        }
        Ok(Renderer { tera })
    }

    pub fn builtin_templates() -> &'static [(&'static str, &'static str)] {
        BUILTIN
    }

    pub fn render(&self, issue: &IssueView, personal: Option<&Personal>) -> Result<Rendered> {
        let mut ctx = tera::Context::from_serialize(issue)?;
        ctx.insert("subscriber", &personal);
        let r = |name: &str| {
            self.tera
                .render(name, &ctx)
                .map_err(|e| anyhow::anyhow!("template {name}: {}", tera_error(&e)))
        };
        Ok(Rendered {
            html: r("digest.html")?,
            text: r("digest.txt")?,
            markdown: r("digest.md")?,
            dropped: 0,
        })
    }

    /// What one recipient's email needs: HTML and text, without the Markdown (sent per message,
    /// so it skips the third template).
    pub fn render_email(&self, issue: &IssueView, personal: &Personal) -> Result<Rendered> {
        let mut ctx = tera::Context::from_serialize(issue)?;
        ctx.insert("subscriber", &Some(personal));
        let r = |name: &str| {
            self.tera
                .render(name, &ctx)
                .map_err(|e| anyhow::anyhow!("template {name}: {}", tera_error(&e)))
        };
        Ok(Rendered {
            html: r("digest.html")?,
            text: r("digest.txt")?,
            markdown: String::new(),
            dropped: 0,
        })
    }

    pub fn render_confirm(&self, c: &ConfirmView) -> Result<(String, String)> {
        let ctx = tera::Context::from_serialize(c)?;
        let r = |name: &str| {
            self.tera
                .render(name, &ctx)
                .map_err(|e| anyhow::anyhow!("template {name}: {}", tera_error(&e)))
        };
        Ok((r("confirm.html")?, r("confirm.txt")?))
    }
}

fn tera_error(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

/// Markdown → sanitized HTML.
pub fn markdown_to_safe_html(md: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(md));
    ammonia::Builder::default()
        .url_relative(ammonia::UrlRelative::Deny)
        .clean(&html)
        .to_string()
}
