//! The SQL layer under [`Store`](super::Store): one small API over SQLite (rusqlite, the embedded
//! default) and PostgreSQL ([`super::postgres`], several processes on one database).
//!
//! The store's SQL is written once, in what both engines accept: `?N` parameters (rewritten to
//! `$N` for PostgreSQL), `ON CONFLICT`, `RETURNING`, timestamps as RFC 3339 text, integers as
//! 64-bit. Values cross the boundary as [`Value`]s, rows come back as [`Row`]s; the method names
//! follow rusqlite's (`execute`, `query_row`, `prepare`, `query_map`, `optional`).

use std::sync::MutexGuard;

use anyhow::{Context, Result};

use super::postgres::{PgConn, PgLease};

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// What can be bound to a parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_to_value!(i64, i32, u32, u16, u8, usize, u64);

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(*self as i64)
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, |v| v.to_value())
    }
}

/// A statement's parameters: `params![a, b]`, `[a]` or `params![]`.
pub trait Params {
    fn values(self) -> Vec<Value>;
}
impl<T: ToValue> Params for &[T] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|v| v.to_value()).collect()
    }
}
impl<T: ToValue, const N: usize> Params for [T; N] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|v| v.to_value()).collect()
    }
}
impl<T: ToValue, const N: usize> Params for &[T; N] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|v| v.to_value()).collect()
    }
}
impl Params for Vec<Value> {
    fn values(self) -> Vec<Value> {
        self
    }
}

/// Parameters of mixed types: `params![id, "text", now]`.
#[macro_export]
macro_rules! params {
    () => { &[] as &[&dyn $crate::store::db::ToValue] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::store::db::ToValue),+] as &[&dyn $crate::store::db::ToValue] };
}
pub use crate::params;

/// What a column can be read as.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Result<Self>;
}

fn wrong(v: &Value, want: &str) -> anyhow::Error {
    anyhow::anyhow!("column holds {v:?}, not {want}")
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<i64> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => Err(wrong(v, "an integer")),
        }
    }
}
macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value) -> Result<$t> {
                Ok(<$t>::try_from(i64::from_value(v)?)?)
            }
        }
    )*};
}
int_from_value!(i32, u32, u16, u8, usize, u64);

impl FromValue for bool {
    fn from_value(v: &Value) -> Result<bool> {
        Ok(i64::from_value(v)? != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Result<f64> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            _ => Err(wrong(v, "a number")),
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Result<String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => Err(wrong(v, "text")),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Vec<u8>> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            _ => Err(wrong(v, "bytes")),
        }
    }
}
impl FromValue for Value {
    fn from_value(v: &Value) -> Result<Value> {
        Ok(v.clone())
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Option<T>> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub(super) fn new(values: Vec<Value>) -> Row {
        Row { values }
    }

    /// Column `i` (from 0). The first type parameter mirrors rusqlite's (`get::<_, T>`).
    pub fn get<I: RowIndex, T: FromValue>(&self, i: I) -> Result<T> {
        let i = i.index();
        let v = self
            .values
            .get(i)
            .with_context(|| format!("no column {i} in a row of {}", self.values.len()))?;
        T::from_value(v).with_context(|| format!("column {i}"))
    }

    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

/// A column's position (rusqlite's name; only positions are used here).
pub trait RowIndex {
    fn index(self) -> usize;
}
impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// `query_row` found no row; [`OptionalExtension::optional`] turns it into `None`.
#[derive(Debug)]
pub struct NoRows;

impl std::fmt::Display for NoRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("query returned no rows")
    }
}
impl std::error::Error for NoRows {}

pub trait OptionalExtension<T> {
    /// `Ok(None)` when the query found no row.
    fn optional(self) -> Result<Option<T>>;
}
impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is::<NoRows>() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A connection or a transaction on one of the two engines.
#[derive(Clone, Copy)]
pub enum Db<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres(&'a PgConn),
}

/// The statements, on anything that can reach a [`Db`]: a transaction ([`Db`]) or a connection
/// held from the store ([`Held`]).
pub trait Sql {
    fn db(&self) -> Db<'_>;

