//! A Maildir as a bounce source: each message in `new/` is classified and recorded, then moved
//! to `cur/` (flagged seen), so a message is processed once and nothing is deleted. A message
//! that cannot be recorded (the database is busy, say) stays in `new/` for the next poll.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::record::{Origin, Recorder};

/// What one pass over a Maildir did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Messages recorded (or found recorded already) and moved to `cur/`.
    pub processed: usize,
    /// Messages left in `new/` because they could not be read or recorded.
    pub left: usize,
}

/// Processes every message in `dir/new`.
pub fn process(dir: &Path, recorder: &Recorder<'_>, now: DateTime<Utc>) -> Result<Pass> {
    let new = dir.join("new");
    let cur = dir.join("cur");
    std::fs::create_dir_all(&cur).with_context(|| format!("create {}", cur.display()))?;
    let mut names: Vec<PathBuf> = std::fs::read_dir(&new)
        .with_context(|| format!("read Maildir {}", new.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut pass = Pass::default();
    for path in names {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(file = %path.display(), "cannot read bounce message: {e}");
                pass.left += 1;
                continue;
            }
        };
        let origin = Origin {
            source: "maildir",
            raw_ref: Some(cur.join(seen_name(&name)).display().to_string()),
            occurred: now,
        };
        if let Err(e) = recorder.message(&bytes, &origin, now) {
            tracing::error!(file = %path.display(), "bounce not recorded, left in new/: {e:#}");
            pass.left += 1;
            continue;
        }
        let target = cur.join(seen_name(&name));
        std::fs::rename(&path, &target)
            .with_context(|| format!("move {} to {}", path.display(), target.display()))?;
        pass.processed += 1;
    }
    Ok(pass)
}

/// The name in `cur/`: the unique part with the info `:2,S` (seen), keeping other flags.
fn seen_name(name: &str) -> String {
    match name.split_once(":2,") {
        Some((base, flags)) if flags.contains('S') => format!("{base}:2,{flags}"),
        Some((base, flags)) => {
            let mut f: Vec<char> = flags.chars().chain(['S']).collect();
            f.sort_unstable();
            format!("{base}:2,{}", f.into_iter().collect::<String>())
        }
        None => format!("{name}:2,S"),
    }
}

#[cfg(test)]
mod tests {
    use super::seen_name;

    #[test]
    fn seen_names_follow_the_maildir_convention() {
        assert_eq!(
            seen_name("1700000000.M1P2.host"),
            "1700000000.M1P2.host:2,S"
        );
        assert_eq!(seen_name("1.M1.host:2,F"), "1.M1.host:2,FS");
        assert_eq!(seen_name("1.M1.host:2,S"), "1.M1.host:2,S");
    }
}
