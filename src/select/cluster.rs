//! Clustering: stories that report the same event, across sources, become one cluster.
//!
//! Each story is a TF-IDF vector over the terms of its title (counted four times) and the first
//! [`LEAD_WORDS`] words of its lead, stopwords removed, IDF taken over the stories being
//! selected plus the stories already sent. A term is a word's stem without accents, and a small
//! number written as a word counts as its digits (`five`, `cinq`, `fünf` → `5`; see [`term`]),
//! so `five dead` meets `5 dead` and `Bouaké` meets `Bouake`; a known name in another language
//! than English counts as its English words (`Côte d'Ivoire` → `ivory coast`, `Poutine` →
//! `putin`, `russischen` → `russian`; see [`super::aliases`]). Each feed's template (the terms most of
//! its stories in the window repeat, [`evidence::templates`]) is left out of its stories.
//!
//! Clustering runs twice. The first round weighs terms by IDF over stories; the second by IDF
//! over the first round's clusters ([`event_frequency`]), so an event's own words, which the
//! event itself makes common in the window, weigh as the rare words they are. Each round has
//! three passes:
//!
//! 1. Two stories are linked when their cosine similarity, discounted beyond a burst of
//!    [`LINK_BURST_HOURS`], is at least [`LINK_THRESHOLD`] ([`SAME_SOURCE_EXTRA`] more within
//!    one feed; [`TEMPLATED_LINK_THRESHOLD`] within a templated feed), what they share is
//!    evidence of one happening and not only of one subject ([`is_evidence`]: ordinary words,
//!    rare names or a rare number, not only a place, show or person), and they were published
//!    at most [`TIME_BOUND_HOURS`] apart; or when they share a URL or an identical title (not a
//!    title of the feed's template). Links are taken strongest first, and two clusters join
//!    only if the mean similarity over all their members' pairs is at least
//!    [`AVERAGE_THRESHOLD`] (group-average linkage) and half those pairs reach [`CHAIN_MIN`],
//!    so a cluster cannot grow by chaining.
//! 2. A dated story still alone joins the cluster whose centroid it is most similar to, if
//!    that cosine, discounted by how far the story lies in time outside the cluster's span
//!    ([`CENTROID_DECAY_HOURS`]), reaches [`CENTROID_THRESHOLD`] with evidence
//!    ([`attach::to_centroids`]). An undated story (its feed gave no date: it lies anywhere before
//!    it was first seen) is kept out of this pass, which trusts time.
//! 3. A story still alone, written in another language than a cluster, joins it when its title
//!    shares at least [`CROSS_NAMES`] names that are core to the cluster and rare outside it
//!    ([`attach::across_languages`]).
//!
//! Only pairs that share one of their [`SIGNATURE_TERMS`] highest-weighted terms are compared,
//! which keeps 10,000 stories well under a second.
//!
//! Every join is recorded ([`Merge`]: the pass, the score, the shared terms that weighed most)
//! for `gazette build --explain`.
//!
//! What it misses (the labelled sets, BENCHMARKS.md): short title-only stories of one feed
//! told in other words (held to the same-feed threshold, because one feed's stories on one
//! subject are often different events), and stories in two languages that share little beyond
//! a name or two (`Piratage imputé à la Russie` / `Report on US election hacking`). A lower
//! centroid threshold (0.20) finds more on the set it was tuned on, but on the unseen set a
//! title-only story on the same subject (`US Congress certifies Trump election`) joins an
//! event's cluster, the second round then finds every word of the subject rare, and every
//! story of the subject merges. Lower link thresholds, heavier names, Snowball stemming,
//! prefix truncation, character n-grams, mutual-nearest-neighbour links and name matching
//! between single stories across languages were measured and each bought a few pairs of recall
//! with more false merges, or did not hold on the other half of the set. On feeds it has not
//! seen (the blind set), listings of one area that share their features, identical status
//! lines of two incidents and one game's stories still merge; stories of one event retold in
//! other words in German are missed.

use std::borrow::Cow;
use std::collections::HashMap;

use super::attach;
pub use super::attach::{CENTROID_DECAY_HOURS, CENTROID_MIN_SIZE, CENTROID_THRESHOLD, CROSS_NAMES};
pub use super::evidence::Merge;
use super::evidence::{self, is_evidence, Kind, Shared};
pub use super::text::term;
use super::vectors::{add, candidate_pairs, cosine, terms, top_terms, weigh, Vector, TITLE_TF};
pub use super::vectors::{Doc, LEAD_WORDS, SIGNATURE_TERMS, TIME_BOUND_HOURS};

/// Minimum cosine similarity for two stories to be the same event.
pub const LINK_THRESHOLD: f32 = 0.28;
/// Extra similarity needed when both stories come from the same feed.
pub const SAME_SOURCE_EXTRA: f32 = 0.20;
/// Minimum mean similarity between all members of two clusters for them to merge.
pub const AVERAGE_THRESHOLD: f32 = 0.22;
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

