//! An editor's lead: paragraphs separated by blank lines, plain text or with `<a href>` links,
//! passed through the very sanitizer that every extracted lead passes
//! (`extract::sanitize_lead_html`: links to absolute http(s) URLs only), then read back as text.

use serde::{Deserialize, Serialize};

/// The longest lead an editor may write, in characters.
pub const MAX_LEAD_CHARS: usize = 4000;

/// A lead written by an editor, sanitized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditedLead {
    /// Plain text, paragraphs separated by a blank line.
    pub text: String,
    /// Sanitized HTML, each paragraph in a `<p>`.
    pub html: String,
}

/// Why a lead was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeadError {
    #[error("a lead cannot be empty")]
    Empty,
    #[error("a lead can have at most {MAX_LEAD_CHARS} characters")]
    TooLong,
}

/// Sanitizes an editor's lead exactly as an extracted one.
pub fn edited_lead(input: &str) -> Result<EditedLead, LeadError> {
    if input.chars().count() > MAX_LEAD_CHARS {
        return Err(LeadError::TooLong);
    }
    let input = input.replace("\r\n", "\n");
    let mut texts = Vec::new();
    let mut html = String::new();
    for para in input.split("\n\n") {
        let clean = crate::extract::sanitize_lead_html(para.trim());
        let text = text_of(&clean);
        if text.is_empty() {
            continue;
        }
        html.push_str(&format!("<p>{}</p>", clean.trim()));
        texts.push(text);
    }
    if texts.is_empty() {
        return Err(LeadError::Empty);
    }
    Ok(EditedLead {
        text: texts.join("\n\n"),
        html,
    })
}

/// The text of sanitized HTML, whitespace collapsed.
fn text_of(html: &str) -> String {
    let doc = scraper::Html::parse_fragment(html);
    let text: String = doc.root_element().text().collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A stored lead as an editor edits it: paragraphs of sanitized HTML separated by blank lines.
pub fn editable(lead_html: &str) -> String {
    lead_html
        .replace(" rel=\"noopener\"", "")
        .split("</p>")
        .map(|p| p.trim().trim_start_matches("<p>").trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_lead_keeps_safe_links_only() {
        let l = edited_lead(
            "The <b>FCC</b> said <a href=\"https://fcc.gov/x\" onclick=\"x()\">so</a> & more.\r\n\r\n\
             <script>alert(1)</script><a href=\"javascript:alert(1)\">Second</a> paragraph < here.",
        )
        .unwrap();
        assert_eq!(
            l.html,
            "<p>The FCC said <a href=\"https://fcc.gov/x\" rel=\"noopener\">so</a> &amp; more.</p>\
             <p><a rel=\"noopener\">Second</a> paragraph &lt; here.</p>",
            "the javascript: link loses its href, as in an extracted lead"
        );
        assert_eq!(
            l.text,
            "The FCC said so & more.\n\nSecond paragraph < here."
        );
        assert_eq!(editable(&l.html).lines().count(), 3);
    }

    #[test]
    fn an_empty_or_huge_lead_is_refused() {
        assert_eq!(edited_lead("  <img src=x>  \n\n "), Err(LeadError::Empty));
        assert_eq!(
            edited_lead(&"x".repeat(MAX_LEAD_CHARS + 1)),
            Err(LeadError::TooLong)
        );
    }
}
