//! Clustering: stories that report the same event, across sources, become one cluster.
//!
//! Each story is a TF-IDF vector over the terms of its title (counted four times) and the first
//! [`LEAD_WORDS`] words of its lead, stopwords removed, IDF taken over the stories being
//! selected plus the stories already sent. A term is a word's stem without accents, and a small
//! number written as a word counts as its digits (`five`, `cinq`, `fünf` → `5`; see [`term`]),
//! so `five dead` meets `5 dead` and `Bouaké` meets `Bouake`; a known name in another language
//! than English counts as its English words (`Côte d'Ivoire` → `ivory coast`, `Poutine` →
//! `putin`, `russischen` → `russian`; see [`aliases`]).
//!
//! Clustering runs twice. The first round weighs terms by IDF over stories; the second by IDF
//! over the first round's clusters ([`event_frequency`]), so an event's own words, which the
//! event itself makes common in the window, weigh as the rare words they are. Each round has
//! three passes:
//!
//! 1. Two stories are linked when their cosine similarity is at least [`LINK_THRESHOLD`]
//!    ([`SAME_SOURCE_EXTRA`] more within one feed) and they were published at most
//!    [`TIME_BOUND_HOURS`] apart, or when they share a URL or an identical title. Links are taken
//!    strongest first, and two clusters join only if the mean similarity over all their members'
//!    pairs is at least [`AVERAGE_THRESHOLD`] (group-average linkage), so one loose pair cannot
//!    chain two events. Stories that merely share a topic share few rare words, so they stay
//!    apart.
//! 2. A story still alone joins the cluster whose centroid it is most similar to, if that
//!    cosine, discounted by how far the story lies in time outside the cluster's span
//!    ([`CENTROID_DECAY_HOURS`]), reaches [`CENTROID_THRESHOLD`] (`attach_to_centroids`).
//! 3. A story still alone, written in another language than a cluster, joins it when its title
//!    shares at least [`CROSS_NAMES`] names that are core to the cluster and rare outside it
//!    (`attach_across_languages`).
//!
//! Only pairs that share one of their [`SIGNATURE_TERMS`] highest-weighted terms are compared,
//! which keeps 10,000 stories well under a second.
//!
//! What it misses (the labelled sets, BENCHMARKS.md): short title-only stories of one feed
//! told in other words (held to the same-feed threshold, because one feed's stories on one
//! subject are often different events), and stories in two languages that share little beyond
//! a name or two (`Piratage imputé à la Russie` / `Report on US election hacking`). A lower
//! centroid threshold (0.20) finds more on the set it was tuned on, but on the unseen set a
//! title-only story on the same subject (`US Congress certifies Trump election`) joins an
//! event's cluster, the second round then finds every word of the subject rare, and every
//! story of the subject merges. Lower link thresholds, heavier names, Snowball stemming,
//! prefix truncation, character n-grams, time decay on links, mutual-nearest-neighbour links
//! and name matching between single stories across languages were measured and each bought a
//! few pairs of recall with more false merges, or did not hold on the other half of the set.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::aliases;
use super::text::{self, Token};

/// Minimum cosine similarity for two stories to be the same event.
pub const LINK_THRESHOLD: f32 = 0.28;
/// Extra similarity needed when both stories come from the same feed.
pub const SAME_SOURCE_EXTRA: f32 = 0.20;
/// Minimum mean similarity between all members of two clusters for them to merge.
pub const AVERAGE_THRESHOLD: f32 = 0.22;
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
/// Stories further apart in time than this are never the same event.
pub const TIME_BOUND_HOURS: i64 = 72;
/// How many of the lead's words count (the rest is background, not the event).
pub const LEAD_WORDS: usize = 25;
/// How many top terms of each story are indexed to find comparison candidates.
pub const SIGNATURE_TERMS: usize = 10;
const TITLE_TF: f32 = 4.0;

