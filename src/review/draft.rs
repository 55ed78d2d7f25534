//! The editable state of a draft issue, and the edits an editor makes to it. Pure: a `Draft`
//! in, an edit applied (or refused), the issue's render view out.
//!
//! Order: pinned stories first (the latest pin on top), then each section's stories in their
//! order; sections keep the order in which their first story appears. Up and down move a story
//! within its group (the pinned ones, or its section). A dropped story keeps its place, so
//! restoring it puts it back.

use serde::{Deserialize, Serialize};

use super::lead::EditedLead;
use crate::render::{IssueView, SectionView, StoryView};

/// A draft: its stories (in issue order, dropped ones included) and the intro.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Draft {
    pub entries: Vec<Entry>,
    pub intro_markdown: Option<String>,
}

/// One story of a draft.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// The story's id in the store.
    pub story: i64,
    /// The cluster members carried with it ("also covered by").
    #[serde(default)]
    pub also: Vec<i64>,
    /// The section (topic title) it was selected into; `None` when the digest has no topics.
    pub section: Option<String>,
    /// The topic of that section (readers who chose topics get only theirs).
    #[serde(default)]
    pub topic: Option<String>,
    /// Its place when planned (restores the order on unpin).
    pub origin: usize,
    #[serde(default)]
    pub pinned: bool,
    #[serde(default)]
    pub dropped: bool,
    /// Arrived after the draft was planned and added by an editor.
    #[serde(default)]
    pub added: bool,
    /// The lead was written by an editor.
    #[serde(default)]
    pub lead_edited: bool,
    /// What the issue shows for it.
    pub view: StoryView,
}

/// A change to a draft. Stories are named by their id.
#[derive(Debug, Clone)]
pub enum Edit {
    Drop(i64),
    Restore(i64),
    Pin(i64),
    Unpin(i64),
    Up(i64),
    Down(i64),
    Lead(i64, EditedLead),
    Intro(Option<String>),
    /// A story that arrived since the draft.
    Add(Box<Entry>),
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The story is not in this draft (or, for `Add`, it is already).
    #[error("no story {0} in this draft")]
    NoSuchStory(i64),
    #[error("story {0} is in the draft already")]
    AlreadyIn(i64),
    /// The edit would change nothing (already dropped, first in its section, …).
    #[error("{0}")]
    Nothing(&'static str),
}

/// The group a story moves within.
#[derive(PartialEq)]
enum Group<'a> {
    Pinned,
    Section(Option<&'a str>),
}

impl Entry {
    fn group(&self) -> Group<'_> {
        if self.pinned {
            Group::Pinned
        } else {
            Group::Section(self.section.as_deref())
        }
    }

    fn label(&self) -> String {
        format!("{:?}", self.view.title)
    }
}

impl Draft {
    /// The stories the issue shows, in order.
    pub fn shown(&self) -> impl Iterator<Item = &Entry> {
        let pinned = self.entries.iter().filter(|e| e.pinned && !e.dropped);
        pinned.chain(self.sections().into_iter().flat_map(|(_, v)| v))
    }

    /// The unpinned stories shown, by section, sections in order of first appearance.
    fn sections(&self) -> Vec<(Option<&str>, Vec<&Entry>)> {
        let mut out: Vec<(Option<&str>, Vec<&Entry>)> = Vec::new();
        for e in self.entries.iter().filter(|e| !e.pinned && !e.dropped) {
            let s = e.section.as_deref();
            match out.iter_mut().find(|(t, _)| *t == s) {
                Some((_, v)) => v.push(e),
                None => out.push((s, vec![e])),
            }
        }
        out
    }

    /// The topic of a section, from its stories.
    fn topic_of(entries: &[&Entry]) -> Option<String> {
        entries.iter().find_map(|e| e.topic.clone())
    }

    /// Ids of the stories the issue carries (shown ones and their cluster members).
    pub fn story_ids(&self) -> Vec<i64> {
        self.shown()
            .flat_map(|e| std::iter::once(e.story).chain(e.also.iter().copied()))
            .collect()
    }

