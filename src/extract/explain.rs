//! Why a lead was picked: every candidate paragraph with its score and the
//! reason it was refused or kept (`gazette summarize --explain [--json]`).

use serde::Serialize;

use super::lead::Judged;
use super::sanitize;
use super::{Lead, Paragraph};

/// One candidate paragraph and the verdict on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Position among the candidates.
    pub position: usize,
    /// Its plain text (after a title line or credit lines were cut off).
    pub text: String,
    /// How much it reads as a lead, 0 to 1 (see the README of `summarize --explain`).
    pub score: f64,
    /// `lead` (picked), `kept` (acceptable, not needed) or `refused`.
    pub verdict: &'static str,
    /// Why it was refused, or why it was picked or passed over.
    pub reason: String,
}

/// The candidates of one input, judged, and the lead they give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// `page` or `fragment`.
    pub kind: &'static str,
    /// The headline known to the picker, if any.
    pub title: Option<String>,
    /// Notes on how the candidates were found (body region, JSON-LD, fallbacks).
    pub notes: Vec<String>,
    /// Every candidate paragraph, in document order.
    pub candidates: Vec<Verdict>,
    /// The lead: the picked candidates.
    pub lead: Option<Lead>,
}

impl Explanation {
    /// Builds the explanation and the lead from judged candidates.
    pub(crate) fn new(
        kind: &'static str,
        title: Option<String>,
        judged: Vec<Judged>,
        notes: Vec<String>,
    ) -> Explanation {
        let lead = lead_of(&judged);
        let first_pick = judged.iter().position(|j| j.picked);
        let candidates = judged
            .into_iter()
            .enumerate()
            .map(|(position, j)| {
                let (verdict, reason) = match (&j.refusal, j.picked) {
                    (Some(r), true) => (
                        "lead",
                        format!("{}, but nothing else reads as prose", r.describe()),
                    ),
                    (Some(r), false) => ("refused", r.describe()),
                    (None, true) if Some(position) == first_pick => ("lead", pick_reason(j.score)),
                    (None, true) => ("lead", "the lead's next paragraph".into()),
                    (None, false) => (
                        "kept",
                        if first_pick.is_some_and(|f| position < f) {
                            "passed over: not prose enough while a later paragraph is".into()
                        } else {
                            "acceptable, not needed".into()
                        },
                    ),
                };
                Verdict {
                    position,
                    text: j.text,
                    score: (j.score * 1000.0).round() / 1000.0,
                    verdict,
                    reason,
                }
            })
            .collect();
        Explanation {
            kind,
            title,
            notes,
            candidates,
            lead,
        }
    }
}

fn pick_reason(score: f64) -> String {
    if score >= 0.5 {
        "first prose paragraph not refused".into()
    } else if score >= 0.2 {
        "no prose paragraph: first text of 40+ characters".into()
    } else {
        "no prose paragraph: first text not refused".into()
    }
}

/// The lead made of the picked candidates.
pub(crate) fn lead_of(judged: &[Judged]) -> Option<Lead> {
    let paragraphs: Vec<Paragraph> = judged
        .iter()
        .filter(|j| j.picked)
        .map(|j| Paragraph {
            text: j.text.clone(),
            html: sanitize::lead_html(&j.html),
        })
        .collect();
    (!paragraphs.is_empty()).then_some(Lead { paragraphs })
}
