//! Evidence that two stories report one happening, not only one subject.
//!
//! Two stories can share a place, a show or a person and still report different events
//! (a selfie drone and a concept car at CES in Las Vegas; two analyst notes from one broker).
//! So clustering sorts the terms of the window into kinds ([`Kind`]) and asks of every merge
//! that the stories share more than names: words that say what happened (`avalanche`,
//! `mutiny`, `resigns`), or a number beside a name (`5` dead at `Fort Lauderdale`).
//!
//! Each feed's template is learned from its own stories ([`templates`]): the terms that recur
//! in a large share of one feed's stories in the window (`Outperform`, `rating`, `price
//! target`; `Serie A`, `result`) are the feed's form, not its news, and are left out of that
//! feed's stories, so two items of a templated feed that differ only in their slots (company,
//! team, score) share only names and numbers of different things.

use std::borrow::Cow;
use std::collections::HashMap;

use super::aliases;
use super::text::{self, Token};
use super::vectors::Doc;

/// A feed's term is part of its template when it occurs in at least this share of the feed's
/// stories in the window ...
pub const TEMPLATE_SHARE: f32 = 0.34;
/// ... and the feed has at least this many stories in the window (fewer tell nothing).
pub const TEMPLATE_MIN_STORIES: usize = 6;

/// See [`Kind::RareName`].
pub const RARE_NAME_EVENTS: u32 = 2;

/// The kinds of one round: a name found in at most [`RARE_NAME_EVENTS`] of the window's
/// events (`freq`: stories in the first round, first-round clusters in the second) is rare.
pub fn with_rare_names(kinds: &[Kind], freq: &[u32]) -> Vec<Kind> {
    kinds
        .iter()
        .zip(freq)
        .map(|(&k, &f)| match k {
            Kind::Name if f <= RARE_NAME_EVENTS => Kind::RareName,
            Kind::Number if f > RARE_NAME_EVENTS => Kind::Name,
            k => k,
        })
        .collect()
}

/// What a term is, for deciding whether a shared term is evidence of one happening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An ordinary word (`avalanche`, `resign`, `mutiny`): says what happened.
    Word,
    /// A name (`Trump`, `Las Vegas`, `CES`, `Russian`) or a year: says where or who.
    Name,
    /// A name found in at most [`RARE_NAME_EVENTS`] events of the window (`Lattner`,
    /// `Bouaké`): a name that rare says which happening, not only which subject.
    RareName,
    /// A number other than a year (`5`, `150`): a count, a sum, a score.
    Number,
}

/// The kind of every term of the window, by term id, from how the window writes it: a term
/// written capitalized inside sentences more often than not is a name. Titles in title case
/// and German text (which capitalizes every noun) say nothing about case and are skipped;
/// a known name of the alias table is always a name; a term never seen where case tells is a
/// word, unless it is written in capitals (`FBI`).
pub fn kinds(docs: &[Doc], words: &[Cow<str>]) -> Vec<Kind> {
    let mut case: HashMap<Cow<str>, (u32, u32)> = HashMap::new();
    let mut alias: std::collections::HashSet<Cow<str>> = std::collections::HashSet::new();
    for d in docs {
        let german = text::language(d.title.iter().chain(d.lead.iter())) == Some("de");
        for (tokens, skip_case) in [(d.title, german || title_case(d.title)), (d.lead, german)] {
            for (k, t) in aliases::terms(tokens).into_iter().enumerate() {
                if t.alias {
                    alias.insert(t.text);
                    continue;
                }
                let exact = &tokens[t.first].exact;
                let caps = exact.chars().count() >= 2 && text::is_all_caps(exact);
                if caps || (!skip_case && k > 0) {
                    let e = case.entry(t.text).or_insert((0, 0));
                    if caps || exact.chars().next().is_some_and(char::is_uppercase) {
                        e.0 += 1;
                    } else {
                        e.1 += 1;
                    }
                }
            }
        }
    }
    words
        .iter()
        .map(|w| {
            if w.chars().all(|c| c.is_ascii_digit()) {
                return if is_year(w) { Kind::Name } else { Kind::Number };
            }
            if alias.contains(w) {
                return Kind::Name;
            }
            match case.get(w) {
                Some(&(upper, lower)) if upper > lower => Kind::Name,
                _ => Kind::Word,
            }
        })
        .collect()
}

/// A four-digit number from 1900 to 2099.
pub fn is_year(w: &str) -> bool {
    w.len() == 4 && (w.starts_with("19") || w.starts_with("20"))
}

