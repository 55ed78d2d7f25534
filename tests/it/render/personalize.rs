use gazette::render::{IssueView, Personal, Renderer};

use crate::render::fixtures;

/// Recipients whose fields hold what the HTML serializer escapes, non-ASCII, long values and
/// no name at all.
fn recipients() -> Vec<Personal> {
    let unsubscribe = |t: &str| format!("https://digest.example.org/unsubscribe/{t}");
    let manage = |t: &str| format!("https://digest.example.org/manage/{t}");
    let mut out = vec![fixtures::ada()];
    out.push(Personal {
        email: "no.name@example.net".into(),
        name: None,
        unsubscribe_url: unsubscribe("tok_none"),
        manage_url: manage("tok_none"),
    });
    out.push(Personal {
        email: "o'hara+\"news\"&more@example.org".into(),
        name: Some("  Siobhán O'Hara & <Co> \u{a0}\"Ltd\"  ".into()),
        unsubscribe_url: unsubscribe("a?b=1&c=%22d%22"),
        manage_url: manage("m?b=1&c=\"d\"<e>"),
    });
    out.push(Personal {
        email: format!("{}@{}.example.com", "x".repeat(60), "sub".repeat(30)),
        name: Some("Ζωή Παπαδοπούλου-Ναβάρο".repeat(4)),
        unsubscribe_url: unsubscribe(&"t".repeat(300)),
        manage_url: manage(&"m".repeat(300)),
    });
    out.push(Personal {
        email: "blank@example.org".into(),
        name: Some("   ".into()),
        unsubscribe_url: unsubscribe("tok_blank"),
        manage_url: manage("tok_blank"),
    });
    out
}

fn issues() -> Vec<(&'static str, IssueView)> {
    vec![
        ("fixture", fixtures::issue()),
        ("forty long stories", fixtures::long_issue(40)),
        ("hostile", fixtures::hostile_issue().0),
    ]
}

#[test]
fn a_prepared_copy_is_byte_identical_to_a_full_render() {
    let renderer = Renderer::new(None).unwrap();
    for (label, issue) in issues() {
        let prepared = renderer.prepare_email(&issue).unwrap();
        assert!(
            prepared.variants().iter().all(Option::is_some),
            "{label}: built-in templates pass the probe check"
        );
        for p in recipients() {
            let full = renderer.render_email(&issue, &p).unwrap();
            let filled = prepared
                .for_recipient(&p)
                .unwrap_or_else(|| panic!("{label}: {} needs a full render", p.email));
            assert_eq!(filled.html(), full.html, "{label}: HTML for {}", p.email);
            assert_eq!(filled.text(), full.text, "{label}: text for {}", p.email);
            assert_eq!(prepared.dropped, full.dropped, "{label}: {}", p.email);
        }
    }
}

#[test]
fn every_copy_of_a_cut_issue_shows_the_same_stories() {
    let renderer = Renderer::new(None).unwrap();
    let issue = fixtures::long_issue(40);
    let dropped: Vec<usize> = recipients()
        .iter()
        .map(|p| renderer.render_email(&issue, p).unwrap().dropped)
        .collect();
    assert!(dropped[0] > 0, "the fixture must exercise the budget");
    assert!(dropped.iter().all(|&d| d == dropped[0]), "{dropped:?}");
    // A field longer than the reserve costs only its own copy stories, and stays in budget.
    let mut huge = fixtures::ada();
    huge.name = Some("N".repeat(10 * gazette::render::PERSONAL_RESERVE));
    let prepared = renderer.prepare_email(&issue).unwrap();
    assert!(prepared.for_recipient(&huge).is_none());
    let full = renderer.render_email(&issue, &huge).unwrap();
    assert!(full.dropped > dropped[0]);
    assert!(full.html.len() <= gazette::render::DEFAULT_MAX_HTML_BYTES);
}

#[test]
fn fields_with_control_characters_are_rendered_in_full() {
    let renderer = Renderer::new(None).unwrap();
    let prepared = renderer.prepare_email(&fixtures::issue()).unwrap();
    let mut p = fixtures::ada();
    p.name = Some("Ada\r\nBcc: x@example.org".into());
    assert!(prepared.for_recipient(&p).is_none());
    p.name = Some("Ada \u{FDD0}".into());
    assert!(prepared.for_recipient(&p).is_none());
}

#[test]
fn templates_that_change_a_field_fall_back_to_full_renders() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("templates-upper");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("_footer.html"),
        "<tr><td class=\"footer\">Sent to {{ subscriber.email | upper }}; \
         {{ subscriber.unsubscribe_url | truncate(length=20) }}</td></tr>\n",
    )
    .unwrap();
    let renderer = Renderer::new(Some(&dir)).unwrap();
    let issue = fixtures::issue();
    let prepared = renderer.prepare_email(&issue).unwrap();
    assert!(!prepared.is_usable(), "the probe check must catch `upper`");
    let p = fixtures::ada();
    assert!(prepared.for_recipient(&p).is_none());
    let full = renderer.render_email(&issue, &p).unwrap();
    assert!(full.html.contains("Sent to ADA@EXAMPLE.COM"));
}

