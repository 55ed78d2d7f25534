//! Storage: one SQLite file (WAL, `synchronous=FULL`) behind a narrow API. Every other stage talks
//! to the database only through `Store`, so that another backend (PostgreSQL for several
//! instances sharing one database) can be added behind the same methods.
//!
//! Invariants: writes that read first run in `BEGIN IMMEDIATE` transactions; a delivery row is
//! written before its SMTP transaction and updated after it.

pub mod bounces;
mod deliveries;
mod feeds;
pub mod health;
mod issues;
pub mod leases;
mod pages;
mod preferences;
mod relays;
mod review;
mod schema;
pub use schema::VERSION as SCHEMA_VERSION;
mod slots;
mod stories;
mod subscribers;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result};
use rusqlite::{Connection, TransactionBehavior};

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
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating when missing) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        let conn =
            Connection::open(path).with_context(|| format!("open database {}", path.display()))?;
        Self::init(conn).with_context(|| format!("database {}", path.display()))
    }

    /// An in-memory database, for tests.
    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction and commits it.
    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
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
