//! Words: tokenizing, the light stemmer shared by topic matching and clustering, stopwords.

use std::borrow::Cow;

/// One word of a text, in the forms matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Lowercase, possessive and simple plural removed: `Policies'` → `policy`.
    pub stem: String,
    /// Original case, possessive and a plural `s` after capitals removed: `FCC's` → `FCC`.
    pub exact: String,
}

/// Undoes two common ingest faults before tokenizing, so they do not split words into junk:
/// numeric character references left in the text (`&#x27;`, `&#8217;`) are decoded, and UTF-8
/// text that was decoded as Windows-1252/Latin-1 ("mojibake": `Ã©` for `é`, `Ð¡` for `С`,
/// `â€™` for `’`) is decoded again. Only character runs that form valid UTF-8 this way are
/// changed, so correct Latin-1 text (`café`, `für`) stays as it is. A lead byte left before a
/// space (`Ã ` for `à `, whose second byte, a no-break space, was collapsed into the space) is
/// restored when the text shows other mojibake; a lone `Â` before a space or at the end
/// (a mangled no-break space) becomes a space.
pub fn repair(text: &str) -> Cow<'_, str> {
    if !text.contains("&#") {
        return crate::ingest::mojibake::fix(text, false);
    }
    let text = decode_numeric_references(text);
    crate::ingest::mojibake::fix(&text, false)
        .into_owned()
        .into()
}

/// `&#x27;` → `'`, `&#8217;` → `’`; anything else is left as it is.
fn decode_numeric_references(text: &str) -> String {
    if !text.contains("&#") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(p) = rest.find("&#") {
        out.push_str(&rest[..p]);
        let after = &rest[p + 2..];
        let decoded = after.find(';').filter(|&e| e <= 8).and_then(|e| {
            let body = &after[..e];
            let code = match body.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => body.parse().ok(),
            };
            code.and_then(char::from_u32).map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
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

/// A word without its accents, for comparing names across languages (`Bouaké` → `bouake`).
pub fn fold(word: &str) -> Cow<'_, str> {
    if word.is_ascii() {
        return Cow::Borrowed(word);
    }
    word.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
            'ñ' | 'ń' | 'ň' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => 'u',
            'ý' | 'ÿ' => 'y',
            'š' | 'ś' => 's',
            'ž' | 'ź' | 'ż' => 'z',
            'ł' => 'l',
            'ř' => 'r',
            _ => c,
        })
        .collect::<String>()
        .into()
}

/// The form in which clustering compares a word: its stem without accents (`bouaké` →
/// `bouake`, `président` → `president`), or the digits of a small number written as a word in
/// English, French or German (`five`, `cinq`, `fünf` → `5`).
pub fn term(stem: &str) -> Cow<'_, str> {
    match NUMBER_WORDS.binary_search_by(|(w, _)| w.cmp(&stem)) {
        Ok(k) => Cow::Borrowed(NUMBER_WORDS[k].1),
        Err(_) if stem.contains('\u{2019}') => {
            Cow::Owned(fold(&stem.replace('\u{2019}', "'")).into_owned())
        }
        Err(_) => fold(stem),
    }
}

// Sorted, in stemmed form like the stopwords (`sechs` → `sech`). Only words that name nothing
// else: not `sept` or `neuf` (September, new), not `one`, `un`, `ein` (stopwords or too short).
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("acht", "8"),
    ("cinq", "5"),
    ("deux", "2"),
    ("drei", "3"),
    ("eight", "8"),
    ("eleven", "11"),
    ("five", "5"),
    ("four", "4"),
    ("fünf", "5"),
    ("huit", "8"),
    ("nine", "9"),
    ("quatre", "4"),
    ("sech", "6"),
    ("seven", "7"),
    ("sieben", "7"),
    ("six", "6"),
    ("ten", "10"),
    ("three", "3"),
    ("trois", "3"),
    ("twelve", "12"),
    ("twenty", "20"),
    ("two", "2"),
    ("vier", "4"),
    ("vingt", "20"),
    ("zehn", "10"),
    ("zwanzig", "20"),
    ("zwei", "2"),
];

/// The language a text is most likely written in, from its function words (`en`, `fr`, `de`,
/// `es`, `it`, `nl`, `pt`) or its script (`cyrillic`, `greek`, `cjk`, `arabic`); `None` when
/// nothing tells (a title of names only).
pub fn language<'a>(tokens: impl Iterator<Item = &'a Token>) -> Option<&'static str> {
    let mut scores = [0usize; LANGUAGES.len()];
    let mut scripts = [0usize; 4];
    let mut letters = 0;
    for t in tokens {
        for c in t.stem.chars().filter(|c| c.is_alphabetic()) {
            letters += 1;
            match c as u32 {
                0x0400..=0x04FF => scripts[0] += 1,
                0x0370..=0x03FF => scripts[1] += 1,
                0x3040..=0x30FF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF => scripts[2] += 1,
                0x0600..=0x06FF => scripts[3] += 1,
                _ => {}
            }
        }
        if t.stem.len() > 6 {
            continue;
        }
        if let Ok(k) = FUNCTION_WORDS.binary_search_by(|(w, _)| w.cmp(&t.stem.as_str())) {
            let mask = FUNCTION_WORDS[k].1;
            for (l, score) in scores.iter_mut().enumerate() {
                *score += usize::from(mask & (1 << l) != 0);
            }
        }
    }
    if let Some(k) = (0..4).find(|&k| scripts[k] * 2 > letters) {
        return Some(["cyrillic", "greek", "cjk", "arabic"][k]);
    }
    let best = *scores.iter().max()?;
    let mut winners = (0..scores.len()).filter(|&k| scores[k] == best);
    match (winners.next(), winners.next()) {
        (Some(k), None) if best > 0 => Some(LANGUAGES[k]),
        _ => None,
    }
}