/// A title written in title case (`Florida Airport Assailant May Have Heard Voices`): most of
/// its longer words capitalized, so its case tells nothing about names.
fn title_case(title: &[Token]) -> bool {
    let long: Vec<&Token> = title
        .iter()
        .filter(|t| t.exact.chars().count() >= 4 && !text::is_stopword(&t.stem))
        .collect();
    let upper = long
        .iter()
        .filter(|t| t.exact.chars().next().is_some_and(char::is_uppercase))
        .count();
    long.len() >= 2 && upper * 5 >= long.len() * 4
}

/// The template terms of each feed: for each doc, the ids of the terms that recur in at least
/// [`TEMPLATE_SHARE`] of its feed's stories in the window (feeds of at least
/// [`TEMPLATE_MIN_STORIES`] stories).
pub fn templates<T>(docs: &[Doc], tfs: &[HashMap<u32, T>]) -> Vec<std::rc::Rc<Vec<u32>>> {
    let mut feeds: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        if let Some(f) = d.feed {
            feeds.entry(f).or_default().push(i);
        }
    }
    let none = std::rc::Rc::new(Vec::new());
    let mut out = vec![none; docs.len()];
    for members in feeds.values() {
        if members.len() < TEMPLATE_MIN_STORIES {
            continue;
        }
        let mut count: HashMap<u32, usize> = HashMap::new();
        for &i in members {
            for &id in tfs[i].keys() {
                *count.entry(id).or_insert(0) += 1;
            }
        }
        let min = ((members.len() as f32 * TEMPLATE_SHARE).ceil() as usize).max(3);
        let mut template: Vec<u32> = count
            .into_iter()
            .filter(|&(_, c)| c >= min)
            .map(|(id, _)| id)
            .collect();
        template.sort_unstable();
        let template = std::rc::Rc::new(template);
        for &i in members {
            out[i] = template.clone();
        }
    }
    out
}

/// How much of the similarity of two vectors comes from each kind of shared term.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Shared {
    pub words: f32,
    pub names: f32,
    /// The part of `names` that comes from rare names.
    pub rare_names: f32,
    pub numbers: f32,
}

impl Shared {
    /// The products of the weights of the terms both vectors hold, summed by kind (so
    /// `words + names + numbers` is the cosine of two unit vectors).
    pub fn of(a: &[(u32, f32)], b: &[(u32, f32)], kinds: &[Kind]) -> Self {
        let mut s = Self::default();
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let w = a[i].1 * b[j].1;
                    match kinds[a[i].0 as usize] {
                        Kind::Word => s.words += w,
                        Kind::Name => s.names += w,
                        Kind::RareName => {
                            s.names += w;
                            s.rare_names += w;
                        }
                        Kind::Number => s.numbers += w,
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        s
    }

    pub fn total(&self) -> f32 {
        self.words + self.names + self.numbers
    }
}

/// Ordinary words ([`Kind::Word`]) must make up at least this share of a link's similarity,
/// unless the stories share rare names or a rare number beside a name weighing at least
/// [`EVIDENCE_MIN`] of it (see [`is_evidence`]).
pub const EVIDENCE_WORDS_SHARE: f32 = 0.15;
/// See [`EVIDENCE_WORDS_SHARE`].
pub const EVIDENCE_MIN: f32 = 0.01;

/// Whether what two stories share is evidence of one happening, not only of one subject:
/// ordinary words (not names, not the feeds' templates) make up at least
/// [`EVIDENCE_WORDS_SHARE`] of their similarity, or they share rare names, or a rare number
/// beside a name ([`Kind`]).
pub fn is_evidence(s: &Shared) -> bool {
    s.words >= EVIDENCE_WORDS_SHARE * s.total()
        || s.rare_names >= EVIDENCE_MIN
        || (s.numbers >= EVIDENCE_MIN && s.names > 0.0)
}

/// One join of the same-event graph: doc `a` joined doc `b`'s cluster.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Merge {
    pub a: usize,
    /// The doc of the cluster that `a` was compared with (for a centroid or a names join:
    /// the cluster's member most similar to `a`).
    pub b: usize,
    /// `same url`, `same title`, `link`, `centroid` or `names across languages`.
    pub pass: &'static str,
    /// The similarity that passed the pass's threshold (1 for the same URL or title; for
    /// names across languages, how many were shared).
    pub score: f32,
    /// The shared terms that weighed most, heaviest first.
    pub terms: Vec<String>,
}
