//! Owners and leases: which process holds a `sending` delivery row or a named lock (planning a
//! digest's issue), and until when. An owner is (host, pid, process start); it renews its leases
//! every few seconds while it works. Another process takes a row or lock over only when its
//! owner is gone: on the same host when the pid is not alive (or was reused by a process that
//! started later), elsewhere when the lease has expired.
//!
//! Leases are measured on the wall clock, not on `Gazette::clock`: they tell whether a process is
//! alive, which a pinned newsletter time (`GAZETTE_NOW`) must not change.

use std::sync::OnceLock;

use super::db::{params, OptionalExtension, Sql};
use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{parse_ts, ts_millis, Store};

/// How long a lease lasts without renewal.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(20);

/// A process that can hold leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// When the process started (clock ticks since boot on Linux; 0 where unknown).
    pub start: u64,
}

impl Owner {
    /// This process.
    pub fn current() -> &'static Owner {
        static ME: OnceLock<Owner> = OnceLock::new();
        ME.get_or_init(|| {
            let pid = std::process::id();
            Owner {
                host: host_name(),
                pid,
                start: process_start(pid).unwrap_or(0),
            }
        })
    }

    /// This process's key, as stored.
    pub fn current_key() -> &'static str {
        static KEY: OnceLock<String> = OnceLock::new();
        KEY.get_or_init(|| Owner::current().key())
    }

    /// `host/pid/start`, as stored.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.host, self.pid, self.start)
    }

    pub fn parse(key: &str) -> Option<Owner> {
        let mut parts = key.rsplitn(3, '/');
        let start = parts.next()?.parse().ok()?;
        let pid = parts.next()?.parse().ok()?;
        let host = parts.next()?.to_string();
        Some(Owner { host, pid, start })
    }

    /// Known to be gone: on this host, with no live process of that pid and start time.
    /// An owner on another host is never known to be gone; its lease decides.
    pub fn is_gone(&self) -> bool {
        let me = Owner::current();
        if self.host != me.host {
            return false;
        }
        if self.pid == me.pid {
            return self.start != me.start;
        }
        match process_start(self.pid) {
            Some(start) => self.start != 0 && start != self.start,
            None => !pid_alive(self.pid),
        }
    }
}

/// The wall-clock time a lease taken now runs until.
pub fn lease_until() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_default()
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes a NUL-terminated name.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    if name.is_empty() {
        "localhost".into()
    } else {
        name.replace('/', "_")
    }
}

/// Field 22 of `/proc/PID/stat`: the process's start time in clock ticks since boot.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether a row or lock held by `owner` until `until` may be taken over now.
fn abandoned(owner: Option<&str>, until: Option<&str>, now: DateTime<Utc>) -> bool {
    let me = Owner::current_key();
    match owner {
        Some(o) if o == me => false,
        Some(o) => {
            Owner::parse(o).is_none_or(|o| o.is_gone()) || until.is_none_or(|u| parse_ts(u) < now)
        }
        None => true,
    }
}

