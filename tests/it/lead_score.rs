//! Scoring of picked leads as `../shared/tools/lead_eval.py` scores them: token F1 against the
//! true lead (lowercase word tokens, each CJK character a token), a hit at F1 >= 0.8, and a
//! forbidden pick when a forbidden string's words appear in the pick.
#![allow(dead_code)]

use std::collections::HashMap;

/// A pick is a hit at this token F1 or more.
pub const HIT_F1: f64 = 0.8;

fn is_cjk(c: char) -> bool {
    let o = c as u32;
    (0x4E00..=0x9FFF).contains(&o)
        || (0x3400..=0x4DBF).contains(&o)
        || (0xF900..=0xFAFF).contains(&o)
        || (0x20000..=0x2FA1F).contains(&o)
        || (0x3040..=0x30FF).contains(&o)
        || (0x31F0..=0x31FF).contains(&o)
}

/// Lowercase word tokens; each CJK character is a token of its own.
pub fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            word.push(c);
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Bag-of-tokens F1 of a pick against the true lead.
pub fn f1(pred: &str, gold: &str) -> f64 {
    let (p, g) = (tokens(pred), tokens(gold));
    if p.is_empty() || g.is_empty() {
        return 0.0;
    }
    let mut bag: HashMap<&str, i32> = HashMap::new();
    for t in &g {
        *bag.entry(t).or_default() += 1;
    }
    let mut common = 0;
    for t in &p {
        if let Some(c) = bag.get_mut(t.as_str()) {
            if *c > 0 {
                *c -= 1;
                common += 1;
            }
        }
    }
    if common == 0 {
        return 0.0;
    }
    let (pr, rc) = (
        common as f64 / p.len() as f64,
        common as f64 / g.len() as f64,
    );
    2.0 * pr * rc / (pr + rc)
}

fn joined(s: &str) -> String {
    format!(" {} ", tokens(s).join(" "))
}

/// True when the words of `forbidden` appear, in order, in `text`.
pub fn contains_words(text: &str, forbidden: &str) -> bool {
    let f = joined(forbidden);
    !f.trim().is_empty() && joined(text).contains(&f)
}

/// Hits, misses and forbidden picks of one set.
#[derive(Debug, Default)]
pub struct Tally {
    pub name: String,
    pub n: usize,
    pub hits: usize,
    pub misses: Vec<String>,
    pub forbidden: Vec<String>,
}

impl Tally {
    pub fn new(name: &str) -> Tally {
        Tally {
            name: name.to_string(),
            ..Tally::default()
        }
    }

    /// Scores one pick. Forbidden strings that the true lead itself contains are not checked:
    /// the words of a heading that the lead repeats ("Heartbeats") would flag the right pick.
    pub fn add(&mut self, id: &str, pred: &str, gold: &str, forbidden: &[String]) {
        self.n += 1;
        let f = f1(pred, gold);
        if f >= HIT_F1 {
            self.hits += 1;
        } else {
            self.misses
                .push(format!("{id} (F1 {f:.2}): {}", short(pred)));
        }
        for bad in forbidden {
            if !contains_words(gold, bad) && contains_words(pred, bad) {
                self.forbidden
                    .push(format!("{id}: {bad:?} in {}", short(pred)));
            }
        }
    }

    pub fn rate(&self) -> f64 {
        self.hits as f64 / self.n.max(1) as f64
    }

    /// Prints the figures and the misses (visible with `--nocapture`).
    pub fn report(&self) {
        eprintln!(
            "{}: hit rate {:.3} ({}/{}), forbidden picks {}",
            self.name,
            self.rate(),
            self.hits,
            self.n,
            self.forbidden.len()
        );
        for m in &self.misses {
            eprintln!("  miss {m}");
        }
        for f in &self.forbidden {
            eprintln!("  FORBIDDEN {f}");
        }
    }

    /// Fails below `floor` or on any forbidden pick.
    pub fn assert(&self, floor: f64) {
        self.report();
        assert!(self.n > 0, "{}: nothing scored", self.name);
        assert!(
            self.forbidden.is_empty(),
            "{}: forbidden picks: {:#?}",
            self.name,
            self.forbidden
        );
        assert!(
            self.rate() >= floor,
            "{}: hit rate {:.3} < {floor}; misses: {:#?}",
            self.name,
            self.rate(),
            self.misses
        );
    }
}

fn short(s: &str) -> String {
    let t: String = s.chars().take(100).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

#[test]
fn scoring_matches_the_shared_scorer() {
    assert_eq!(tokens("Hello, World! 東京"), ["hello", "world", "東", "京"]);
    assert!((f1("a b c d", "a b c d") - 1.0).abs() < 1e-9);
    assert!(f1("a b", "c d") == 0.0);
    assert!(contains_words("Photo: Jane Roe. Lead text", "photo jane"));
    assert!(!contains_words("Photographer Jane", "photo jane"));
    let mut t = Tally::new("t");
    t.add(
        "x",
        "Heartbeats is here.",
        "Heartbeats is here.",
        &["Heartbeats".into()],
    );
    assert!(t.forbidden.is_empty() && t.hits == 1);
}