/// The quoted-printable pieces of a prepared issue, filled in and built into a message, decode
/// to exactly the full render (lines ending CRLF on the wire).
#[test]
fn encoded_pieces_decode_to_the_full_render() {
    use gazette::deliver::message::EncodedPart;
    use mail_parser::MessageParser;

    let renderer = Renderer::new(None).unwrap();
    for (label, issue) in issues() {
        let prepared = renderer.prepare_email(&issue).unwrap();
        for p in recipients() {
            let full = renderer.render_email(&issue, &p).unwrap();
            let filled = prepared.for_recipient(&p).unwrap();
            let variant = &prepared.variants()[filled.variant()];
            let variant = variant.as_ref().unwrap();
            let values = filled.values();
            let part = |pieces| {
                let mut out = Vec::new();
                EncodedPart::new(pieces).write(&values, &mut out);
                out
            };
            let message = formatted("Test", part(&variant.text), Some(part(&variant.html)));
            assert!(
                message.split(|&b| b == b'\n').all(|l| l.len() <= 78),
                "{label}: quoted-printable lines stay within 76 characters"
            );
            let parsed = MessageParser::default().parse(&message).unwrap();
            let html = parsed.body_html(0).unwrap().replace("\r\n", "\n");
            let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
            assert_eq!(html, full.html, "{label}: HTML for {}", p.email);
            assert_eq!(text, full.text, "{label}: text for {}", p.email);
        }
    }
}

/// A piece whose encoded last line is already 76 characters long is broken before the soft line
/// break that joins it to the next piece: no line goes over 76 (RFC 2045), and it still decodes
/// to the same text.
#[test]
fn pieces_joined_by_soft_breaks_stay_within_76_characters() {
    use gazette::deliver::message::EncodedPart;
    use gazette::render::Piece;

    let renderer = Renderer::new(None).unwrap();
    let issue = fixtures::issue();
    let prepared = renderer.prepare_email(&issue).unwrap();
    let p = fixtures::ada();
    let filled = prepared.for_recipient(&p).unwrap();
    let values = filled.values();
    // 76 plain characters, 74 and an escape (`=3D`), then the next piece.
    for first in ["a".repeat(76), format!("{}=", "b".repeat(74))] {
        let pieces = [Piece::Literal(first.clone()), Piece::Literal("z".into())];
        let mut body = Vec::new();
        EncodedPart::new(&pieces).write(&values, &mut body);
        let text = String::from_utf8(body).unwrap();
        for line in text.split("\r\n") {
            assert!(line.len() <= 76, "{} characters: {line:?}", line.len());
        }
        let decoded = text.replace("=\r\n", "").replace("=3D", "=");
        assert_eq!(decoded, format!("{first}z"));
    }
}

/// A feed title written as an encoded word (`=?utf-8?q?a=0D=0ABcc:…?=`) must not decode into a
/// header line break: such a subject is encoded whole, and reads back as the text it was.
#[test]
fn a_subject_holding_encoded_word_syntax_reads_back_as_written() {
    use gazette::deliver::message::quoted_printable;
    use mail_parser::MessageParser;

    let subject = "Policy Wire #1: M2 =?utf-8?q?a=0D=0ABcc:_x@example.com?= tail and a long tail of words to fold ünïcode";
    let message = formatted(subject, quoted_printable("hello"), None);
    let head = String::from_utf8_lossy(&message);
    assert!(
        message.split(|&b| b == b'\n').all(|l| l.len() <= 78),
        "{head}"
    );
    let parsed = MessageParser::default().parse(&message).unwrap();
    assert_eq!(parsed.subject(), Some(subject));
    assert!(parsed.header("Bcc").is_none());
}

/// One message to reader@example.org with this subject and these quoted-printable parts, as it
/// goes on the wire.
fn formatted(subject: &str, text: Vec<u8>, html: Option<Vec<u8>>) -> Vec<u8> {
    use gazette::deliver::message::{Frame, Letterhead, Recipient};
    let from: lettre::message::Mailbox = "Policy Wire <digest@example.org>".parse().unwrap();
    let frame = Frame::new(&Letterhead {
        from: &from,
        reply_to: None,
        subject,
        list_id: None,
        one_click: false,
        html: html.is_some(),
    });
    let to = "reader@example.org".parse().unwrap();
    let recipient = Recipient {
        to: &to,
        message_id: "<t.1@example.org>",
        date: std::time::SystemTime::UNIX_EPOCH,
        unsubscribe_url: None,
        unsubscribe_mailto: None,
        verp: None,
    };
    let html = html.unwrap_or_default();
    frame
        .message(
            &recipient,
            0,
            |out| out.extend_from_slice(&text),
            |out| out.extend_from_slice(&html),
        )
        .unwrap()
        .bytes
}
