//! Ranking: one score per cluster, and the order stories are picked in.
//!
//! ```text
//! score = 100 × relevance × weight × freshness × coverage
//!   relevance = 1 − e^(−best_topic_score / 3)      (1 when the digest has no topics)
//!   weight    = the leading story's source_weight, clamped to 0..=10
//!   freshness = 0.5 + 0.5 × 0.5^(age_hours / 72)   (age of the leading story at `now`)
//!   coverage  = 1 + 0.5 × ln(distinct sources in the cluster)
//! ```
//! A cluster's topic scores are the best each member reached. Ties are broken by the earlier
//! publication of the leading story, then its `id`, then its index, so the order never depends
//! on hashing or on the order the store returned the stories in.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::topics::TopicMatch;
use super::Candidate;

/// Half-life of the recency boost, in hours.
pub const HALF_LIFE_HOURS: f64 = 72.0;
/// Topic score at which relevance reaches 1 − 1/e.
pub const RELEVANCE_SCALE: f64 = 3.0;

/// The stories of one cluster that are in the window, with what ranking decided about it.
#[derive(Debug, Clone)]
pub struct Group {
    /// Cluster number (as reported by explain).
    pub id: usize,
    /// Candidate indices, the leader first, then in leader order.
    pub members: Vec<usize>,
    /// Whether a story sent in an earlier issue belongs to the same event.
    pub sent: bool,
    /// Best score each topic reached among the members, in topic order.
    pub topics: Vec<(usize, f64)>,
    pub score: f64,
}

impl Group {
    /// The story that represents the cluster.
    pub fn leader(&self) -> usize {
        self.members[0]
    }

    /// The section the cluster belongs in: its best topic, ties to the earlier topic.
    pub fn section(&self) -> Option<usize> {
        let m = TopicMatch {
            topics: self.topics.clone(),
            excluded_by: None,
        };
        m.best().map(|(t, _)| t)
    }
}

/// Orders the members of a cluster: highest source weight, then fullest lead, then earliest,
/// then lowest index. The first is the leader.
pub fn order_members(members: &mut [usize], candidates: &[Candidate]) {
    members.sort_by(|&a, &b| {
        let (x, y) = (&candidates[a], &candidates[b]);
        y.source_weight
            .total_cmp(&x.source_weight)
            .then(y.lead.chars().count().cmp(&x.lead.chars().count()))
            .then(x.published.cmp(&y.published))
            .then(a.cmp(&b))
    });
}

/// Best score per topic over the members, in topic order.
pub fn merge_topics(members: &[usize], matches: &[TopicMatch]) -> Vec<(usize, f64)> {
    let mut best: Vec<(usize, f64)> = Vec::new();
    for &(t, s) in members.iter().flat_map(|&m| matches[m].topics.iter()) {
        match best.iter_mut().find(|(bt, _)| *bt == t) {
            Some(e) => e.1 = e.1.max(s),
            None => best.push((t, s)),
        }
    }
    best.sort_by_key(|&(t, _)| t);
    best
}

/// The ranking score of a cluster (see the module docs).
pub fn score(group: &Group, candidates: &[Candidate], has_topics: bool, now: DateTime<Utc>) -> f64 {
    let leader = &candidates[group.leader()];
    let best = group.topics.iter().map(|&(_, s)| s).fold(0.0, f64::max);
    let relevance = if has_topics {
        1.0 - (-best / RELEVANCE_SCALE).exp()
    } else {
        1.0
    };
    let weight = if leader.source_weight.is_finite() {
        leader.source_weight.clamp(0.0, 10.0)
    } else {
        1.0
    };
    let age_hours = ((now - leader.published).num_minutes() as f64 / 60.0).max(0.0);
    let freshness = 0.5 + 0.5 * 0.5f64.powf(age_hours / HALF_LIFE_HOURS);
    let sources: BTreeSet<&str> = group
        .members
        .iter()
        .map(|&m| candidates[m].source.as_str())
        .collect();
    let coverage = 1.0 + 0.5 * (sources.len() as f64).ln();
    100.0 * relevance * weight * freshness * coverage
}

/// Ranking order of two clusters: higher score first, then the deterministic tie-breaks.
pub fn compare(a: &Group, b: &Group, candidates: &[Candidate]) -> Ordering {
    let (x, y) = (&candidates[a.leader()], &candidates[b.leader()]);
    b.score
        .total_cmp(&a.score)
        .then(x.published.cmp(&y.published))
        .then(x.id.cmp(&y.id))
        .then(a.leader().cmp(&b.leader()))
}
