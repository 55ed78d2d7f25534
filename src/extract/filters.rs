//! Text-level tests for paragraphs that look like prose but are not a lead:
//! photo captions and credits, bylines, "Updated" stamps, reader prompts
//! (newsletter, related links, social), cookie and copyright notices.
//! Structure catches most of these first (see `marks`); these patterns are
//! the second line for pages and fragments whose markup says nothing.

use std::sync::OnceLock;

use regex::Regex;

/// Why a paragraph was refused as a lead (for debugging and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Photo caption or credit.
    Caption,
    /// Byline, dateline or "Updated …" stamp.
    Byline,
    /// Reader prompt: subscribe, related, read more, follow, share, jobs.
    Prompt,
    /// Cookie, copyright or affiliate notice.
    Notice,
}

struct Patterns {
    caption_start: Regex,
    caption_end: Regex,
    caption_any: Regex,
    byline: Regex,
    stamp: Regex,
    prompt_start: Regex,
    prompt_any: Regex,
    notice: Regex,
}

/// The patterns that scan whole paragraphs use ASCII word boundaries, `(?-u:\b)`, around their
/// ASCII words: a Unicode `\b` makes the regex engine leave its fast DFA at the first non-ASCII
/// character (curly quotes are everywhere) for the slow PikeVM, a twentieth of all fetch CPU.
fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        caption_start: re(r"(?i)^\(?(photo|photograph|image|picture|pictured|credit|foto|bild|video|illustration)s?\b\s*(:|/|\||©|by\b)"),
        caption_end: re(r"(?i)[(\[][^()\[\]]{0,80}(?-u:\b)(photo|photos|foto|image|images|getty|credit|shutterstock|file|illustration|screenshot|courtesy|picture|pictures)(?-u:\b)[^()\[\]]{0,80}[)\]]\W*$"),
        caption_any: re(r"(?i)(?-u:\b)(getty images|shutterstock|ap photo|afp photo|afp via getty|file photo|photo credit|image credit|pictured above|seen in this)(?-u:\b)|^in this(?-u:\b).{0,120}(?-u:\b)(photo|image|picture)(?-u:\b)|(?-u:\b)photo\s*:"),
        byline: re(r"^(?:[Bb]y|BY|[Vv]on|[Pp]or|[Pp]ar)\s+\p{Lu}"),
        stamp: re(r"(?i)^(last\s+)?(updated|published|posted|modified|aktualisiert|atualizado|actualizado|mis à jour|pubblicato|publicado|publié)\b"),
        prompt_start: re(r"(?i)^(related|read more|see also|also read|read also|recommended|advertisement|sponsored|continue reading|read next|click here|watch|listen|video|photos|gallery|more)\s*[:|»›>\-–—]"),
        prompt_any: re(r"(?i)(?-u:\b)(subscribe|sign up|signup|like what you'?re reading|newsletters?(?-u:\b).{0,40}(?-u:\b)(free|inbox|daily|weekly)|follow (us|him|her|me) on|share (this|on)|job listings|find more jobs|post a job|download (our|the) app|read the full (story|article))"),
        notice: re(r"(?i)(?-u:\b)(we use cookies|use of cookies|cookie policy|accept cookies|uses cookies|all rights reserved|copyright|affiliate (links|partnerships|commission)|may earn (a )?commission|privacy policy|terms of (use|service))(?-u:\b)|©|^this (article|story|post) (has been|was|is) (adapted|republished|originally)"),
    })
}

fn re(s: &str) -> Regex {
    Regex::new(s).expect("static regex")
}

/// Checks a whitespace-collapsed paragraph; `None` when it may be a lead.
pub fn refuse(text: &str) -> Option<Refusal> {
    let p = patterns();
    let n = text.chars().count();
    let short = n < 300;
    if short && (p.caption_start.is_match(text) || p.caption_end.is_match(text)) {
        return Some(Refusal::Caption);
    }
    if short && p.caption_any.is_match(text) {
        return Some(Refusal::Caption);
    }
    if n < 150 && (p.byline.is_match(text) || p.stamp.is_match(text)) {
        return Some(Refusal::Byline);
    }
    if n < 250 && (p.prompt_start.is_match(text) || p.prompt_any.is_match(text)) {
        return Some(Refusal::Prompt);
    }
    if short && p.notice.is_match(text) {
        return Some(Refusal::Notice);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_and_credits() {
        assert_eq!(refuse("(Huawei Photo)"), Some(Refusal::Caption));
        assert_eq!(refuse("Photo: Reuters"), Some(Refusal::Caption));
        assert_eq!(
            refuse("The minister speaks in Paris. (AP Photo/Jane Roe)"),
            Some(Refusal::Caption)
        );
        assert_eq!(
            refuse("Protesters gather outside. Getty Images"),
            Some(Refusal::Caption)
        );
    }

    #[test]
    fn bylines_stamps_prompts() {
        assert_eq!(
            refuse("By Jane Doe and John Roe on Monday, Nov. 18, 2019 at 11 a.m."),
            Some(Refusal::Byline)
        );
        assert_eq!(refuse("Updated at 1:23 p.m."), Some(Refusal::Byline));
        assert_eq!(
            refuse("Like what you're reading? Subscribe to our free newsletters."),
            Some(Refusal::Prompt)
        );
        assert_eq!(
            refuse("Related: Ten things to know about rockets"),
            Some(Refusal::Prompt)
        );
        assert_eq!(refuse("Job Listings on GeekWork"), Some(Refusal::Prompt));
        assert_eq!(
            refuse("We use cookies to improve your experience."),
            Some(Refusal::Notice)
        );
    }

    #[test]
    fn real_leads_pass() {
        assert_eq!(refuse("(Reuters) - The attorney general is investigating the company, people familiar said."), None);
        assert_eq!(
            refuse("By the time the rescue team arrived, the river had risen two metres."),
            None
        );
        assert_eq!(
            refuse("More than a third of the staff will receive notice this week."),
            None
        );
        assert_eq!(
            refuse("Die Regierung hat am Montag ein neues Gesetz vorgestellt."),
            None
        );
    }
}
