//! The copies of one issue: one render for each distinct choice of sections among its
//! recipients (readers who chose the same topics share it), made on first use, encoded once and
//! then filled in per recipient. 100,000 readers with 20 distinct choices cost 20 renders.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use lettre::message::Mailbox;

use super::message::{EncodedPart, Frame, Letterhead};
use crate::render::{IssueView, PreparedEmail, Renderer};

/// What the headers of every copy of an issue share.
pub struct Masthead<'a> {
    pub from: &'a Mailbox,
    pub reply_to: Option<&'a Mailbox>,
    /// `List-Id` value.
    pub list_id: String,
}

/// One copy of an issue: its view (the sections kept) rendered once with placeholders.
pub struct Copy {
    pub view: IssueView,
    pub prepared: PreparedEmail,
    /// `(html, text)` of each of `prepared`'s variants, quoted-printable encoded.
    pub encoded: [Option<(EncodedPart, EncodedPart)>; 2],
    /// Its headers and MIME framing: `[text only, text and HTML]`.
    pub frames: [Frame; 2],
}

impl Copy {
    fn new(renderer: &Renderer, view: IssueView, masthead: &Masthead<'_>) -> Result<Copy> {
        let prepared = renderer.prepare_email(&view)?;
        let encoded = prepared.variants().each_ref().map(|v| {
            v.as_ref()
                .map(|p| (EncodedPart::new(&p.html), EncodedPart::new(&p.text)))
        });
        let frames = [false, true].map(|html| {
            Frame::new(&Letterhead {
                from: masthead.from,
                reply_to: masthead.reply_to,
                subject: &view.subject,
                list_id: Some(&masthead.list_id),
                one_click: true,
                html,
            })
        });
        Ok(Copy {
            view,
            prepared,
            encoded,
            frames,
        })
    }
}

/// A copy made, or why it could not be rendered.
type Made = Result<Arc<Copy>, String>;

/// The copies of an issue, by the topics of the sections they keep (`None`: every section).
pub struct Copies<'a> {
    renderer: &'a Renderer,
    issue: &'a IssueView,
    masthead: Masthead<'a>,
    /// Each copy made so far, or why it could not be rendered.
    made: Mutex<HashMap<Option<Vec<String>>, Made>>,
    /// Time spent rendering them.
    spent: Mutex<std::time::Duration>,
}

impl<'a> Copies<'a> {
    /// Renders the whole issue's copy at once, so that a template error stops the send before
    /// any row is claimed.
    pub fn new(
        renderer: &'a Renderer,
        issue: &'a IssueView,
        masthead: Masthead<'a>,
    ) -> Result<Copies<'a>> {
        let started = std::time::Instant::now();
        let full = Arc::new(Copy::new(renderer, issue.clone(), &masthead)?);
        Ok(Copies {
            renderer,
            issue,
            masthead,
            made: Mutex::new(HashMap::from([(None, Ok(full))])),
            spent: Mutex::new(started.elapsed()),
        })
    }

    /// The copy keeping the sections of `topics` (`None`: every section), rendered on first
    /// use.
    pub fn get(&self, topics: Option<&[String]>) -> Result<Arc<Copy>> {
        let key = topics.map(<[String]>::to_vec);
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        let copy = made.entry(key).or_insert_with_key(|key| {
            let started = std::time::Instant::now();
            let view = match key {
                Some(t) => crate::view::copy_view(self.issue, t),
                None => self.issue.clone(),
            };
            let copy = Copy::new(self.renderer, view, &self.masthead)
                .map(Arc::new)
                .map_err(|e| format!("{e:#}"));
            *self.spent.lock().unwrap_or_else(|e| e.into_inner()) += started.elapsed();
            copy
        });
        copy.clone().map_err(anyhow::Error::msg)
    }

    /// How many copies were rendered.
    pub fn renders(&self) -> usize {
        self.made.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The time spent rendering them.
    pub fn spent(&self) -> std::time::Duration {
        *self.spent.lock().unwrap_or_else(|e| e.into_inner())
    }
}
