//! Schema migrations: numbered SQL scripts applied in order, tracked with `PRAGMA user_version`.

use anyhow::{Context, Result};
use rusqlite::Connection;

/// The schema version this gazette writes: the number of migrations.
pub const VERSION: usize = MIGRATIONS.len();

const MIGRATIONS: &[&str] = &[
    // 1: feeds, stories, subscribers, issues, deliveries, schedule slots, article page cache.
    r#"
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        title TEXT,
        etag TEXT,
        last_modified TEXT,
        last_fetch TEXT,
        last_status TEXT,
        last_error TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        next_fetch TEXT
    );
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        feed_id INTEGER NOT NULL REFERENCES feeds(id),
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
        lead_source TEXT
    );
    CREATE UNIQUE INDEX stories_url ON stories(url) WHERE url IS NOT NULL;
    CREATE INDEX stories_published ON stories(published);
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending','confirmed','unsubscribed','bouncing')),
        digests TEXT NOT NULL DEFAULT '[]',
        created TEXT NOT NULL,
        confirmed_at TEXT,
        unsubscribed_at TEXT,
        unsubscribe_method TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        confirm_sent_at TEXT
    );
    CREATE TABLE issues (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL,
        number INTEGER NOT NULL,
        created TEXT NOT NULL,
        window_from TEXT NOT NULL,
        window_to TEXT NOT NULL,
        subject TEXT NOT NULL,
        html TEXT NOT NULL,
        text TEXT NOT NULL,
        view TEXT NOT NULL,
        slot TEXT,
        UNIQUE (digest, number),
        UNIQUE (digest, slot)
    );
    CREATE TABLE issue_stories (
        issue_id INTEGER NOT NULL REFERENCES issues(id),
        story_id INTEGER NOT NULL REFERENCES stories(id),
        PRIMARY KEY (issue_id, story_id)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        issue_id INTEGER NOT NULL REFERENCES issues(id),
        subscriber_id INTEGER REFERENCES subscribers(id),
        email TEXT NOT NULL COLLATE NOCASE,
        name TEXT,
        status TEXT NOT NULL CHECK (status IN ('queued','sending','sent','failed','unknown')),
        message_id TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        reply TEXT,
        next_attempt TEXT,
        updated TEXT NOT NULL,
        UNIQUE (issue_id, email)
    );
    CREATE INDEX deliveries_status ON deliveries(issue_id, status);
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
    "#,
    // 2: double opt-in from the web: when a row became pending, consent audit (IP and user agent
    // of the confirm request), and a log of confirmation mails for the per-address cap.
    r#"
    ALTER TABLE subscribers ADD COLUMN pending_since TEXT;
    ALTER TABLE subscribers ADD COLUMN confirm_ip TEXT;
    ALTER TABLE subscribers ADD COLUMN confirm_ua TEXT;
    CREATE TABLE confirm_mails (
        email TEXT NOT NULL COLLATE NOCASE,
        sent_at TEXT NOT NULL
    );
    CREATE INDEX confirm_mails_email ON confirm_mails(email, sent_at);
    "#,
    // 3: every issue exactly once across processes and crashes.
    // - issues.story_cursor: the last story id when the issue was planned; the next issue of the
    //   digest takes only stories after it (backfilled from the stories seen by then).
    // - stories: `dated` (0 when the feed gave no date: published is the first-seen time),
    //   `has_guid` (0 when the id was derived from the link or text); a story is its GUID
    //   within its feed, so the URL is no longer unique.
    // - deliveries: the owner of a `sending` row and its lease; `counted` when the failure was
    //   held against the subscriber (a recipient fault).
    // - locks: named leases (planning a digest's issue); suppressions: hashes of addresses that
    //   may never be re-subscribed by the operator; health: what the scheduler last did.
    r#"
    ALTER TABLE issues ADD COLUMN story_cursor INTEGER;
    UPDATE issues SET story_cursor = COALESCE(
        (SELECT MAX(s.id) FROM stories s WHERE s.first_seen <= issues.created), 0);
    ALTER TABLE stories ADD COLUMN dated INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE stories ADD COLUMN has_guid INTEGER NOT NULL DEFAULT 1;
    DROP INDEX stories_url;
    CREATE INDEX stories_url ON stories(url);
    CREATE INDEX stories_feed ON stories(feed_id);
    ALTER TABLE deliveries ADD COLUMN owner TEXT;
    ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
    ALTER TABLE deliveries ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX deliveries_sending ON deliveries(owner) WHERE status = 'sending';
    ALTER TABLE feeds ADD COLUMN failing_since TEXT;
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
    "#,
    // 4: editorial review (issue 21). A reviewed digest's issue is first a draft. Its `reviews` row
    // holds the editable state (JSON, with a version that every save checks), the status
    // (draft, approved, held, skipped), the slot it is for, and when the editors were mailed and
    // told it is held. A draft has no delivery rows: they are written when it is released (its
    // slot came and the policy allows it, or `send` after approval), in the transaction that sets
    // `released`, so nothing can send a draft. `review_log` says who changed what, when.
    r#"
    CREATE TABLE reviews (
        issue_id INTEGER PRIMARY KEY REFERENCES issues(id),
        digest TEXT NOT NULL,
        slot TEXT NOT NULL,
        policy TEXT NOT NULL CHECK (policy IN ('required','optional')),
        status TEXT NOT NULL CHECK (status IN ('draft','approved','held','skipped')),
        version INTEGER NOT NULL DEFAULT 1,
        state TEXT NOT NULL,
        created TEXT NOT NULL,
        updated TEXT NOT NULL,
        mailed TEXT,
        held_told TEXT,
        released TEXT
    );
    CREATE INDEX reviews_open ON reviews(digest) WHERE released IS NULL AND status != 'skipped';
    CREATE TABLE review_log (
        id INTEGER PRIMARY KEY,
        issue_id INTEGER NOT NULL REFERENCES issues(id),
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        what TEXT NOT NULL
    );
    CREATE INDEX review_log_issue ON review_log(issue_id, id);
    "#,
    // 5: readers choose (issue 20).
    // - subscribers: `topics` (JSON: digest → topics; NULL or absent digest: every topic),
    //   `format` (html | text), `timezone` (IANA; NULL: the newsletter's), `paused_until`
    //   (YYYY-MM-DD; no mail before it in the reader's zone).
    // - deliveries: `variant` (JSON: the copy planned for the row, format and sections; NULL:
    //   HTML with every section), `not_before` (a local-delivery row waits for its reader's
    //   slot; NULL: due at once).
    // - consent_events: the consent log (subscribed, confirmed, preferences, unsubscribed),
    //   with time and source; erased with the subscriber.
    r#"
    ALTER TABLE subscribers ADD COLUMN topics TEXT;
    ALTER TABLE subscribers ADD COLUMN format TEXT NOT NULL DEFAULT 'html'
        CHECK (format IN ('html', 'text'));
    ALTER TABLE subscribers ADD COLUMN timezone TEXT;
    ALTER TABLE subscribers ADD COLUMN paused_until TEXT;
    ALTER TABLE deliveries ADD COLUMN variant TEXT;
    ALTER TABLE deliveries ADD COLUMN not_before TEXT;
    CREATE TABLE consent_events (
        id INTEGER PRIMARY KEY,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        source TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX consent_events_subscriber ON consent_events(subscriber_id, id);
    "#,
    // 6: bounces and complaints (issue 18).
    // - subscribers: status gains 'complained'. SQLite cannot alter a CHECK constraint, so the
    //   table is rebuilt as its documented ALTER TABLE procedure says (new table, copy, drop,
    //   rename); `migrate` turns foreign keys off around it and checks them before committing.
    // - bounce_events: each bounce, complaint or auto-reply read from a mailbox, a file or a
    //   provider's webhook, against its delivery when known; `event_key` makes recording
    //   idempotent (the same message or webhook event twice records once).
    // - webhook_nonces: ids of signed webhook requests already taken (replays are refused).
    // - issues.paused: why delivery of the issue stopped (`pause_above`), until resumed;
    //   `pause_exempt` once the operator resumed it.
    r#"
    CREATE TABLE subscribers_new (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT,
        status TEXT NOT NULL
            CHECK (status IN ('pending','confirmed','unsubscribed','bouncing','complained')),
        digests TEXT NOT NULL DEFAULT '[]',
        created TEXT NOT NULL,
        confirmed_at TEXT,
        unsubscribed_at TEXT,
        unsubscribe_method TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        confirm_sent_at TEXT,
        pending_since TEXT,
        confirm_ip TEXT,
        confirm_ua TEXT,
        topics TEXT,
        format TEXT NOT NULL DEFAULT 'html' CHECK (format IN ('html', 'text')),
        timezone TEXT,
        paused_until TEXT
    );
    INSERT INTO subscribers_new (id, email, name, status, digests, created, confirmed_at,
        unsubscribed_at, unsubscribe_method, failures, confirm_sent_at, pending_since,
        confirm_ip, confirm_ua, topics, format, timezone, paused_until)
    SELECT id, email, name, status, digests, created, confirmed_at, unsubscribed_at,
        unsubscribe_method, failures, confirm_sent_at, pending_since, confirm_ip, confirm_ua,
        topics, format, timezone, paused_until
    FROM subscribers;
    DROP TABLE subscribers;
    ALTER TABLE subscribers_new RENAME TO subscribers;
    CREATE TABLE bounce_events (
        id INTEGER PRIMARY KEY,
        event_key TEXT NOT NULL UNIQUE,
        delivery_id INTEGER REFERENCES deliveries(id) ON DELETE CASCADE,
        issue_id INTEGER,
        email TEXT COLLATE NOCASE,
        kind TEXT NOT NULL CHECK (kind IN ('hard','soft','complaint','autoreply','other')),
        status TEXT,
        reason TEXT NOT NULL,
        counted INTEGER NOT NULL DEFAULT 0,
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
    ALTER TABLE issues ADD COLUMN paused TEXT;
    ALTER TABLE issues ADD COLUMN pause_exempt INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX deliveries_message_id ON deliveries(message_id);
    CREATE INDEX deliveries_email ON deliveries(email);
    "#,
    // 7: named relays (issue 19).
    // - deliveries.relay: the `[[relays]]` name the row was last handed to (NULL: `[delivery]
    //   url`, or not tried yet).
    // - relay_usage: messages handed to each relay per UTC day (YYYY-MM-DD), reserved in the
    //   transaction that claims the row, under the relay's `daily_quota`, and given back when the
    //   message was never tried; shared by every process on the database.
    // - relay_pauses: relays a sender found unusable (no connection, login refused), until one
    //   works again; for `gazette status`.
    r#"
    ALTER TABLE deliveries ADD COLUMN relay TEXT;
    CREATE TABLE relay_usage (
        relay TEXT NOT NULL,
        day TEXT NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0 CHECK (sent >= 0),
        PRIMARY KEY (relay, day)
    );
    CREATE TABLE relay_pauses (
        relay TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        since TEXT NOT NULL,
        until TEXT,
        owner TEXT
    );
    "#,
    // 8: a subscriber id is never given again. Unsubscribe and manage links carry the id and
    // never expire, so an id reused after an erase or a removal handed the old reader's links
    // to the next subscriber. `AUTOINCREMENT` never reuses a rowid; the table is rebuilt (as
    // in 6). In a database that has had readers, the ids of readers removed before this
    // migration left no trace (their deliveries lost the id, their consent log went with
    // them), so the sequence starts a million above every id still found.
    r#"
    CREATE TABLE subscribers_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT,
        status TEXT NOT NULL
            CHECK (status IN ('pending','confirmed','unsubscribed','bouncing','complained')),
        digests TEXT NOT NULL DEFAULT '[]',
        created TEXT NOT NULL,
        confirmed_at TEXT,
        unsubscribed_at TEXT,
        unsubscribe_method TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        confirm_sent_at TEXT,
        pending_since TEXT,
        confirm_ip TEXT,
        confirm_ua TEXT,
        topics TEXT,
        format TEXT NOT NULL DEFAULT 'html' CHECK (format IN ('html', 'text')),
        timezone TEXT,
        paused_until TEXT
    );
    INSERT INTO subscribers_new SELECT id, email, name, status, digests, created, confirmed_at,
        unsubscribed_at, unsubscribe_method, failures, confirm_sent_at, pending_since,
        confirm_ip, confirm_ua, topics, format, timezone, paused_until
    FROM subscribers;
    DROP TABLE subscribers;
    ALTER TABLE subscribers_new RENAME TO subscribers;
    DELETE FROM sqlite_sequence WHERE name = 'subscribers';
    INSERT INTO sqlite_sequence (name, seq)
    SELECT 'subscribers', CASE WHEN MAX(m) IS NULL AND NOT EXISTS (SELECT 1 FROM deliveries)
        THEN 0 ELSE COALESCE(MAX(m), 0) + 1000000 END FROM (
        SELECT MAX(id) AS m FROM subscribers
        UNION ALL SELECT MAX(subscriber_id) FROM deliveries
        UNION ALL SELECT MAX(subscriber_id) FROM consent_events
    );
    "#,
];

