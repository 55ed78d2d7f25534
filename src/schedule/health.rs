//! How the scheduler is doing, for `GET /healthz` and `gazette status`: kept in memory for the
//! process's own web app, and written to the database (with a heartbeat) for other processes.

use std::sync::Mutex;

use chrono::Utc;

pub use crate::model::{HealthSnapshot as Snapshot, SchedulerState as State};
use crate::store::Store;

/// The scheduler's health, shared by the runner and the web app of one `serve`.
#[derive(Debug)]
pub struct Health {
    now: Mutex<Snapshot>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            now: Mutex::new(Snapshot {
                state: State::Starting,
                last_error: None,
                since: Utc::now(),
            }),
        }
    }
}

impl Health {
    pub fn snapshot(&self) -> Snapshot {
        self.now.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records a state (with the error that caused it, if any; the last error is kept after
    /// things work again) and writes it to the database as this process's heartbeat.
    pub fn set(&self, store: &Store, state: State, error: Option<String>) {
        let snapshot = {
            let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
            if now.state != state {
                now.since = Utc::now();
            }
            now.state = state;
            if error.is_some() {
                now.last_error = error;
            }
            now.clone()
        };
        if let Err(e) = store.record_health("scheduler", &snapshot) {
            tracing::warn!(error = %format!("{e:#}"), "could not record the scheduler's health");
        }
    }
}
