//! Who gets which copy of an issue, and when. Pure: subscribers, the issue's sections and the
//! time in; recipients out.
//!
//! - A reader's topics cut the issue down to their sections. When nothing is left for them
//!   they get no copy: no delivery row is written (a row would only be closed again, and the
//!   issue's figures would count mail that was never meant to go).
//! - Their format picks the parts (HTML with a text alternative, or text only).
//! - A pause keeps them out of every issue whose copy would go before its date, in their own
//!   time zone. Nothing is queued meanwhile, so nothing floods in when it ends.
//! - With `delivery = "local"` their copy waits for the edition's slot in their time zone
//!   (`not_before`); a slot already older than `catch_up` when the issue is planned is missed,
//!   as the scheduler misses any slot that old.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::config::Digest;
use crate::model::{Subscriber, SubscriberStatus, Variant};

/// Who gets an issue.
#[derive(Debug, Clone, Default)]
pub struct Recipient {
    pub subscriber_id: Option<i64>,
    pub email: String,
    pub name: Option<String>,
    /// Their copy: format and sections.
    pub variant: Variant,
    /// Not sent before this instant (their local slot); `None`: at once.
    pub not_before: Option<DateTime<Utc>>,
}

/// The part of an issue one reader gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copy {
    /// Every section.
    Full,
    /// The sections of these topics (and any section without a topic).
    Sections(Vec<String>),
    /// Nothing the reader chose is in this issue.
    Nothing,
}

/// The copy for a reader who chose `chosen` topics of a digest (`None` or empty: every topic),
/// given the digest's topics and the topics of the issue's sections. A choice of topics the
/// digest no longer has counts as no choice.
pub fn copy_for(
    chosen: Option<&[String]>,
    digest_topics: &[String],
    issue_sections: &[Option<&str>],
) -> Copy {
    let wanted: Vec<&String> = chosen
        .unwrap_or_default()
        .iter()
        .filter(|t| digest_topics.contains(t))
        .collect();
    if wanted.is_empty() || issue_sections.is_empty() {
        return Copy::Full;
    }
    let kept: Vec<&Option<&str>> = issue_sections
        .iter()
        .filter(|s| s.is_none_or(|t| wanted.iter().any(|w| *w == t)))
        .collect();
    if kept.len() == issue_sections.len() {
        Copy::Full
    } else if kept.is_empty() {
        Copy::Nothing
    } else {
        Copy::Sections(kept.iter().filter_map(|s| s.map(str::to_string)).collect())
    }
}

impl Recipient {
    /// The queued delivery row of this recipient (the address and name are moved).
    pub fn into_row(self) -> crate::store::NewDelivery {
        crate::store::NewDelivery {
            variant: self.variant.to_column(),
            subscriber_id: self.subscriber_id,
            email: self.email,
            name: self.name,
            not_before: self.not_before,
        }
    }
}

/// What an issue is, for deciding its recipients.
pub struct Issue<'a> {
    pub digest: &'a Digest,
    /// The topics of its sections, in order (`None`: a section without a topic).
    pub sections: Vec<Option<&'a str>>,
    /// When it is planned.
    pub now: DateTime<Utc>,
    /// The newsletter's time zone (for readers who chose none).
    pub timezone: Tz,
    /// The local-delivery edition (its wall-clock time), when the digest delivers locally and
    /// the scheduler planned it.
    pub edition: Option<NaiveDateTime>,
}

impl Issue<'_> {
    /// This subscriber's delivery, if they get one: confirmed, wanting the digest, not paused
    /// when their copy goes, and with something to read.
    pub fn recipient(&self, s: &Subscriber) -> Option<Recipient> {
        if s.status != SubscriberStatus::Confirmed || !s.wants(&self.digest.name) {
            return None;
        }
        let at = match self.edition {
            Some(e) => crate::schedule::local::slot(e, s.prefs.zone(self.timezone)),
            None => self.now,
        };
        if at < self.now - self.digest.catch_up || s.prefs.paused_at(at, self.timezone) {
            return None;
        }
        let chosen = s.prefs.topics_of(&self.digest.name);
        let sections = match copy_for(chosen, &self.digest.topics, &self.sections) {
            Copy::Nothing => return None,
            Copy::Full => None,
            Copy::Sections(t) => Some(t),
        };
        Some(Recipient {
            subscriber_id: Some(s.id),
            email: s.email.clone(),
            name: s.name.clone(),
            variant: Variant {
                format: s.prefs.format,
                sections,
            },
            not_before: (at > self.now).then_some(at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_choice_keeps_its_sections_and_nothing_else() {
        let digest = topics(&["trade", "privacy", "ai"]);
        let issue = [Some("trade"), Some("privacy")];
        let privacy = topics(&["privacy"]);
        assert_eq!(
            copy_for(Some(&privacy), &digest, &issue),
            Copy::Sections(privacy.clone())
        );
        assert_eq!(
            copy_for(Some(&topics(&["ai"])), &digest, &issue),
            Copy::Nothing
        );
        assert_eq!(copy_for(None, &digest, &issue), Copy::Full);
        assert_eq!(
            copy_for(Some(&topics(&["trade", "privacy"])), &digest, &issue),
            Copy::Full
        );
        // A topic the digest dropped is no choice at all.
        assert_eq!(
            copy_for(Some(&topics(&["gone"])), &digest, &issue),
            Copy::Full
        );
        // An issue without stories (send_empty) goes to everyone.
        assert_eq!(copy_for(Some(&privacy), &digest, &[]), Copy::Full);
    }
}