/// The languages [`language`] tells apart by their function words.
const LANGUAGES: [&str; 7] = ["en", "fr", "de", "es", "it", "nl", "pt"];

// Frequent function words that are distinctive for each language, in stemmed form, sorted,
// each with the set of [`LANGUAGES`] it belongs to (bit `k` for `LANGUAGES[k]`).
const FUNCTION_WORDS: &[(&str, u8)] = &[
    ("and", 0b0000001),
    ("are", 0b0000001),
    ("au", 0b0000010),
    ("auf", 0b0000100),
    ("aux", 0b0000010),
    ("avec", 0b0000010),
    ("che", 0b0010000),
    ("com", 0b1000000),
    ("con", 0b0001000),
    ("da", 0b1000000),
    ("dan", 0b0000010),
    ("das", 0b0000100),
    ("del", 0b0001000),
    ("della", 0b0010000),
    ("dem", 0b0000100),
    ("den", 0b0000100),
    ("der", 0b0000100),
    ("des", 0b0000010),
    ("di", 0b0010000),
    ("die", 0b0000100),
    ("do", 0b1000000),
    ("du", 0b0000010),
    ("een", 0b0100000),
    ("ein", 0b0000100),
    ("eine", 0b0000100),
    ("el", 0b0001000),
    ("em", 0b1000000),
    ("es", 0b0001000),
    ("est", 0b0000010),
    ("et", 0b0000010),
    ("for", 0b0000001),
    ("from", 0b0000001),
    ("für", 0b0000100),
    ("gli", 0b0010000),
    ("has", 0b0000001),
    ("het", 0b0100000),
    ("il", 0b0010000),
    ("im", 0b0000100),
    ("is", 0b0000001),
    ("ist", 0b0000100),
    ("las", 0b0001000),
    ("le", 0b0000010),
    ("les", 0b0000010),
    ("los", 0b0001000),
    ("mit", 0b0000100),
    ("nel", 0b0010000),
    ("nicht", 0b0000100),
    ("niet", 0b0100000),
    ("non", 0b0010000),
    ("não", 0b1000000),
    ("o", 0b1000000),
    ("of", 0b0000001),
    ("op", 0b0100000),
    ("os", 0b1000000),
    ("para", 0b0001000),
    ("per", 0b0010000),
    ("por", 0b0001000),
    ("pour", 0b0000010),
    ("qui", 0b0000010),
    ("sich", 0b0000100),
    ("sono", 0b0010000),
    ("sur", 0b0000010),
    ("that", 0b0000001),
    ("the", 0b0000001),
    ("this", 0b0000001),
    ("to", 0b0000001),
    ("uma", 0b1000000),
    ("una", 0b0001000),
    ("und", 0b0000100),
    ("une", 0b0000010),
    ("van", 0b0100000),
    ("von", 0b0000100),
    ("voor", 0b0100000),
    ("was", 0b0000001),
    ("with", 0b0000001),
    ("wordt", 0b0100000),
    ("y", 0b0001000),
    ("zijn", 0b0100000),
    ("zu", 0b0000100),
];

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
    fn number_words_are_sorted_stems() {
        assert!(NUMBER_WORDS.windows(2).all(|w| w[0].0 < w[1].0));
        for (w, _) in NUMBER_WORDS {
            assert_eq!(&stem(w), w, "{w} is not in stemmed form");
        }
    }

    #[test]
    fn stopwords_are_sorted() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(FUNCTION_WORDS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn repairs_mojibake_and_numeric_references() {
        assert_eq!(
            repair("aÃ©roport de Fort Lauderdale"),
            "aéroport de Fort Lauderdale"
        );
        assert_eq!(repair("lâ€™on sait"), "l\u{2019}on sait");
        assert_eq!(repair("Ð¡Ðš Ð²Ð¾Ð·Ð±ÑƒÐ´Ð¸Ð»"), "СК возбудил");
        assert_eq!(
            repair("la fusillade Ã l\u{2019}aÃ©roport"),
            "la fusillade à l\u{2019}aéroport"
        );
        assert_eq!(
            repair("Israel cuts $6 millionÂ in UN funding"),
            "Israel cuts $6 million  in UN funding"
        );
        assert_eq!(
            repair("Santiago-Ruiz&#x27;s aunt &#8217; &#zz; &#"),
            "Santiago-Ruiz's aunt \u{2019} &#zz; &#"
        );
        // Correct text is left alone.
        for s in ["café für Ärger", "SÃO PAULO", "naïve Ã la", "Côte d’Ivoire"] {
            assert_eq!(repair(s), s);
        }
    }

    #[test]
    fn detects_languages_and_folds_accents() {
        let lang = |s: &str| language(tokenize(s).iter());
        assert_eq!(lang("The report says Russia plans to do more"), Some("en"));
        assert_eq!(lang("Le rapport des agences de renseignement"), Some("fr"));
        assert_eq!(
            lang("Täter von Fort Lauderdale checkte Waffe legal ein"),
            Some("de")
        );
        assert_eq!(lang("Пожар в гостинице"), Some("cyrillic"));
        assert_eq!(lang("Fort Lauderdale"), None);
        assert_eq!(fold("bouaké"), "bouake");
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
