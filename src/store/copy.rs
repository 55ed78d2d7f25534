//! `gazette migrate --to postgres://…`: copies a SQLite database into a new PostgreSQL one,
//! table by table and column by column by name, in one transaction on the destination, so that
//! every subscriber, suppression, issue and delivery comes along and links already sent keep
//! working (ids are kept; the secret is copied by the caller).

use anyhow::{Context, Result};

use super::db::{params, Sql, Value};
use super::{Backend, Store};

/// Tables in an order that satisfies their foreign keys. `locks` is left out: its leases belong
/// to processes of the old database.
const TABLES: &[&str] = &[
    "feeds",
    "stories",
    "subscribers",
    "issues",
    "issue_stories",
    "deliveries",
    "slots",
    "pages",
    "confirm_mails",
    "suppressions",
    "health",
    "reviews",
    "review_log",
    "consent_events",
    "bounce_events",
    "webhook_nonces",
    "relay_usage",
    "relay_pauses",
];

/// Tables whose `id` the database assigns (an identity on PostgreSQL).
const WITH_IDS: &[&str] = &[
    "feeds",
    "stories",
    "subscribers",
    "issues",
    "deliveries",
    "review_log",
    "consent_events",
    "bounce_events",
];

impl Store {
    /// Copies every row of this SQLite store into `dest`, a PostgreSQL store that holds no
    /// data yet; rows copied per table.
    pub fn copy_into(&self, dest: &Store) -> Result<Vec<(String, usize)>> {
        let Backend::Sqlite(_) = self.backend else {
            anyhow::bail!("the source must be a SQLite database");
        };
        let Backend::Postgres(_) = dest.backend else {
            anyhow::bail!("the destination must be a PostgreSQL database");
        };
        let src = self.conn()?;
        dest.write(|tx| {
            for t in ["feeds", "subscribers", "issues", "deliveries", "stories"] {
                let n: i64 = tx.query_row(&format!("SELECT COUNT(*) FROM {t}"), params![], |r| {
                    r.get(0)
                })?;
                if n > 0 {
                    anyhow::bail!("the destination already holds data ({n} rows in {t}); migrate copies into an empty database");
                }
            }
            let mut counts = Vec::new();
            for table in TABLES {
                let columns: Vec<String> = src.query_map(
                    &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
                    params![],
                    |r| r.get(0),
                )?;
                let list = columns.join(", ");
                let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
                let mut insert = tx.prepare(&format!(
                    "INSERT INTO {table} ({list}) VALUES ({})",
                    marks.join(", ")
                ))?;
                let mut n = 0usize;
                src.for_each(&format!("SELECT {list} FROM {table}"), params![], |row| {
                    insert.execute(row.clone().into_values())?;
                    n += 1;
                    Ok(())
                })
                .with_context(|| format!("copy {table}"))?;
                counts.push((table.to_string(), n));
            }
            // New ids continue above every copied one, and above every subscriber id SQLite
            // ever gave (AUTOINCREMENT's high-water mark), so an id is never given twice.
            let given: i64 = src
                .query_row(
                    "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'subscribers'",
                    params![],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            for table in WITH_IDS {
                let floor = if *table == "subscribers" { given } else { 0 };
                tx.query_row(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                         GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), ?1, 1))"
                    ),
                    [Value::Int(floor)],
                    |_| Ok(()),
                )?;
            }
            Ok(counts)
        })
    }

    /// Sets the link-signing secret kept in a PostgreSQL database (the one a migrated SQLite
    /// database had in its file, or a new one), replacing none that exists.
    pub fn keep_secret(&self, secret: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO gazette_meta (key, value) VALUES ('secret', ?1)
                 ON CONFLICT (key) DO NOTHING",
                [secret],
            )?;
            Ok(())
        })
    }
}
