//! From a classification to a recorded event: what ties it to a delivery (the signed VERP
//! token, the `X-Gazette-Delivery` header, else the original's Message-ID or the recipient),
//! the key that makes recording idempotent, and what it may do to the reader ([`effect`]).
//! Every source — `bounces process`, the Maildir, the IMAP mailbox, the webhooks — records
//! through [`Recorder`].

use anyhow::Result;
use chrono::{DateTime, Utc};
use sha2::Digest;

use super::{Classification, Classifier, Kind, Reason, VerpAddress};
use crate::store::{BouncePolicy, Effect, NewBounce, Outcome, Recorded, Store};
use crate::tokens::Tokens;

/// What an event may do to the reader it names. Only recipient faults count towards
/// `bouncing`; an abuse report makes them `complained`; an opt-out report or a List-Unsubscribe
/// mailto request unsubscribes them; an authentication-failure report is the operator's.
pub fn effect(c: &Classification) -> Effect {
    match (c.kind, c.reason) {
        (Kind::Complaint, Reason::AuthFailure) => Effect::Operator,
        _ if !c.counts_against_reader => Effect::None,
        (Kind::Hard, _) => Effect::CountHard,
        (Kind::Soft, _) => Effect::CountSoft,
        (Kind::Complaint, Reason::Unsubscribe) => Effect::Unsubscribe,
        (Kind::Complaint, _) if c.feedback_type.as_deref() == Some("opt-out") => {
            Effect::Unsubscribe
        }
        (Kind::Complaint, _) => Effect::Complain,
        _ => Effect::None,
    }
}

/// Where an event came from, and when it happened.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `file`, `maildir`, `imap`, `ses`, `postmark`, `sendgrid`, `mailgun` or `webhook`.
    pub source: &'static str,
    /// Where the raw message or event can be found again.
    pub raw_ref: Option<String>,
    pub occurred: DateTime<Utc>,
}

/// Records classified messages and provider events against their deliveries.
pub struct Recorder<'a> {
    pub store: &'a Store,
    pub tokens: &'a Tokens,
    pub policy: BouncePolicy,
    pub classifier: Classifier,
}

impl<'a> Recorder<'a> {
    pub fn new(
        store: &'a Store,
        tokens: &'a Tokens,
        config: &crate::config::bounces::Bounces,
    ) -> Recorder<'a> {
        let verp = config
            .address
            .as_ref()
            .and_then(|a| VerpAddress::from_address(a.as_ref()))
            .unwrap_or_default();
        Recorder {
            store,
            tokens,
            policy: config.policy(),
            classifier: Classifier::new(&verp),
        }
    }

    /// Classifies one message and records it.
    pub fn message(
        &self,
        bytes: &[u8],
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<(Classification, Recorded)> {
        let c = self.classifier.classify(bytes);
        let key = match &c.message_id {
            Some(id) => format!("msg:{id}:{}", c.recipient.as_deref().unwrap_or("")),
            None => format!("sha256:{:x}", sha2::Sha256::digest(bytes)),
        };
        let recorded = self.record(&c, origin, key, now)?;
        Ok((c, recorded))
    }

    /// Records a classification under `key` (the same key twice records once).
    pub fn record(
        &self,
        c: &Classification,
        origin: &Origin,
        key: String,
        now: DateTime<Utc>,
    ) -> Result<Recorded> {
        let delivery = c
            .verp_token
            .as_deref()
            .and_then(|t| self.tokens.verp_delivery(t))
            .map(|id| (id, "verp"))
            .or_else(|| {
                c.x_gazette_delivery
                    .as_deref()
                    .and_then(|t| self.tokens.verp_delivery(t))
                    .map(|id| (id, "header"))
            });
        let event = NewBounce {
            key,
            kind: c.kind.as_str().into(),
            status: c.status.clone(),
            reason: c.reason.as_str().into(),
            recipient: c.recipient.clone(),
            effect: effect(c),
            feedback_type: c.feedback_type.clone(),
            diagnostic: c.diagnostic.clone(),
            source: origin.source.into(),
            raw_ref: origin.raw_ref.clone(),
            occurred: origin.occurred,
            delivery,
            message_id: c.original_message_id.clone(),
        };
        let recorded = self.store.record_bounce(&event, &self.policy, now)?;
        if let Recorded::New(r) = &recorded {
            let who = r.email.as_deref().unwrap_or("(no recipient found)");
            match r.outcome {
                Outcome::Operator => tracing::warn!(
                    recipient = who, source = origin.source,
                    "authentication-failure report (DMARC/SPF/DKIM): check the sending setup; nothing is held against the reader"
                ),
                Outcome::Complained => tracing::warn!(
                    recipient = who, source = origin.source,
                    "spam complaint: the subscriber is now complained (unsubscribed and suppressed)"
                ),
                Outcome::Bouncing => tracing::warn!(
                    recipient = who, source = origin.source, kind = c.kind.as_str(),
                    "the subscriber is now bouncing: no more issues go to them"
                ),
                Outcome::Unsubscribed => tracing::info!(
                    recipient = who, source = origin.source,
                    "opt-out feedback: the subscriber is unsubscribed"
                ),
                Outcome::Counted | Outcome::None => tracing::info!(
                    recipient = who, source = origin.source, kind = c.kind.as_str(),
                    reason = c.reason.as_str(), "bounce recorded"
                ),
            }
        }
        Ok(recorded)
    }
}
