//! What the pipeline knows about a story besides its own text: the headline,
//! and the other items of the same feed. A paragraph that several items of
//! one feed share (series note, "originally appeared in", sponsor, share and
//! subscribe lines) is boilerplate, never a lead.

use std::collections::{HashMap, HashSet};

use super::fragment::fragment_blocks;
use super::text::{norm_tokens, token_f1};

/// Context for picking one story's lead. The default is no context at all
/// (what `gazette summarize FILE` has).
#[derive(Debug, Clone, Copy, Default)]
pub struct LeadContext<'a> {
    /// The story's headline: a paragraph or first line that repeats it is skipped.
    pub title: Option<&'a str>,
    /// The story's feed, and which of its items this story is.
    pub feed: Option<FeedRef<'a>>,
}

/// A story's place in its feed's index.
#[derive(Debug, Clone, Copy)]
pub struct FeedRef<'a> {
    /// The paragraphs of the feed's items.
    pub index: &'a FeedIndex,
    /// This story's position among the fragments the index was built from;
    /// `None` when the index holds only the other items.
    pub item: Option<usize>,
}

/// Paragraph keys of every item of one feed: the opening words of the first
/// and last paragraphs of each item's content (or summary).
#[derive(Debug, Clone, Default)]
pub struct FeedIndex {
    /// Key → the items (positions) that have a paragraph with it, and that paragraph.
    keys: HashMap<String, Vec<(usize, String)>>,
    /// Per item, all its keys (to tell a repeated paragraph from a repeated story).
    items: Vec<HashSet<String>>,
}

/// How many paragraphs at each end of an item are indexed.
const ENDS: usize = 6;
/// Words of a paragraph that make its key.
const KEY_WORDS: usize = 8;

impl FeedIndex {
    /// Indexes the fragments (HTML or plain text) of a feed's items, in order.
    pub fn new<S: AsRef<str>>(fragments: &[S]) -> FeedIndex {
        let mut index = FeedIndex::default();
        for (i, f) in fragments.iter().enumerate() {
            let texts = fragment_blocks(f.as_ref());
            let n = texts.len();
            let mut keys = HashSet::new();
            for (_, t) in texts
                .iter()
                .enumerate()
                .filter(|(j, _)| *j < ENDS || *j + ENDS >= n)
            {
                let Some(k) = key(t) else { continue };
                if keys.insert(k.clone()) {
                    index.keys.entry(k).or_default().push((i, t.clone()));
                }
            }
            index.items.push(keys);
        }
        index
    }

    /// Number of items in the index.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the index holds no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many other items (not `item`, and not a copy of this story, whose
    /// keys are `own`) have a paragraph that opens like `text` and shares most
    /// of its words (token F1 of at least 0.7).
    pub fn repeats(&self, text: &str, item: Option<usize>, own: &HashSet<String>) -> usize {
        let Some(k) = key(text) else { return 0 };
        let Some(holders) = self.keys.get(&k) else {
            return 0;
        };
        holders
            .iter()
            .filter(|(j, other)| {
                Some(*j) != item
                    && !same_story(own, &self.items[*j])
                    && token_f1(text, other) >= 0.7
            })
            .count()
    }

    /// How many other items must repeat a paragraph for it to be boilerplate:
    /// two, or one when the feed has only one other item.
    pub fn threshold(&self, item: Option<usize>) -> usize {
        let others = self.items.len() - usize::from(item.is_some_and(|i| i < self.items.len()));
        if others <= 1 {
            1
        } else {
            2
        }
    }
}

/// Feed indexes for a batch of stories from any number of feeds (what the
/// pipeline has when it picks leads): one [`FeedIndex`] per feed, and each
/// story's [`LeadContext`].
#[derive(Debug, Default)]
pub struct FeedBatch {
    indexes: Vec<FeedIndex>,
    /// Per story: its feed's index and its position in it.
    slots: Vec<(usize, usize)>,
}

impl FeedBatch {
    /// Builds the indexes from `(feed, fragment)` per story, in the batch's
    /// order; a story's fragment is its content, else its summary.
    pub fn new<'a>(stories: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> FeedBatch {
        let mut feeds: HashMap<&str, usize> = HashMap::new();
        let mut fragments: Vec<Vec<&str>> = Vec::new();
        let mut slots = Vec::new();
        for (feed, fragment) in stories {
            let f = *feeds.entry(feed).or_insert_with(|| {
                fragments.push(Vec::new());
                fragments.len() - 1
            });
            slots.push((f, fragments[f].len()));
            fragments[f].push(fragment.unwrap_or(""));
        }
        FeedBatch {
            indexes: index_all(&fragments),
            slots,
        }
    }

    /// The context of the batch's `i`-th story, with its headline.
    pub fn context<'a>(&'a self, i: usize, title: Option<&'a str>) -> LeadContext<'a> {
        LeadContext {
            title,
            feed: self.slots.get(i).map(|&(f, item)| FeedRef {
                index: &self.indexes[f],
                item: Some(item),
            }),
        }
    }
}

/// One index per feed, built on every core when there is enough to do (each item's fragment
/// is parsed: the bulk of a batch's cost). Pure CPU work: scoped threads, results in order.
fn index_all(fragments: &[Vec<&str>]) -> Vec<FeedIndex> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let items: usize = fragments.iter().map(Vec::len).sum();
    if threads < 2 || items < 64 || fragments.len() < 2 {
        return fragments.iter().map(|f| FeedIndex::new(f)).collect();
    }
    // Deal feeds out by size so that each thread gets about the same number of items.
    let mut order: Vec<usize> = (0..fragments.len()).collect();
    order.sort_by_key(|&f| std::cmp::Reverse(fragments[f].len()));
    let mut shares: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); threads];
    for f in order {
        let lightest = shares.iter_mut().min_by_key(|s| s.0).expect("threads >= 2");
        lightest.0 += fragments[f].len();
        lightest.1.push(f);
    }
    let built: Vec<Vec<(usize, FeedIndex)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .map(|(_, feeds)| {
                scope.spawn(move || {
                    feeds
                        .iter()
                        .map(|&f| (f, FeedIndex::new(&fragments[f])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut indexes: Vec<Option<FeedIndex>> = (0..fragments.len()).map(|_| None).collect();
    for (f, index) in built.into_iter().flatten() {
        indexes[f] = Some(index);
    }
    indexes.into_iter().map(Option::unwrap_or_default).collect()
}

/// The key of a paragraph: its first eight words, normalised; none for
/// paragraphs of fewer than three words (they are never leads anyway).
pub fn key(text: &str) -> Option<String> {
    let norm = norm_tokens(text);
    let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
    if words.len() < 3 && norm.chars().count() < 12 {
        return None;
    }
    if words.len() == 1 {
        // Scripts without spaces: the first characters.
        return Some(words[0].chars().take(24).collect());
    }
    Some(words[..words.len().min(KEY_WORDS)].join(" "))
}

/// Two items are copies of one story when most of their paragraphs match.
fn same_story(a: &HashSet<String>, b: &HashSet<String>) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let common = a.intersection(b).count();
    common * 4 >= a.len().min(b.len()) * 3 && common >= 2
}
