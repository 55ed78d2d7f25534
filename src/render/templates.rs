//! The template set: built-ins compiled in, same-named files from an override folder replacing
//! them one by one, gazette's filters, and error messages that name the file, line and variable.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use tera::{Tera, Value};

use super::markdown::{escape_markdown, markdown_destination};
use super::text::{underline, wrap, TEXT_WIDTH};

/// Built-in templates, `(file name, contents)`, in the order `gazette init` writes them.
pub(crate) const BUILTIN: &[(&str, &str)] = &[
    ("digest.html", include_str!("../../templates/digest.html")),
    ("_styles.html", include_str!("../../templates/_styles.html")),
    ("_story.html", include_str!("../../templates/_story.html")),
    ("_footer.html", include_str!("../../templates/_footer.html")),
    ("digest.txt", include_str!("../../templates/digest.txt")),
    ("_story.txt", include_str!("../../templates/_story.txt")),
    ("digest.md", include_str!("../../templates/digest.md")),
    ("confirm.html", include_str!("../../templates/confirm.html")),
    ("confirm.txt", include_str!("../../templates/confirm.txt")),
    ("README.md", include_str!("../../templates/README.md")),
];

/// Files in [`BUILTIN`] that are documentation, not templates.
const NOT_TEMPLATES: &[&str] = &["README.md"];

/// Where a template came from, for error messages.
#[derive(Debug, Clone)]
enum Origin {
    Builtin,
    File(PathBuf),
}

/// The loaded templates and their sources.
pub(crate) struct TemplateSet {
    pub(crate) tera: Tera,
    sources: HashMap<String, (Origin, String)>,
}

impl TemplateSet {
    /// Built-ins, then every same-named file (and any extra `_*.html|txt|md` partial) in `dir`.
    pub(crate) fn load(dir: Option<&Path>) -> Result<Self> {
        let mut sources: HashMap<String, (Origin, String)> = BUILTIN
            .iter()
            .filter(|(name, _)| !NOT_TEMPLATES.contains(name))
            .map(|(name, src)| (name.to_string(), (Origin::Builtin, src.to_string())))
            .collect();
        if let Some(dir) = dir {
            for (name, path) in override_files(dir)? {
                let src = std::fs::read_to_string(&path)
                    .with_context(|| format!("read template {}", path.display()))?;
                sources.insert(name, (Origin::File(path), src));
            }
        }
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        register_filters(&mut tera);
        // Parse one by one first so a syntax error names its own file.
        for (name, (origin, src)) in &sources {
            Tera::default()
                .add_raw_template(name, src)
                .map_err(|e| anyhow::anyhow!("{}", describe_parse(name, origin, &e)))?;
        }
        let mut all: Vec<(&str, &str)> = sources
            .iter()
            .map(|(n, (_, s))| (n.as_str(), s.as_str()))
            .collect();
        all.sort();
        tera.add_raw_templates(all)
            .map_err(|e| anyhow::anyhow!("templates: {}", chain(&e)))?;
        Ok(Self { tera, sources })
    }

    /// Renders `name`, turning Tera's error into one that names file, line and variable.
    pub(crate) fn render(&self, name: &str, ctx: &tera::Context) -> Result<String> {
        self.tera
            .render(name, ctx)
            .map_err(|e| anyhow::anyhow!("{}", self.describe_render(name, &e)))
    }

    fn describe_render(&self, name: &str, err: &tera::Error) -> String {
        let message = chain(err);
        let mut out = format!("render template {}: {message}", self.display_name(name));
        if let Some((file, line)) = self.locate(&message, name) {
            let _ = write!(out, " (at {}, line {line})", self.display_name(&file));
        }
        out
    }

    fn display_name(&self, name: &str) -> String {
        match self.sources.get(name) {
            Some((Origin::File(p), _)) => p.display().to_string(),
            _ => format!("{name} (built-in)"),
        }
    }

    /// Tera's render errors carry no line: find the first line using the failing variable or
    /// filter, preferring the template Tera says it was rendering.
    fn locate(&self, message: &str, name: &str) -> Option<(String, usize)> {
        let needle = between(message, "Variable `", "`")
            .or_else(|| between(message, "Filter `", "`"))
            .or_else(|| between(message, "filter `", "`"))?;
        let rendering = between(message, "while rendering '", "'");
        let mut order: Vec<&str> = rendering.into_iter().chain([name]).collect();
        let mut rest: Vec<&str> = self.sources.keys().map(String::as_str).collect();
        rest.sort();
        order.extend(rest);
        order.into_iter().find_map(|file| {
            let (_, src) = self.sources.get(file)?;
            let line = src.lines().position(|l| l.contains(needle))?;
            Some((file.to_string(), line + 1))
        })
    }
}

fn between<'m>(s: &'m str, start: &str, end: &str) -> Option<&'m str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

fn describe_parse(name: &str, origin: &Origin, err: &tera::Error) -> String {
    let file = match origin {
        Origin::File(p) => p.display().to_string(),
        Origin::Builtin => format!("{name} (built-in)"),
    };
    let message = chain(err);
    match between(&message, "--> ", "\n") {
        Some(pos) => {
            let line = pos.split(':').next().unwrap_or(pos);
            format!("template {file}, line {line}: syntax error: {message}")
        }
        None => format!("template {file}: {message}"),
    }
}

/// The error and all its sources on one line (Tera keeps the useful part in a source).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        parts.push(e.to_string());
        source = e.source();
    }
    parts.join(": ")
}

/// `(template name, path)` for the files in `dir` that override or extend the built-ins.
fn override_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("read templates folder {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("read templates folder {}", dir.display()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let builtin =
            BUILTIN.iter().any(|(n, _)| *n == name) && !NOT_TEMPLATES.contains(&name.as_str());
        let partial = name.starts_with('_')
            && [".html", ".txt", ".md"]
                .iter()
                .any(|ext| name.ends_with(ext));
        if (builtin || partial) && entry.path().is_file() {
            files.push((name, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

fn register_filters(tera: &mut Tera) {
    tera.register_filter("wrap", |v: &Value, args: &HashMap<String, Value>| {
        let width = usize_arg(args, "width", TEXT_WIDTH)?;
        let text = as_text(v, "wrap")?;
        let wrapped =
            super::personalize::deferred_wrap(&text, width).unwrap_or_else(|| wrap(&text, width));
        Ok(Value::String(wrapped))
    });
    tera.register_filter("underline", |v: &Value, args: &HashMap<String, Value>| {
        let ch = match args.get("char") {
            Some(Value::String(s)) => s.chars().next().unwrap_or('-'),
            Some(_) => {
                return Err(tera::Error::msg(
                    "filter `underline`: `char` must be a string",
                ))
            }
            None => '-',
        };
        Ok(Value::String(underline(&as_text(v, "underline")?, ch)))
    });
    tera.register_filter("md_escape", |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(escape_markdown(&as_text(v, "md_escape")?)))
    });
    tera.register_filter("md_url", |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(markdown_destination(&as_text(v, "md_url")?)))
    });
}

fn as_text(v: &Value, filter: &str) -> tera::Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Null => Ok(String::new()),
        other => Err(tera::Error::msg(format!(
            "filter `{filter}` expects text, got {other}"
        ))),
    }
}

fn usize_arg(args: &HashMap<String, Value>, key: &str, default: usize) -> tera::Result<usize> {
    match args.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| tera::Error::msg(format!("`{key}` must be a positive integer"))),
    }
}