    pub fn entry(&self, story: i64) -> Option<&Entry> {
        self.entries.iter().find(|e| e.story == story)
    }

    fn index(&self, story: i64) -> Result<usize, EditError> {
        self.entries
            .iter()
            .position(|e| e.story == story)
            .ok_or(EditError::NoSuchStory(story))
    }

    /// Applies an edit; returns what it did, for the log.
    pub fn apply(&mut self, edit: Edit) -> Result<String, EditError> {
        match edit {
            Edit::Drop(id) => {
                let i = self.index(id)?;
                let e = &mut self.entries[i];
                if e.dropped {
                    return Err(EditError::Nothing("that story is dropped already"));
                }
                e.dropped = true;
                Ok(format!("dropped {} ({})", e.label(), e.view.url))
            }
            Edit::Restore(id) => {
                let i = self.index(id)?;
                let e = &mut self.entries[i];
                if !e.dropped {
                    return Err(EditError::Nothing("that story is not dropped"));
                }
                e.dropped = false;
                Ok(format!("restored {}", e.label()))
            }
            Edit::Pin(id) => {
                let i = self.live(id)?;
                if self.entries[i].pinned {
                    return Err(EditError::Nothing("that story is pinned already"));
                }
                let mut e = self.entries.remove(i);
                e.pinned = true;
                let what = format!("pinned {} to the top", e.label());
                self.entries.insert(0, e);
                Ok(what)
            }
            Edit::Unpin(id) => {
                let i = self.live(id)?;
                if !self.entries[i].pinned {
                    return Err(EditError::Nothing("that story is not pinned"));
                }
                let mut e = self.entries.remove(i);
                e.pinned = false;
                let what = format!("unpinned {}", e.label());
                let at = self.unpinned_place(&e);
                self.entries.insert(at, e);
                Ok(what)
            }
            Edit::Up(id) => self.swap(id, true),
            Edit::Down(id) => self.swap(id, false),
            Edit::Lead(id, lead) => {
                let i = self.live(id)?;
                let e = &mut self.entries[i];
                e.view.lead_text = lead.text;
                e.view.lead_html = lead.html;
                e.lead_edited = true;
                Ok(format!("edited the lead of {}", e.label()))
            }
            Edit::Intro(text) => {
                let text = text.filter(|t| !t.trim().is_empty());
                if text == self.intro_markdown {
                    return Err(EditError::Nothing("the intro is unchanged"));
                }
                let what = if text.is_some() {
                    "edited the intro"
                } else {
                    "removed the intro"
                };
                self.intro_markdown = text;
                Ok(what.into())
            }
            Edit::Add(mut e) => {
                if self.entry(e.story).is_some() {
                    return Err(EditError::AlreadyIn(e.story));
                }
                e.added = true;
                e.pinned = false;
                e.dropped = false;
                e.origin = self.entries.iter().map(|e| e.origin + 1).max().unwrap_or(0);
                let what = format!("added {} (arrived since the draft)", e.label());
                let at = self
                    .entries
                    .iter()
                    .rposition(|x| !x.pinned && x.section == e.section)
                    .map_or(self.entries.len(), |i| i + 1);
                self.entries.insert(at, *e);
                Ok(what)
            }
        }
    }

    /// The index of a story that is shown (not dropped).
    fn live(&self, story: i64) -> Result<usize, EditError> {
        let i = self.index(story)?;
        if self.entries[i].dropped {
            return Err(EditError::Nothing(
                "that story is dropped; restore it first",
            ));
        }
        Ok(i)
    }

    /// Where an unpinned story goes back: before the first story of its section that was
    /// planned after it, else after the last one of its section, else at the end.
    fn unpinned_place(&self, e: &Entry) -> usize {
        let same = |x: &Entry| !x.pinned && x.section == e.section;
        if let Some(i) = self
            .entries
            .iter()
            .position(|x| same(x) && x.origin > e.origin)
        {
            return i;
        }
        self.entries
            .iter()
            .rposition(same)
            .map_or(self.entries.len(), |i| i + 1)
    }

