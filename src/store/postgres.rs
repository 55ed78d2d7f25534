//! PostgreSQL under the store (`[storage] url = "postgres://…"`), so that several `gazette`
//! processes on one machine or many share one database.
//!
//! - **Connections.** tokio-postgres, its connection tasks on one small runtime thread of their
//!   own; callers block on the client's futures ([`block_on`]) exactly as they block on SQLite,
//!   from plain threads and from inside the async senders alike. A pool keeps idle connections
//!   (statements prepared once per connection).
//! - **Writes.** Every write transaction first takes one transaction-scoped advisory lock,
//!   [`WRITE_LOCK`]: writers across every process run one at a time, as SQLite's
//!   `BEGIN IMMEDIATE` makes them, so every invariant of the store holds on both engines (a read
//!   in a write transaction sees every commit before it; READ COMMITTED takes a snapshot per
//!   statement, after the lock). Reads take no lock.
//! - **Schema.** [`SCHEMA`] is the SQLite schema at version 8 in PostgreSQL's types (64-bit
//!   integers, identity ids that are never given twice, a case-insensitive collation for
//!   addresses); a new database starts at version 8 and later migrations are numbered for
//!   both engines. `gazette_meta` holds the version and the link-signing secret.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Wake};

use anyhow::{Context, Result};
use futures_util::StreamExt;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};
use tokio_postgres::{Client, Statement};

use super::db::{Row, Value};

/// The key of the advisory lock every write transaction takes ("gaze").
pub const WRITE_LOCK: i64 = 0x6761_7a65;

/// Idle connections kept for reuse.
const IDLE: usize = 8;

/// The database at `url`, with its pool.
pub struct Pg {
    rt: Option<tokio::runtime::Runtime>,
    config: tokio_postgres::Config,
    tls: super::pg_tls::MakeTls,
    idle: Mutex<Vec<PgConn>>,
    /// `host:port/db`, for messages (never the password).
    pub target: String,
}

/// One connection, with the statements prepared on it.
pub struct PgConn {
    client: Client,
    statements: RefCell<HashMap<String, Statement>>,
}

/// A connection taken from the pool; back to it when dropped, unless it is broken or was
/// left inside a transaction.
pub struct PgLease<'a> {
    pool: &'a Pg,
    conn: Option<PgConn>,
    in_tx: bool,
}

impl Pg {
    /// Parses the URL (the password from it or from `GAZETTE_DATABASE_PASSWORD`) and opens a
    /// first connection, so that a wrong URL fails here.
    pub fn connect(url: &str) -> Result<Pg> {
        let (mut config, policy) =
            super::pg_tls::parse(url).map_err(|e| anyhow::anyhow!("storage url: {e}"))?;
        let tls = super::pg_tls::MakeTls::new(&policy).context("storage url")?;
        if config.get_password().is_none() {
            if let Ok(p) = std::env::var("GAZETTE_DATABASE_PASSWORD") {
                config.password(p);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        config.application_name("gazette");
        let host = config
            .get_hosts()
            .first()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(h) => h.clone(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .unwrap_or_else(|| "localhost".into());
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let target = format!(
            "postgres://{host}:{port}/{}",
            config.get_dbname().unwrap_or("")
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("gazette-postgres")
            .enable_all()
            .build()?;
        let pg = Pg {
            rt: Some(rt),
            config,
            tls,
            idle: Mutex::new(Vec::new()),
            target,
        };
        drop(
            pg.lease()
                .with_context(|| format!("connect to {}", pg.target))?,
        );
        Ok(pg)
    }

    fn open(&self) -> Result<PgConn> {
        let config = self.config.clone();
        let tls = self.tls.clone();
        let rt = self.rt.as_ref().expect("runtime lives as long as the pool");
        let client = block_on(rt.spawn(async move {
            let (client, connection) = config.connect(tls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!("postgres connection: {e}");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        }))?
        .map_err(pg_error)?;
        Ok(PgConn {
            client,
            statements: RefCell::new(HashMap::new()),
        })
    }

    /// An idle connection, or a new one.
    pub fn lease(&self) -> Result<PgLease<'_>> {
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            std::iter::from_fn(|| idle.pop()).find(|c| !c.client.is_closed())
        };
        let conn = match idle {
            Some(c) => c,
            None => self.open()?,
        };
        Ok(PgLease {
            pool: self,
            conn: Some(conn),
            in_tx: false,
        })
    }
}

impl Pg {
    /// Runs `f` in a transaction on one connection and commits it; an error rolls it back.
    /// With `writers_lock`, the transaction first takes [`WRITE_LOCK`].
    pub fn transaction<T>(
        &self,
        writers_lock: bool,
        f: impl FnOnce(&PgConn) -> Result<T>,
    ) -> Result<T> {
        let mut lease = self.lease()?;
        lease.in_tx = true;
        lease.conn().batch(&if writers_lock {
            format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        } else {
            "BEGIN".to_string()
        })?;
        match f(lease.conn()) {
            Ok(out) => {
                lease.conn().batch("COMMIT")?;
                lease.in_tx = false;
                Ok(out)
            }
            Err(e) => {
                // A connection that cannot roll back is dropped, not pooled.
                if lease.conn().batch("ROLLBACK").is_ok() {
                    lease.in_tx = false;
                }
                Err(e)
            }
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        if let Some(rt) = self.rt.take() {
            // Allowed inside an async context, where a plain drop would panic.
            rt.shutdown_background();
        }
    }
}

impl PgLease<'_> {
    pub fn conn(&self) -> &PgConn {
        self.conn.as_ref().expect("a lease holds its connection")
    }
}

impl Drop for PgLease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !self.in_tx && !conn.client.is_closed() {
                let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < IDLE {
                    idle.push(conn);
                }
            }
        }
    }
}

