//! Story selection: which stories of the window go into an issue, once each, in which section.
//!
//! `select` is pure: candidates, earlier issues' stories and options in, a [`Selection`] out.
//! The steps, each in its own file:
//! 1. [`topics`] scores every candidate against the digest's topics;
//! 2. [`cluster`] groups candidates (and stories already sent) that report the same event;
//! 3. [`rank`] picks each cluster's leading story and scores the cluster;
//! 4. clusters that were sent, are off-topic or over the limits are dropped; the rest fill the
//!    sections in the digest's topic order, each cluster in its best-matching section only;
//! 5. [`explain`] says, for every candidate, what happened to it and why.
//!
//! Invariant: a candidate appears in at most one [`Pick`] (as `index` or in `also`), so no story
//! appears twice in an issue.

pub mod aliases;
pub mod attach;
pub mod cluster;
pub mod evidence;
pub mod explain;
pub mod rank;
pub mod text;
pub mod topics;
pub mod vectors;

use chrono::{DateTime, Utc};
use serde::Serialize;

use explain::Verdict;
use rank::Group;
use topics::{Lexicon, TopicMatch};

/// One stored story in the digest's window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The story's stable id in the store (used for deterministic tie-breaks).
    pub id: String,
    pub url: Option<String>,
    pub title: String,
    /// The lead paragraph as plain text.
    pub lead: String,
    /// The feed's categories for the entry.
    pub categories: Vec<String>,
    /// Display name of the feed; distinct sources count towards the ranking.
    pub source: String,
    /// The feed's configured ranking weight (1.0 by default).
    pub source_weight: f64,
    /// The feed the story came from (its URL): clustering learns each feed's template (the
    /// words most of its items repeat) from the feed's own stories.
    pub feed: String,
    pub published: DateTime<Utc>,
    /// False when the feed gave no date and `published` is only when the story was first seen.
    pub dated: bool,
}

/// A digest topic as configured under `[topics.NAME]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicSpec {
    pub name: String,
    /// Words and phrases; see [`topics`] for how they match.
    pub keywords: Vec<String>,
    /// Words and phrases that take a story out of this topic wherever they occur.
    pub exclude: Vec<String>,
}

/// A story that went out in an earlier issue of the same digest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentStory {
    pub url: Option<String>,
    pub title: String,
    pub lead: String,
}

/// What the digest asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The digest's topics in section order; empty means every story, in one untitled section.
    pub topics: Vec<TopicSpec>,
    /// At most this many clusters in the issue.
    pub max_stories: usize,
    /// At most this many clusters in one section.
    pub max_per_section: Option<usize>,
    /// The time the issue is built (recency is measured from here).
    pub now: DateTime<Utc>,
}

/// One story in the issue: the leading story of its cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pick {
    /// Index into the candidates.
    pub index: usize,
    /// The other members of its cluster ("also covered by"), best first.
    pub also: Vec<usize>,
    pub score: f64,
    /// Every topic the cluster matched, with its score, in topic order.
    pub topics: Vec<(String, f64)>,
}

/// A section of the issue; `topic` is `None` when the digest has no topics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub topic: Option<String>,
    /// In ranking order.
    pub picks: Vec<Pick>,
}

/// Why one candidate was kept or dropped (`gazette build --explain`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explained {
    pub index: usize,
    /// The topics this story matched itself, with scores.
    pub topics: Vec<(String, f64)>,
    /// The score of its cluster.
    pub score: f64,
    /// Stories reporting the same event share this number.
    pub cluster: usize,
    /// True only for the story that represents its cluster in the issue.
    pub kept: bool,
    /// `kept`, `off-topic`, `excluded: WORD`, `duplicate of cluster N`,
    /// `sent in an earlier issue`, `over max_stories` or `over max_per_section`.
    pub reason: String,
    /// Why this story joined its cluster: each join in which it was the one that joined.
    pub merged: Vec<Joined>,
}

/// One join of the same-event clustering, seen from the story that joined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Joined {
    /// The story it was found to report the same event as: a candidate's index, or `None`
    /// for a story sent in an earlier issue (`sent` then says which).
    pub with: Option<usize>,
    /// Index into the sent stories when `with` is `None`.
    pub sent: Option<usize>,
    /// How: `same url`, `same title`, `link`, `centroid` or `names across languages`.
    pub how: String,
    /// The similarity that passed the threshold (names across languages: how many names).
    pub score: f64,
    /// The shared terms that weighed most.
    pub terms: Vec<String>,
}

/// The sections and the explanation for every candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    /// Non-empty sections in the digest's topic order.
    pub sections: Vec<Section>,
    /// One row per candidate, in candidate order.
    pub explain: Vec<Explained>,
}

