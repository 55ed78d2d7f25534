//! The CPU time this thread spends in one step of the send loop, summed over an issue:
//! composing the messages and committing the ledger. The send's summary line reports both (the
//! deliver bench reads them), so each part's cost is measured where it runs, among the other
//! work that shares its caches, not only alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Default)]
pub struct Meter(AtomicU64);

impl Meter {
    /// Runs `f` and adds the CPU time this thread spent in it.
    pub fn time<T>(&self, f: impl FnOnce() -> T) -> T {
        let start = thread_cpu_ns();
        let out = f();
        self.0
            .fetch_add(thread_cpu_ns().saturating_sub(start), Ordering::Relaxed);
        out
    }

    pub fn add(&self, d: Duration) {
        self.0.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    pub fn spent(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// This thread's CPU time (user and system), in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; the clock always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::Meter;

    #[test]
    fn a_meter_counts_the_work_it_times_and_not_the_sleep() {
        let m = Meter::default();
        let sum = m.time(|| (0..20_000_000u64).fold(0u64, |a, b| a ^ b.wrapping_mul(31)));
        std::hint::black_box(sum);
        let busy = m.spent();
        assert!(busy > std::time::Duration::from_millis(1), "{busy:?}");
        m.time(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        let slept = m.spent() - busy;
        assert!(slept < std::time::Duration::from_millis(50), "{slept:?}");
    }
}