impl PgConn {
    /// The statement, prepared with its parameters' types taken from the values bound (SQLite
    /// needs none, and PostgreSQL cannot infer one in `?1 IS NULL` or `SELECT ?1 || 'x'`); a
    /// NULL leaves its type to the server. Cached per SQL text and types.
    fn statement(&self, sql: &str, values: &[Value]) -> Result<Statement> {
        let types: Vec<Type> = values
            .iter()
            .map(|v| match v {
                Value::Null => unspecified(),
                Value::Int(_) => Type::INT8,
                Value::Real(_) => Type::FLOAT8,
                Value::Text(_) => Type::TEXT,
                Value::Blob(_) => Type::BYTEA,
            })
            .collect();
        let key: String = types
            .iter()
            .map(|t| match t.oid() {
                0 => '_',
                20 => 'i',
                701 => 'f',
                25 => 't',
                _ => 'b',
            })
            .chain(std::iter::once(' '))
            .chain(sql.chars())
            .collect();
        if let Some(s) = self.statements.borrow().get(&key) {
            return Ok(s.clone());
        }
        let stmt =
            block_on(self.client.prepare_typed(&placeholders(sql), &types)).map_err(pg_error)?;
        self.statements.borrow_mut().insert(key, stmt.clone());
        Ok(stmt)
    }

    pub fn execute(&self, sql: &str, values: &[Value]) -> Result<usize> {
        let stmt = self.statement(sql, values)?;
        let n = block_on(self.client.execute_raw(&stmt, values.iter())).map_err(pg_error)?;
        Ok(n as usize)
    }

    pub fn for_each(
        &self,
        sql: &str,
        values: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let stmt = self.statement(sql, values)?;
        let columns = stmt.columns().len();
        let stream = block_on(self.client.query_raw(&stmt, values.iter())).map_err(pg_error)?;
        let mut stream = std::pin::pin!(stream);
        while let Some(row) = block_on(stream.next()) {
            let row = row.map_err(pg_error)?;
            let mut out = Vec::with_capacity(columns);
            for i in 0..columns {
                out.push(row.try_get::<_, Value>(i).map_err(pg_error)?);
            }
            f(&Row::new(out))?;
        }
        Ok(())
    }

    pub fn batch(&self, sql: &str) -> Result<()> {
        block_on(self.client.batch_execute(sql)).map_err(pg_error)
    }
}

/// A parameter type left to the server (OID 0).
fn unspecified() -> Type {
    Type::new(
        "unspecified".into(),
        0,
        tokio_postgres::types::Kind::Simple,
        "pg_catalog".into(),
    )
}