/// The text of one story as clustering sees it.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    pub url: Option<&'a str>,
    /// The title's tokens ([`text::tokenize`]).
    pub title: &'a [Token],
    /// The lead's tokens; only the first [`LEAD_WORDS`] count.
    pub lead: &'a [Token],
    /// The feed it came from; `None` for sent stories.
    pub source: Option<&'a str>,
    /// `None` for stories sent in earlier issues: they are compared whatever their age.
    pub published: Option<DateTime<Utc>>,
}

/// Connected components of the same-event graph: `label[i]` is the component of doc `i`,
/// numbered 0.. in order of each component's first doc.
#[derive(Debug, Clone)]
pub struct Clusters {
    pub label: Vec<usize>,
    pub count: usize,
}

type Vector = Vec<(u32, f32)>;

/// Groups `docs` into same-event clusters: once with IDF over stories, then again with IDF
/// over the first round's clusters (see [`event_frequency`]).
pub fn cluster(docs: &[Doc]) -> Clusters {
    let (tfs, df, words) = count_terms(docs);
    let first = group(docs, &weigh(&tfs, &df, docs.len()), &df, &words).labels();
    let vectors = weigh(&tfs, &event_frequency(&tfs, &first, df.len()), first.count);
    group(docs, &vectors, &df, &words).labels()
}

/// For each term id, in how many of `clusters` it occurs. A big event makes its own words
/// common among the stories of the window (`airport` and `shooting` in 16 stories on one
/// shooting), so IDF over stories weighs them down against a single story's own words
/// (`assailant`, `voices`); counted once per event, they weigh as the rare words they are.
fn event_frequency(tfs: &[HashMap<u32, f32>], clusters: &Clusters, terms: usize) -> Vec<u32> {
    let mut last_cluster = vec![usize::MAX; terms];
    let mut count = vec![0; terms];
    let mut order: Vec<usize> = (0..tfs.len()).collect();
    order.sort_by_key(|&i| clusters.label[i]);
    for i in order {
        for &id in tfs[i].keys() {
            let id = id as usize;
            if last_cluster[id] != clusters.label[i] {
                last_cluster[id] = clusters.label[i];
                count[id] += 1;
            }
        }
    }
    count
}

/// One round of the passes below, over `vectors`; `df` and `words` are the stories' document
/// frequencies and terms.
fn group(docs: &[Doc], vectors: &[Vector], df: &[u32], words: &[Cow<str>]) -> UnionFind {
    let mut uf = UnionFind::new(docs.len());
    link_same_text(docs, &mut uf);
    let candidates = candidate_pairs(docs, vectors);
    let mut pairs: Vec<(f32, usize, usize)> = candidates
        .iter()
        .map(|&(i, j)| (cosine(&vectors[i], &vectors[j]), i, j))
        .filter(|&(s, i, j)| s >= link_threshold(&docs[i], &docs[j]))
        .collect();
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    // Each cluster keeps the sum of its members' vectors: the mean cosine over all pairs of
    // two clusters is then sum_a · sum_b / (|a| |b|), exact and cheap.
    let mut sums: Vec<(Vector, usize)> = vectors.iter().map(|v| (v.clone(), 1)).collect();
    for i in 0..docs.len() {
        let root = uf.find(i);
        if root != i {
            let (v, n) = std::mem::take(&mut sums[i]);
            sums[root] = (add(&sums[root].0, &v), sums[root].1 + n);
        }
    }
    for (_, i, j) in pairs {
        let (ri, rj) = (uf.find(i), uf.find(j));
        if ri == rj {
            continue;
        }
        let mean = cosine(&sums[ri].0, &sums[rj].0) / (sums[ri].1 * sums[rj].1) as f32;
        if mean >= AVERAGE_THRESHOLD {
            uf.union(ri, rj);
            let (keep, gone) = (ri.min(rj), ri.max(rj));
            let (v, n) = std::mem::take(&mut sums[gone]);
            sums[keep] = (add(&sums[keep].0, &v), sums[keep].1 + n);
        }
    }
    attach_to_centroids(docs, vectors, &candidates, &mut uf, &sums);
    attach_across_languages(docs, vectors, df, words, &mut uf);
    uf
}

