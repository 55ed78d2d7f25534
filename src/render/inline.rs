//! CSS inlining for the HTML email: every rule from the template's `<style>` moves into `style`
//! attributes; a `<style data-css-inline="keep">` block (media queries, dark mode only: css-inline
//! never inlines rules inside at-rules) stays in `<head>`.

use anyhow::{Context as _, Result};
use css_inline::CSSInliner;

/// Inlines the document's CSS. Never loads remote stylesheets (css-inline's default would).
pub fn inline_css(html: &str) -> Result<String> {
    let inliner = CSSInliner::options()
        .load_remote_stylesheets(false)
        .keep_style_tags(false)
        .keep_link_tags(false)
        .build();
    inliner.inline(html).context("inline CSS")
}
