//! Why each story was kept or dropped, in the words `gazette build --explain` prints.

use super::cluster::Merge;
use super::rank::Group;
use super::topics::{Lexicon, TopicMatch};
use super::{Explained, Joined};

/// What happened to a cluster as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Kept,
    Sent,
    OffTopic,
    Excluded(String),
    OverMaxStories,
    OverMaxPerSection,
}

impl Verdict {
    /// The short reason string of the explain output.
    pub fn reason(&self) -> String {
        match self {
            Self::Kept => "kept".into(),
            Self::Sent => "sent in an earlier issue".into(),
            Self::OffTopic => "off-topic".into(),
            Self::Excluded(word) => format!("excluded: {word}"),
            Self::OverMaxStories => "over max_stories".into(),
            Self::OverMaxPerSection => "over max_per_section".into(),
        }
    }
}

/// One explain row per candidate, in candidate order. The leader of a kept cluster is the only
/// row with `kept: true`; the other members of a kept cluster are "duplicate of cluster N";
/// members of a dropped cluster share its reason.
pub fn rows(
    count: usize,
    groups: &[Group],
    verdicts: &[Verdict],
    matches: &[TopicMatch],
    lex: &Lexicon,
) -> Vec<Explained> {
    let mut rows: Vec<Option<Explained>> = vec![None; count];
    for (g, verdict) in groups.iter().zip(verdicts) {
        for (pos, &m) in g.members.iter().enumerate() {
            let kept = *verdict == Verdict::Kept && pos == 0;
            let reason = match verdict {
                Verdict::Kept if pos > 0 => format!("duplicate of cluster {}", g.id),
                v => v.reason(),
            };
            let topics = named(&matches[m].topics, lex);
            rows[m] = Some(Explained {
                index: m,
                topics,
                score: g.score,
                cluster: g.id,
                kept,
                reason,
                merged: Vec::new(),
            });
        }
    }
    rows.into_iter()
        .map(|r| r.expect("every candidate is in a group"))
        .collect()
}

/// Topic indices to `(name, score)` pairs.
pub fn named(topics: &[(usize, f64)], lex: &Lexicon) -> Vec<(String, f64)> {
    topics
        .iter()
        .map(|&(t, s)| (lex.names()[t].clone(), s))
        .collect()
}

/// Adds each join of the clustering to the row of the candidate that joined; a join of a sent
/// story is shown on the candidate's side. `merges` index the candidates, then the sent
/// stories.
pub fn joins(rows: &mut [Explained], merges: &[Merge]) {
    let n = rows.len();
    for m in merges {
        let (a, b) = if m.a < n { (m.a, m.b) } else { (m.b, m.a) };
        if a >= n {
            continue;
        }
        rows[a].merged.push(Joined {
            with: (b < n).then_some(b),
            sent: (b >= n).then(|| b - n),
            how: m.pass.to_string(),
            score: f64::from(m.score),
            terms: m.terms.clone(),
        });
    }
}