/// The second pass: each story still alone joins the cluster (of [`CENTROID_MIN_SIZE`] or more)
/// whose centroid it is most similar to, if that cosine, discounted for the time between the
/// story and the cluster's span ([`CENTROID_DECAY_HOURS`]), reaches [`CENTROID_THRESHOLD`].
/// Only clusters holding one of the story's comparison candidates are considered, which keeps
/// the time bound. Centroids and spans are those of the first pass, so the order of stories
/// does not matter and one attached story cannot pull in the next.
fn attach_to_centroids(
    docs: &[Doc],
    vectors: &[Vector],
    candidates: &[(usize, usize)],
    uf: &mut UnionFind,
    sums: &[(Vector, usize)],
) {
    let n = vectors.len();
    let roots: Vec<usize> = (0..n).map(|i| uf.find(i)).collect();
    let alone = |i: usize| roots[i] == i && sums[i].1 == 1;
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
    let norms: HashMap<usize, f32> = options
        .iter()
        .flatten()
        .map(|&r| (r, sums[r].0.iter().map(|(_, w)| w * w).sum::<f32>().sqrt()))
        .collect();
    let spans: HashMap<usize, Span> = members(&roots)
        .into_iter()
        .filter(|(r, _)| norms.contains_key(r))
        .map(|(r, m)| (r, span(docs, &m)))
        .collect();
    let mut joins = Vec::new();
    for (i, mut opts) in options.into_iter().enumerate() {
        opts.sort_unstable();
        opts.dedup();
        let best = opts
            .into_iter()
            .map(|r| {
                let decay =
                    (-spans[&r].hours_outside(docs[i].published) / CENTROID_DECAY_HOURS).exp();
                let similarity = cosine(&vectors[i], &sums[r].0) / norms[&r].max(f32::MIN_POSITIVE);
                (decay * similarity, r)
            })
            .filter(|&(s, _)| s >= CENTROID_THRESHOLD)
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        if let Some((_, r)) = best {
            joins.push((i, r));
        }
    }
    for (i, r) in joins {
        uf.union(i, r);
    }
}

/// The third pass, across languages, where stories share few words but the same names
/// (`Fort Lauderdale`, `Akufo-Addo`, `Huawei`): each story still alone, in a detected language,
/// joins the cluster (of [`CENTROID_MIN_SIZE`] or more, mostly in another detected language,
/// within the time bound of its members) with which its title shares the most names that are
/// core to the cluster and rare outside it, if it shares at least [`CROSS_NAMES`].
/// Names are compared as [`term`]s, so without accents (`Bouaké` = `Bouake`).
fn attach_across_languages(
    docs: &[Doc],
    vectors: &[Vector],
    df: &[u32],
    words: &[Cow<str>],
    uf: &mut UnionFind,
) {
    let n = docs.len();
    let roots: Vec<usize> = (0..n).map(|i| uf.find(i)).collect();
    let members = members(&roots);
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
        return;
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
        return;
    }
    let mut joins = Vec::new();
    for (i, names) in alone {
        let Some(lang) = language(i) else { continue };
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for w in &names {
            for &r in core.get(w).into_iter().flatten() {
                let (cl, sp) = &info[&r];
                if *cl != lang && sp.contains(docs[i].published) {
                    *shared.entry(r).or_insert(0) += 1;
                }
            }
        }
        let best = shared
            .into_iter()
            .filter(|&(_, c)| c >= CROSS_NAMES)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
        if let Some((r, _)) = best {
            joins.push((i, r));
        }
    }
    for (i, r) in joins {
        uf.union(i, r);
    }
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
    /// How many hours `t` lies before the first or after the last publication; 0 inside the
    /// span or when either has no date.
    fn hours_outside(&self, t: Option<DateTime<Utc>>) -> f32 {
        let minutes = match (self.0, t) {
            (Some((a, _)), Some(t)) if t < a => (a - t).num_minutes(),
            (Some((_, b)), Some(t)) if t > b => (t - b).num_minutes(),
            _ => 0,
        };
        minutes as f32 / 60.0
    }

    fn contains(&self, t: Option<DateTime<Utc>>) -> bool {
        let bound = chrono::Duration::hours(TIME_BOUND_HOURS);
        match (self.0, t) {
            (Some((a, b)), Some(t)) => t >= a - bound && t <= b + bound,
            _ => true,
        }
    }
}

