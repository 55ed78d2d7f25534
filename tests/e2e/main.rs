//! Slow end-to-end tests: the real binary against a real SMTP server (aiosmtpd) on loopback.

#[path = "../support/mod.rs"]
mod support;

/// `gazette send` to a real SMTP server, parsed with a MIME parser.
mod send;

/// Delivery: exactly once across SIGKILL, retries, bounces, dropped connections, DKIM (issue 5).
mod delivery;