/// Applies every migration newer than the database's `user_version`, in one transaction.
///
/// A migration may rebuild a table that others reference (SQLite's ALTER TABLE procedure:
/// create the new table, copy, drop the old one, rename). `PRAGMA foreign_keys` cannot change
/// inside a transaction, so it is turned off before the migrations and restored after them;
/// each migration checks every foreign key (`PRAGMA foreign_key_check`), and when one breaks a
/// key, all of them roll back.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, MIGRATIONS.len())
}

/// [`migrate`] up to schema version `target` (tests build databases of earlier versions).
pub fn migrate_to(conn: &mut Connection, target: usize) -> Result<()> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        anyhow::bail!(
            "the database has schema version {version}, newer than this gazette knows ({}); upgrade gazette",
            MIGRATIONS.len()
        );
    }
    if version >= target {
        return Ok(());
    }
    let enforced: bool = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let applied = apply(conn, version, target);
    conn.pragma_update(None, "foreign_keys", enforced)?;
    applied
}

/// The migrations `from..to` in one transaction: all of them or, when one fails, none (the
/// database stays at the version the previous gazette knows), and one fsync for a new database.
fn apply(conn: &mut Connection, from: usize, to: usize) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().take(to).skip(from) {
        let before = broken_keys(&tx)?.len();
        tx.execute_batch(sql)
            .with_context(|| format!("migration {}", i + 1))?;
        let after = broken_keys(&tx)?;
        if after.len() > before {
            let (table, row, parent) = &after[0];
            anyhow::bail!(
                "migration {}: it would break {} foreign keys (first: {table} row {row} -> {parent}); nothing was changed",
                i + 1,
                after.len() - before
            );
        }
        tx.pragma_update(None, "user_version", i + 1)?;
    }
    tx.commit()?;
    Ok(())
}