/// Selects the stories of the next issue. Deterministic for the same inputs.
pub fn select(candidates: &[Candidate], sent: &[SentStory], opts: &Options) -> Selection {
    let lex = Lexicon::new(&opts.topics);
    let tokens: Vec<Tokens> = candidates
        .iter()
        .map(|c| Tokens::of(&c.title, &c.lead))
        .collect();
    let sent_tokens: Vec<Tokens> = sent.iter().map(|s| Tokens::of(&s.title, &s.lead)).collect();
    let matches: Vec<TopicMatch> = candidates
        .iter()
        .zip(&tokens)
        .map(|(c, t)| lex.score_tokens(&t.title, &t.lead, &c.categories))
        .collect();
    let (mut groups, merges) =
        build_groups(candidates, sent, &tokens, &sent_tokens, &matches, opts);
    groups.sort_by(|a, b| rank::compare(a, b, candidates));
    let verdicts = judge(&groups, &matches, opts);
    let sections = fill_sections(&groups, &verdicts, &lex, opts);
    let mut explain = explain::rows(candidates.len(), &groups, &verdicts, &matches, &lex);
    explain::joins(&mut explain, &merges);
    Selection { sections, explain }
}

/// A story's title and lead, tokenized once for both topic matching and clustering.
struct Tokens {
    title: Vec<text::Token>,
    lead: Vec<text::Token>,
}

impl Tokens {
    fn of(title: &str, lead: &str) -> Self {
        Self {
            title: text::tokenize(&text::repair(title)),
            lead: text::tokenize(&text::repair(lead)),
        }
    }
}

/// Clusters candidates together with the sent stories and scores each cluster that has a candidate.
fn build_groups(
    candidates: &[Candidate],
    sent: &[SentStory],
    tokens: &[Tokens],
    sent_tokens: &[Tokens],
    matches: &[TopicMatch],
    opts: &Options,
) -> (Vec<Group>, Vec<cluster::Merge>) {
    let docs: Vec<cluster::Doc> = candidates
        .iter()
        .zip(tokens)
        .map(|(c, t)| cluster::Doc {
            url: c.url.as_deref(),
            title: &t.title,
            lead: &t.lead,
            feed: Some(&c.feed),
            published: Some(c.published),
            dated: c.dated,
        })
        .chain(sent.iter().zip(sent_tokens).map(|(s, t)| cluster::Doc {
            url: s.url.as_deref(),
            title: &t.title,
            lead: &t.lead,
            feed: None,
            published: None,
            dated: false,
        }))
        .collect();
    let clusters = cluster::cluster(&docs);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); clusters.count];
    let mut was_sent = vec![false; clusters.count];
    for (i, &label) in clusters.label.iter().enumerate() {
        if i < candidates.len() {
            members[label].push(i);
        } else {
            was_sent[label] = true;
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    for (id, mut m) in members
        .into_iter()
        .enumerate()
        .filter(|(_, m)| !m.is_empty())
    {
        rank::order_members(&mut m, candidates);
        let topics = rank::merge_topics(&m, matches);
        let mut g = Group {
            id,
            members: m,
            sent: was_sent[id],
            topics,
            score: 0.0,
        };
        g.score = rank::score(&g, candidates, !opts.topics.is_empty(), opts.now);
        groups.push(g);
    }
    (groups, clusters.merges)
}

/// Decides each cluster's fate, walking them in ranking order.
fn judge(groups: &[Group], matches: &[TopicMatch], opts: &Options) -> Vec<Verdict> {
    let mut kept = 0;
    let mut per_section = vec![0usize; opts.topics.len().max(1)];
    groups
        .iter()
        .map(|g| {
            if g.sent {
                return Verdict::Sent;
            }
            let section = match (opts.topics.is_empty(), g.section()) {
                (true, _) => 0,
                (false, Some(s)) => s,
                (false, None) => return off_topic(g, matches),
            };
            if kept >= opts.max_stories {
                return Verdict::OverMaxStories;
            }
            if opts
                .max_per_section
                .is_some_and(|max| per_section[section] >= max)
            {
                return Verdict::OverMaxPerSection;
            }
            kept += 1;
            per_section[section] += 1;
            Verdict::Kept
        })
        .collect()
}

fn off_topic(g: &Group, matches: &[TopicMatch]) -> Verdict {
    match g
        .members
        .iter()
        .find_map(|&m| matches[m].excluded_by.clone())
    {
        Some(word) => Verdict::Excluded(word),
        None => Verdict::OffTopic,
    }
}

/// Kept clusters into sections: topic order, ranking order within a section.
fn fill_sections(
    groups: &[Group],
    verdicts: &[Verdict],
    lex: &Lexicon,
    opts: &Options,
) -> Vec<Section> {
    let titles: Vec<Option<String>> = if opts.topics.is_empty() {
        vec![None]
    } else {
        lex.names().iter().cloned().map(Some).collect()
    };
    let mut sections: Vec<Section> = titles
        .into_iter()
        .map(|topic| Section {
            topic,
            picks: Vec::new(),
        })
        .collect();
    for (g, _) in groups
        .iter()
        .zip(verdicts)
        .filter(|(_, v)| **v == Verdict::Kept)
    {
        let pick = Pick {
            index: g.leader(),
            also: g.members[1..].to_vec(),
            score: g.score,
            topics: explain::named(&g.topics, lex),
        };
        sections[g.section().unwrap_or(0)].picks.push(pick);
    }
    sections.retain(|s| !s.picks.is_empty());
    sections
}

#[cfg(test)]
mod tests;
