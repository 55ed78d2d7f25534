//! Fast integration tests (one binary). The slow end-to-end tests against a real SMTP server
//! live in `tests/e2e`.

#[path = "../support/mod.rs"]
mod support;

/// Bounce, complaint and auto-reply classification: hand-written messages and the labelled corpus.
mod bounces;
/// Config parsing and `gazette check`.
mod config;
/// The real-world and malformed feed corpus in ../shared/fixtures.
mod corpus;
/// Structure-aware fuzzing of feeds and pages, and the findings kept (issue 15).
mod fuzz;
/// Feeds over real HTTP on 127.0.0.1: conditional GET, 429, redirects, huge, hanging, gzip, HTML.
mod ingest;
/// Lead paragraphs of the labelled feed items (tests/data/lead-items*.json).
mod lead_items;
/// Scoring of leads as the shared scorer does.
mod lead_score;
/// Lead paragraphs on the article fixtures and on hand-made inputs of each class.
mod leads;
/// A database made by the previous version migrates (issue 18's rebuilt subscribers table).
mod migration;
/// Readers choose: the manage page, one render per choice, local delivery time (issue 20).
mod readers;
/// Named relays under the scheduler: a refusing relay's share, a spent quota (issue 19).
mod relays;
/// The render stage: snapshots, HTML checks, Markdown round trip, template overrides.
mod render;
/// Editorial review: the review page (CSRF, links, two editors) and the scheduler's drafts.
mod review;
/// The scheduler with a pinned clock.
mod schedule;
/// Events, not topics: templated feeds, trade shows, one subject on two days.
mod select_events;
/// Loads the real fixture feeds as selection candidates (for the labelled set).
mod select_feeds;
/// Topics and same-event clustering on a labelled set of real feed items.
mod select_labels;
/// Subscribers from the command line and CSV.
mod subscribers;
/// Untrusted feeds: SSRF guard, redirects, bounded article pages (issue 15).
mod untrusted;
/// The web app over HTTP: every route, tokens, CSRF, one-click, escaping, Atom.
mod web;
