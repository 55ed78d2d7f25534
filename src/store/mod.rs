//! Storage behind a narrow API: one SQLite file (WAL, `synchronous=FULL`), the embedded
//! default, or a PostgreSQL database shared by several processes (`postgres`). Every other
//! stage talks to the database only through `Store`; its SQL is written once, over `db`.
//!
//! Invariants: writes run in transactions that exclude every other writer (SQLite's
//! `BEGIN IMMEDIATE`; PostgreSQL's writers' advisory lock); a delivery row is written before its
//! SMTP transaction and updated after it.

pub mod bounces;
mod copy;
pub mod db;
mod deliveries;
mod feeds;
pub mod health;
mod issues;
pub mod leases;
mod pages;
pub mod pg_tls;
pub mod postgres;
mod preferences;
mod relays;
mod review;
mod schema;
pub use schema::VERSION as SCHEMA_VERSION;
mod slots;
mod stories;
mod subscribers;

use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use rusqlite::{Connection, TransactionBehavior};

use db::{params, Db, Held, Sql};

pub use bounces::{BounceEvent, BouncePolicy, Effect, NewBounce, Outcome, Recorded};
pub use deliveries::{Applied, Claim, Delivery, DeliveryCounts, Reservation, Step, SKIPPED};
pub use feeds::{FeedState, FetchRecord, FetchWrite};
pub use issues::{
    Created, IssueContent, IssueRecord, NewDelivery, NewIssue, NoRecipients, Recipients,
};
pub use preferences::{ConsentEvent, PreferencesChange};
pub use relays::{day, RelayPause, RelayUsage};
pub use review::{LogEntry, NewReview, Released, ReviewRow, ReviewSave, Saved};
pub use subscribers::{
    ConfirmOutcome, ConsentAudit, NewSubscriber, SignupOutcome, SubscriberUpsert,
    CONFIRM_MAILS_PER_DAY, CONFIRM_MAILS_PER_WEEK, PENDING_LIFETIME_DAYS,
};

/// The database. Cheap to share behind an `Arc`; calls are short and serialized.
pub struct Store {
    backend: Backend,
}

enum Backend {
    Sqlite(Mutex<Connection>),
    Postgres(Box<postgres::Pg>),
}

impl Store {
    /// Opens (creating when missing) the SQLite database at `path` and brings its schema up to
    /// date.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        let conn =
            Connection::open(path).with_context(|| format!("open database {}", path.display()))?;
        Self::init(conn).with_context(|| format!("database {}", path.display()))
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user@host:port/db`) and brings
    /// its schema up to date.
    pub fn connect(url: &str) -> Result<Store> {
        let pg = postgres::Pg::connect(url)?;
        postgres::migrate(&pg, SCHEMA_VERSION)
            .with_context(|| format!("database {}", pg.target))?;
        Ok(Store {
            backend: Backend::Postgres(Box::new(pg)),
        })
    }

    /// The database a config names: `[storage] url` when set, else `[storage] path`.
    pub fn open_storage(url: Option<&str>, path: &Path) -> Result<Store> {
        match url {
            Some(url) => Self::connect(url),
            None => Self::open(path),
        }
    }

    /// An in-memory database, for tests. With `GAZETTE_TEST_POSTGRES` set (an admin URL of a
    /// throwaway server, see tests/peers/postgres.sh), a new PostgreSQL database instead, so the
    /// store's tests run on both engines.
    pub fn open_in_memory() -> Result<Store> {
        if let Ok(admin) = std::env::var("GAZETTE_TEST_POSTGRES") {
            return Self::connect(&postgres::fresh_database(&admin)?);
        }
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            backend: Backend::Sqlite(Mutex::new(conn)),
        })
    }

    /// Which engine holds the data: "sqlite" or "postgres".
    pub fn engine(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The link-signing secret kept in the database, created on first use: with PostgreSQL,
    /// every host on the database signs and verifies links with it. None with SQLite, whose
    /// secret is a file beside the database (`tokens::Tokens::load`).
    pub fn shared_secret(&self) -> Result<Option<String>> {
        if let Backend::Sqlite(_) = self.backend {
            return Ok(None);
        }
        let bytes: [u8; 32] = rand::random();
        let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.keep_secret(&fresh)?;
        self.conn()?
            .query_row(
                "SELECT value FROM gazette_meta WHERE key = 'secret'",
                params![],
                |r| r.get(0),
            )
            .map(Some)
    }

    /// A connection for reads outside a transaction.
    fn conn(&self) -> Result<Held<'_>> {
        Ok(match &self.backend {
            // A panic while holding the lock leaves SQLite consistent (transactions roll back).
            Backend::Sqlite(c) => Held::Sqlite(c.lock().unwrap_or_else(|e| e.into_inner())),
            Backend::Postgres(pg) => Held::Postgres(Box::new(pg.lease()?)),
        })
    }

    /// Runs `f` in a write transaction that, on PostgreSQL, does not wait for the writers' lock:
    /// only for statements that lock the rows they change and depend on no other read
    /// (reserving due deliveries with `FOR UPDATE SKIP LOCKED`). On SQLite, a plain write.
    fn write_beside<T>(&self, f: impl FnOnce(&Db<'_>) -> Result<T>) -> Result<T> {
        match &self.backend {
            Backend::Postgres(pg) => pg.transaction(false, |c| f(&Db::Postgres(c))),
            Backend::Sqlite(_) => self.write(f),
        }
    }

    /// Runs `f` in a write transaction (one writer at a time) and commits it; an error rolls
    /// everything back.
    fn write<T>(&self, f: impl FnOnce(&Db<'_>) -> Result<T>) -> Result<T> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut conn = c.lock().unwrap_or_else(|e| e.into_inner());
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = f(&Db::Sqlite(&tx))?;
                tx.commit()?;
                Ok(out)
            }
            Backend::Postgres(pg) => pg.transaction(true, |c| f(&Db::Postgres(c))),
        }
    }
}

pub(crate) fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A timestamp with milliseconds (leases, which last seconds).
pub(crate) fn ts_millis(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn parse_ts(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

/// An issue with `n` queued deliveries (no subscriber rows: nothing to skip); their ids.
#[cfg(test)]
pub(crate) fn test_issue_with(store: &Store, n: usize) -> Vec<i64> {
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO issues (id, digest, number, created, window_from, window_to, subject,
                 html, text, view) VALUES (1, 'weekly', 1, 'x', 'x', 'x', 's', 'h', 't', '{}')",
                params![],
            )?;
            for i in 0..n {
                tx.execute(
                    "INSERT INTO deliveries (issue_id, email, status, message_id, updated)
                     VALUES (1, ?1, 'queued', ?2, 'x')",
                    params![format!("r{i}@example.net"), format!("<m{i}@x>")],
                )?;
            }
            Ok(())
        })
        .unwrap();
    store.deliveries(1).unwrap().iter().map(|d| d.id).collect()
}
