//! The bounce parser: hand-written messages for each kind (tests/data/bounces), the labelled
//! real-world corpus in ../shared/fixtures/bounces scored per kind, and the CLI.
//!
//! The corpus is split once, before tuning, into a tuning part and a held-aside part: the key
//! is the sample group for messages written by or about one MTA (`lhost-*`, `rhost-*`: whole
//! MTAs are held out) and the file name for the generic groups (`arf`, `rfc3464`, `rfc3834`,
//! unknown); a message is held aside when the first byte of sha256(key) is divisible by 3.

use std::path::{Path, PathBuf};

use gazette::bounces::{classify, Classification, Kind, Reason};
use sha2::{Digest, Sha256};

use crate::support::{fixtures, gazette, root};

fn data(name: &str) -> PathBuf {
    root().join("tests/data/bounces").join(name)
}

fn read(name: &str) -> Classification {
    classify(&std::fs::read(data(name)).expect("test message"))
}

#[test]
fn dsn_user_unknown_is_hard_and_counts() {
    let c = read("dsn-user-unknown.eml");
    assert_eq!(c.kind, Kind::Hard);
    assert_eq!(c.recipient.as_deref(), Some("ada.lovelace@example.net"));
    assert_eq!(c.status.as_deref(), Some("5.1.1"));
    assert_eq!(c.reason, Reason::UserUnknown);
    assert!(c.counts_against_reader);
    assert_eq!(c.verp_token.as_deref(), Some("d42.Xk9_q-Z"));
    assert_eq!(c.x_gazette_delivery.as_deref(), Some("7.42"));
    assert_eq!(
        c.original_message_id.as_deref(),
        Some("issue-7.ada@news.example.org")
    );
    assert_eq!(c.envelope_id.as_deref(), Some("issue-7-ada"));
}

#[test]
fn policy_block_is_hard_but_not_the_readers_fault() {
    let c = read("dsn-policy-5.7.1.eml");
    assert_eq!(c.kind, Kind::Hard);
    assert_eq!(c.recipient.as_deref(), Some("grace@example.com"));
    assert_eq!(c.status.as_deref(), Some("5.7.1"));
    assert_eq!(c.reason, Reason::Policy);
    assert!(!c.counts_against_reader);
    assert_eq!(c.verp_token, None);
}

#[test]
fn delay_warning_is_soft() {
    let c = read("dsn-delayed.eml");
    assert_eq!(c.kind, Kind::Soft);
    assert_eq!(c.recipient.as_deref(), Some("linus@example.fi"));
    assert_eq!(c.status.as_deref(), Some("4.4.1"));
    assert!(!c.counts_against_reader);
}

#[test]
fn success_report_is_not_a_bounce() {
    let c = read("dsn-delivered.eml");
    assert_eq!(c.kind, Kind::Other);
    assert_eq!(c.reason, Reason::Delivered);
    assert!(!c.counts_against_reader);
}

#[test]
fn arf_abuse_report_is_a_complaint_against_the_reader() {
    let c = read("arf-abuse.eml");
    assert_eq!(c.kind, Kind::Complaint);
    assert_eq!(c.recipient.as_deref(), Some("barbara@example.net"));
    assert_eq!(c.feedback_type.as_deref(), Some("abuse"));
    assert!(c.counts_against_reader);
    assert_eq!(c.verp_token.as_deref(), Some("d45.Ab"));
    assert_eq!(
        c.original_message_id.as_deref(),
        Some("issue-7.barbara@news.example.org")
    );
}

#[test]
fn arf_auth_failure_goes_to_the_operator_only() {
    let c = read("arf-auth-failure.eml");
    assert_eq!(c.kind, Kind::Complaint);
    assert_eq!(c.reason, Reason::AuthFailure);
    assert_eq!(c.feedback_type.as_deref(), Some("auth-failure"));
    assert_eq!(c.recipient.as_deref(), Some("edsger@example.com"));
    assert!(!c.counts_against_reader);
}

#[test]
fn rfc3834_vacation_reply_is_never_a_bounce() {
    let c = read("rfc3834-vacation.eml");
    assert_eq!(c.kind, Kind::Autoreply);
    assert!(!c.counts_against_reader);
    assert_eq!(
        c.original_message_id.as_deref(),
        Some("issue-7.margaret@news.example.org")
    );
}