    /// Runs one statement; the number of rows it changed.
    fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        let values = params.values();
        match self.db() {
            Db::Sqlite(c) => sqlite_execute(c, sql, &values),
            Db::Postgres(c) => c.execute(sql, &values),
        }
        .with_context(|| summary(sql))
    }

    /// Every row, read one at a time into `f` (a large list is never held whole).
    fn for_each<P: Params>(
        &self,
        sql: &str,
        params: P,
        mut f: impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let values = params.values();
        match self.db() {
            Db::Sqlite(c) => sqlite_for_each(c, sql, &values, &mut f),
            Db::Postgres(c) => c.for_each(sql, &values, &mut f),
        }
        .with_context(|| summary(sql))
    }

    /// Every row, mapped.
    fn query_map<P: Params, T>(
        &self,
        sql: &str,
        params: P,
        mut f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.for_each(sql, params, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, mapped; [`NoRows`] when there is none.
    fn query_row<P: Params, T>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        let mut first = None;
        self.for_each(sql, params, |r| {
            if first.is_none() {
                first = Some(r.clone());
            }
            Ok(())
        })?;
        f(&first.ok_or(NoRows)?)
    }

    /// Runs `INSERT … RETURNING id` and gives the new row's id.
    fn insert<P: Params>(&self, sql: &str, params: P) -> Result<i64> {
        self.query_row(&format!("{sql} RETURNING id"), params, |r| r.get(0))
    }

    /// Statements without parameters, separated by `;`.
    fn execute_batch(&self, sql: &str) -> Result<()> {
        match self.db() {
            Db::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Db::Postgres(c) => c.batch(sql),
        }
    }

    /// A statement to run more than once (the SQL is prepared and cached on first use).
    fn prepare(&self, sql: &str) -> Result<Stmt<'_>> {
        Ok(Stmt {
            db: self.db(),
            sql: sql.to_string(),
        })
    }

    fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>> {
        self.prepare(sql)
    }

    /// Which engine this is ("sqlite" or "postgres").
    fn engine(&self) -> &'static str {
        match self.db() {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

impl Sql for Db<'_> {
    fn db(&self) -> Db<'_> {
        *self
    }
}

/// A connection held from the store for reads outside a transaction.
pub enum Held<'a> {
    Sqlite(MutexGuard<'a, rusqlite::Connection>),
    Postgres(Box<PgLease<'a>>),
}

impl Sql for Held<'_> {
    fn db(&self) -> Db<'_> {
        match self {
            Held::Sqlite(c) => Db::Sqlite(c),
            Held::Postgres(c) => Db::Postgres(c.conn()),
        }
    }
}

/// A statement bound to its connection.
pub struct Stmt<'a> {
    db: Db<'a>,
    sql: String,
}

impl Stmt<'_> {
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        self.db.execute(&self.sql, params)
    }

    pub fn query_map<P: Params, T>(
        &mut self,
        params: P,
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let rows = self.db.query_map(&self.sql, params, f)?;
        Ok(rows.into_iter().map(Ok).collect::<Vec<_>>().into_iter())
    }

    pub fn query_row<P: Params, T>(
        &mut self,
        params: P,
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        self.db.query_row(&self.sql, params, f)
    }
}

/// The statement's first line, for errors.
fn summary(sql: &str) -> String {
    let s = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = s.chars().take(100).collect();
    if cut.len() < s.len() {
        format!("SQL: {cut}…")
    } else {
        format!("SQL: {cut}")
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn sqlite_execute(c: &rusqlite::Connection, sql: &str, values: &[Value]) -> Result<usize> {
    let mut stmt = c.prepare_cached(sql)?;
    Ok(stmt.execute(rusqlite::params_from_iter(values.iter()))?)
}

fn sqlite_for_each(
    c: &rusqlite::Connection,
    sql: &str,
    values: &[Value],
    f: &mut dyn FnMut(&Row) -> Result<()>,
) -> Result<()> {
    use rusqlite::types::ValueRef;
    let mut stmt = c.prepare_cached(sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
    while let Some(r) = rows.next()? {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Int(i),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        f(&Row::new(out))?;
    }
    Ok(())
}
