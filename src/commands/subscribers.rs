//! `gazette subscribers add|remove|list|import|export`. Addresses are parsed (lettre's parser,
//! at most 254 octets, domain lowercased); a bad CSV line is reported with its number and
//! nothing from that file is stored, so importing the same file twice changes nothing.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{output, Out};
use crate::cli::SubscribersCmd;
use crate::model::SubscriberStatus;
use crate::pipeline::Gazette;
use crate::store::{NewSubscriber, SubscriberUpsert};

pub async fn run(g: &Gazette, cmd: SubscribersCmd, out: Out) -> Result<ExitCode> {
    match cmd {
        SubscribersCmd::Add {
            email,
            name,
            digests,
            pending,
        } => {
            let email = normalize_email(&email)?;
            check_digests(g, &digests)?;
            if pending {
                return add_pending(g, &email, name.as_deref(), &digests, out).await;
            }
            let r = g.store.upsert_subscriber(
                &email,
                name.as_deref(),
                &digests,
                SubscriberStatus::Confirmed,
                g.now(),
            )?;
            say(out, &format!("{email}: {}", upsert_word(r)));
        }
        SubscribersCmd::Remove { email } => {
            let email = normalize_email(&email)?;
            if !g.store.remove_subscriber(&email)? {
                anyhow::bail!("{email} is not a subscriber");
            }
            say(out, &format!("{email}: removed"));
        }
        SubscribersCmd::List => {
            let subs = g.store.subscribers()?;
            if out.json {
                output::json(&subs)?;
            } else {
                let rows: Vec<Vec<String>> = subs
                    .iter()
                    .map(|s| {
                        vec![
                            s.email.clone(),
                            s.name.clone().unwrap_or_default(),
                            s.status.as_str().into(),
                            if s.digests.is_empty() {
                                "(all)".into()
                            } else {
                                s.digests.join(";")
                            },
                        ]
                    })
                    .collect();
                output::table(&["email", "name", "status", "digests"], &rows);
            }
        }
        SubscribersCmd::Import { file } => {
            let rows = read_csv(&file)?;
            for (_, r) in &rows {
                check_digests(g, &r.digests)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            }
            let batch: Vec<NewSubscriber> = rows
                .into_iter()
                .map(|(_, r)| NewSubscriber {
                    email: r.email,
                    name: r.name,
                    digests: r.digests,
                })
                .collect();
            let results =
                g.store
                    .upsert_subscribers(&batch, SubscriberStatus::Confirmed, g.now())?;
            let count = |k: SubscriberUpsert| results.iter().filter(|r| **r == k).count();
            let (added, updated, same, suppressed) = (
                count(SubscriberUpsert::Added),
                count(SubscriberUpsert::Updated),
                count(SubscriberUpsert::Unchanged),
                count(SubscriberUpsert::Suppressed),
            );
            if out.json {
                output::json(
                    &serde_json::json!({"added": added, "updated": updated, "unchanged": same, "unsubscribed": suppressed}),
                )?;
            } else {
                say(
                    out,
                    &format!(
                        "{}: {added} added, {updated} updated, {same} unchanged{}",
                        file.display(),
                        if suppressed > 0 {
                            format!(", {suppressed} unsubscribed (left alone)")
                        } else {
                            String::new()
                        }
                    ),
                );
            }
        }
        SubscribersCmd::Export { out: path } => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(["email", "name", "digests"])?;
            for s in g.store.subscribers()? {
                if s.status == SubscriberStatus::Confirmed {
                    w.write_record([
                        s.email.as_str(),
                        s.name.as_deref().unwrap_or(""),
                        &s.digests.join(";"),
                    ])?;
                }
            }
            let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
            match path {
                Some(p) => {
                    std::fs::write(&p, bytes).with_context(|| format!("write {}", p.display()))?
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Stores the address as pending and sends it the double opt-in mail.
async fn add_pending(
    g: &Gazette,
    email: &str,
    name: Option<&str>,
    digests: &[String],
    out: Out,
) -> Result<ExitCode> {
    use crate::store::SignupOutcome;
    match g
        .store
        .request_subscription(email, name, digests, g.now())?
    {
        SignupOutcome::SendConfirmation(id) => {
            let transport = crate::deliver::Transport::from_url(&g.config.delivery.url, 1)?;
            crate::web::subscribe::send_confirmation(
                g,
                &g.tokens()?,
                &transport,
                id,
                email,
                digests,
            )
            .await?;
            say(out, &format!("{email}: pending; confirmation mail sent"));
        }
        SignupOutcome::AlreadyConfirmed => {
            say(out, &format!("{email}: already confirmed; nothing sent"))
        }
        SignupOutcome::Capped => say(
            out,
            &format!(
                "{email}: pending; a confirmation mail was sent recently, not sending another"
            ),
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn say(out: Out, msg: &str) {
    if !out.quiet && !out.json {
        println!("{msg}");
    }
}

fn upsert_word(r: SubscriberUpsert) -> &'static str {
    match r {
        SubscriberUpsert::Added => "added",
        SubscriberUpsert::Updated => "updated",
        SubscriberUpsert::Unchanged => "unchanged (already subscribed)",
        SubscriberUpsert::Suppressed => {
            "unsubscribed earlier: left alone (they can subscribe again themselves)"
        }
    }
}

fn check_digests(g: &Gazette, digests: &[String]) -> Result<()> {
    for d in digests {
        g.config.digest(Some(d))?;
    }
    Ok(())
}

/// A valid address, at most 254 octets, no control characters, domain lowercased.
pub fn normalize_email(raw: &str) -> Result<String> {
    let s = raw.trim();
    if s.len() > 254 || s.chars().any(char::is_control) {
        anyhow::bail!("{raw:?} is not a valid email address");
    }
    let addr: lettre::Address = s
        .parse()
        .map_err(|e| anyhow::anyhow!("{raw:?} is not a valid email address: {e}"))?;
    Ok(format!("{}@{}", addr.user(), addr.domain().to_lowercase()))
}

/// One row of a subscriber CSV.
pub struct CsvRow {
    pub email: String,
    pub name: Option<String>,
    pub digests: Vec<String>,
}

/// Reads `email,name,digests` rows; every bad line is reported with its number.
pub fn read_csv(path: &std::path::Path) -> Result<Vec<(usize, CsvRow)>> {
    let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers = reader
        .headers()
        .with_context(|| format!("{}: read header", path.display()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let email_col = col("email").with_context(|| {
        format!(
            "{}:1: the header must name an `email` column (email,name,digests)",
            path.display()
        )
    })?;
    let (name_col, digests_col) = (col("name"), col("digests"));
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{}:{line}: {e}", path.display()));
                continue;
            }
        };
        let field = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        match normalize_email(field(Some(email_col)).unwrap_or("")) {
            Ok(email) => rows.push((
                line,
                CsvRow {
                    email,
                    name: field(name_col).map(str::to_string),
                    digests: field(digests_col)
                        .map(|d| {
                            d.split(';')
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty())
                                .collect()
                        })
                        .unwrap_or_default(),
                },
            )),
            Err(e) => errors.push(format!("{}:{line}: {e}", path.display())),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!(
            "{} bad line(s), nothing imported:\n  {}",
            errors.len(),
            errors.join("\n  ")
        );
    }
    Ok(rows)
}
