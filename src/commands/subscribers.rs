//! `gazette subscribers add|remove|set|erase|list|import|export`. Addresses and names are parsed
//! (`model::EmailAddress`, `model::DisplayName`: no control characters may reach a header); a bad
//! CSV line is reported with its number and nothing from that file is stored, so importing the
//! same file twice changes nothing. An address that unsubscribed, bounced or complained stays
//! suppressed, even after `remove`: `add` and `import` never bring it back, and say so.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{output, Out};
use crate::cli::SubscribersCmd;
use crate::model::{
    parse_pause_date, parse_timezone, parse_topics_spec, DisplayName, EmailAddress, MailFormat,
    Subscriber, SubscriberStatus,
};
use crate::pipeline::Gazette;
use crate::store::{NewSubscriber, PreferencesChange, SubscriberUpsert};

pub async fn run(g: &Gazette, cmd: SubscribersCmd, out: Out) -> Result<ExitCode> {
    match cmd {
        SubscribersCmd::Add {
            email,
            name,
            digests,
            pending,
        } => {
            let email = EmailAddress::parse(&email)?.into_string();
            let name = match name {
                Some(n) => DisplayName::parse(&n)
                    .map_err(|e| anyhow::anyhow!("--name: {e}"))?
                    .map(DisplayName::into_string),
                None => None,
            };
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
            let email = EmailAddress::parse(&email)?.into_string();
            match g.store.remove_subscriber(&email, g.now())? {
                None => anyhow::bail!("{email} is not a subscriber"),
                Some(Some(why)) => say(
                    out,
                    &format!("{email}: removed; stays suppressed ({why}): never re-subscribed by add or import"),
                ),
                Some(None) => say(out, &format!("{email}: removed")),
            }
        }
        SubscribersCmd::Set {
            email,
            topics,
            format,
            timezone,
            pause_until,
            digests,
        } => {
            let email = EmailAddress::parse(&email)?.into_string();
            let sub = g
                .store
                .subscriber(&email)?
                .with_context(|| format!("{email} is not a subscriber"))?;
            let change = set_change(g, &sub, &topics, format, timezone, pause_until, digests)?;
            match g.store.set_preferences(sub.id, &change, "cli", g.now())? {
                Some(true) => say(out, &format!("{email}: choices saved")),
                Some(false) => say(out, &format!("{email}: unchanged")),
                None => anyhow::bail!("{email} is not a subscriber"),
            }
        }
        SubscribersCmd::Erase { email } => {
            let email = EmailAddress::parse(&email)?.into_string();
            let sub = g
                .store
                .subscriber(&email)?
                .with_context(|| format!("{email} is not a subscriber"))?;
            g.store.erase_subscriber(sub.id, g.now())?;
            say(
                out,
                &format!("{email}: erased; only a hash of the address is kept, so that no add or import brings it back"),
            );
        }
        SubscribersCmd::List => {
            let subs = g.store.subscribers()?;
            if out.json {
                output::json(&subs)?;
            } else {
                let rows: Vec<Vec<String>> = subs
                    .iter()
                    .map(|s| {
                        let p = &s.prefs;
                        vec![
                            s.email.clone(),
                            s.name.clone().unwrap_or_default(),
                            s.status.as_str().into(),
                            if s.digests.is_empty() {
                                "(all)".into()
                            } else {
                                s.digests.join(";")
                            },
                            match p.topics_spec() {
                                t if t.is_empty() => "(all)".into(),
                                t => t,
                            },
                            p.format.as_str().into(),
                            p.timezone.clone().unwrap_or_default(),
                            p.paused_until.map(|d| d.to_string()).unwrap_or_default(),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "email",
                        "name",
                        "status",
                        "digests",
                        "topics",
                        "format",
                        "timezone",
                        "paused until",
                    ],
                    &rows,
                );
            }
        }
        SubscribersCmd::Import { file } => import(g, &file, out)?,
        SubscribersCmd::Export { out: path, status } => {
            let wanted = match status.as_deref() {
                Some(s) => Some(SubscriberStatus::parse(s).with_context(|| {
                    format!("--status {s:?}: use pending, confirmed, unsubscribed, bouncing or complained")
                })?),
                None => None,
            };
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(CSV_COLUMNS)?;
            for s in g.store.subscribers()? {
                if wanted.is_none_or(|w| w == s.status) {
                    let p = &s.prefs;
                    w.write_record([
                        s.email.as_str(),
                        s.name.as_deref().unwrap_or(""),
                        &s.digests.join(";"),
                        s.status.as_str(),
                        &p.topics_spec(),
                        p.format.as_str(),
                        p.timezone.as_deref().unwrap_or(""),
                        &p.paused_until.map(|d| d.to_string()).unwrap_or_default(),
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

/// Imports a CSV file. Rows whose `status` column says the address unsubscribed or bounced
/// elsewhere are suppressed here too (an existing row takes that status); pending rows are not
/// imported (only the person can confirm); every other row is added or updated as confirmed,
/// unless the address is suppressed. Each suppressed or skipped line is reported by number.
fn import(g: &Gazette, file: &std::path::Path, out: Out) -> Result<()> {
    let rows = read_csv(file)?;
    for (line, r) in &rows {
        check_digests(g, &r.digests)
            .and_then(|_| {
                r.prefs
                    .topics
                    .as_ref()
                    .map_or(Ok(()), |t| check_topics(g, t))
            })
            .map_err(|e| anyhow::anyhow!("{}:{line}: {e}", file.display()))?;
    }
    let now = g.now();
    let note = |line: usize, email: &str, what: &str| {
        eprintln!("{}:{line}: {email}: {what}", file.display());
    };
    let (mut batch, mut lines, mut closed, mut skipped) = (Vec::new(), Vec::new(), 0, 0);
    for (line, r) in rows {
        match r.status {
            Some(
                s @ (SubscriberStatus::Unsubscribed
                | SubscriberStatus::Bouncing
                | SubscriberStatus::Complained),
            ) => {
                if !g.store.suppress_address(&r.email, s.as_str(), now)? {
                    if let Some(sub) = g.store.subscriber(&r.email)? {
                        if sub.status != s {
                            g.store
                                .set_subscriber_status(sub.id, s, Some("import"), now)?;
                        }
                    }
                }
                note(line, &r.email, &format!("{}: suppressed", s.as_str()));
                closed += 1;
            }
            Some(SubscriberStatus::Pending) => {
                note(
                    line,
                    &r.email,
                    "pending: not imported (only their own confirmation can subscribe them)",
                );
                skipped += 1;
            }
            _ => {
                lines.push((line, r.email.clone(), r.prefs));
                batch.push(NewSubscriber {
                    email: r.email,
                    name: r.name,
                    digests: r.digests,
                });
            }
        }
    }
    let results =
        g.store
            .upsert_subscribers_from(&batch, SubscriberStatus::Confirmed, "import", now)?;
    for ((line, email, prefs), r) in lines.iter().zip(&results) {
        if let SubscriberUpsert::Suppressed(why) = r {
            note(
                *line,
                email,
                &format!("{why}: not re-subscribed (only their own double opt-in can)"),
            );
        } else if let Some(sub) = g.store.subscriber(email)? {
            g.store.set_preferences(sub.id, prefs, "import", now)?;
        }
    }
    let count = |k: fn(&SubscriberUpsert) -> bool| results.iter().filter(|r| k(r)).count();
    let (added, updated, same, suppressed) = (
        count(|r| *r == SubscriberUpsert::Added),
        count(|r| *r == SubscriberUpsert::Updated),
        count(|r| *r == SubscriberUpsert::Unchanged),
        count(|r| matches!(r, SubscriberUpsert::Suppressed(_))),
    );
    if out.json {
        output::json(
            &serde_json::json!({"added": added, "updated": updated, "unchanged": same,
            "suppressed": suppressed + closed, "skipped": skipped}),
        )?;
    } else {
        say(
            out,
            &format!(
                "{}: {added} added, {updated} updated, {same} unchanged, {} suppressed (left alone or closed), {skipped} skipped",
                file.display(),
                suppressed + closed
            ),
        );
    }
    Ok(())
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
            let transport = crate::deliver::Mailer::new(&g.config, g.store.clone(), 1)?;
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

fn upsert_word(r: SubscriberUpsert) -> String {
    match r {
        SubscriberUpsert::Added => "added".into(),
        SubscriberUpsert::Updated => "updated".into(),
        SubscriberUpsert::Unchanged => "unchanged (already subscribed)".into(),
        SubscriberUpsert::Suppressed(why) => {
            format!("{why}: left alone (only their own double opt-in can subscribe them again)")
        }
    }
}

fn check_digests(g: &Gazette, digests: &[String]) -> Result<()> {
    for d in digests {
        g.config.digest(Some(d))?;
    }
    Ok(())
}

/// Checks that every digest and topic named exists in the config.
fn check_topics(g: &Gazette, topics: &BTreeMap<String, Vec<String>>) -> Result<()> {
    for (digest, chosen) in topics {
        let d = g.config.digest(Some(digest))?;
        if let Some(t) = chosen.iter().find(|t| !d.topics.contains(t)) {
            anyhow::bail!(
                "digest {digest:?} has no topic {t:?} (its topics: {})",
                if d.topics.is_empty() {
                    "none".to_string()
                } else {
                    d.topics.join(", ")
                }
            );
        }
    }
    Ok(())
}

/// The change `subscribers set` asks for: `--topics` replaces the choice of the digests it
/// names, and leaves the others.
fn set_change(
    g: &Gazette,
    sub: &Subscriber,
    topics: &[String],
    format: Option<String>,
    timezone: Option<String>,
    pause_until: Option<String>,
    digests: Vec<String>,
) -> Result<PreferencesChange> {
    let mut change = PreferencesChange::default();
    if !topics.is_empty() {
        let mut all = sub.prefs.topics.clone();
        for spec in topics {
            let given = parse_topics_spec(spec).map_err(|e| anyhow::anyhow!("--topics: {e}"))?;
            check_topics(g, &given).map_err(|e| anyhow::anyhow!("--topics: {e}"))?;
            all.extend(given);
        }
        change.topics = Some(all);
    }
    if let Some(f) = format {
        change.format = Some(MailFormat::parse(&f).map_err(|e| anyhow::anyhow!("--format: {e}"))?);
    }
    if let Some(z) = timezone {
        change.timezone = Some(parse_timezone(&z).map_err(|e| anyhow::anyhow!("--timezone: {e}"))?);
    }
    if let Some(p) = pause_until {
        change.paused_until =
            Some(parse_pause_date(&p).map_err(|e| anyhow::anyhow!("--pause-until: {e}"))?);
    }
    if !digests.is_empty() {
        check_digests(g, &digests)?;
        change.digests = Some(every_digest_is_all(g, digests));
    }
    Ok(change)
}

/// Every configured digest named is stored as "every digest" (empty), as the forms do.
fn every_digest_is_all(g: &Gazette, mut digests: Vec<String>) -> Vec<String> {
    digests.sort();
    digests.dedup();
    if digests.len() == g.config.digests.len() {
        digests.clear();
    }
    digests
}

/// The columns `export` writes (and `import` reads: only `email` is required).
pub const CSV_COLUMNS: [&str; 8] = [
    "email",
    "name",
    "digests",
    "status",
    "topics",
    "format",
    "timezone",
    "paused_until",
];

/// One row of a subscriber CSV.
pub struct CsvRow {
    pub email: String,
    pub name: Option<String>,
    pub digests: Vec<String>,
    /// The optional `status` column (as `export` writes it).
    pub status: Option<SubscriberStatus>,
    /// The optional `topics`, `format`, `timezone` and `paused_until` columns: each present
    /// column sets its choice (an empty cell: the default).
    pub prefs: PreferencesChange,
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
    let (name_col, digests_col, status_col) = (col("name"), col("digests"), col("status"));
    let pref_cols = [
        col("topics"),
        col("format"),
        col("timezone"),
        col("paused_until"),
    ];
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
        let name = match DisplayName::parse(field(name_col).unwrap_or("")) {
            Ok(n) => n.map(DisplayName::into_string),
            Err(e) => {
                errors.push(format!("{}:{line}: {e}", path.display()));
                continue;
            }
        };
        let status = match field(status_col) {
            None => None,
            Some(s) => match SubscriberStatus::parse(&s.to_lowercase()) {
                Some(s) => Some(s),
                None => {
                    errors.push(format!(
                        "{}:{line}: status {s:?}: use confirmed, pending, unsubscribed, bouncing or complained",
                        path.display()
                    ));
                    continue;
                }
            },
        };
        let prefs = match csv_prefs(pref_cols, |c| field(Some(c)).unwrap_or("")) {
            Ok(p) => p,
            Err(e) => {
                errors.push(format!("{}:{line}: {e}", path.display()));
                continue;
            }
        };
        match EmailAddress::parse(field(Some(email_col)).unwrap_or("")) {
            Ok(email) => rows.push((
                line,
                CsvRow {
                    email: email.into_string(),
                    name,
                    status,
                    prefs,
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

/// The choices of a CSV row from the columns present (`[topics, format, timezone,
/// paused_until]`).
fn csv_prefs<'a>(
    cols: [Option<usize>; 4],
    field: impl Fn(usize) -> &'a str,
) -> Result<PreferencesChange, crate::model::InvalidInput> {
    let [topics, format, timezone, paused] = cols;
    Ok(PreferencesChange {
        topics: topics.map(|c| parse_topics_spec(field(c))).transpose()?,
        format: format.map(|c| MailFormat::parse(field(c))).transpose()?,
        timezone: timezone.map(|c| parse_timezone(field(c))).transpose()?,
        paused_until: paused.map(|c| parse_pause_date(field(c))).transpose()?,
        digests: None,
    })
}
