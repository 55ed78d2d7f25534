//! Slow end-to-end tests: the real binary against a real SMTP server (aiosmtpd) on loopback.

#[path = "../support/mod.rs"]
mod support;

/// Headless Chromium against `gazette preview`: subscribe, confirm by mail, live preview.
mod browser;
/// The manage link from a real mail in Chromium at phone width, with and without JavaScript.
mod manage_browser;
/// Readers choose: topics, text-only, pause and resume, erase then import (issue 20).
mod readers;
/// The rendered issue in headless Chromium at phone and desktop widths.
mod render_browser;
/// `gazette send` to a real SMTP server, parsed with a MIME parser.
mod send;
/// `gazette serve` sends a scheduled issue once.
mod serve;

/// Bounces and complaints: VERP, Dovecot, suppression, the pause rule, webhooks (issue 18).
mod bounces;
/// Delivery: exactly once across SIGKILL, retries, bounces, dropped connections, DKIM (issue 5).
mod delivery;
/// Every issue exactly once across processes, kills and outages; refusals classified (issue 14).
mod exactly_once;
/// Named relays: a refusing relay's share moves, daily quotas across processes and days
/// (issue 19).
mod relays;
/// Editorial review: drafts, the review page in Chromium, approval, held issues (issue 21).
mod review;
/// Provider webhooks against `serve`: signed samples, forgeries, replays, oversized bodies.
mod webhooks;
