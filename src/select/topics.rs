//! Topic matching: which of a digest's topics a story is about, and how strongly.
//!
//! A keyword is a word or phrase. Each word matches on word boundaries, ignoring case and
//! simple plurals and possessives (`tariff` matches `Tariffs` and `tariff's`), except:
//! - a word written in capitals (`FCC`, `CHIPS`, `AI`) is an acronym and matches only in
//!   capitals (`FCC`, `FCC's`, `FCCs`), so `chips` in a recipe is not `CHIPS`;
//! - a word ending in `*` matches any word starting with it (`monopol*`).
//!
//! A story's score for a topic is `3·title + 1.5·lead + 1·categories`, where each field counts
//! the distinct keywords it contains plus a quarter for each repeat (at most four repeats).
//! Any match of one of the topic's `exclude` words or phrases, in any field, removes the topic.

use std::collections::HashMap;

use super::text::{self, is_all_caps, Token};
use super::{Candidate, TopicSpec};

/// Weight of a keyword found in the title.
pub const TITLE_WEIGHT: f64 = 3.0;
/// Weight of a keyword found in the lead.
pub const LEAD_WEIGHT: f64 = 1.5;
/// Weight of a keyword found in the feed's categories.
pub const CATEGORY_WEIGHT: f64 = 1.0;
const REPEAT_BONUS: f64 = 0.25;
const MAX_REPEATS: usize = 4;

/// How one word of a keyword matches a token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WordPattern {
    /// Case-insensitive, after stemming.
    Stem(String),
    /// An acronym: the token's original case must match.
    Exact(String),
    /// Lowercase prefix of the token.
    Prefix(String),
}

impl WordPattern {
    fn parse(word: &str) -> Self {
        if let Some(prefix) = word.strip_suffix('*') {
            return Self::Prefix(prefix.to_lowercase());
        }
        let token = text::token(word);
        if token.exact.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && is_all_caps(&token.exact)
        {
            Self::Exact(token.exact)
        } else {
            Self::Stem(token.stem)
        }
    }

    fn matches(&self, token: &Token) -> bool {
        match self {
            Self::Stem(s) => token.stem == *s,
            Self::Exact(s) => token.exact == *s,
            Self::Prefix(p) => token.stem.starts_with(p.as_str()),
        }
    }
}

/// One keyword or exclude phrase of one topic.
#[derive(Debug, Clone)]
struct Phrase {
    topic: usize,
    text: String,
    exclude: bool,
    words: Vec<WordPattern>,
}

/// The digest's topics compiled for fast matching: phrases indexed by their first word.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    names: Vec<String>,
    phrases: Vec<Phrase>,
    by_stem: HashMap<String, Vec<usize>>,
    by_exact: HashMap<String, Vec<usize>>,
    by_prefix: Vec<usize>,
}

/// What the lexicon found in one story.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicMatch {
    /// Every matching topic with its score, in the digest's topic order.
    pub topics: Vec<(usize, f64)>,
    /// The exclude phrase that removed a topic the keywords had matched, if any.
    pub excluded_by: Option<String>,
}

impl TopicMatch {
    /// The highest-scoring topic; ties go to the one listed first in the digest.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.topics
            .iter()
            .copied()
            .fold(None, |best, (t, s)| match best {
                Some((_, bs)) if bs >= s => best,
                _ => Some((t, s)),
            })
    }
}

impl Lexicon {
    /// Compiles the topics; empty keywords and phrases are ignored.
    pub fn new(topics: &[TopicSpec]) -> Self {
        let mut lex = Lexicon {
            names: topics.iter().map(|t| t.name.clone()).collect(),
            ..Default::default()
        };
        for (i, spec) in topics.iter().enumerate() {
            for kw in &spec.keywords {
                lex.add(i, kw, false);
            }
            for ex in &spec.exclude {
                lex.add(i, ex, true);
            }
        }
        lex
    }

    fn add(&mut self, topic: usize, text: &str, exclude: bool) {
        let words: Vec<WordPattern> = text::words(text).map(WordPattern::parse).collect();
        let id = self.phrases.len();
        match words.first() {
            None => return,
            Some(WordPattern::Stem(s)) => self.by_stem.entry(s.clone()).or_default().push(id),
            Some(WordPattern::Exact(s)) => self.by_exact.entry(s.clone()).or_default().push(id),
            Some(WordPattern::Prefix(_)) => self.by_prefix.push(id),
        }
        self.phrases.push(Phrase {
            topic,
            text: text.trim().to_string(),
            exclude,
            words,
        });
    }

    /// The topic names, in the digest's order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Matches one story against every topic.
    pub fn score(&self, c: &Candidate) -> TopicMatch {
        self.score_tokens(
            &text::tokenize(&c.title),
            &text::tokenize(&c.lead),
            &c.categories,
        )
    }

    /// [`Lexicon::score`] for a story whose title and lead are already tokenized.
    pub fn score_tokens(
        &self,
        title: &[Token],
        lead: &[Token],
        categories: &[String],
    ) -> TopicMatch {
        if self.phrases.is_empty() {
            return TopicMatch::default();
        }
        let n = self.names.len();
        let mut scores = vec![0.0; n];
        let mut excluded: Vec<Option<&str>> = vec![None; n];
        let cats: Vec<Token> = categories
            .iter()
            .flat_map(|cat| {
                // A boundary token keeps phrases from running across two categories.
                text::tokenize(cat)
                    .into_iter()
                    .chain(std::iter::once(Token {
                        stem: "\u{0}".into(),
                        exact: "\u{0}".into(),
                    }))
            })
            .collect();
        let fields = [
            (title, TITLE_WEIGHT),
            (lead, LEAD_WEIGHT),
            (&cats[..], CATEGORY_WEIGHT),
        ];
        for (tokens, weight) in fields {
            let counts = self.count(tokens);
            for (id, count) in counts {
                let p = &self.phrases[id];
                if p.exclude {
                    excluded[p.topic].get_or_insert(&p.text);
                } else {
                    let repeats = (count - 1).min(MAX_REPEATS) as f64;
                    scores[p.topic] += weight * (1.0 + REPEAT_BONUS * repeats);
                }
            }
        }
        self.finish(&scores, &excluded)
    }

    fn finish(&self, scores: &[f64], excluded: &[Option<&str>]) -> TopicMatch {
        let mut m = TopicMatch::default();
        for (t, &s) in scores.iter().enumerate() {
            if s <= 0.0 {
                continue;
            }
            match excluded[t] {
                Some(word) => {
                    m.excluded_by.get_or_insert_with(|| word.to_string());
                }
                None => m.topics.push((t, s)),
            }
        }
        m
    }

    /// How often each phrase occurs in a token sequence (phrase id → count), in id order.
    fn count(&self, tokens: &[Token]) -> Vec<(usize, usize)> {
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for start in 0..tokens.len() {
            let tok = &tokens[start];
            let stems = self.by_stem.get(&tok.stem).into_iter().flatten();
            let exacts = self.by_exact.get(&tok.exact).into_iter().flatten();
            for &id in stems.chain(exacts).chain(self.by_prefix.iter()) {
                if self.phrase_at(id, &tokens[start..]) {
                    *counts.entry(id).or_default() += 1;
                }
            }
        }
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort_unstable();
        counts
    }

    fn phrase_at(&self, id: usize, tokens: &[Token]) -> bool {
        let words = &self.phrases[id].words;
        words.len() <= tokens.len() && words.iter().zip(tokens).all(|(w, t)| w.matches(t))
    }
}
