//! The shape of a paragraph, in any language that writes with spaces and
//! sentence punctuation: whether it is a credit line, an aside in brackets,
//! or short enough to be an image's caption. No vocabulary: only length,
//! punctuation, capitals and brackets.

/// Sentence-final punctuation of many scripts: Latin, CJK, Arabic and Urdu
/// (۔ ؟), Devanagari (। ॥), Greek (;), Armenian (։), Ethiopic (።).
fn is_final(c: char) -> bool {
    matches!(
        c,
        '.' | '!'
            | '?'
            | '…'
            | '。'
            | '！'
            | '？'
            | '｡'
            | '۔'
            | '؟'
            | '।'
            | '॥'
            | '\u{37e}'
            | '։'
            | '።'
    )
}

/// True when the text ends a sentence (closing quotes and brackets aside); a
/// colon counts when `colon_counts`.
pub fn ends_sentence(s: &str, colon_counts: bool) -> bool {
    let last = s
        .trim_end()
        .trim_end_matches(['”', '"', '’', '\'', ')', ']', '」', '』', '»', '）'])
        .chars()
        .last();
    match last {
        Some(c) if is_final(c) => true,
        Some(':' | '：') => colon_counts,
        _ => false,
    }
}

/// Sentences in a text: runs ended by sentence punctuation followed by a
/// space (or the end). Initials such as "J." and numbers do not end one.
pub fn sentences(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut n = 0;
    let mut since = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        since += 1;
        let end = match c {
            '。' | '！' | '？' | '｡' | '۔' | '؟' | '।' | '॥' | '։' | '።' => true,
            '.' | '!' | '?' | '…' | '\u{37e}' => {
                let next = chars.get(i + 1).copied();
                let closer = next.is_some_and(|n| matches!(n, '"' | '\'' | '”' | '’' | ')' | '»'));
                let after = if closer {
                    chars.get(i + 2).copied()
                } else {
                    next
                };
                let word_len = chars[..i]
                    .iter()
                    .rev()
                    .take_while(|c| c.is_alphanumeric())
                    .count();
                after.is_none_or(char::is_whitespace) && !(c == '.' && word_len == 1)
            }
            _ => false,
        };
        if end && since > 3 {
            n += 1;
            since = 0;
        }
    }
    n + usize::from(
        since > 3
            && chars[chars.len().saturating_sub(since)..]
                .iter()
                .any(|c| c.is_alphanumeric()),
    )
}

/// A short paragraph wholly inside one pair of brackets: "[Photo courtesy of
/// …]", "(Acme Photo)", "【广告】…】".
pub fn is_bracketed(text: &str) -> bool {
    let t = text.trim().trim_end_matches(['.', '。']);
    let (Some(first), Some(last)) = (t.chars().next(), t.chars().last()) else {
        return false;
    };
    let closer = match first {
        '(' => ')',
        '[' => ']',
        '【' => '】',
        '〔' => '〕',
        '（' => '）',
        _ => return false,
    };
    if last != closer || t.chars().count() > 250 {
        return false;
    }
    // The opening bracket closes only at the end.
    let mut depth = 0i32;
    let n = t.chars().count();
    for (i, c) in t.chars().enumerate() {
        if c == first {
            depth += 1;
        } else if c == closer {
            depth -= 1;
            if depth == 0 && i + 1 < n {
                return false;
            }
        }
    }
    true
}

/// Text short and plain enough to be an image's caption: no sentence end,
/// set in italics, or at most two sentences under 250 characters.
pub fn caption_like(text: &str, emph_share: f64) -> bool {
    !ends_sentence(text, true)
        || emph_share >= 0.9
        || (sentences(text) <= 2 && text.chars().count() < 250)
}

/// The shape of a credit line: short, no sentence end, and either a label
/// and a name ("Source: Supplied", "Foto: Jan Novák"), names joined by a slash
/// ("Lucas Jackson/Reuters"), a copyright sign, or only capitalised words.
pub fn is_credit(text: &str) -> bool {
    let t = text.trim();
    if t.split_whitespace().count() > 12 || t.chars().count() > 100 {
        return false;
    }
    if t.ends_with([':', '：', ',']) {
        return false;
    }
    // A credit may end in a full stop ("Foto: Jan Novák."); a sentence of names may not.
    let stop = ends_sentence(t, false);
    if stop && !t.ends_with('.') {
        return false;
    }
    let t = t.trim_end_matches('.');
    let words: Vec<&str> = t.split_whitespace().collect();
    if words.is_empty() {
        return false;
    }
    if t.starts_with('©') || t.to_lowercase().starts_with("(c)") {
        return true;
    }
    let named = |ws: &[&str]| !ws.is_empty() && ws.iter().all(|w| is_name_word(w));
    if let Some(colon) = words.iter().position(|w| w.ends_with(':')) {
        // "Source: Supplied", "Foto: divulgação": a label, then names or a few words.
        let value = &words[colon + 1..];
        if colon < 2 && !value.is_empty() && (named(value) || (!stop && value.len() <= 3)) {
            return true;
        }
    }
    let slashed = words
        .iter()
        .any(|w| !w.contains("://") && w.contains('/') && !w.starts_with('/') && !w.ends_with('/'))
        || words.contains(&"/");
    if slashed && !t.contains("://") && words.len() <= 10 {
        let parts: Vec<&str> = words
            .iter()
            .flat_map(|w| w.split('/'))
            .filter(|w| !w.is_empty())
            .collect();
        let capital = parts.iter().filter(|w| is_name_word(w)).count();
        // Without a full stop a slash line is a credit ("imagem ilustrativa /
        // assessoria de imprensa"); with one, it must read as names (two
        // words in three capitalised).
        if !stop || capital * 3 >= parts.len() * 2 {
            return true;
        }
    }
    !stop && words.len() <= 5 && words.len() >= 2 && named(&words)
}

