//! The passes that join a story left alone to a cluster: by its centroid, and across
//! languages by its names. Each returns its joins; [`super::cluster`] applies them.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::evidence::{is_evidence, Kind, Merge, Shared};
use super::text::{self, Token};
use super::vectors::{cosine, event_terms, normalize, top_terms, Doc, Vector, TIME_BOUND_HOURS};

/// A story left alone joins a cluster of at least [`CENTROID_MIN_SIZE`] stories when its
/// cosine with the cluster's centroid (the normalized sum of the members' vectors) is at least
/// this. A centroid keeps the words the members share (the event's names and facts) and
/// averages away each story's own angle, so a story that matches no single member well can
/// still match the event.
pub const CENTROID_THRESHOLD: f32 = 0.25;
/// The cosine with a centroid is multiplied by `exp(-hours / CENTROID_DECAY_HOURS)`, where
/// `hours` is how far the story's publication lies outside the span of the cluster's members
/// (0 inside it). Coverage of one event comes in a burst; a story on the same subject from a
/// day before the burst began (`Russia interfered in election, says intelligence chief`, the
/// morning before the report `Putin directed cyber campaign`) is usually an earlier event.
pub const CENTROID_DECAY_HOURS: f32 = 24.0;
/// Clusters smaller than this have no reliable centroid.
pub const CENTROID_MIN_SIZE: usize = 3;
/// A story left alone joins a cluster written in another language when at least this many
/// names of its title (capitalized words and numbers) are core words of the cluster (found in at
/// least half of its members) and rare elsewhere in the window (see [`CROSS_NAME_MAX_SHARE`]).
pub const CROSS_NAMES: usize = 2;
/// A name found in more than this share of the window's stories outside the cluster (at least
/// two stories) is too common to identify an event across languages (`Trump`, `US`, `Apple`).
pub const CROSS_NAME_MAX_SHARE: f32 = 0.05;