fn span(docs: &[Doc], members: &[usize]) -> Span {
    let dates = members.iter().filter_map(|&i| docs[i].published);
    Span(dates.clone().min().zip(dates.max()))
}

/// The similarity two stories need to be linked: higher within one feed, whose stories share
/// the feed's own vocabulary (its place names, section words and boilerplate).
fn link_threshold(a: &Doc, b: &Doc) -> f32 {
    match (a.source, b.source) {
        (Some(x), Some(y)) if x == y => LINK_THRESHOLD + SAME_SOURCE_EXTRA,
        _ => LINK_THRESHOLD,
    }
}

/// The sum of two sparse vectors sorted by term id.
fn add(a: &Vector, b: &Vector) -> Vector {
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

/// Pairwise cosine similarities within a corpus (diagnostics and tests).
pub fn similarities(docs: &[Doc]) -> impl Fn(usize, usize) -> f32 {
    let (tfs, df, _) = count_terms(docs);
    let v = weigh(&tfs, &df, docs.len());
    move |i, j| cosine(&v[i], &v[j])
}

fn terms<'a>(doc: &Doc<'a>) -> impl Iterator<Item = (Cow<'a, str>, f32)> {
    let lead = &doc.lead[..doc.lead.len().min(LEAD_WORDS)];
    let title = event_terms(doc.title)
        .into_iter()
        .map(|t| (t.text, TITLE_TF));
    let lead = event_terms(lead).into_iter().map(|t| (t.text, 1.0));
    title.chain(lead)
}

/// The [`aliases::terms`] of some tokens that say something about the event: known names,
/// and [`is_event_word`]s.
fn event_terms(tokens: &[Token]) -> Vec<aliases::Term<'_>> {
    let mut terms = aliases::terms(tokens);
    terms.retain(|t| t.alias || is_event_word(&tokens[t.first].stem));
    terms
}

/// The form in which clustering compares a word: its stem without accents (`bouaké` →
/// `bouake`, `président` → `president`), or the digits of a small number written as a word in
/// English, French or German (`five`, `cinq`, `fünf` → `5`).
pub fn term(stem: &str) -> Cow<'_, str> {
    match NUMBER_WORDS.binary_search_by(|(w, _)| w.cmp(&stem)) {
        Ok(k) => Cow::Borrowed(NUMBER_WORDS[k].1),
        Err(_) if stem.contains('\u{2019}') => {
            Cow::Owned(text::fold(&stem.replace('\u{2019}', "'")).into_owned())
        }
        Err(_) => text::fold(stem),
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

/// Words of three letters or more, or numbers of any length (`5`, `43`), that are not
/// stopwords: two-letter words are mostly function words in every language, and fragments of
/// badly decoded text.
fn is_event_word(stem: &str) -> bool {
    let n = stem.chars().count();
    (n >= 3 || stem.chars().any(|c| c.is_ascii_digit())) && !text::is_stopword(stem)
}

/// The term counts of each doc (by term id); the document frequency of each term id; the
/// term of each id.
type Counts<'a> = (Vec<HashMap<u32, f32>>, Vec<u32>, Vec<Cow<'a, str>>);

