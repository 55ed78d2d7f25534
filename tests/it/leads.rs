use gazette::extract::{excerpt, lead_from_fragment};

use crate::support::fixtures;

/// The GeekWire feed fragment: the lead is the license paragraph, never the caption or footer.
#[test]
fn geekwire_fragment_lead_skips_caption_and_footer() {
    let Some(fx) = fixtures() else { return };
    let html =
        std::fs::read_to_string(fx.join("articles/html/seed-geekwire-fragment.html")).unwrap();
    let lead = lead_from_fragment(&html, None).expect("a lead");
    assert!(
        lead.text(1)
            .starts_with("Microsoft said it has been granted a license"),
        "{}",
        lead.text(1)
    );
}

#[test]
fn excerpt_cuts_at_a_sentence_and_keeps_abbreviations() {
    let text = "The U.S. Commerce Dept. granted the license on Jan. 5 to Microsoft Inc. after review. A second sentence follows here and is long enough to be cut away.";
    assert_eq!(
        excerpt(text, 15),
        "The U.S. Commerce Dept. granted the license on Jan. 5 to Microsoft Inc. after review. …"
    );
    assert_eq!(excerpt("Short and whole.", 80), "Short and whole.");
}