#[test]
fn a_list_unsubscribe_mailto_request_is_opt_out_feedback() {
    let c = read("list-unsubscribe-request.eml");
    assert_eq!(c.kind, Kind::Complaint);
    assert_eq!(c.reason, Reason::Unsubscribe);
    assert_eq!(c.feedback_type.as_deref(), Some("opt-out"));
    assert_eq!(c.recipient.as_deref(), Some("reader@example.com"));
    assert!(c.counts_against_reader);
}

#[test]
fn a_vacation_reply_that_talks_like_a_bounce_is_an_autoreply() {
    assert_eq!(
        read("vacation-talks-like-a-bounce.eml").kind,
        Kind::Autoreply
    );
}

#[test]
fn a_readers_reply_is_other() {
    let c = read("newsletter-reply.eml");
    assert_eq!(c.kind, Kind::Other);
    assert_eq!(c.recipient, None);
}

#[test]
fn postfix_text_bounce_full_mailbox_is_soft_and_counts() {
    let c = read("postfix-text-mailbox-full.eml");
    assert_eq!(c.kind, Kind::Soft);
    assert_eq!(c.recipient.as_deref(), Some("alan@example.co.uk"));
    assert_eq!(c.status.as_deref(), Some("5.2.2"));
    assert_eq!(c.reason, Reason::MailboxFull);
    assert!(c.counts_against_reader);
    assert_eq!(c.verp_token.as_deref(), Some("d47.Ef"));
}

#[test]
fn exim_text_bounce_is_hard() {
    let c = read("exim-text-user-unknown.eml");
    assert_eq!(c.kind, Kind::Hard);
    assert_eq!(c.recipient.as_deref(), Some("tim@example.org"));
    assert_eq!(c.reason, Reason::UserUnknown);
    assert!(c.counts_against_reader);
    assert_eq!(
        c.original_message_id.as_deref(),
        Some("issue-7.tim@news.example.org")
    );
}

#[test]
fn qmail_text_bounce_is_hard() {
    let c = read("qmail-text-no-mailbox.eml");
    assert_eq!(c.kind, Kind::Hard);
    assert_eq!(c.recipient.as_deref(), Some("vint@example.com"));
    assert_eq!(c.status.as_deref(), Some("5.1.1"));
    assert_eq!(c.reason, Reason::UserUnknown);
    assert_eq!(c.verp_token.as_deref(), Some("d49.Ij"));
}

/// More MTA formats written from their public descriptions: (file, kind, recipient, reason).
#[test]
fn text_bounces_of_other_mtas() {
    let cases = [
        (
            "exchange-text-recipient-not-found.eml",
            Kind::Hard,
            Some("jane.doe@contoso.example"),
            Reason::UserUnknown,
        ),
        (
            "yahoo-text-no-account.eml",
            Kind::Hard,
            Some("someone@yahoo.com"),
            Reason::UserUnknown,
        ),
        (
            "domino-text-not-listed.eml",
            Kind::Hard,
            Some("john.smith@acme.example"),
            Reason::UserUnknown,
        ),
        (
            "gmail-text-address-not-found.eml",
            Kind::Hard,
            Some("dave@gone.example"),
            Reason::UserUnknown,
        ),
        (
            "messagelabs-text-affected-recipients.eml",
            Kind::Hard,
            Some("anne@corp.example"),
            Reason::UserUnknown,
        ),
        (
            "sendmail-dsn-delay-warning.eml",
            Kind::Soft,
            Some("carol@slow.example"),
            Reason::Expired,
        ),
        (
            "office365-text-recipient-not-found.eml",
            Kind::Hard,
            Some("nils@tenant.example"),
            Reason::UserUnknown,
        ),
        (
            "exim-text-retry-timeout.eml",
            Kind::Soft,
            Some("mona@down.example"),
            Reason::Expired,
        ),
        (
            "postfix-text-blocklisted-5.7.1.eml",
            Kind::Hard,
            Some("luis@corp.example"),
            Reason::Blocked,
        ),
        (
            "ses-sns-email-mailbox-full.eml",
            Kind::Soft,
            Some("kim@full.example"),
            Reason::MailboxFull,
        ),
        (
            "newsletter-with-failure-words.eml",
            Kind::Other,
            None,
            Reason::Unknown,
        ),
    ];
    for (file, kind, recipient, reason) in cases {
        let c = read(file);
        assert_eq!(
            (c.kind, c.recipient.as_deref(), c.reason),
            (kind, recipient, reason),
            "{file}"
        );
    }
}

#[test]
fn a_block_list_rejection_is_hard_but_not_the_readers_fault() {
    let c = read("postfix-text-blocklisted-5.7.1.eml");
    assert_eq!((c.kind, c.reason), (Kind::Hard, Reason::Blocked));
    assert!(!c.counts_against_reader);
}

