//! Render-stage tests, one module per concern.

/// Issue fixtures built in code.
mod fixtures;
/// The built HTML parsed with html5ever: no script, absolute links, alt text, size budget, escaping.
mod html_checks;
/// Markdown output parses back with pulldown-cmark to the structure.
mod markdown_roundtrip;
/// A user template folder overrides built-ins; errors name file and line.
mod overrides;
/// An issue rendered once and filled in per recipient equals a full render per recipient.
mod personalize;
/// insta snapshots of html, text and markdown for the fixture issue.
mod snapshots;
