//! Clustering: stories that report the same event, across sources, become one cluster.
//!
//! Each story is a TF-IDF vector over the stems of its title (counted four times) and the first
//! [`LEAD_WORDS`] words of its lead, stopwords removed, IDF taken over the stories being
//! selected plus the stories already sent. Two stories are linked when their cosine similarity
//! is at least [`LINK_THRESHOLD`] ([`SAME_SOURCE_EXTRA`] more within one feed) and they were published at most [`TIME_BOUND_HOURS`] apart,
//! or when they share a URL or an identical title. Links are taken strongest first, and two
//! clusters join only if the mean similarity over all their members' pairs is at least
//! [`AVERAGE_THRESHOLD`] (group-average linkage), so one loose pair cannot chain two events.
//! Stories that merely share a topic share few rare words, so they stay apart.
//!
//! Only pairs that share one of their [`SIGNATURE_TERMS`] highest-weighted terms are compared,
//! which keeps 10,000 stories well under a second.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::text::{self, Token};

/// Minimum cosine similarity for two stories to be the same event.
pub const LINK_THRESHOLD: f32 = 0.25;
/// Extra similarity needed when both stories come from the same feed.
pub const SAME_SOURCE_EXTRA: f32 = 0.30;
/// Minimum mean similarity between all members of two clusters for them to merge.
pub const AVERAGE_THRESHOLD: f32 = 0.20;
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

/// Groups `docs` into same-event clusters.
pub fn cluster(docs: &[Doc]) -> Clusters {
    let vectors = vectorize(docs);
    let mut uf = UnionFind::new(docs.len());
    link_same_text(docs, &mut uf);
    let mut pairs: Vec<(f32, usize, usize)> = candidate_pairs(docs, &vectors)
        .into_iter()
        .map(|(i, j)| (cosine(&vectors[i], &vectors[j]), i, j))
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
    uf.labels()
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
    let v = vectorize(docs);
    move |i, j| cosine(&v[i], &v[j])
}

fn terms<'a>(doc: &Doc<'a>) -> impl Iterator<Item = (&'a str, f32)> {
    let title = doc.title.iter().map(|t| (t.stem.as_str(), TITLE_TF));
    let lead = doc
        .lead
        .iter()
        .take(LEAD_WORDS)
        .map(|t| (t.stem.as_str(), 1.0));
    title.chain(lead).filter(|(stem, _)| is_event_word(stem))
}

/// Words of three letters or more (or with a digit) that are not stopwords: two-letter words
/// are mostly function words in every language, and fragments of badly decoded text.
fn is_event_word(stem: &str) -> bool {
    let n = stem.chars().count();
    (n >= 3 || (n == 2 && stem.chars().any(|c| c.is_ascii_digit()))) && !text::is_stopword(stem)
}

/// L2-normalized TF-IDF vectors, each sorted by term id.
fn vectorize(docs: &[Doc]) -> Vec<Vector> {
    let mut vocab: HashMap<&str, u32> = HashMap::new();
    let mut df: Vec<u32> = Vec::new();
    let tfs: Vec<HashMap<u32, f32>> = docs
        .iter()
        .map(|d| {
            let mut tf: HashMap<u32, f32> = HashMap::new();
            for (stem, w) in terms(d) {
                let next = vocab.len() as u32;
                let id = *vocab.entry(stem).or_insert(next);
                if id == next {
                    df.push(0);
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
    let n = docs.len() as f32;
    tfs.into_iter()
        .map(|tf| {
            let mut v: Vector = tf
                .into_iter()
                .map(|(id, f)| (id, (1.0 + f.ln()) * idf(n, df[id as usize])))
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