/// The second pass: each story still alone joins the cluster (of [`CENTROID_MIN_SIZE`] or more)
/// whose centroid it is most similar to, if that cosine, discounted for the time between the
/// story and the cluster's span ([`CENTROID_DECAY_HOURS`]), reaches [`CENTROID_THRESHOLD`].
/// Only clusters holding one of the story's comparison candidates are considered, which keeps
/// the time bound. Centroids and spans are those of the first pass, so the order of stories
/// does not matter and one attached story cannot pull in the next.
pub fn to_centroids(
    docs: &[Doc],
    vectors: &[Vector],
    kinds: &[Kind],
    words: &[Cow<str>],
    candidates: &[(usize, usize)],
    roots: &[usize],
    sums: &[(Vector, usize)],
) -> Vec<Merge> {
    let n = vectors.len();
    // An undated story is kept out of this pass, which trusts time.
    let alone = |i: usize| roots[i] == i && sums[i].1 == 1 && docs[i].dated;
    let big = |r: usize| sums[r].1 >= CENTROID_MIN_SIZE;
    let mut options: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(i, j) in candidates {
        if alone(i) && big(roots[j]) {
            options[i].push(roots[j]);
        }
        if alone(j) && big(roots[i]) {
            options[j].push(roots[i]);
        }
    }
    let centroids: HashMap<usize, Vector> = options
        .iter()
        .flatten()
        .map(|&r| {
            let mut c = sums[r].0.clone();
            normalize(&mut c);
            (r, c)
        })
        .collect();
    let spans: HashMap<usize, Span> = members(roots)
        .into_iter()
        .filter(|(r, _)| centroids.contains_key(r))
        .map(|(r, m)| (r, span(docs, &m)))
        .collect();
    let mut joins = Vec::new();
    for (i, mut opts) in options.into_iter().enumerate() {
        opts.sort_unstable();
        opts.dedup();
        let best = opts
            .into_iter()
            .filter_map(|r| {
                let decay = (-spans[&r].hours_outside(&docs[i]) / CENTROID_DECAY_HOURS).exp();
                let shared = Shared::of(&vectors[i], &centroids[&r], kinds);
                let score = decay * shared.total();
                (score >= CENTROID_THRESHOLD && is_evidence(&shared)).then_some((score, r))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        if let Some((score, r)) = best {
            joins.push((i, r, score));
        }
    }
    let groups = members(roots);
    let mut merges = Vec::new();
    for (i, r, score) in joins {
        let b = *groups[&r]
            .iter()
            .max_by(|x, y| {
                cosine(&vectors[i], &vectors[**x])
                    .total_cmp(&cosine(&vectors[i], &vectors[**y]))
                    .then(y.cmp(x))
            })
            .expect("a cluster has members");
        merges.push(Merge {
            a: i,
            b,
            pass: "centroid",
            score,
            terms: top_terms(&vectors[i], &centroids[&r], words),
        });
    }
    merges
}

/// The third pass, across languages, where stories share few words but the same names
/// (`Fort Lauderdale`, `Akufo-Addo`, `Huawei`): each story still alone, in a detected language,
/// joins the cluster (of [`CENTROID_MIN_SIZE`] or more, mostly in another detected language,
/// within the time bound of its members) with which its title shares the most names that are
/// core to the cluster and rare outside it, if it shares at least [`CROSS_NAMES`].
/// Names are compared as [`text::term`]s, so without accents (`Bouaké` = `Bouake`).
pub fn across_languages(
    docs: &[Doc],
    vectors: &[Vector],
    df: &[u32],
    words: &[Cow<str>],
    roots: &[usize],
) -> Vec<Merge> {
    let n = docs.len();
    let members = members(roots);
    let max_df = ((n as f32 * CROSS_NAME_MAX_SHARE) as u32).max(2);
    let language = |i: usize| text::language(docs[i].title.iter().chain(docs[i].lead.iter()));
    let names_of = |i: usize| {
        let title = docs[i].title;
        let mut names: Vec<Cow<str>> = event_terms(title)
            .into_iter()
            .filter(|t| t.alias || is_name(&title[t.first]))
            .map(|t| t.text)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    // Stories alone with enough names to be joined, and every name they could be joined by.
    let mut alone: Vec<(usize, Vec<Cow<str>>)> = (0..n)
        .filter(|&i| members[&roots[i]].len() == 1)
        .map(|i| (i, names_of(i)))
        .filter(|(_, names)| names.len() >= CROSS_NAMES)
        .collect();
    alone.sort_unstable_by_key(|(i, _)| *i);
    let wanted: std::collections::HashSet<&str> = alone
        .iter()
        .flat_map(|(_, names)| names.iter().map(|w| w.as_ref()))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    // Core words of each large cluster (folded) → clusters, with their language and span.
    let mut core: HashMap<Cow<str>, Vec<usize>> = HashMap::new();
    let mut info: HashMap<usize, (&str, Span)> = HashMap::new();
    let mut big: Vec<usize> = members
        .iter()
        .filter(|(_, m)| m.len() >= CENTROID_MIN_SIZE)
        .map(|(&r, _)| r)
        .collect();
    big.sort_unstable();
    for r in big {
        let m = &members[&r];
        let mut count: HashMap<u32, u32> = HashMap::new();
        for &i in m {
            for &(id, _) in &vectors[i] {
                *count.entry(id).or_insert(0) += 1;
            }
        }
        let mut found: Vec<Cow<str>> = count
            .into_iter()
            .filter(|&(id, c)| 2 * c as usize >= m.len() && df[id as usize] - c <= max_df)
            .map(|(id, _)| words[id as usize].clone())
            .filter(|w| wanted.contains(w.as_ref()))
            .collect();
        found.sort_unstable();
        found.dedup();
        if found.len() < CROSS_NAMES {
            continue;
        }
        let Some(lang) = majority_language(m.iter().map(|&i| language(i))) else {
            continue;
        };
        for w in found {
            core.entry(w).or_default().push(r);
        }
        info.insert(r, (lang, span(docs, m)));
    }
    if core.is_empty() {
        return Vec::new();
    }
    let mut joins = Vec::new();
    for (i, names) in alone {
        let Some(lang) = language(i) else { continue };
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for w in &names {
            for &r in core.get(w).into_iter().flatten() {
                let (cl, sp) = &info[&r];
                if *cl != lang && sp.contains(&docs[i]) {
                    *shared.entry(r).or_insert(0) += 1;
                }
            }
        }
        let best = shared
            .into_iter()
            .filter(|&(_, c)| c >= CROSS_NAMES)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
        if let Some((r, c)) = best {
            let terms: Vec<String> = names
                .iter()
                .filter(|w| core.get(*w).is_some_and(|rs| rs.contains(&r)))
                .map(|w| w.to_string())
                .collect();
            joins.push((i, r, c, terms));
        }
    }
    joins
        .into_iter()
        .map(|(i, r, c, terms)| Merge {
            a: i,
            b: r,
            pass: "names across languages",
            score: c as f32,
            terms,
        })
        .collect()
}

/// The members of each cluster, by root, from each doc's root.
fn members(roots: &[usize]) -> HashMap<usize, Vec<usize>> {
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, &r) in roots.iter().enumerate() {
        members.entry(r).or_default().push(i);
    }
    members
}

/// A word written as a name: capitalized or with a digit (`Lauderdale`, `FBI`, `2021`).
fn is_name(t: &Token) -> bool {
    t.exact.chars().next().is_some_and(char::is_uppercase)
        || t.exact.chars().any(|c| c.is_ascii_digit())
}

/// The language most members are written in (ties: the first in alphabetical order); `None`
/// when no member's language is known.
fn majority_language<'a>(langs: impl Iterator<Item = Option<&'a str>>) -> Option<&'a str> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for l in langs.flatten() {
        *count.entry(l).or_insert(0) += 1;
    }
    count
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(l, _)| l)
}

/// The publication times of a cluster's dated members, widened by the time bound; a story
/// or cluster without dates (sent stories) is never out of bounds.
struct Span(Option<(DateTime<Utc>, DateTime<Utc>)>);

impl Span {
    /// How many hours `doc` lies before the first or after the last publication; 0 inside
    /// the span or when either has no date. An undated story lies anywhere before it was
    /// first seen.
    fn hours_outside(&self, doc: &Doc) -> f32 {
        let minutes = match (self.0, doc.published) {
            (Some((a, _)), Some(t)) if t < a => (a - t).num_minutes(),
            (Some((_, b)), Some(t)) if t > b && doc.dated => (t - b).num_minutes(),
            _ => 0,
        };
        minutes as f32 / 60.0
    }

    fn contains(&self, doc: &Doc) -> bool {
        let bound = chrono::Duration::hours(TIME_BOUND_HOURS);
        match (self.0, doc.published) {
            (Some((a, b)), Some(t)) => t >= a - bound && (t <= b + bound || !doc.dated),
            _ => true,
        }
    }
}

fn span(docs: &[Doc], members: &[usize]) -> Span {
    let dates = members
        .iter()
        .filter(|&&i| docs[i].dated)
        .filter_map(|&i| docs[i].published);
    Span(dates.clone().min().zip(dates.max()))
}
