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
use super::evidence::{self, Kind, Shared};
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
/// A feed whose template ([`evidence::templates`]) has at least this many terms is a
/// templated feed: analyst notes, results, forecasts, release notes, one form with other
/// slots filled in ...
pub const TEMPLATED_FEED_TERMS: usize = 8;
/// ... and two of its stories are one only if their slots are nearly all the same.
pub const TEMPLATED_LINK_THRESHOLD: f32 = 0.8;
/// Two clusters join only if at least half the pairs between them have at least this cosine
/// (no chaining).
pub const CHAIN_MIN: f32 = 0.15;
/// Coverage of one happening comes in a burst: links between stories up to this many hours
/// apart are not discounted ...
pub const LINK_BURST_HOURS: f32 = 18.0;
/// ... and links further apart are discounted with this time constant, so a story on the same
/// subject the day before (the testimony, then the report) needs more in common.
pub const LINK_DECAY_HOURS: f32 = 72.0;
/// Ordinary words ([`Kind::Word`]) must make up at least this share of a link's similarity,
/// unless the stories share rare names or a rare number beside a name weighing at least
/// [`EVIDENCE_MIN`] of it (see [`is_evidence`]).
pub const EVIDENCE_WORDS_SHARE: f32 = 0.15;
/// See [`EVIDENCE_WORDS_SHARE`].
pub const EVIDENCE_MIN: f32 = 0.01;

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

