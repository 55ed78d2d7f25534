//! Words: tokenizing, the light stemmer shared by topic matching and clustering, stopwords.

/// One word of a text, in the forms matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Lowercase, possessive and simple plural removed: `Policies'` → `policy`.
    pub stem: String,
    /// Original case, possessive and a plural `s` after capitals removed: `FCC's` → `FCC`.
    pub exact: String,
}

/// Splits `text` into word tokens: runs of letters and digits, apostrophes kept inside words
/// so possessives can be removed, everything else a separator.
pub fn tokenize(text: &str) -> Vec<Token> {
    words(text)
        .map(token)
        .filter(|t| !t.stem.is_empty())
        .collect()
}

/// The raw words of `text`, before stemming.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || is_apostrophe(c)))
        .map(|w| w.trim_matches(is_apostrophe))
        .filter(|w| !w.is_empty())
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// Builds the token for one raw word.
pub fn token(word: &str) -> Token {
    let bare = strip_possessive(word);
    let exact = strip_caps_plural(bare).to_string();
    Token {
        stem: stem(&bare.to_lowercase()),
        exact,
    }
}

fn strip_possessive(word: &str) -> &str {
    for suffix in ["'s", "\u{2019}s", "'S", "\u{2019}S"] {
        if let Some(base) = word.strip_suffix(suffix) {
            return base;
        }
    }
    word.trim_end_matches(is_apostrophe)
}

/// `FCCs` → `FCC`: a lowercase `s` after two or more capitals is a plural of an acronym.
fn strip_caps_plural(word: &str) -> &str {
    match word.strip_suffix('s') {
        Some(base) if base.chars().count() >= 2 && is_all_caps(base) => base,
        _ => word,
    }
}

/// True when `word` has letters and every letter is uppercase (`FCC`, `CHIPS`, `5G`-style mixes).
pub fn is_all_caps(word: &str) -> bool {
    word.chars().any(char::is_alphabetic) && !word.chars().any(char::is_lowercase)
}

/// A light English stemmer for simple plurals: `policies` → `policy`, `taxes` → `tax`,
/// `tariffs` → `tariff`; leaves `news`, `status`, `analysis`, `press` alone.
pub fn stem(lower: &str) -> String {
    let n = lower.chars().count();
    if n <= 3 || !lower.ends_with('s') {
        return lower.to_string();
    }
    if let Some(base) = lower.strip_suffix("ies") {
        return format!("{base}y");
    }
    for keep in ["ss", "us", "is", "ws", "ics"] {
        if lower.ends_with(keep) {
            return lower.to_string();
        }
    }
    for es in ["sses", "xes", "ches", "shes", "zzes"] {
        if lower.ends_with(es) {
            return lower[..lower.len() - 2].to_string();
        }
    }
    lower[..lower.len() - 1].to_string()
}

/// Function words that say nothing about which event a story reports.
pub fn is_stopword(stem: &str) -> bool {
    STOPWORDS.binary_search(&stem).is_ok()
}

// Sorted, in stemmed form (`this` → `thi`, `does` → `doe`; words of 3 letters are kept whole).
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "against", "all", "also", "an", "and", "any", "are", "as",
    "at", "be", "been", "before", "being", "between", "both", "but", "by", "can", "could", "day",
    "de", "der", "des", "did", "die", "do", "doe", "du", "during", "each", "en", "et", "for",
    "from", "had", "has", "have", "he", "her", "here", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "la", "le", "les", "like", "mai", "may", "more", "most",
    "new", "not", "now", "of", "on", "one", "only", "or", "other", "our", "out", "over", "own",
    "s", "said", "say", "she", "should", "so", "some", "such", "than", "that", "the", "their",
    "them", "then", "there", "these", "they", "thi", "this", "those", "through", "to", "und",
    "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while",
    "who", "why", "will", "with", "would", "year", "you", "your",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_are_sorted() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn plurals_and_possessives() {
        assert_eq!(token("Policies").stem, "policy");
        assert_eq!(token("tariffs").stem, "tariff");
        assert_eq!(token("taxes").stem, "tax");
        assert_eq!(token("Huawei's").stem, "huawei");
        assert_eq!(token("FCC\u{2019}s").exact, "FCC");
        assert_eq!(token("FCCs").exact, "FCC");
        assert_eq!(token("news").stem, "news");
        assert_eq!(token("status").stem, "status");
    }
}