#[test]
fn an_ses_notification_mail_keeps_its_delivery_header() {
    let c = read("ses-sns-email-mailbox-full.eml");
    assert_eq!(c.x_gazette_delivery.as_deref(), Some("7.51"));
    assert_eq!(c.verp_token.as_deref(), Some("d51.Mn"));
    assert_eq!(
        c.original_message_id.as_deref(),
        Some("issue-7.kim@news.example.org")
    );
    assert!(c.counts_against_reader);
}

#[test]
fn garbage_is_other() {
    for bytes in [&b""[..], b"\x00\xff\xfe", b"not a message at all"] {
        assert_eq!(classify(bytes).kind, Kind::Other);
    }
}

// ---- the labelled corpus ----

struct Case {
    file: String,
    kind: String,
    recipient: Option<String>,
    held_aside: bool,
    bytes: Vec<u8>,
}

fn corpus(dir: &Path) -> Vec<Case> {
    let dir = dir.join("bounces");
    let labels = std::fs::read_to_string(dir.join("labels.json")).expect("labels.json");
    let labels: Vec<serde_json::Value> = serde_json::from_str(&labels).expect("labels are JSON");
    labels
        .iter()
        .map(|l| {
            let s = |k: &str| l[k].as_str().map(String::from);
            let file = s("file").expect("file");
            let mta = s("mta").unwrap_or_default();
            Case {
                held_aside: held_aside(&file, &mta),
                bytes: std::fs::read(dir.join("eml").join(&file)).expect("eml"),
                kind: s("kind").expect("kind"),
                recipient: s("recipient"),
                file,
            }
        })
        .collect()
}

/// The split fixed before tuning (see the module comment).
fn held_aside(file: &str, mta: &str) -> bool {
    let key = if mta.starts_with("lhost-") || mta.starts_with("rhost-") {
        mta
    } else {
        file
    };
    Sha256::digest(key.as_bytes())[0] % 3 == 0
}

/// The measures on one set of cases.
#[derive(Debug, Default)]
struct Score {
    bounces: usize,
    recipient_right: usize,
    kind_right: usize,
    complaints: usize,
    complaints_seen: usize,
    non_bounces: usize,
    false_bounces: usize,
    misses: Vec<String>,
}

impl Score {
    fn of<'a>(cases: impl Iterator<Item = &'a Case>) -> Score {
        let mut s = Score::default();
        for case in cases {
            let c = classify(&case.bytes);
            let got = c.kind.as_str();
            match case.kind.as_str() {
                "hard" | "soft" => {
                    s.bounces += 1;
                    if c.recipient == case.recipient {
                        s.recipient_right += 1;
                    } else {
                        s.misses.push(format!(
                            "{}: recipient {:?}, labelled {:?}",
                            case.file, c.recipient, case.recipient
                        ));
                    }
                    if got == case.kind {
                        s.kind_right += 1;
                    } else {
                        s.misses.push(format!(
                            "{}: {got} ({} {:?}), labelled {}",
                            case.file,
                            c.reason.as_str(),
                            c.status,
                            case.kind
                        ));
                    }
                }
                "complaint" => {
                    s.complaints += 1;
                    if c.kind == Kind::Complaint {
                        s.complaints_seen += 1;
                    } else {
                        s.misses
                            .push(format!("{}: {got}, labelled complaint", case.file));
                    }
                }
                _ => {
                    s.non_bounces += 1;
                    if c.kind.is_bounce() {
                        s.false_bounces += 1;
                        s.misses
                            .push(format!("{}: {got}, labelled {}", case.file, case.kind));
                    }
                }
            }
        }
        s
    }

    fn rate(n: usize, d: usize) -> f64 {
        if d == 0 {
            1.0
        } else {
            n as f64 / d as f64
        }
    }

    fn report(&self, name: &str) {
        eprintln!(
            "{name}: recipient {}/{} ({:.3}), hard/soft {}/{} ({:.3}), complaints {}/{}, false bounces {}/{}",
            self.recipient_right,
            self.bounces,
            Self::rate(self.recipient_right, self.bounces),
            self.kind_right,
            self.bounces,
            Self::rate(self.kind_right, self.bounces),
            self.complaints_seen,
            self.complaints,
            self.false_bounces,
            self.non_bounces
        );
        for miss in &self.misses {
            eprintln!("  {miss}");
        }
    }

    /// Panics below the floors: recipient and kind rates, every complaint, no false bounce.
    fn assert_floors(&self, name: &str, recipient: f64, kind: f64) {
        self.report(name);
        assert!(self.bounces > 0, "{name}: no bounces");
        assert!(
            Self::rate(self.recipient_right, self.bounces) >= recipient,
            "{name}: recipient rate below {recipient}"
        );
        assert!(
            Self::rate(self.kind_right, self.bounces) >= kind,
            "{name}: hard/soft rate below {kind}"
        );
        assert_eq!(
            self.complaints_seen, self.complaints,
            "{name}: a complaint was missed"
        );
        assert_eq!(
            self.false_bounces, 0,
            "{name}: a non-bounce counted as a bounce"
        );
    }
}

