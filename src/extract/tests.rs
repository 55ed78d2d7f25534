//! Behaviour tests of the public extract API on small hand-written inputs.

use super::*;

fn lead_text(html: &str) -> String {
    lead_from_fragment(html, None)
        .map(|l| l.text(1))
        .unwrap_or_default()
}

const PROSE: &str = "Microsoft said it has been granted a license to sell software to the company, the latest turn in a long and complicated relationship.";

#[test]
fn fragment_skips_figure_caption() {
    let html = format!(
        "<figure><img src=x.jpg><figcaption>(Acme Photo)</figcaption></figure><p>{PROSE}</p>"
    );
    assert_eq!(lead_text(&html), PROSE);
}

#[test]
fn fragment_skips_unmarked_caption_byline_and_prompts() {
    let html = format!(
        "<p>(Acme Photo)</p><p>Photo: Reuters</p><p>By Jane Doe</p><p>Updated at 1:23 p.m. on Monday.</p>\
         <p>Like what you're reading? Subscribe to our free newsletters.</p><p>Related: Five things to know.</p><p>{PROSE}</p>"
    );
    assert_eq!(lead_text(&html), PROSE);
}

#[test]
fn footer_prompts_are_never_the_lead() {
    let html = "<p>Like what you're reading? Subscribe to GeekWire's free newsletters to catch every headline</p>\
                <p>Job Listings on GeekWork</p><p>Find more jobs on GeekWork. Employers, post a job here.</p>";
    assert!(lead_text(html).is_empty() || !lead_text(html).contains("jobs"));
}

#[test]
fn an_item_wholly_linked_still_has_its_lead_but_a_menu_does_not() {
    // A podcast item whose every paragraph links to the episode's audio.
    let html = format!(
        "<div><a href=\"https://example.org/ep1.mp3\">{PROSE}</a></div>\
         <div><a href=\"https://example.org/ep1.mp3\">The interview also covers what comes next for the company and its rivals.</a></div>"
    );
    assert_eq!(lead_text(&html), PROSE);
    // Prose outside links still wins over linked prose.
    let html = format!(
        "<p><a href=\"https://example.org/ep1.mp3\">{PROSE}</a></p><p>The interview also covers what comes next for the company and its rivals.</p>"
    );
    assert!(lead_text(&html).starts_with("The interview"));
    // Many short links are a menu or a list of headlines, never a lead.
    let menu = "<p><a href=\"/a\">Home</a> <a href=\"/b\">World news today</a> <a href=\"/c\">Business and markets</a> \
                <a href=\"/d\">Technology</a> <a href=\"/e\">Sport results of the week.</a></p>";
    assert_eq!(lead_text(menu), "");
}

#[test]
fn br_separated_paragraphs() {
    let html = format!("<div>Short kicker<br><br>{PROSE}<br><br>Second paragraph that is long enough to count as prose for the rule, yes indeed it is.</div>");
    let lead = lead_from_fragment(&html, None).expect("lead");
    assert_eq!(lead.paragraphs[0].text, PROSE);
    assert_eq!(lead.paragraphs.len(), 2);
}

#[test]
fn plain_text_paragraphs() {
    let text = format!("WASHINGTON\n\n{PROSE}\n\nAnother paragraph &amp; more.");
    assert_eq!(lead_text(&text), PROSE);
}

#[test]
fn non_english_fragments() {
    let de = "<p>Von Anna Schmidt</p><p>Die Bundesregierung hat am Montag ein neues Gesetz zur Förderung erneuerbarer Energien vorgestellt, das ab Januar gelten soll.</p>";
    assert!(lead_text(de).starts_with("Die Bundesregierung"));
    let ja = "<p>写真：共同</p><p>東京都は月曜日、新しい再生可能エネルギー計画を発表しました。</p>";
    assert!(lead_text(ja).starts_with("東京都は"));
    let ko = "<p>[엔터미디어=기자] 주말 밤 9시 두 방송사는 드라마의 대결로 붙는 경우가 흔하다. 시청률 경쟁이 치열하다.</p>";
    assert!(lead_text(ko).starts_with("[엔터미디어"));
}

