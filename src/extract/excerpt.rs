//! The digest's cut: whole sentences up to a word budget, "…" only when
//! something was cut. Abbreviations and initials never end a sentence.

use super::text::collapse_ws;

/// Words that end with a period without ending the sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "inc", "ltd", "co", "corp",
    "llc", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "gov", "sen", "rep", "gen", "col", "lt", "sgt", "capt", "cmdr", "adm", "rev", "hon", "pres",
    "vs", "etc", "no", "nos", "vol", "fig", "approx", "est", "dept", "univ", "ave", "blvd", "rd",
    "e.g", "i.e", "a.m", "p.m", "u.s", "u.k", "u.n", "d.c", "mass", "calif", "fla", "ill", "wash",
];

/// A word-budget's characters per word: generous for any language; scripts written without
/// spaces (Chinese, Japanese) count a run of characters as one word.
const MAX_CHARS_PER_WORD: usize = 25;

/// Cuts `text` at a sentence boundary to at most `max_words` words, and at most
/// [`MAX_CHARS_PER_WORD`] characters per word of the budget.
pub fn excerpt(text: &str, max_words: usize) -> String {
    let text = collapse_ws(text);
    // Words longer than any language's (a run of letters with no space): cut by characters.
    let max_chars = max_words.max(1) * MAX_CHARS_PER_WORD;
    if text.chars().count() > max_chars {
        let cut = excerpt(&crate::model::clip(&text, max_chars), max_words);
        return match cut.ends_with('…') {
            true => cut,
            false => format!("{cut}…"),
        };
    }
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    if words.len() <= max_words {
        return text;
    }
    let keep = sentence_cut(&words, max_words);
    if keep > 0 {
        return format!("{} …", words[..keep].join(" "));
    }
    let cut = words[..max_words.max(1)].join(" ");
    let cut = cut.trim_end_matches([',', ';', ':', '-', '–', '—']);
    format!("{cut}…")
}

/// Number of words in the longest run of whole sentences within the budget.
fn sentence_cut(words: &[&str], max_words: usize) -> usize {
    let mut best = 0;
    for i in 0..max_words.min(words.len()) {
        if ends_sentence(words[i], words.get(i + 1).copied()) {
            best = i + 1;
        }
    }
    best
}

/// True when `word` closes a sentence, judging by the word that follows.
fn ends_sentence(word: &str, next: Option<&str>) -> bool {
    let core = word.trim_end_matches(['"', '\'', '”', '’', ')', ']', '»']);
    let Some(last) = core.chars().last() else {
        return false;
    };
    if matches!(last, '。' | '！' | '？') {
        return true;
    }
    if !matches!(last, '.' | '!' | '?' | '…') {
        return false;
    }
    if last == '.' && is_abbreviation(core) {
        return false;
    }
    next.is_none_or(starts_sentence)
}

fn is_abbreviation(word: &str) -> bool {
    let stem = word
        .trim_end_matches('.')
        .trim_start_matches(['(', '"', '“', '\'']);
    let lower = stem.to_lowercase();
    if ABBREVIATIONS.contains(&lower.as_str()) {
        return true;
    }
    // Initials and dotted acronyms: "J.", "U.S.", "D.C."
    let letters: Vec<&str> = stem.split('.').collect();
    letters
        .iter()
        .all(|part| part.chars().count() == 1 && part.chars().all(char::is_alphabetic))
}

fn starts_sentence(next: &str) -> bool {
    let first = next
        .trim_start_matches(['"', '\'', '“', '‘', '(', '[', '«', '¿', '¡'])
        .chars()
        .next();
    first.is_some_and(|c| !c.is_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_longer_than_any_language_has_is_cut_by_characters() {
        let t = format!("Start {} end of the lead paragraph.", "A".repeat(200_000));
        let cut = excerpt(&t, 80);
        assert!(
            cut.chars().count() <= 80 * MAX_CHARS_PER_WORD + 1,
            "{}",
            cut.len()
        );
        assert!(cut.starts_with("Start AAA") && cut.ends_with('…'));
        // A lead without spaces (Chinese) within the budget is kept whole.
        let zh = "中国商务部周五宣布对部分芯片实施出口管制。".repeat(10);
        assert_eq!(excerpt(&zh, 80), zh);
    }

    #[test]
    fn short_text_is_untouched() {
        assert_eq!(excerpt("One sentence only.", 80), "One sentence only.");
        assert_eq!(excerpt("  spaced\n out  ", 80), "spaced out");
    }

    #[test]
    fn cuts_at_sentence_with_ellipsis() {
        let t = "First one here. Second one is longer than that. Third.";
        assert_eq!(excerpt(t, 5), "First one here. …");
    }

    #[test]
    fn abbreviations_do_not_end_sentences() {
        let t = "The U.S. Dept. said Dr. Smith of Acme Inc. met Mr. Jones on Jan. 5 in St. Louis. Then more words follow here.";
        let out = excerpt(t, 18);
        assert_eq!(
            out,
            "The U.S. Dept. said Dr. Smith of Acme Inc. met Mr. Jones on Jan. 5 in St. Louis. …"
        );
        let eg = "Fruit, e.g. Apples are fine. More text follows after it.";
        assert_eq!(excerpt(eg, 6), "Fruit, e.g. Apples are fine. …");
    }

    #[test]
    fn long_first_sentence_cuts_at_word() {
        let t = "one two three four five six seven eight nine ten.";
        assert_eq!(excerpt(t, 4), "one two three four…");
    }

    #[test]
    fn cjk_sentences() {
        let t = "今日は晴れです。 明日は雨です。 明後日は雪です。";
        assert_eq!(excerpt(t, 2), "今日は晴れです。 明日は雨です。 …");
    }
}