#[test]
fn corpus_tuning_part_meets_the_targets() {
    let Some(dir) = fixtures() else { return };
    let cases = corpus(&dir);
    Score::of(cases.iter().filter(|c| !c.held_aside)).assert_floors("tuning part", 0.97, 0.90);
}

#[test]
fn corpus_held_aside_part_meets_the_targets() {
    let Some(dir) = fixtures() else { return };
    let cases = corpus(&dir);
    Score::of(cases.iter().filter(|c| c.held_aside)).assert_floors("held-aside part", 0.97, 0.90);
}

#[test]
fn corpus_split_is_the_one_fixed_before_tuning() {
    let Some(dir) = fixtures() else { return };
    let cases = corpus(&dir);
    let held = cases.iter().filter(|c| c.held_aside).count();
    // The published DEV corpus; another labelled set (GAZETTE_FIXTURES) is split by the same rule.
    if cases.len() == 147 {
        assert_eq!(held, 44);
        assert!(cases.iter().any(|c| c.file == "arf-26.eml" && c.held_aside));
    }
}

// ---- the command ----

#[test]
fn process_prints_the_design_shape_for_files_and_stdin() {
    let dir = crate::support::tempdir();
    let file = data("dsn-user-unknown.eml");
    let (code, stdout, stderr) = gazette(
        &[
            "bounces",
            "process",
            "--dry-run",
            "--json",
            file.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let row = &rows[0];
    for key in ["file", "kind", "recipient", "status", "reason", "delivery"] {
        assert!(row.get(key).is_some(), "{key} missing in {row}");
    }
    assert_eq!(row["kind"], "hard");
    assert_eq!(row["recipient"], "ada.lovelace@example.net");
    assert_eq!(row["status"], "5.1.1");
    assert_eq!(row["reason"], "user unknown");
    assert_eq!(row["delivery"], "d42.Xk9_q-Z");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["bounces", "process", "--dry-run", "--json", "-"])
        .current_dir(dir.path())
        .stdin(std::fs::File::open(data("arf-abuse.eml")).unwrap())
        .output()
        .expect("run gazette");
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(rows[0]["file"], "-");
    assert_eq!(rows[0]["kind"], "complaint");
}

/// Without `--dry-run` the message is recorded (a config names the database): the same
/// message twice records once; an unreadable file exits 1.
#[test]
fn process_records_once_and_needs_a_config() {
    let dir = crate::support::tempdir();
    let file = data("rfc3834-vacation.eml");
    let (code, _, stderr) = gazette(&["bounces", "process", file.to_str().unwrap()], dir.path());
    assert_eq!(code, 2, "no config: {stderr}");
    let text = crate::support::config_text(
        dir.path(),
        "file:///tmp/gazette-bounces-outbox",
        "[[feeds]]\nurl = \"x.xml\"\n[[digests]]\nname = \"weekly\"\n",
    );
    crate::support::write_config(dir.path(), &text);
    let file = data("dsn-user-unknown.eml");
    for expected in ["new", "duplicate"] {
        let (code, stdout, stderr) = gazette(
            &[
                "--config",
                "gazette.toml",
                "--json",
                "bounces",
                "process",
                file.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(code, 0, "{stderr}");
        let rows: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
        assert_eq!(rows[0]["recorded"], expected, "{rows}");
        assert_eq!(rows[0]["kind"], "hard");
    }
    let (code, stdout, _) = gazette(
        &["--config", "gazette.toml", "--json", "bounces", "list"],
        dir.path(),
    );
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["recipient"], "ada.lovelace@example.net");
    assert_eq!(list[0]["outcome"], "none", "no subscriber by that address");
    let (code, _, stderr) = gazette(
        &["bounces", "process", "--dry-run", "missing.eml"],
        dir.path(),
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("missing.eml"), "{stderr}");
}