impl Store {
    /// Takes the named lock for this process if it is free, already ours, or abandoned.
    pub fn try_lock(&self, name: &str) -> Result<bool> {
        let me = Owner::current_key();
        let now = Utc::now();
        self.write(|tx| {
            let held: Option<(String, String)> = tx
                .query_row(
                    "SELECT owner, lease_until FROM locks WHERE name = ?1",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((owner, until)) = &held {
                if owner != me && !abandoned(Some(owner), Some(until), now) {
                    return Ok(false);
                }
            }
            tx.execute(
                "INSERT INTO locks (name, owner, lease_until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET owner = ?2, lease_until = ?3",
                params![name, me, ts_millis(lease_until())],
            )?;
            Ok(true)
        })
    }

    /// Who holds the named lock, if anyone.
    pub fn lock_holder(&self, name: &str) -> Result<Option<String>> {
        self.conn()?
            .query_row("SELECT owner FROM locks WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
    }

    /// Releases the named lock if this process holds it.
    pub fn unlock(&self, name: &str) -> Result<()> {
        let me = Owner::current_key();
        self.write(|tx| {
            tx.execute(
                "DELETE FROM locks WHERE name = ?1 AND owner = ?2",
                params![name, me],
            )?;
            Ok(())
        })
    }

    /// Extends the leases of every row and lock this process holds.
    pub fn renew_leases(&self) -> Result<()> {
        let me = Owner::current_key();
        let until = ts_millis(lease_until());
        self.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET lease_until = ?2 WHERE status = 'sending' AND owner = ?1",
                params![me, until],
            )?;
            tx.execute(
                "UPDATE locks SET lease_until = ?2 WHERE owner = ?1",
                params![me, until],
            )?;
            Ok(())
        })
    }

    /// `sending` rows whose owner is gone become `unknown`: they were in flight when that process
    /// stopped, so whether they arrived is not known, and they are never resent. Rows of live
    /// owners (another `send` or `serve` at work) are left alone. Returns how many were taken.
    pub fn take_over_abandoned(&self, now: DateTime<Utc>) -> Result<usize> {
        let wall = Utc::now();
        self.write(|tx| {
            let mut held = tx.prepare(
                "SELECT DISTINCT owner, lease_until FROM deliveries WHERE status = 'sending'",
            )?;
            let rows: Vec<(Option<String>, Option<String>)> = held
                .query_map(params![], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut taken = 0;
            for (owner, until) in rows {
                if !abandoned(owner.as_deref(), until.as_deref(), wall) {
                    continue;
                }
                taken += tx.execute(
                    "UPDATE deliveries SET status = 'unknown', updated = ?1, owner = NULL,
                     reply = 'the sending process stopped during the SMTP transaction: delivery in doubt, not resent'
                     WHERE status = 'sending' AND owner IS NOT DISTINCT FROM ?2 AND lease_until IS NOT DISTINCT FROM ?3",
                    params![super::ts(now), owner, until],
                )?;
            }
            Ok(taken)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_round_trips_and_this_process_is_alive() {
        let me = Owner::current();
        assert_eq!(Owner::parse(&me.key()).as_ref(), Some(me));
        assert!(!me.is_gone());
        let reused = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert!(reused.is_gone(), "same pid, other start: a reused pid");
        let elsewhere = Owner {
            host: "other-host".into(),
            ..me.clone()
        };
        assert!(
            !elsewhere.is_gone(),
            "another host's owner waits for its lease"
        );
    }

    #[test]
    fn a_dead_pid_on_this_host_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = Owner {
            host: Owner::current().host.clone(),
            pid,
            start: 1,
        };
        assert!(dead.is_gone());
    }

    #[test]
    fn a_lock_is_exclusive_until_its_owner_is_gone() {
        let store = Store::open_in_memory().unwrap();
        assert!(store.try_lock("plan:weekly").unwrap());
        assert!(store.try_lock("plan:weekly").unwrap(), "ours already");
        // Someone else, alive on another host, with a fresh lease.
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE locks SET owner = 'far/1/1', lease_until = ?1",
                    [ts_millis(lease_until())],
                )?;
                Ok(())
            })
            .unwrap();
        assert!(!store.try_lock("plan:weekly").unwrap());
        // Its lease runs out.
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE locks SET lease_until = ?1",
                    [ts_millis(Utc::now() - chrono::Duration::seconds(1))],
                )?;
                Ok(())
            })
            .unwrap();
        assert!(store.try_lock("plan:weekly").unwrap());
        store.unlock("plan:weekly").unwrap();
        assert_eq!(store.lock_holder("plan:weekly").unwrap(), None);
    }

    /// A sender on another host died with a row in flight: a sender here that has finished
    /// waits for that row's lease instead of ending with it `sending`, then takes it over as
    /// `unknown`. A row in flight of a process on this host that is gone is not waited for.
    #[test]
    fn a_remote_senders_row_in_flight_is_waited_for_then_taken_over() {
        let store = Store::open_in_memory().unwrap();
        let ids = crate::store::test_issue_with(&store, 3);
        let far = Owner {
            host: "far-host".into(),
            ..Owner::current().clone()
        };
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = Owner {
            pid: child.id(),
            ..Owner::current().clone()
        };
        child.wait().unwrap();
        let soon = Utc::now() + chrono::Duration::seconds(5);
        let in_flight = |id: i64, owner: &Owner| {
            store
                .write(|tx| {
                    tx.execute(
                        "UPDATE deliveries SET status = 'sending', owner = ?2, lease_until = ?3
                         WHERE id = ?1",
                        params![id, owner.key(), ts_millis(soon)],
                    )
                })
                .unwrap();
        };
        in_flight(ids[0], &far);
        in_flight(ids[1], &gone);
        let held = store
            .held_elsewhere(1)
            .unwrap()
            .expect("the far row is held");
        assert!((held - soon).num_milliseconds().abs() < 2, "{held} {soon}");
        assert_eq!(
            store.take_over_abandoned(Utc::now()).unwrap(),
            1,
            "the gone one only"
        );
        let status = |id: i64| {
            let d = store.deliveries(1).unwrap();
            d.iter().find(|d| d.id == id).unwrap().status
        };
        assert_eq!(status(ids[1]), crate::model::DeliveryStatus::Unknown);
        assert_eq!(status(ids[0]), crate::model::DeliveryStatus::Sending);
        // Its lease ends: nothing is held any more, and the row is in doubt, not resent.
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE deliveries SET lease_until = ?2 WHERE id = ?1",
                    params![ids[0], ts_millis(Utc::now() - chrono::Duration::seconds(1))],
                )
            })
            .unwrap();
        assert_eq!(store.held_elsewhere(1).unwrap(), None);
        assert_eq!(store.take_over_abandoned(Utc::now()).unwrap(), 1);
        assert_eq!(status(ids[0]), crate::model::DeliveryStatus::Unknown);
        assert_eq!(status(ids[2]), crate::model::DeliveryStatus::Queued);
    }
}