#[test]
fn lead_html_is_sanitized_and_absolute() {
    let base = url::Url::parse("https://news.example/a/b").expect("url");
    let html = "<p onclick=x>Officials <b>said</b> on <a href=\"/c\" class=k>Monday</a> that the plan, first <a href=\"javascript:alert(1)\">announced</a> in May &amp; June, will go ahead.</p>";
    let lead = lead_from_fragment(html, Some(&base)).expect("lead");
    let p = &lead.paragraphs[0];
    assert_eq!(
        p.text,
        "Officials said on Monday that the plan, first announced in May & June, will go ahead."
    );
    assert!(p
        .html
        .contains(r#"<a href="https://news.example/c" rel="noopener">Monday</a>"#));
    assert!(
        !p.html.contains("<b>") && !p.html.contains("javascript") && !p.html.contains("onclick")
    );
    assert!(p.html.contains("&amp;"));
}

#[test]
fn page_lead_skips_header_dek_and_caption() {
    let body: String = (0..4)
        .map(|i| format!("<p>Paragraph {i} of the body goes on, with commas, clauses, and detail enough to read as real prose here.</p>"))
        .collect();
    let html = format!(
        "<html><head><title>Big news - Site</title></head><body><nav><a href=/>Home</a></nav>\
         <article><header><h1>Big news</h1><p class=\"dek\">A standfirst that sums up the story in one long sentence for readers.</p>\
         <p class=byline>By Jane Doe</p></header><figure><img src=a.jpg><figcaption>A man walks past the building in the city on Monday. (AP Photo/John Roe)</figcaption></figure>\
         <div class=\"article-body\"><p>{PROSE}</p>{body}</div></article><footer><p>Copyright 2019 Site. All rights reserved.</p></footer></body></html>"
    );
    let page = extract_page(&html, None);
    assert_eq!(page.title.as_deref(), Some("Big news"));
    assert_eq!(page.lead.expect("lead").text(1), PROSE);
    assert!(page.paragraphs.len() >= 5);
}

#[test]
fn teasers() {
    assert!(is_teaser("<p>Short intro to the story […]</p>"));
    assert!(is_teaser("A few words and then… Continue reading"));
    let long = format!("<p>{PROSE} {PROSE} {PROSE}</p>");
    assert!(!is_teaser(&long));
    let post =
        format!("<p>{PROSE} {PROSE} {PROSE}</p><p>The post Big news appeared first on Site.</p>");
    assert!(is_teaser(&post));
}

#[test]
fn choose_prefers_content_then_page_then_summary() {
    let full = format!("<p>{PROSE}</p><p>{PROSE}</p><p>{PROSE}</p>");
    let (_, src) = choose(Some(&full), Some("x"), None, None).expect("lead");
    assert_eq!(src, LeadSource::Content);
    let page = format!("<html><body><article><p>{PROSE}</p><p>{PROSE}</p></article></body></html>");
    let (_, src) = choose(
        Some("Teaser…"),
        Some("Summary text that is a full sentence here."),
        Some(&page),
        None,
    )
    .expect("lead");
    assert_eq!(src, LeadSource::Article);
    let (lead, src) = choose(
        Some("Teaser…"),
        Some("Summary text that is a full sentence here."),
        None,
        None,
    )
    .expect("lead");
    assert_eq!(
        (lead.text(1).as_str(), src),
        (
            "Summary text that is a full sentence here.",
            LeadSource::Summary
        )
    );
    assert_eq!(
        serde_json::to_string(&LeadSource::Article).expect("json"),
        "\"article\""
    );
}

#[test]
fn hostile_inputs_do_not_panic() {
    let deep = "<div>".repeat(5_000) + "text";
    let _ = extract_page(&deep, None);
    let _ = lead_from_fragment(&deep, None);
    for s in [
        "",
        "<",
        "&",
        "<p></p>",
        "\u{0}\u{feff}",
        "<a href='http://[::1'>x</a>",
        "…",
    ] {
        let _ = extract_page(s, None);
        let _ = lead_from_fragment(s, None);
        let _ = is_teaser(s);
        let _ = excerpt(s, 0);
    }
}