/// A word that can be part of a name: starts with a capital letter, is a
/// short connecting word between capitals ("of", "de", "van", "&"), or is
/// written in a script without capitals.
fn is_name_word(w: &str) -> bool {
    let w = w.trim_matches(|c: char| !c.is_alphanumeric());
    match w.chars().next() {
        None => true,
        Some(c) if c.is_uppercase() => true,
        Some(c) if c.is_lowercase() => w.chars().count() <= 3,
        Some(c) => c.is_alphabetic(),
    }
}

/// Text that ends in a bracketed credit: "… on Monday. (Jane Roe/Agency)",
/// "…。（新华社记者 李明 摄）".
pub fn has_credit_tail(text: &str) -> bool {
    let t = text.trim_end();
    let (open, close) = match t.chars().last() {
        Some(')') => ('(', ')'),
        Some('）') => ('（', '）'),
        Some(']') => ('[', ']'),
        _ => return false,
    };
    let Some(start) = t.rfind(open) else {
        return false;
    };
    let inner = &t[start + open.len_utf8()..t.len() - close.len_utf8()];
    let words: Vec<&str> = inner.split_whitespace().collect();
    if start == 0 || inner.chars().count() > 60 || words.is_empty() || ends_sentence(inner, false) {
        return false;
    }
    is_credit(inner) || (words.len() <= 5 && words.iter().all(|w| is_name_word(w)))
}

/// Strict caption shape, for text that follows an image from outside its
/// box: no sentence end, set in italics, or ending in a bracketed credit.
pub fn caption_strict(text: &str, emph_share: f64) -> bool {
    (!ends_sentence(text, true) && text.chars().count() < 200)
        || (emph_share >= 0.9 && text.chars().count() < 300)
        || has_credit_tail(text)
}

/// A line that is only a web address.
pub fn is_bare_url(text: &str) -> bool {
    let t = text.trim();
    !t.contains(' ')
        && (t.starts_with("http://") || t.starts_with("https://") || t.starts_with("www."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_in_several_languages() {
        for credit in [
            "Source: Supplied",
            "Foto: Jan Novák",
            "Lucas Jackson/Reuters",
            "Imagem meramente ilustrativa / Assessoria de Imprensa",
            "© Provided by Business Insider Inc",
            "Photo by Chris Welch / The Verge",
            "Bild: Deutsche Presse-Agentur",
        ] {
            assert!(is_credit(credit), "{credit}");
        }
        assert!(is_credit("Foto: Divulgação/Assessoria de Imprensa."));
        assert!(is_credit(
            "imagem meramente ilustrativa / assessoria de imprensa"
        ));
        assert!(is_credit("图/新华社"));
        assert!(is_credit("Foto: divulgação"));
        for not in [
            "The event runs Friday/Saturday in the park.",
            "The minister spoke on Monday.",
            "Die Regierung hat am Montag ein neues Gesetz vorgestellt.",
            "Eric Newcomer, Bloomberg:",
            "Greetings Adventurers!",
            "This week on the show we talk about tests and speed",
        ] {
            assert!(!is_credit(not), "{not}");
        }
    }

    #[test]
    fn credit_tails() {
        assert!(has_credit_tail(
            "Rescue teams search the river on Monday. (Jane Roe/Agency)"
        ));
        assert!(has_credit_tail(
            "图为2017年1月5日，救援人员在河边搜索。（新华社记者 李明 摄）"
        ));
        assert!(has_credit_tail(
            "Bombeiros no local do acidente. (Foto: Divulgação)"
        ));
        assert!(!has_credit_tail(
            "The company said it would appeal (again)."
        ));
        assert!(!has_credit_tail(
            "Shares rose 3 percent on Monday (the most in a year)"
        ));
    }

    #[test]
    fn sentence_ends_in_several_scripts() {
        assert!(ends_sentence("یہ ایک جملہ ہے۔", false));
        assert!(ends_sentence("Τι ώρα είναι\u{37e}", false));
        assert!(ends_sentence("यह एक वाक्य है।", false));
        assert!(!ends_sentence("No end here", false));
    }

    #[test]
    fn brackets() {
        assert!(is_bracketed("[Photo courtesy of P. Kafasis]"));
        assert!(is_bracketed("(Huawei Photo)"));
        assert!(is_bracketed("【图片来源：新华社】"));
        assert!(!is_bracketed(
            "(Reuters) - The company said it would appeal (again)."
        ));
        assert!(!is_bracketed(
            "[엔터미디어=기자] 주말 밤 9시 두 방송사는 드라마의 대결로 붙는다."
        ));
    }

    #[test]
    fn counts_sentences() {
        assert_eq!(sentences("One here. Two here! Three?"), 3);
        assert_eq!(
            sentences("Mr. J. Smith went to Washington D.C. on Monday."),
            1
        );
        assert_eq!(sentences("今日は晴れです。明日は雨です。"), 2);
        assert_eq!(sentences("No end at all"), 1);
    }
}
