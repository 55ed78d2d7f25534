//! Stories as vectors: the terms clustering reads in a story (its title counted four times,
//! the start of its lead), their TF-IDF weights, and the arithmetic on sparse vectors; which
//! pairs of stories are worth comparing.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::aliases;
use super::text::{self, Token};

/// Stories further apart in time than this are never the same event.
pub const TIME_BOUND_HOURS: i64 = 72;
/// How many of the lead's words count (the rest is background, not the event).
pub const LEAD_WORDS: usize = 25;
/// How many top terms of each story are indexed to find comparison candidates.
pub const SIGNATURE_TERMS: usize = 10;
/// An undated story is not compared through a term found in more stories than this (or more
/// than 1% of the window).
pub const UNDATED_POSTING_MIN: usize = 50;
/// A title term counts this many times.
pub const TITLE_TF: f32 = 4.0;

/// The text of one story as clustering sees it.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    pub url: Option<&'a str>,
    /// The title's tokens ([`text::tokenize`]).
    pub title: &'a [Token],
    /// The lead's tokens; only the first [`LEAD_WORDS`] count.
    pub lead: &'a [Token],
    /// The feed it came from; `None` for sent stories.
    pub feed: Option<&'a str>,
    /// `None` for stories sent in earlier issues: they are compared whatever their age.
    pub published: Option<DateTime<Utc>>,
    /// False when the feed gave no date: `published` is then when the story was first seen,
    /// so only an upper bound of its time.
    pub dated: bool,
}

/// A sparse vector: (term id, weight), sorted by term id.
pub type Vector = Vec<(u32, f32)>;

pub fn terms<'a>(doc: &Doc<'a>) -> impl Iterator<Item = (Cow<'a, str>, f32)> {
    let lead = &doc.lead[..doc.lead.len().min(LEAD_WORDS)];
    let title = event_terms(doc.title)
        .into_iter()
        .map(|t| (t.text, TITLE_TF));
    let lead = event_terms(lead).into_iter().map(|t| (t.text, 1.0));
    title.chain(lead)
}

/// The [`aliases::terms`] of some tokens that say something about the event: known names,
/// and [`is_event_word`]s.
pub fn event_terms(tokens: &[Token]) -> Vec<aliases::Term<'_>> {
    let mut terms = aliases::terms(tokens);
    terms.retain(|t| t.alias || is_event_word(&tokens[t.first].stem));
    terms
}

/// Words of three letters or more, or numbers of any length (`5`, `43`), that are not
/// stopwords: two-letter words are mostly function words in every language, and fragments of
/// badly decoded text.
pub fn is_event_word(stem: &str) -> bool {
    let n = stem.chars().count();
    (n >= 3 || stem.chars().any(|c| c.is_ascii_digit())) && !text::is_stopword(stem)
}

/// L2-normalized TF-IDF vectors, each sorted by term id, with IDF from `df` over `n`.
pub fn weigh(tfs: &[HashMap<u32, f32>], df: &[u32], n: usize) -> Vec<Vector> {
    let n = n as f32;
    tfs.iter()
        .map(|tf| {
            let mut v: Vector = tf
                .iter()
                .map(|(&id, &f)| (id, (1.0 + f.ln()) * idf(n, df[id as usize])))
                .collect();
            v.sort_unstable_by_key(|&(id, _)| id);
            normalize(&mut v);
            v
        })
        .collect()
}

/// Smoothed IDF: rare words weigh most, but a word in every story still counts (weight 1),
/// so a window of two stories can still find them the same.
fn idf(n: f32, df: u32) -> f32 {
    ((n + 1.0) / (df as f32 + 1.0)).ln() + 1.0
}

pub fn normalize(v: &mut Vector) {
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|(_, w)| *w /= norm);
    }
}

pub fn cosine(a: &Vector, b: &Vector) -> f32 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    dot
}

/// The sum of two sparse vectors sorted by term id.
pub fn add(a: &Vector, b: &Vector) -> Vector {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if j == b.len() || (i < a.len() && a[i].0 < b[j].0) {
            out.push(a[i]);
            i += 1;
        } else if i == a.len() || b[j].0 < a[i].0 {
            out.push(b[j]);
            j += 1;
        } else {
            out.push((a[i].0, a[i].1 + b[j].1));
            i += 1;
            j += 1;
        }
    }
    out
}

/// The few shared terms that weigh most in the similarity of `a` and `b`.
pub fn top_terms(a: &Vector, b: &Vector, words: &[Cow<str>]) -> Vec<String> {
    let mut shared: Vec<(f32, u32)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared.push((a[i].1 * b[j].1, a[i].0));
                i += 1;
                j += 1;
            }
        }
    }
    shared.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    shared
        .into_iter()
        .take(6)
        .map(|(_, id)| words[id as usize].to_string())
        .collect()
}

/// Pairs `(i, j)`, `i < j`, within the time bound that share a signature term. Each term's
/// posting list is walked in time order, so only stories close in time are paired.
pub fn candidate_pairs(docs: &[Doc], vectors: &[Vector]) -> Vec<(usize, usize)> {
    let mut index: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, v) in vectors.iter().enumerate() {
        for id in signature(v) {
            index.entry(id).or_default().push(i);
        }
    }
    let bound = chrono::Duration::hours(TIME_BOUND_HOURS);
    let mut pairs = Vec::new();
    for posting in index.values_mut() {
        let (mut dated, undated): (Vec<usize>, Vec<usize>) = posting
            .iter()
            .partition(|&&i| docs[i].published.is_some() && docs[i].dated);
        dated.sort_by_key(|&i| (docs[i].published, i));
        for (a, &i) in dated.iter().enumerate() {
            let t = docs[i].published.expect("dated");
            for &j in dated[a + 1..]
                .iter()
                .take_while(|&&j| docs[j].published.expect("dated") - t <= bound)
            {
                pairs.push((i.min(j), i.max(j)));
            }
        }
        // An undated story may lie anywhere before it was first seen, so it is compared with
        // every story of a term's list, except where a term is too common to be worth it:
        // there, time is what keeps dated stories' comparisons few.
        let common = posting.len() > (docs.len() / 100).max(UNDATED_POSTING_MIN);
        for &u in &undated {
            if common && docs[u].published.is_some() {
                continue;
            }
            let latest = docs[u].published.map(|t| t + bound);
            pairs.extend(
                posting
                    .iter()
                    .filter(|&&j| j != u)
                    .filter(|&&j| match (latest, docs[j].published) {
                        (Some(l), Some(t)) => !docs[j].dated || t <= l,
                        _ => true,
                    })
                    .map(|&j| (u.min(j), u.max(j))),
            );
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

fn signature(v: &Vector) -> Vec<u32> {
    let mut top: Vec<&(u32, f32)> = v.iter().collect();
    top.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    top.into_iter()
        .take(SIGNATURE_TERMS)
        .map(|&(id, _)| id)
        .collect()
}