    /// Swaps a story with the previous (`up`) or next shown story of its group.
    fn swap(&mut self, story: i64, up: bool) -> Result<String, EditError> {
        let i = self.live(story)?;
        let neighbour = {
            let me = &self.entries[i];
            let same = |x: &Entry| !x.dropped && x.group() == me.group();
            if up {
                self.entries[..i].iter().rposition(same)
            } else {
                self.entries[i + 1..]
                    .iter()
                    .position(same)
                    .map(|j| i + 1 + j)
            }
        };
        let Some(j) = neighbour else {
            return Err(EditError::Nothing(if up {
                "that story is first in its section"
            } else {
                "that story is last in its section"
            }));
        };
        self.entries.swap(i, j);
        let moved = &self.entries[j];
        Ok(format!(
            "moved {} {}",
            moved.label(),
            if up { "up" } else { "down" }
        ))
    }

    /// The issue's view with this draft's stories, order, leads and intro; the rest (number,
    /// links, dates) from `base`.
    pub fn to_view(&self, base: &IssueView) -> IssueView {
        let mut rank = 0;
        let mut story = |e: &Entry| {
            let mut v = e.view.clone();
            v.rank = rank;
            rank += 1;
            v
        };
        let mut sections = Vec::new();
        let pinned: Vec<StoryView> = self
            .entries
            .iter()
            .filter(|e| e.pinned && !e.dropped)
            .map(&mut story)
            .collect();
        if !pinned.is_empty() {
            // Pinned stories lead every reader's copy, whatever topics they chose.
            sections.push(SectionView {
                title: None,
                topic: None,
                stories: pinned,
            });
        }
        for (title, entries) in self.sections() {
            sections.push(SectionView {
                title: title.map(String::from),
                topic: Self::topic_of(&entries),
                stories: entries.into_iter().map(&mut story).collect(),
            });
        }
        let mut view = base.clone();
        let first = sections
            .iter()
            .flat_map(|s| &s.stories)
            .next()
            .map(|s| s.title.clone());
        view.subject = match first {
            Some(t) => format!("{} #{}: {t}", view.digest.title, view.number),
            None => format!("{} #{}", view.digest.title, view.number),
        };
        view.sections = sections;
        view.intro_html = self
            .intro_markdown
            .as_deref()
            .map(crate::render::markdown_to_safe_html);
        view.intro_markdown = self.intro_markdown.clone();
        view
    }

