//! `gazette init [DIR]`: writes the commented starter config and the default templates;
//! `--opml FILE` takes the feeds from a feed reader's export instead of the starter list.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Out;
use crate::render::Renderer;

/// The starter config, kept in the repository as `config/gazette.toml` and parsed by a test.
pub const STARTER_CONFIG: &str = include_str!("../../config/gazette.toml");

pub fn run(dir: &Path, opml: Option<&Path>, force: bool, out: Out) -> Result<ExitCode> {
    let config = match opml {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read {}", path.display()))?;
            let all = opml_feeds(&text)
                .with_context(|| format!("{}: not an OPML file", path.display()))?;
            // Only web feeds: an outline pointing at `javascript:` or a local path is left
            // out, and said, so that the config written passes `gazette check`.
            let (feeds, skipped): (Vec<_>, Vec<_>) = all.into_iter().partition(|(_, url)| {
                url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            });
            for (_, url) in &skipped {
                eprintln!(
                    "{}: skipped the outline with xmlUrl {url:?}: not an http(s) feed",
                    path.display()
                );
            }
            if feeds.is_empty() {
                anyhow::bail!(
                    "{}: no feeds (outline elements with xmlUrl) found",
                    path.display()
                );
            }
            replace_feeds(STARTER_CONFIG, &feeds)
        }
        None => STARTER_CONFIG.to_string(),
    };
    let mut files = vec![(dir.join("config/gazette.toml"), config)];
    for (name, body) in Renderer::builtin_templates() {
        files.push((dir.join("templates").join(name), body.to_string()));
    }
    let existing: Vec<_> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() && !force {
        anyhow::bail!(
            "not overwriting existing files (use --force): {}",
            existing.join(", ")
        );
    }
    for (path, body) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("create {}", parent.display()))?;
        }
        std::fs::write(path, body).with_context(|| format!("write {}", path.display()))?;
        if !out.quiet {
            println!("wrote {}", path.display());
        }
    }
    if !out.quiet {
        println!(
            "next: edit {}, then `gazette check` and `gazette send --dry-run`",
            dir.join("config/gazette.toml").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// (title, xmlUrl) of every feed outline.
pub fn opml_feeds(text: &str) -> Result<Vec<(Option<String>, String)>> {
    let doc = scraper::Html::parse_document(text);
    if !text.contains("<opml") {
        anyhow::bail!("no <opml> element");
    }
    let sel = scraper::Selector::parse("outline").map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(doc
        .select(&sel)
        .filter_map(|o| {
            let v = o.value();
            let url = v.attr("xmlurl").or(v.attr("xmlUrl"))?.trim().to_string();
            let title = v
                .attr("title")
                .or(v.attr("text"))
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            Some((title, url))
        })
        .collect())
}

/// The starter config with its `[[feeds]]` blocks replaced by `feeds`.
fn replace_feeds(config: &str, feeds: &[(Option<String>, String)]) -> String {
    let start = config.find("[[feeds]]").unwrap_or(config.len());
    let end = config[start..]
        .find("[[digests]]")
        .map(|i| start + i)
        .unwrap_or(config.len());
    let mut block = String::from("# Feeds imported from OPML.\n");
    for (title, url) in feeds {
        block.push_str("[[feeds]]\n");
        block.push_str(&format!("url = {}\n", toml_string(url)));
        if let Some(t) = title {
            block.push_str(&format!("name = {}\n", toml_string(t)));
        }
        block.push('\n');
    }
    format!("{}{}{}", &config[..start], block, &config[end..])
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