/// Connected components of the same-event graph: `label[i]` is the component of doc `i`,
/// numbered 0.. in order of each component's first doc; `merges` says why each doc that
/// joined another did.
#[derive(Debug, Clone)]
pub struct Clusters {
    pub label: Vec<usize>,
    pub count: usize,
    pub merges: Vec<Merge>,
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

type Vector = Vec<(u32, f32)>;

/// Groups `docs` into same-event clusters: once with IDF over stories, then again with IDF
/// over the first round's clusters (see [`event_frequency`]).
pub fn cluster(docs: &[Doc]) -> Clusters {
    let corpus = count_terms(docs);
    let n = docs.len();
    let kinds = evidence::with_rare_names(&corpus.kinds, &corpus.df);
    let vectors = weigh(&corpus.tfs, &corpus.df, n);
    let first = group(docs, &vectors, &kinds, &corpus).labels(Vec::new());
    let events = event_frequency(&corpus.tfs, &first, corpus.df.len());
    let kinds = evidence::with_rare_names(&corpus.kinds, &events);
    let vectors = weigh(&corpus.tfs, &events, first.count);
    let mut round = group(docs, &vectors, &kinds, &corpus);
    let merges = std::mem::take(&mut round.merges);
    round.labels(merges)
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

/// One round of the passes below, over `vectors`.
fn group(docs: &[Doc], vectors: &[Vector], kinds: &[Kind], corpus: &Corpus) -> UnionFind {
    let mut uf = UnionFind::new(docs.len());
    link_same_text(docs, corpus, &mut uf);
    let candidates = candidate_pairs(docs, vectors);
    let mut pairs: Vec<(f32, usize, usize)> = candidates
        .iter()
        .map(|&(i, j)| (linked(docs, vectors, kinds, corpus, i, j), i, j))
        .filter(|&(s, _, _)| s > 0.0)
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
    let mut members: Vec<Vec<usize>> = (0..docs.len()).map(|i| vec![i]).collect();
    for i in 0..docs.len() {
        let root = uf.find(i);
        if root != i {
            let m = std::mem::take(&mut members[i]);
            members[root].extend(m);
        }
    }
    for (score, i, j) in pairs {
        let (ri, rj) = (uf.find(i), uf.find(j));
        if ri == rj {
            continue;
        }
        let mean = cosine(&sums[ri].0, &sums[rj].0) / (sums[ri].1 * sums[rj].1) as f32;
        if mean < AVERAGE_THRESHOLD || !joined_widely(vectors, &members[ri], &members[rj]) {
            continue;
        }
        uf.union(ri, rj);
        let (keep, gone) = (ri.min(rj), ri.max(rj));
        let (v, n) = std::mem::take(&mut sums[gone]);
        sums[keep] = (add(&sums[keep].0, &v), sums[keep].1 + n);
        let m = std::mem::take(&mut members[gone]);
        members[keep].extend(m);
        let terms = top_terms(&vectors[i], &vectors[j], &corpus.words);
        uf.merges.push(Merge {
            a: j,
            b: i,
            pass: "link",
            score,
            terms,
        });
    }
    attach_to_centroids(docs, vectors, kinds, corpus, &candidates, &mut uf, &sums);
    attach_across_languages(docs, vectors, corpus, &mut uf);
    uf
}

/// Two clusters join only if at least half the pairs between them are at least loosely
/// similar ([`CHAIN_MIN`]): a cluster must not grow by chaining, each new member matching only
/// the last one.
fn joined_widely(vectors: &[Vector], a: &[usize], b: &[usize]) -> bool {
    let close = a
        .iter()
        .flat_map(|&i| b.iter().map(move |&j| (i, j)))
        .filter(|&(i, j)| cosine(&vectors[i], &vectors[j]) >= CHAIN_MIN)
        .count();
    2 * close >= a.len() * b.len()
}

/// The similarity of two stories if it links them, else 0: the cosine, discounted for the
/// time between them beyond a burst, must reach [`link_threshold`], and what they share must
/// be evidence of one happening ([`is_evidence`]).
fn linked(
    docs: &[Doc],
    vectors: &[Vector],
    kinds: &[Kind],
    corpus: &Corpus,
    i: usize,
    j: usize,
) -> f32 {
    let shared = Shared::of(&vectors[i], &vectors[j], kinds);
    let decay = link_decay(gap_hours(&docs[i], &docs[j]));
    let score = shared.total() * decay;
    let same_feed = docs[i].feed.is_some() && docs[i].feed == docs[j].feed;
    let threshold = if same_feed && corpus.form[i] {
        TEMPLATED_LINK_THRESHOLD
    } else {
        link_threshold(&docs[i], &docs[j])
    };
    if score >= threshold && is_evidence(&shared) {
        score
    } else {
        0.0
    }
}

/// Links between stories more than [`LINK_BURST_HOURS`] apart are discounted by
/// `exp(-(hours - LINK_BURST_HOURS) / LINK_DECAY_HOURS)`.
fn link_decay(hours: f32) -> f32 {
    if hours <= LINK_BURST_HOURS {
        1.0
    } else {
        (-(hours - LINK_BURST_HOURS) / LINK_DECAY_HOURS).exp()
    }
}

/// Whether what two stories share is evidence of one happening, not only of one subject:
/// ordinary words (not names, not the feeds' templates) make up at least
/// [`EVIDENCE_WORDS_SHARE`] of their similarity, or they share rare names, or a rare number
/// beside a name ([`Kind`]).
fn is_evidence(s: &Shared) -> bool {
    s.words >= EVIDENCE_WORDS_SHARE * s.total()
        || s.rare_names >= EVIDENCE_MIN
        || (s.numbers >= EVIDENCE_MIN && s.names > 0.0)
}

/// The hours between two stories: 0 when either has no time (a sent story); an undated story
/// may lie anywhere before it was first seen.
fn gap_hours(a: &Doc, b: &Doc) -> f32 {
    let (Some(ta), Some(tb)) = (a.published, b.published) else {
        return 0.0;
    };
    let minutes = if ta < tb {
        if a.dated {
            (tb - ta).num_minutes()
        } else {
            0
        }
    } else if b.dated {
        (ta - tb).num_minutes()
    } else {
        0
    };
    minutes as f32 / 60.0
}

/// The few shared terms that weigh most in the similarity of `a` and `b`.
fn top_terms(a: &Vector, b: &Vector, words: &[Cow<str>]) -> Vec<String> {
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

/// The second pass: each story still alone joins the cluster (of [`CENTROID_MIN_SIZE`] or more)
/// whose centroid it is most similar to, if that cosine, discounted for the time between the
/// story and the cluster's span ([`CENTROID_DECAY_HOURS`]), reaches [`CENTROID_THRESHOLD`].
/// Only clusters holding one of the story's comparison candidates are considered, which keeps
/// the time bound. Centroids and spans are those of the first pass, so the order of stories
/// does not matter and one attached story cannot pull in the next.
fn attach_to_centroids(
    docs: &[Doc],
    vectors: &[Vector],
    kinds: &[Kind],
    corpus: &Corpus,
    candidates: &[(usize, usize)],
    uf: &mut UnionFind,
    sums: &[(Vector, usize)],
) {
    let n = vectors.len();
    let roots: Vec<usize> = (0..n).map(|i| uf.find(i)).collect();
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
    let spans: HashMap<usize, Span> = members(&roots)
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
    let groups = members(&roots);
    for (i, r, score) in joins {
        uf.union(i, r);
        let b = *groups[&r]
            .iter()
            .max_by(|x, y| {
                cosine(&vectors[i], &vectors[**x])
                    .total_cmp(&cosine(&vectors[i], &vectors[**y]))
                    .then(y.cmp(x))
            })
            .expect("a cluster has members");
        uf.merges.push(Merge {
            a: i,
            b,
            pass: "centroid",
            score,
            terms: top_terms(&vectors[i], &centroids[&r], &corpus.words),
        });
    }
}

/// The third pass, across languages, where stories share few words but the same names
/// (`Fort Lauderdale`, `Akufo-Addo`, `Huawei`): each story still alone, in a detected language,
/// joins the cluster (of [`CENTROID_MIN_SIZE`] or more, mostly in another detected language,
/// within the time bound of its members) with which its title shares the most names that are
/// core to the cluster and rare outside it, if it shares at least [`CROSS_NAMES`].
/// Names are compared as [`term`]s, so without accents (`Bouaké` = `Bouake`).
fn attach_across_languages(docs: &[Doc], vectors: &[Vector], corpus: &Corpus, uf: &mut UnionFind) {
    let (df, words) = (&corpus.df, &corpus.words);
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
    for (i, r, c, terms) in joins {
        uf.union(i, r);
        uf.merges.push(Merge {
            a: i,
            b: r,
            pass: "names across languages",
            score: c as f32,
            terms,
        });
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

/// The similarity two stories need to be linked: higher within one feed, whose stories share
/// the feed's own vocabulary (its place names, section words and boilerplate).
fn link_threshold(a: &Doc, b: &Doc) -> f32 {
    match (a.feed, b.feed) {
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
    let corpus = count_terms(docs);
    let v = weigh(&corpus.tfs, &corpus.df, docs.len());
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

/// The terms of the window, by id.
struct Corpus<'a> {
    /// The term counts of each doc, its feed's template terms left out.
    tfs: Vec<HashMap<u32, f32>>,
    /// In how many docs each term occurs (template terms not counted).
    df: Vec<u32>,
    /// The term of each id.
    words: Vec<Cow<'a, str>>,
    /// What each term is ([`evidence::kinds`]).
    kinds: Vec<Kind>,
    /// Whether each doc's title is made only of its feed's template terms.
    templated: Vec<bool>,
    /// Whether each doc comes from a templated feed: one whose template has at least
    /// [`TEMPLATED_FEED_TERMS`] terms (its stories are one form with other slots filled in).
    form: Vec<bool>,
}

impl Corpus<'_> {
    fn templated_title(&self, i: usize) -> bool {
        self.templated[i]
    }
}

fn count_terms<'a>(docs: &[Doc<'a>]) -> Corpus<'a> {
    let mut vocab: HashMap<Cow<'a, str>, u32> = HashMap::new();
    let mut words: Vec<Cow<'a, str>> = Vec::new();
    let mut tfs: Vec<HashMap<u32, f32>> = docs
        .iter()
        .map(|d| {
            let mut tf: HashMap<u32, f32> = HashMap::new();
            for (stem, w) in terms(d) {
                let next = vocab.len() as u32;
                let id = *vocab.entry(stem.clone()).or_insert(next);
                if id == next {
                    words.push(stem);
                }
                *tf.entry(id).or_insert(0.0) += w;
            }
            tf
        })
        .collect();
    let templates = evidence::templates(docs, &tfs);

    let mut templated = vec![false; docs.len()];
    let form: Vec<bool> = templates
        .iter()
        .map(|t| t.len() >= TEMPLATED_FEED_TERMS)
        .collect();
    for (i, tf) in tfs.iter_mut().enumerate() {
        let t = &templates[i];
        if t.is_empty() {
            continue;
        }
        let title: Vec<u32> = tf
            .iter()
            .filter(|(_, &w)| w >= TITLE_TF)
            .map(|(&id, _)| id)
            .collect();
        templated[i] = !title.is_empty() && title.iter().all(|id| t.binary_search(id).is_ok());
        tf.retain(|id, _| t.binary_search(id).is_err());
    }
    let mut df = vec![0u32; words.len()];
    for tf in &tfs {
        for &id in tf.keys() {
            df[id as usize] += 1;
        }
    }
    let kinds = evidence::kinds(docs, &words);
    Corpus {
        tfs,
        df,
        words,
        kinds,
        templated,
        form,
    }
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

/// The same URL, or the same title word for word, is the same story whatever the dates; but
/// not a title made only of its feed's template (`Weather forecast for Berlin`, daily).
fn link_same_text(docs: &[Doc], corpus: &Corpus, uf: &mut UnionFind) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        let url = d.url.map(normalize_url).filter(|u| !u.is_empty());
        let title = d
            .title
            .iter()
            .map(|t| t.stem.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let templated = corpus.templated_title(i);
        let keys = url
            .map(|u| format!("u:{u}"))
            .into_iter()
            .chain((d.title.len() >= 4 && !templated).then(|| format!("t:{title}")));
        for key in keys {
            match seen.get(&key) {
                Some(&j) => {
                    if uf.find(i) != uf.find(j) {
                        uf.union(i, j);
                        let pass = if key.starts_with("u:") {
                            "same url"
                        } else {
                            "same title"
                        };
                        uf.merges.push(Merge {
                            a: i,
                            b: j,
                            pass,
                            score: 1.0,
                            terms: Vec::new(),
                        });
                    }
                }
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
        // An undated story may lie anywhere before it was first seen.
        for &u in &undated {
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

/// Disjoint sets with path halving; the smaller index becomes the root so labels are stable.
struct UnionFind {
    parent: Vec<usize>,
    merges: Vec<Merge>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            merges: Vec::new(),
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

    fn labels(mut self, merges: Vec<Merge>) -> Clusters {
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
        Clusters {
            label,
            count,
            merges,
        }
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