    /// The draft of a planned issue: its picks in order, with their render views.
    pub fn from_view(view: &IssueView, ids: &[(i64, Vec<i64>)]) -> Draft {
        let mut entries = Vec::new();
        let stories = view.sections.iter().flat_map(|s| {
            s.stories
                .iter()
                .map(move |v| (s.title.clone(), s.topic.clone(), v))
        });
        for (origin, ((section, topic, v), (story, also))) in stories.zip(ids).enumerate() {
            entries.push(Entry {
                story: *story,
                also: also.clone(),
                section,
                topic,
                origin,
                pinned: false,
                dropped: false,
                added: false,
                lead_edited: false,
                view: v.clone(),
            });
        }
        Draft {
            entries,
            intro_markdown: view.intro_markdown.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(title: &str) -> StoryView {
        StoryView {
            title: title.into(),
            url: format!("https://example.org/{title}"),
            source: "Wire".into(),
            date: "1 Dec 2026".into(),
            published: "2026-12-01T00:00:00Z".into(),
            lead_text: format!("Lead of {title}."),
            lead_html: format!("<p>Lead of {title}.</p>"),
            also: vec![],
            rank: 0,
        }
    }

    /// Trade: a, b, c; Privacy: d, e.
    fn draft() -> Draft {
        let entries = [
            ("a", "Trade"),
            ("b", "Trade"),
            ("c", "Trade"),
            ("d", "Privacy"),
            ("e", "Privacy"),
        ]
        .iter()
        .enumerate()
        .map(|(i, (t, s))| Entry {
            story: i as i64 + 1,
            also: vec![],
            section: Some(s.to_string()),
            topic: Some(s.to_lowercase()),
            origin: i,
            pinned: false,
            dropped: false,
            added: false,
            lead_edited: false,
            view: story(t),
        })
        .collect();
        Draft {
            entries,
            intro_markdown: None,
        }
    }

    fn order(d: &Draft) -> String {
        d.shown().map(|e| e.view.title.as_str()).collect()
    }

    #[test]
    fn drop_pin_and_moves_keep_sections_together() {
        let mut d = draft();
        d.apply(Edit::Drop(2)).unwrap();
        assert_eq!(order(&d), "acde");
        assert_eq!(d.story_ids(), [1, 3, 4, 5]);
        d.apply(Edit::Pin(4)).unwrap();
        assert_eq!(order(&d), "dace");
        d.apply(Edit::Up(3)).unwrap();
        assert_eq!(order(&d), "dcae", "c passes the dropped b and swaps with a");
        assert_eq!(
            d.apply(Edit::Up(3)),
            Err(EditError::Nothing("that story is first in its section"))
        );
        assert_eq!(
            d.apply(Edit::Down(5)),
            Err(EditError::Nothing("that story is last in its section"))
        );
        d.apply(Edit::Unpin(4)).unwrap();
        assert_eq!(order(&d), "cade", "d goes back before e, in Privacy");
        d.apply(Edit::Restore(2)).unwrap();
        assert_eq!(order(&d), "cbade");
    }

    #[test]
    fn edits_refer_to_stories_of_this_draft_only() {
        let mut d = draft();
        assert_eq!(d.apply(Edit::Drop(99)), Err(EditError::NoSuchStory(99)));
        assert_eq!(d.apply(Edit::Pin(99)), Err(EditError::NoSuchStory(99)));
        let again = Box::new(d.entries[0].clone());
        assert_eq!(d.apply(Edit::Add(again)), Err(EditError::AlreadyIn(1)));
    }

    #[test]
    fn an_added_story_joins_the_end_of_its_section() {
        let mut d = draft();
        let mut e = d.entries[0].clone();
        e.story = 9;
        e.view = story("z");
        d.apply(Edit::Add(Box::new(e))).unwrap();
        assert_eq!(order(&d), "abczde");
        assert!(d.entry(9).unwrap().added);
    }

    #[test]
    fn the_view_puts_pinned_stories_first_untitled_and_renumbers_ranks() {
        let mut d = draft();
        d.apply(Edit::Pin(5)).unwrap();
        d.apply(Edit::Intro(Some("Hello *there*".into()))).unwrap();
        let base = IssueView {
            newsletter: crate::render::NewsletterView {
                name: "N".into(),
                base_url: "https://n.example".into(),
                lang: "en".into(),
            },
            digest: crate::render::DigestView {
                name: "weekly".into(),
                title: "Weekly".into(),
            },
            number: 3,
            date: String::new(),
            window_from: String::new(),
            window_to: String::new(),
            subject: "Weekly #3: a".into(),
            intro_html: None,
            intro_markdown: None,
            sections: vec![],
            web_url: String::new(),
            archive_url: String::new(),
            subscribe_url: String::new(),
        };
        let v = d.to_view(&base);
        assert_eq!(v.subject, "Weekly #3: e");
        assert_eq!(v.sections[0].title, None);
        assert_eq!(v.sections[1].title.as_deref(), Some("Trade"));
        let ranks: Vec<usize> = v
            .sections
            .iter()
            .flat_map(|s| &s.stories)
            .map(|s| s.rank)
            .collect();
        assert_eq!(ranks, [0, 1, 2, 3, 4]);
        assert!(v.intro_html.unwrap().contains("<em>there</em>"));
    }
}