/// The server's message (with its detail), rather than tokio-postgres' bare "db error".
fn pg_error(e: tokio_postgres::Error) -> anyhow::Error {
    match e.as_db_error() {
        Some(db) => {
            let mut m = format!("postgres: {}", db.message());
            if let Some(d) = db.detail() {
                m.push_str(&format!(" ({d})"));
            }
            anyhow::anyhow!(m)
        }
        // tokio-postgres' text leaves out the cause ("error performing TLS handshake"):
        // anyhow's alternate form writes the whole chain.
        None => anyhow::anyhow!("postgres: {:#}", anyhow::Error::new(e)),
    }
}

/// rusqlite's `?N` and `?` parameters as PostgreSQL's `$N` (outside quoted strings).
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let (mut last, mut quoted) = (0usize, false);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                // A bare `?` is the one after the highest so far, as in SQLite.
                last = if digits.is_empty() {
                    last + 1
                } else {
                    digits.parse().unwrap_or(last)
                };
                out.push('$');
                out.push_str(&last.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// Runs a future to completion on this thread. The futures of a tokio-postgres client only wait
/// on channels fed by the connection task (on the pool's runtime), so this works anywhere,
/// including inside the senders' runtime, where the `postgres` crate's own `block_on` panics.
pub fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut cx = TaskContext::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => i.to_string().as_str().to_sql(&Type::TEXT, out),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::FLOAT8 => f.to_sql(ty, out),
                _ => f.to_string().as_str().to_sql(&Type::TEXT, out),
            },
            Value::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ => s.as_str().to_sql(&Type::TEXT, out),
            },
            Value::Blob(b) => b.as_slice().to_sql(&Type::BYTEA, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, BoxError> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::OID => Value::Int(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => Value::Blob(raw.to_vec()),
            _ => Value::Text(std::str::from_utf8(raw)?.to_string()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A NUMERIC in binary form (what `SUM` of integers gives): an integer when it has no
/// fraction, else a float.
fn numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        Ok(u16::from_be_bytes(
            raw.get(i..i + 2).ok_or("short numeric")?.try_into()?,
        ))
    };
    let (ndigits, weight, sign, scale) = (word(0)?, word(2)? as i16, word(4)?, word(6)?);
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let mut v = 0f64;
    for k in 0..ndigits as usize {
        let d = word(8 + 2 * k)? as f64;
        v += d * 10000f64.powi(weight as i32 - k as i32);
    }
    if sign == 0x4000 {
        v = -v;
    }
    Ok(if scale == 0 && v.abs() < 9.0e15 {
        Value::Int(v as i64)
    } else {
        Value::Real(v)
    })
}

/// The schema at version 8 (see `schema.rs` for what each table is for), in PostgreSQL's types.
pub const SCHEMA: &str = r#"
CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE feeds (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    last_fetch TEXT,
    last_status TEXT,
    last_error TEXT,
    error_count BIGINT NOT NULL DEFAULT 0,
    next_fetch TEXT,
    failing_since TEXT
);
CREATE TABLE stories (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    feed_id BIGINT NOT NULL REFERENCES feeds(id),
    guid TEXT NOT NULL UNIQUE,
    url TEXT,
    title TEXT NOT NULL,
    published TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    authors TEXT NOT NULL DEFAULT '[]',
    categories TEXT NOT NULL DEFAULT '[]',
    content_html TEXT,
    summary_html TEXT,
    lead_text TEXT,
    lead_html TEXT,
    lead_source TEXT,
    dated BIGINT NOT NULL DEFAULT 1,
    has_guid BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX stories_published ON stories(published);
CREATE INDEX stories_url ON stories(url);
CREATE INDEX stories_feed ON stories(feed_id);
CREATE TABLE subscribers (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    email TEXT COLLATE nocase NOT NULL UNIQUE,
    name TEXT,
    status TEXT NOT NULL
        CHECK (status IN ('pending','confirmed','unsubscribed','bouncing','complained')),
    digests TEXT NOT NULL DEFAULT '[]',
    created TEXT NOT NULL,
    confirmed_at TEXT,
    unsubscribed_at TEXT,
    unsubscribe_method TEXT,
    failures BIGINT NOT NULL DEFAULT 0,
    confirm_sent_at TEXT,
    pending_since TEXT,
    confirm_ip TEXT,
    confirm_ua TEXT,
    topics TEXT,
    format TEXT NOT NULL DEFAULT 'html' CHECK (format IN ('html', 'text')),
    timezone TEXT,
    paused_until TEXT
);
CREATE TABLE issues (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    digest TEXT NOT NULL,
    number BIGINT NOT NULL,
    created TEXT NOT NULL,
    window_from TEXT NOT NULL,
    window_to TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    view TEXT NOT NULL,
    slot TEXT,
    story_cursor BIGINT,
    paused TEXT,
    pause_exempt BIGINT NOT NULL DEFAULT 0,
    UNIQUE (digest, number),
    UNIQUE (digest, slot)
);
CREATE TABLE issue_stories (
    issue_id BIGINT NOT NULL REFERENCES issues(id),
    story_id BIGINT NOT NULL REFERENCES stories(id),
    PRIMARY KEY (issue_id, story_id)
);
CREATE TABLE deliveries (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    issue_id BIGINT NOT NULL REFERENCES issues(id),
    subscriber_id BIGINT REFERENCES subscribers(id),
    email TEXT COLLATE nocase NOT NULL,
    name TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued','sending','sent','failed','unknown')),
    message_id TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    reply TEXT,
    next_attempt TEXT,
    updated TEXT NOT NULL,
    owner TEXT,
    lease_until TEXT,
    counted BIGINT NOT NULL DEFAULT 0,
    variant TEXT,
    not_before TEXT,
    relay TEXT,
    UNIQUE (issue_id, email)
);
CREATE INDEX deliveries_status ON deliveries(issue_id, status);
CREATE INDEX deliveries_sending ON deliveries(owner) WHERE status = 'sending';
CREATE INDEX deliveries_message_id ON deliveries(message_id);
CREATE INDEX deliveries_email ON deliveries(email);
CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id);
CREATE TABLE slots (
    digest TEXT NOT NULL,
    scheduled TEXT NOT NULL,
    claimed TEXT NOT NULL,
    outcome TEXT,
    PRIMARY KEY (digest, scheduled)
);
CREATE TABLE pages (
    url TEXT PRIMARY KEY,
    fetched TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT
);
CREATE TABLE confirm_mails (
    email TEXT COLLATE nocase NOT NULL,
    sent_at TEXT NOT NULL
);
CREATE INDEX confirm_mails_email ON confirm_mails(email, sent_at);
CREATE TABLE locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
CREATE TABLE suppressions (
    hash TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE health (
    name TEXT PRIMARY KEY,
    owner TEXT,
    state TEXT NOT NULL,
    last_error TEXT,
    since TEXT,
    updated TEXT NOT NULL
);
CREATE TABLE reviews (
    issue_id BIGINT PRIMARY KEY REFERENCES issues(id),
    digest TEXT NOT NULL,
    slot TEXT NOT NULL,
    policy TEXT NOT NULL CHECK (policy IN ('required','optional')),
    status TEXT NOT NULL CHECK (status IN ('draft','approved','held','skipped')),
    version BIGINT NOT NULL DEFAULT 1,
    state TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    mailed TEXT,
    held_told TEXT,
    released TEXT
);
CREATE INDEX reviews_open ON reviews(digest) WHERE released IS NULL AND status != 'skipped';
CREATE TABLE review_log (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    issue_id BIGINT NOT NULL REFERENCES issues(id),
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX review_log_issue ON review_log(issue_id, id);
CREATE TABLE consent_events (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX consent_events_subscriber ON consent_events(subscriber_id, id);
CREATE TABLE bounce_events (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    event_key TEXT NOT NULL UNIQUE,
    delivery_id BIGINT REFERENCES deliveries(id) ON DELETE CASCADE,
    issue_id BIGINT,
    email TEXT COLLATE nocase,
    kind TEXT NOT NULL CHECK (kind IN ('hard','soft','complaint','autoreply','other')),
    status TEXT,
    reason TEXT NOT NULL,
    counted BIGINT NOT NULL DEFAULT 0,
    feedback_type TEXT,
    diagnostic TEXT,
    source TEXT NOT NULL,
    raw_ref TEXT,
    matched_by TEXT,
    outcome TEXT,
    occurred TEXT NOT NULL,
    recorded TEXT NOT NULL
);
CREATE INDEX bounce_events_delivery ON bounce_events(delivery_id);
CREATE INDEX bounce_events_issue ON bounce_events(issue_id);
CREATE INDEX bounce_events_email ON bounce_events(email, occurred);
CREATE TABLE webhook_nonces (
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen TEXT NOT NULL,
    PRIMARY KEY (provider, nonce)
);
CREATE TABLE relay_usage (
    relay TEXT NOT NULL,
    day TEXT NOT NULL,
    sent BIGINT NOT NULL DEFAULT 0 CHECK (sent >= 0),
    PRIMARY KEY (relay, day)
);
CREATE TABLE relay_pauses (
    relay TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    since TEXT NOT NULL,
    until TEXT,
    owner TEXT
);
"#;

/// The schema version a new PostgreSQL database starts at (its [`SCHEMA`]).
pub const SCHEMA_BASE: usize = 8;

/// Creates the schema in a new database, or checks an existing one's version. Runs under the
/// writers' lock, so processes that start together create it once.
pub fn migrate(pool: &Pg, version: usize) -> Result<()> {
    pool.transaction(true, |c| {
        c.batch("CREATE TABLE IF NOT EXISTS gazette_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")?;
        let mut found: Option<usize> = None;
        c.for_each(
            "SELECT value FROM gazette_meta WHERE key = 'schema_version'",
            &[],
            &mut |r| {
                found = r.get::<_, String>(0)?.parse().ok();
                Ok(())
            },
        )?;
        match found {
            None => {
                c.batch(SCHEMA).context("create the schema")?;
                c.execute(
                    "INSERT INTO gazette_meta (key, value) VALUES ('schema_version', ?1)",
                    &[Value::Text(SCHEMA_BASE.to_string())],
                )?;
            }
            Some(v) if v > version => anyhow::bail!(
                "the database has schema version {v}, newer than this gazette knows ({version}); upgrade gazette"
            ),
            Some(_) => {}
        }
        Ok(())
    })
}

/// The URL without its password, for messages.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{scheme}://{user}@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// A new, empty database on the server at `admin` (a URL whose user may create databases), for
/// one test; its URL.
pub fn fresh_database(admin: &str) -> Result<String> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let name = format!("gz_{}_{n}_{nanos}", std::process::id());
    let pg = Pg::connect(admin)?;
    pg.lease()?
        .conn()
        .batch(&format!("CREATE DATABASE {name}"))?;
    // The admin URL's options (sslmode, sslrootcert…) carry over.
    let (base, query) = admin.split_once('?').map_or((admin, ""), |(b, q)| (b, q));
    let (server, _) = base
        .rsplit_once('/')
        .filter(|(s, _)| s.contains("//") && !s.ends_with('/'))
        .unwrap_or((base, ""));
    Ok(match query {
        "" => format!("{server}/{name}"),
        q => format!("{server}/{name}?{q}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollar_numbers_outside_strings() {
        assert_eq!(
            placeholders("SELECT ?1, '?', ?2 WHERE a = ?1"),
            "SELECT $1, '?', $2 WHERE a = $1"
        );
        assert_eq!(
            placeholders("VALUES (?, ?, ?5, ?)"),
            "VALUES ($1, $2, $5, $6)"
        );
    }

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            redacted("postgres://gz:s3cret@db.example:5432/news?sslmode=disable"),
            "postgres://gz@db.example:5432/news?sslmode=disable"
        );
        assert_eq!(
            redacted("postgres://db.example/news"),
            "postgres://db.example/news"
        );
    }

    #[test]
    fn numerics_read_as_integers_or_floats() {
        // 12345 = 1 * 10000 + 2345: ndigits 2, weight 1, sign +, scale 0.
        let raw = [0, 2, 0, 1, 0, 0, 0, 0, 0, 1, 0x09, 0x29];
        assert_eq!(numeric(&raw).unwrap(), Value::Int(12345));
        let neg = [0, 1, 0, 0, 0x40, 0, 0, 0, 0, 7];
        assert_eq!(numeric(&neg).unwrap(), Value::Int(-7));
        let zero = [0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(numeric(&zero).unwrap(), Value::Int(0));
    }
}