/// Rows whose foreign key points at nothing: (table, rowid, parent table).
fn broken_keys(tx: &rusqlite::Transaction<'_>) -> Result<Vec<(String, i64, String)>> {
    let mut stmt = tx.prepare("PRAGMA foreign_key_check")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get::<_, Option<i64>>(1)?.unwrap_or(0),
            r.get(2)?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database as the previous version left it (schema 3, foreign keys on, rows that
    /// reference subscribers) comes through migrations 4 to 6 with every row, its keys enforced
    /// again, and `complained` allowed.
    #[test]
    fn migration_6_rebuilds_subscribers_under_their_foreign_keys() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        migrate_to(&mut conn, 3).unwrap();
        conn.execute_batch(
            "INSERT INTO subscribers (id, email, name, status, digests, created, confirm_ip)
               VALUES (7, 'ada@example.org', 'Ada', 'confirmed', '[]', '2026-01-01T00:00:00Z', '192.0.2.1');
             INSERT INTO issues (id, digest, number, created, window_from, window_to, subject,
               html, text, view) VALUES (1, 'weekly', 1, 'x', 'x', 'x', 's', 'h', 't', '{}');
             INSERT INTO deliveries (issue_id, subscriber_id, email, status, message_id, updated)
               VALUES (1, 7, 'ada@example.org', 'sent', '<m1@x>', 'x');",
        )
        .unwrap();
        // A reader's choices (migration 5) come through the rebuild too.
        migrate_to(&mut conn, 5).unwrap();
        conn.execute(
            "UPDATE subscribers SET format = 'text', topics = '{\"weekly\":[\"privacy\"]}',
             timezone = 'Europe/Berlin', paused_until = '2027-01-10' WHERE id = 7",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let choices: (String, String, String, String) = conn
            .query_row(
                "SELECT format, topics, timezone, paused_until FROM subscribers WHERE id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            choices,
            (
                "text".into(),
                r#"{"weekly":["privacy"]}"#.into(),
                "Europe/Berlin".into(),
                "2027-01-10".into()
            )
        );
        assert!(conn
            .execute("UPDATE subscribers SET format = 'pdf' WHERE id = 7", [])
            .is_err());
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        let fk: bool = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert!(fk, "foreign keys are enforced again");
        let (name, ip): (String, String) = conn
            .query_row(
                "SELECT name, confirm_ip FROM subscribers WHERE id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((name.as_str(), ip.as_str()), ("Ada", "192.0.2.1"));
        conn.execute(
            "UPDATE subscribers SET status = 'complained' WHERE id = 7",
            [],
        )
        .unwrap();
        assert!(conn
            .execute("UPDATE subscribers SET status = 'gone' WHERE id = 7", [])
            .is_err());
        // The deliveries still reference the rebuilt table, and the key is enforced.
        assert!(conn
            .execute("DELETE FROM subscribers WHERE id = 7", [])
            .is_err());
        assert!(conn
            .execute(
                "INSERT INTO deliveries (issue_id, subscriber_id, email, status, message_id, updated)
                 VALUES (1, 99, 'x@example.org', 'queued', '<m2@x>', 'x')",
                [],
            )
            .is_err());
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'deliveries'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.contains("REFERENCES subscribers(id)"), "{sql}");
        let broken: i64 = conn
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0);
    }
}
