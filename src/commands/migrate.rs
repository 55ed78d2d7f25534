//! `gazette migrate --to postgres://…`: copies the config's SQLite database, with the
//! link-signing secret beside it, to a new PostgreSQL database.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{output, Out};
use crate::pipeline::Gazette;
use crate::store::Store;

pub fn run(g: &Gazette, to: &str, out: Out) -> Result<ExitCode> {
    if g.config.storage_url.is_some() {
        anyhow::bail!(
            "[storage] url is already set: migrate copies the SQLite database at [storage] path"
        );
    }
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(crate::cli::UsageError(format!(
            "--to {to:?} is not a PostgreSQL URL (postgres://user@host:port/db)"
        ))
        .into());
    }
    let dest = Store::connect(to)?;
    let counts = g
        .store
        .copy_into(&dest)
        .with_context(|| format!("migrate to {to}"))?;
    // The links already mailed were signed with the SQLite side's secret: the database keeps
    // it for every host (unless GAZETTE_SECRET is set, which the hosts then share).
    let secret_file = g
        .config
        .storage_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .join("secret");
    let secret = std::fs::read_to_string(&secret_file).ok();
    if let Some(s) = secret.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        dest.keep_secret(s)?;
    }
    if out.json {
        let tables: serde_json::Map<String, serde_json::Value> = counts
            .iter()
            .map(|(t, n)| (t.clone(), (*n).into()))
            .collect();
        output::json(&serde_json::json!({
            "to": crate::store::postgres::redacted(to),
            "tables": tables,
            "secret": secret.is_some(),
        }))?;
    } else if !out.quiet {
        let rows: Vec<Vec<String>> = counts
            .iter()
            .map(|(t, n)| vec![t.clone(), n.to_string()])
            .collect();
        output::table(&["table", "rows"], &rows);
        println!(
            "copied to {}{}; now set [storage] url to it",
            crate::store::postgres::redacted(to),
            if secret.is_some() {
                ", with the link-signing secret"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
