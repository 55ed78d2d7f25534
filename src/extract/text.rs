//! Plain-text helpers shared by the extractor: whitespace collapsing, the
//! prose rule a lead paragraph must pass, and token normalisation for matching.

/// Collapses every run of whitespace (including NBSP and zero-width spaces)
/// to one space, drops other control characters and trims both ends.
pub fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending = false;
    let mut rest = s;
    while !rest.is_empty() {
        // A run of ASCII that is not whitespace is copied as it is (most text is such runs).
        let run = rest
            .bytes()
            .take_while(|b| b.is_ascii() && !is_ascii_space(*b) && !b.is_ascii_control())
            .count();
        if run > 0 {
            if pending {
                out.push(' ');
                pending = false;
            }
            out.push_str(&rest[..run]);
            rest = &rest[run..];
            continue;
        }
        let c = rest.chars().next().expect("not empty");
        if c.is_whitespace() || is_invisible(c) {
            pending = !out.is_empty();
        } else if c.is_control() {
            // Terminal escapes and C1 codes: never text a reader should see.
        } else {
            if pending {
                out.push(' ');
                pending = false;
            }
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The ASCII characters `char::is_whitespace` accepts.
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}'
    )
}

/// True when the text shouts: at least three cased letters, they make up at
/// least half of the letters, and none is lowercase.
pub fn is_all_caps(s: &str) -> bool {
    let (mut letters, mut cased, mut lower) = (0usize, 0usize, false);
    for c in s.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if c.is_lowercase() {
            cased += 1;
            lower = true;
        } else if c.is_uppercase() {
            cased += 1;
        }
    }
    cased >= 3 && cased * 2 >= letters && !lower
}

const CLOSERS: &[char] = &['”', '"', '’', '\'', ')', ']', '」', '』'];

/// Strips closing quotes and brackets, then returns the last character.
fn last_meaningful(s: &str) -> Option<char> {
    s.trim_end_matches(CLOSERS).chars().last()
}

/// True when the text ends with sentence punctuation (closing quotes and
/// brackets aside); a colon counts when `colon_counts`.
pub fn ends_sentence(s: &str, colon_counts: bool) -> bool {
    match last_meaningful(s) {
        Some('.' | '!' | '?' | '…' | '。' | '！' | '？') => true,
        Some(':' | '：') => colon_counts,
        _ => false,
    }
}

/// The prose rule: a line is lead-worthy when it is not ALL-CAPS and is long
/// (>= 100 chars), or medium (40-99) ending in sentence punctuation, or short
/// but a full sentence of at least four words (or one long CJK run).
pub fn is_prose(line: &str) -> bool {
    if line.is_empty() || is_all_caps(line) {
        return false;
    }
    let n = line.chars().count();
    if n >= 100 {
        return true;
    }
    if n >= 40 {
        return ends_sentence(line, true);
    }
    if !ends_sentence(line, false) {
        return false;
    }
    let words = line.split(' ').count();
    words >= 4 || (words == 1 && n >= 15)
}

/// Lowercased alphanumeric tokens joined by one space, for fuzzy containment
/// checks between page text and metadata (JSON-LD articleBody, titles).
pub fn norm_tokens(s: &str) -> String {
    norm_tokens_upto(s, usize::MAX)
}

/// [`norm_tokens`] of the first `words` tokens only: the rest of the text is not read.
pub fn norm_tokens_upto(s: &str, words: usize) -> String {
    let mut out = String::with_capacity(s.len().min(words.saturating_mul(16)));
    let mut gap = false;
    let mut started = 0;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric()) {
            if gap || out.is_empty() {
                if started == words {
                    break;
                }
                started += 1;
                if !out.is_empty() {
                    out.push(' ');
                }
            }
            gap = false;
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        } else {
            gap = true;
        }
    }
    out
}

/// Bag-of-tokens F1 between two texts (tokens as in [`norm_tokens`]).
pub fn token_f1(a: &str, b: &str) -> f64 {
    use std::collections::HashMap;
    let (na, nb) = (norm_tokens(a), norm_tokens(b));
    let mut bag: HashMap<&str, i32> = HashMap::new();
    let mut len_a = 0usize;
    for t in na.split(' ').filter(|t| !t.is_empty()) {
        *bag.entry(t).or_default() += 1;
        len_a += 1;
    }
    let (mut common, mut len_b) = (0usize, 0usize);
    for t in nb.split(' ').filter(|t| !t.is_empty()) {
        len_b += 1;
        if let Some(c) = bag.get_mut(t) {
            if *c > 0 {
                *c -= 1;
                common += 1;
            }
        }
    }
    if common == 0 {
        return 0.0;
    }
    let (p, r) = (common as f64 / len_b as f64, common as f64 / len_a as f64);
    2.0 * p * r / (p + r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_nbsp_and_newlines() {
        assert_eq!(collapse_ws("  a\u{a0}\n b\t"), "a b");
        for text in [
            "",
            "  ",
            "Fünf Tote, im Flughafen: STRASSE 12!",
            "一二三 四",
            "a b c d e f g h i j",
        ] {
            for n in 0..12 {
                let full = norm_tokens(text);
                let want: Vec<&str> = full.split(' ').filter(|w| !w.is_empty()).take(n).collect();
                assert_eq!(norm_tokens_upto(text, n), want.join(" "), "{text:?} {n}");
            }
        }
        assert_eq!(
            collapse_ws("\u{200b}Fünf  Tote\u{b}im\r\nFlughafen \u{3000}x "),
            "Fünf Tote im Flughafen x"
        );
    }

    #[test]
    fn prose_rule_matches_shared_rule() {
        assert!(is_prose("He went home today."));
        assert!(!is_prose("He went home."));
        assert!(!is_prose("By Jane Doe"));
        assert!(!is_prose("WASHINGTON —"));
        assert!(!is_prose(
            "THIS IS A SHOUTED HEADLINE THAT GOES ON FOR A WHILE."
        ));
        assert!(is_prose("東京で新しい店が開店しました。"));
        assert!(is_prose(
            "Here is a medium length line that ends with a colon:"
        ));
        assert!(!is_prose("Short line ending with colon:"));
    }

    #[test]
    fn f1_ignores_case_and_punctuation() {
        assert!((token_f1("Hello, World!", "hello world") - 1.0).abs() < 1e-9);
        assert_eq!(token_f1("", "x"), 0.0);
    }
}
