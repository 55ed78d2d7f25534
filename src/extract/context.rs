//! What the pipeline knows about a story besides its own text: the headline,
//! and the other items of the same feed. A paragraph that several items of
//! one feed share (series note, "originally appeared in", sponsor, share and
//! subscribe lines) is boilerplate, never a lead.

use std::collections::{HashMap, HashSet};

use url::Url;

use super::dom::Walked;
use super::fragment::{fragment_blocks, walk_fragment};
use super::text::{norm_tokens_upto, token_f1};

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
    /// The story's fragment as the index already walked it, and the base URL its links were
    /// resolved against: the lead picker reuses the walk when it reads the same fragment with
    /// the same base, instead of parsing it again.
    pub walked: Option<(&'a str, Option<&'a Url>, &'a Walked)>,
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
        FeedIndex::from_paragraphs(fragments.iter().map(|f| fragment_blocks(f.as_ref())))
    }

    /// Indexes the items' paragraph texts, in order.
    pub fn from_paragraphs<T: AsRef<str>>(items: impl IntoIterator<Item = Vec<T>>) -> FeedIndex {
        let mut index = FeedIndex::default();
        for (i, texts) in items.into_iter().enumerate() {
            let texts: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
            let n = texts.len();
            let mut keys = HashSet::new();
            for (_, t) in texts
                .iter()
                .enumerate()
                .filter(|(j, _)| *j < ENDS || *j + ENDS >= n)
            {
                let Some(k) = key(t) else { continue };
                if keys.insert(k.clone()) {
                    index.keys.entry(k).or_default().push((i, t.to_string()));
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
pub struct FeedBatch<'a> {
    indexes: Vec<FeedIndex>,
    /// Per story: its feed's index and its position in it.
    slots: Vec<(usize, usize)>,
    /// Per story: its fragment, its base, and the walk the index made of it.
    walks: Vec<Option<(&'a str, Option<&'a Url>, Walked)>>,
}

/// One item to index: its batch position (None for an earlier item, indexed only), its
/// fragment, and the base its links resolve against.
type Item<'a> = (Option<usize>, &'a str, Option<&'a Url>);

impl<'a> FeedBatch<'a> {
    /// Builds the indexes from `(feed, fragment)` per story, in the batch's
    /// order; a story's fragment is its content, else its summary.
    pub fn new(stories: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> FeedBatch<'a> {
        Self::walked(
            stories.into_iter().map(|(feed, f)| (feed, f, None)),
            std::iter::empty(),
        )
    }

    /// [`FeedBatch::new`] for stories with the base URL of their links, plus `earlier` items of
    /// the same feeds (`(feed, fragment)`: indexed only, to judge what the feed repeats). Each
    /// fragment is parsed once: the walk serves the index and then the lead picker.
    pub fn walked(
        stories: impl IntoIterator<Item = (&'a str, Option<&'a str>, Option<&'a Url>)>,
        earlier: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> FeedBatch<'a> {
        Self::walked_on(stories, earlier, true)
    }

    /// [`FeedBatch::walked`], on every core (`spread`) or on the calling thread.
    pub fn walked_on(
        stories: impl IntoIterator<Item = (&'a str, Option<&'a str>, Option<&'a Url>)>,
        earlier: impl IntoIterator<Item = (&'a str, &'a str)>,
        spread: bool,
    ) -> FeedBatch<'a> {
        let mut feeds: HashMap<&str, usize> = HashMap::new();
        let mut items: Vec<Vec<Item<'a>>> = Vec::new();
        let mut slot = |feed: &'a str, items: &mut Vec<Vec<Item<'a>>>, item: Item<'a>| {
            let f = *feeds.entry(feed).or_insert_with(|| {
                items.push(Vec::new());
                items.len() - 1
            });
            items[f].push(item);
            (f, items[f].len() - 1)
        };
        let mut slots = Vec::new();
        for (i, (feed, fragment, base)) in stories.into_iter().enumerate() {
            slots.push(slot(
                feed,
                &mut items,
                (Some(i), fragment.unwrap_or(""), base),
            ));
        }
        for (feed, fragment) in earlier {
            slot(feed, &mut items, (None, fragment, None));
        }
        let (indexes, walked) = index_all(&items, spread);
        let mut walks: Vec<Option<(&'a str, Option<&'a Url>, Walked)>> =
            slots.iter().map(|_| None).collect();
        for (i, fragment, base, walk) in walked {
            walks[i] = Some((fragment, base, walk));
        }
        FeedBatch {
            indexes,
            slots,
            walks,
        }
    }

    /// The context of the batch's `i`-th story, with its headline.
    pub fn context<'b>(&'b self, i: usize, title: Option<&'b str>) -> LeadContext<'b> {
        LeadContext {
            title,
            feed: self.slots.get(i).map(|&(f, item)| FeedRef {
                index: &self.indexes[f],
                item: Some(item),
                walked: self
                    .walks
                    .get(i)
                    .and_then(Option::as_ref)
                    .map(|(fragment, base, w)| (*fragment, *base, w)),
            }),
        }
    }
}

/// A walk kept for the lead picker: (batch position, fragment, base, walk).
type Kept<'a> = (usize, &'a str, Option<&'a Url>, Walked);

/// One feed's index and the walks kept from it, with the feed's position.
type Indexed<'a> = (usize, (FeedIndex, Vec<Kept<'a>>));

/// Walks every item and indexes each feed, on every core when there is enough to do (parsing
/// is the bulk of the cost). Pure CPU work: scoped threads, results in order. Returns the
/// indexes and the walks of the batch's stories.
fn index_all<'a>(feeds: &[Vec<Item<'a>>], spread: bool) -> (Vec<FeedIndex>, Vec<Kept<'a>>) {
    let index = |items: &[Item<'a>]| -> (FeedIndex, Vec<Kept<'a>>) {
        let mut kept = Vec::new();
        let mut paragraphs = Vec::with_capacity(items.len());
        for &(story, fragment, base) in items {
            let walk = walk_fragment(fragment, base);
            paragraphs.push(
                walk.blocks
                    .iter()
                    .map(|b| b.text.clone())
                    .collect::<Vec<_>>(),
            );
            if let Some(i) = story {
                kept.push((i, fragment, base, walk));
            }
        }
        (FeedIndex::from_paragraphs(paragraphs), kept)
    };
    let total: usize = feeds.iter().map(Vec::len).sum();
    if !spread || total < 64 || feeds.len() < 2 {
        let (indexes, kept): (Vec<_>, Vec<_>) = feeds.iter().map(|f| index(f)).unzip();
        return (indexes, kept.into_iter().flatten().collect());
    }
    // The biggest feeds first, each taken by the next free core.
    let mut order: Vec<usize> = (0..feeds.len()).collect();
    order.sort_by_key(|&f| std::cmp::Reverse(feeds[f].len()));
    let built: Vec<Indexed<'a>> = crate::par::map(&order, |&f| (f, index(&feeds[f])));
    let mut indexes: Vec<Option<FeedIndex>> = (0..feeds.len()).map(|_| None).collect();
    let mut kept = Vec::new();
    for (f, (index, walks)) in built {
        indexes[f] = Some(index);
        kept.extend(walks);
    }
    (
        indexes.into_iter().map(Option::unwrap_or_default).collect(),
        kept,
    )
}

/// The key of a paragraph: its first eight words, normalised; none for
/// paragraphs of fewer than three words (they are never leads anyway).
pub fn key(text: &str) -> Option<String> {
    // One word more than the key keeps is enough to tell every case below apart.
    let norm = norm_tokens_upto(text, KEY_WORDS + 1);
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