fn count_terms<'a>(docs: &[Doc<'a>]) -> Counts<'a> {
    let mut vocab: HashMap<Cow<'a, str>, u32> = HashMap::new();
    let mut df: Vec<u32> = Vec::new();
    let mut words: Vec<Cow<'a, str>> = Vec::new();
    let tfs: Vec<HashMap<u32, f32>> = docs
        .iter()
        .map(|d| {
            let mut tf: HashMap<u32, f32> = HashMap::new();
            for (stem, w) in terms(d) {
                let next = vocab.len() as u32;
                let id = *vocab.entry(stem.clone()).or_insert(next);
                if id == next {
                    df.push(0);
                    words.push(stem);
                }
                let e = tf.entry(id).or_insert(0.0);
                if *e == 0.0 {
                    df[id as usize] += 1;
                }
                *e += w;
            }
            tf
        })
        .collect();
    (tfs, df, words)
}

/// L2-normalized TF-IDF vectors, each sorted by term id, with IDF from `df` over `n`.
fn weigh(tfs: &[HashMap<u32, f32>], df: &[u32], n: usize) -> Vec<Vector> {
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

fn normalize(v: &mut Vector) {
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|(_, w)| *w /= norm);
    }
}

fn cosine(a: &Vector, b: &Vector) -> f32 {
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

/// The same URL, or the same title word for word, is the same story whatever the dates.
fn link_same_text(docs: &[Doc], uf: &mut UnionFind) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        let url = d.url.map(normalize_url).filter(|u| !u.is_empty());
        let title = d
            .title
            .iter()
            .map(|t| t.stem.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let keys = url
            .map(|u| format!("u:{u}"))
            .into_iter()
            .chain((d.title.len() >= 4).then(|| format!("t:{title}")));
        for key in keys {
            match seen.get(&key) {
                Some(&j) => uf.union(i, j),
                None => {
                    seen.insert(key, i);
                }
            }
        }
    }
}

/// A URL reduced to what identifies the page: no scheme, `www.`, fragment or trailing slash.
pub fn normalize_url(url: &str) -> String {
    let u = url.trim();
    let u = u.split('#').next().unwrap_or(u);
    let u = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .unwrap_or(u);
    let u = u.strip_prefix("www.").unwrap_or(u);
    u.trim_end_matches('/').to_lowercase()
}

/// Pairs `(i, j)`, `i < j`, within the time bound that share a signature term. Each term's
/// posting list is walked in time order, so only stories close in time are paired.
fn candidate_pairs(docs: &[Doc], vectors: &[Vector]) -> Vec<(usize, usize)> {
    let mut index: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, v) in vectors.iter().enumerate() {
        for id in signature(v) {
            index.entry(id).or_default().push(i);
        }
    }
    let bound = chrono::Duration::hours(TIME_BOUND_HOURS);
    let mut pairs = Vec::new();
    for posting in index.values_mut() {
        let (mut dated, undated): (Vec<usize>, Vec<usize>) =
            posting.iter().partition(|&&i| docs[i].published.is_some());
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
        for &u in &undated {
            pairs.extend(
                posting
                    .iter()
                    .filter(|&&j| j != u)
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

/// Disjoint sets with path halving; the smaller index becomes the root so labels are stable.
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }

    fn labels(mut self) -> Clusters {
        let n = self.parent.len();
        let mut label = vec![usize::MAX; n];
        let mut count = 0;
        for i in 0..n {
            let root = self.find(i);
            if label[root] == usize::MAX {
                label[root] = count;
                count += 1;
            }
            label[i] = label[root];
        }
        Clusters { label, count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_words_are_sorted_stems() {
        assert!(NUMBER_WORDS.windows(2).all(|w| w[0].0 < w[1].0));
        for (w, _) in NUMBER_WORDS {
            assert_eq!(&text::stem(w), w, "{w} is not in stemmed form");
        }
    }
}