/// Connected components of the same-event graph: `label[i]` is the component of doc `i`,
/// numbered 0.. in order of each component's first doc; `merges` says why each doc that
/// joined another did.
#[derive(Debug, Clone)]
pub struct Clusters {
    pub label: Vec<usize>,
    pub count: usize,
    pub merges: Vec<Merge>,
}

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
    let roots: Vec<usize> = (0..docs.len()).map(|i| uf.find(i)).collect();
    let joins = attach::to_centroids(
        docs,
        vectors,
        kinds,
        &corpus.words,
        &candidates,
        &roots,
        &sums,
    );
    uf.apply(joins);
    let roots: Vec<usize> = (0..docs.len()).map(|i| uf.find(i)).collect();
    let joins = attach::across_languages(docs, vectors, &corpus.df, &corpus.words, &roots);
    uf.apply(joins);
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
/// time between them beyond a burst, must reach the link threshold ([`LINK_THRESHOLD`], more within one feed), and what they share must
/// be evidence of one happening ([`is_evidence`]).
fn linked(
    docs: &[Doc],
    vectors: &[Vector],
    kinds: &[Kind],
    corpus: &Corpus,
    i: usize,
    j: usize,
) -> f32 {
    // Most candidate pairs fall short of the lowest threshold: the plain cosine tells.
    if cosine(&vectors[i], &vectors[j]) < LINK_THRESHOLD {
        return 0.0;
    }
    let shared = Shared::of(&vectors[i], &vectors[j], kinds);
    let decay = link_decay(gap_hours(&docs[i], &docs[j]));
    let score = shared.total() * decay;
    let threshold = match corpus.same_feed(i, j) {
        true if corpus.form[i] => TEMPLATED_LINK_THRESHOLD,
        true => LINK_THRESHOLD + SAME_SOURCE_EXTRA,
        false => LINK_THRESHOLD,
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

/// The hours between two stories: 0 when either has no time (a sent story); an undated story
/// may lie anywhere before it was first seen.
fn gap_hours(a: &Doc, b: &Doc) -> f32 {
    let (Some(ta), Some(tb)) = (a.published, b.published) else {
        return 0.0;
    };
    // The story seen later may, when undated, lie as early as the other one.
    let (early, late, late_dated) = if ta <= tb {
        (ta, tb, b.dated)
    } else {
        (tb, ta, a.dated)
    };
    let minutes = if late_dated {
        (late - early).num_minutes()
    } else {
        0
    };
    minutes as f32 / 60.0
}

/// Pairwise cosine similarities within a corpus (diagnostics and tests).
pub fn similarities(docs: &[Doc]) -> impl Fn(usize, usize) -> f32 {
    let corpus = count_terms(docs);
    let v = weigh(&corpus.tfs, &corpus.df, docs.len());
    move |i, j| cosine(&v[i], &v[j])
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
    /// Each doc's feed as a number (`u32::MAX`: none, a sent story).
    feed: Vec<u32>,
}

impl Corpus<'_> {
    fn templated_title(&self, i: usize) -> bool {
        self.templated[i]
    }

    /// Whether two docs come from one feed. One feed's stories share its own vocabulary (its
    /// place names, section words and boilerplate), so they need more in common.
    fn same_feed(&self, i: usize, j: usize) -> bool {
        self.feed[i] != u32::MAX && self.feed[i] == self.feed[j]
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
    let mut feeds: HashMap<&str, u32> = HashMap::new();
    let feed = docs
        .iter()
        .map(|d| match d.feed {
            Some(f) => {
                let next = feeds.len() as u32;
                *feeds.entry(f).or_insert(next)
            }
            None => u32::MAX,
        })
        .collect();
    Corpus {
        tfs,
        df,
        words,
        kinds,
        templated,
        form,
        feed,
    }
}

/// The same URL, or the same title word for word, is the same story whatever the dates; but
/// not a title made only of its feed's template (`Weather forecast for Berlin`, daily).
/// Links that differ only in their fragment are one page, unless the window holds two or more
/// fragments of that page: a blog whose posts are anchors of one page per day
/// (`…/2017/06/24.html#a100601`) tells its posts apart that way, and a link to the page itself
/// then says nothing about which post.
fn link_same_text(docs: &[Doc], corpus: &Corpus, uf: &mut UnionFind) {
    let links: Vec<Option<(String, String)>> = docs
        .iter()
        .map(|d| d.url.map(page_and_fragment).filter(|(p, _)| !p.is_empty()))
        .collect();
    let mut fragments: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
    for (page, fragment) in links.iter().flatten() {
        let seen = fragments.entry(page).or_default();
        if !fragment.is_empty() {
            seen.insert(fragment);
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        let url_key = links[i].as_ref().and_then(|(page, fragment)| {
            match (fragments[page.as_str()].len() >= 2, fragment.is_empty()) {
                (false, _) => Some(format!("u:{page}")),
                (true, false) => Some(format!("u:{page}#{fragment}")),
                (true, true) => None,
            }
        });
        let title_key = (d.title.len() >= 4 && !corpus.templated_title(i)).then(|| {
            let title = d.title.iter().map(|t| t.stem.as_str()).collect::<Vec<_>>();
            format!("t:{}", title.join(" "))
        });
        for key in url_key.into_iter().chain(title_key) {
            match seen.get(&key) {
                Some(&j) => {
                    if uf.find(i) != uf.find(j) {
                        uf.union(i, j);
                        uf.merges.push(Merge {
                            a: i,
                            b: j,
                            pass: if key.starts_with("u:") {
                                "same url"
                            } else {
                                "same title"
                            },
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

/// A URL reduced to what identifies the page (no scheme, `www.`, fragment or trailing slash),
/// and its fragment (empty when none).
pub fn page_and_fragment(url: &str) -> (String, String) {
    let u = url.trim();
    let (u, fragment) = u.split_once('#').unwrap_or((u, ""));
    let u = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .unwrap_or(u);
    let u = u.strip_prefix("www.").unwrap_or(u);
    (u.trim_end_matches('/').to_lowercase(), fragment.to_string())
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

    /// Joins each merge's two docs and keeps the record.
    fn apply(&mut self, merges: Vec<Merge>) {
        for m in merges {
            self.union(m.a, m.b);
            self.merges.push(m);
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
