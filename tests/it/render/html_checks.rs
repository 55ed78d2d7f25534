use gazette::render::{ConfirmView, Renderer};
use scraper::{Html, Selector};

use crate::render::fixtures;

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn is_absolute(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://") || url.starts_with("mailto:")
}

/// The email-safety rules every rendered HTML email must follow.
fn assert_email_safe(html: &str) {
    let doc = Html::parse_document(html);
    assert_eq!(doc.select(&sel("script")).count(), 0, "no script");
    assert_eq!(doc.select(&sel("link")).count(), 0, "no external CSS");
    assert!(!html.contains("@import") && !html.contains("@font-face"));
    let lang = doc
        .select(&sel("html"))
        .next()
        .unwrap()
        .value()
        .attr("lang");
    assert!(lang.is_some_and(|l| !l.is_empty()), "html lang");
    for table in doc.select(&sel("table")) {
        assert_eq!(
            table.value().attr("role"),
            Some("presentation"),
            "layout tables"
        );
    }
    for el in doc.select(&sel("[href], [src]")) {
        for attr in ["href", "src"] {
            if let Some(url) = el.value().attr(attr) {
                assert!(is_absolute(url), "{attr}={url:?} is not absolute");
            }
        }
    }
    for img in doc.select(&sel("img")) {
        assert!(img.value().attr("alt").is_some(), "img without alt");
    }
    for el in doc.select(&sel("*")) {
        for (name, value) in el.value().attrs() {
            assert!(!name.starts_with("on"), "event handler {name}={value}");
        }
    }
    let styles: Vec<_> = doc.select(&sel("style")).collect();
    assert!(styles.len() <= 1, "one kept <style> at most");
    for s in styles {
        let css = s.text().collect::<String>();
        assert!(css.len() < 16_384, "Gmail ignores <style> over 16 KB");
        assert!(css.contains("@media"), "only media queries stay in <style>");
    }
    assert!(html.len() < 100_000, "HTML is {} bytes", html.len());
    assert!(!html.contains("display: flex") && !html.contains("position: absolute"));
}

fn text_of(doc: &Html, css: &str) -> Vec<String> {
    doc.select(&sel(css))
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

fn links_to(doc: &Html, css: &str, href: &str) -> usize {
    doc.select(&sel(css))
        .filter(|a| a.value().attr("href") == Some(href))
        .count()
}

#[test]
fn fixture_issue_is_email_safe() {
    let out = Renderer::new(None)
        .unwrap()
        .render(&fixtures::issue(), Some(&fixtures::ada()))
        .unwrap();
    assert_email_safe(&out.html);
    let doc = Html::parse_document(&out.html);
    assert_eq!(text_of(&doc, ".section-title"), ["Trade", "Privacy"]);
    assert_eq!(doc.select(&sel("h3.headline a[href]")).count(), 4);
    assert_eq!(text_of(&doc, ".greeting"), ["Hi Ada,"]);
    let unsubscribe = "https://digest.example.org/unsubscribe/tok_3f9a1c";
    let top = links_to(&doc, ".topbar a", unsubscribe);
    assert_eq!(top, 1, "unsubscribe near the top, before any Gmail clip");
    assert_eq!(
        links_to(&doc, ".footer a", unsubscribe),
        1,
        "unsubscribe in the footer"
    );
    let also = doc.select(&sel(".also a")).collect::<Vec<_>>();
    assert_eq!(also.len(), 2);
    assert!(out.html.contains(
        "Microsoft granted a license to keep selling software to Huawei — and 3 more stories"
    ));
    assert!(out
        .text
        .contains("Unsubscribe: https://digest.example.org/unsubscribe/tok_3f9a1c"));
}

#[test]
fn text_is_wrapped_at_72_columns_with_numbered_links() {
    let out = Renderer::new(None)
        .unwrap()
        .render(&fixtures::issue(), Some(&fixtures::ada()))
        .unwrap();
    for line in out.text.lines() {
        let is_url = line.split_whitespace().count() == 1
            || line.starts_with('[')
            || line.contains(": http");
        assert!(line.chars().count() <= 72 || is_url, "too long: {line:?}");
    }
    assert!(out
        .text
        .contains("Microsoft granted a license to keep selling software to Huawei [2]\n------"));
    assert!(out
        .text
        .contains("[2] https://www.geekwire.com/2026/microsoft-huawei-license/"));
}

#[test]
fn web_copy_has_no_personal_parts() {
    let out = Renderer::new(None)
        .unwrap()
        .render(&fixtures::issue(), None)
        .unwrap();
    assert_email_safe(&out.html);
    let doc = Html::parse_document(&out.html);
    assert!(text_of(&doc, ".greeting").is_empty());
    assert!(!out.html.contains("nsubscribe") && !out.text.contains("nsubscribe"));
    assert!(links_to(&doc, "a", "https://digest.example.org/subscribe") >= 1);
}

#[test]
fn forty_long_stories_are_cut_to_fit() {
    let issue = fixtures::long_issue(40);
    let renderer = Renderer::new(None).unwrap();
    let out = renderer.render(&issue, Some(&fixtures::ada())).unwrap();
    assert_email_safe(&out.html);
    assert!(out.dropped > 0, "the fixture must exercise truncation");
    assert!(out.html.len() <= gazette::render::DEFAULT_MAX_HTML_BYTES);
    let kept = 40 - out.dropped;
    eprintln!(
        "40 long stories: kept {kept}, dropped {}, HTML {} bytes",
        out.dropped,
        out.html.len()
    );
    let doc = Html::parse_document(&out.html);
    assert_eq!(doc.select(&sel("h3.headline")).count(), kept);
    // The best-ranked stories stay; the worst go.
    assert!(out.html.contains("Story number 0:"));
    assert!(out.html.contains(&format!("Story number {}:", kept - 1)));
    assert!(!out.html.contains(&format!("Story number {kept}:")));
    let more: Vec<_> = doc.select(&sel("td.more a")).collect();
    assert_eq!(more.len(), 1);
    assert_eq!(
        more[0].value().attr("href"),
        Some("https://digest.example.org/issues/weekly-3")
    );
    let label = format!("{} more stories", out.dropped);
    assert!(more[0].text().collect::<String>().contains(&label));
    assert!(out.text.contains(&label) && out.markdown.contains(&label));
    // The footer, with the unsubscribe link, survives the cut.
    assert!(doc
        .select(&sel("td.footer a"))
        .any(|a| a.text().collect::<String>() == "Unsubscribe"));
    // One more story would not have fitted.
    let tighter = Renderer::new(None)
        .unwrap()
        .with_max_html_bytes(out.html.len() - 1)
        .render(&issue, Some(&fixtures::ada()))
        .unwrap();
    assert!(tighter.dropped > out.dropped);
    // The web copy is the page "more stories" points to: never cut.
    assert_eq!(renderer.render(&issue, None).unwrap().dropped, 0);
}

/// One story of absurd size (a 45,000-character title, a 200,000-character "word" as its lead,
/// a link with a 100 KB address) is shown cut, and never pushes the other stories out of the
/// email; terminal escapes and C1 codes never reach either part.
#[test]
fn an_oversized_story_is_cut_and_the_others_stay() {
    let mut issue = fixtures::long_issue(4);
    let huge = &mut issue.sections[0].stories[0];
    huge.title = format!("Headline\u{1b}[2J {}", "Headline ".repeat(5000));
    huge.lead_text = format!("Start {} end of the lead paragraph.", "A".repeat(200_000));
    huge.lead_html = format!(
        "<p><a href=\"https://e.example/{}\">Start</a> of the \u{9b}31m lead.</p>",
        "x".repeat(100_000)
    );
    issue.subject = format!("Tech Policy Weekly #3: {}", huge.title);
    let renderer = Renderer::new(None).unwrap();
    let out = renderer.render(&issue, Some(&fixtures::ada())).unwrap();
    assert_eq!(out.dropped, 0, "every story fits once the big one is cut");
    for i in 1..4 {
        let title = format!("Story number {i}:");
        assert!(out.html.contains(&title) && out.text.contains(&title));
    }
    assert!(out.html.len() < 60_000, "{} bytes", out.html.len());
    for part in [&out.html, &out.text] {
        assert!(!part.contains('\u{1b}') && !part.contains('\u{9b}'));
        assert!(part.contains("Headline Headline"));
        assert!(!part.contains(&"A".repeat(2_001)));
    }
}

#[test]
fn feed_and_subscriber_text_is_escaped() {
    let (issue, person) = fixtures::hostile_issue();
    let out = Renderer::new(None)
        .unwrap()
        .render(&issue, Some(&person))
        .unwrap();
    assert_email_safe(&out.html);
    if let Some(pos) = out.html.find("<script") {
        panic!(
            "raw <script> in {:?}",
            &out.html[pos.saturating_sub(200)..pos + 50]
        );
    }
    assert!(!out.html.contains("href=\"javascript"));
    assert!(!out.html.contains("data:text"));
    let doc = Html::parse_document(&out.html);
    let headlines = text_of(&doc, "h3.headline");
    assert_eq!(
        headlines[0], "\"><script>alert(1)</script><img src=x onerror=alert(1)>",
        "the title shows as text"
    );
    assert_eq!(doc.select(&sel("img")).count(), 0);
    // A javascript: article URL leaves the headline unlinked.
    assert_eq!(
        doc.select(&sel("h3.headline"))
            .next()
            .unwrap()
            .select(&sel("a"))
            .count(),
        0
    );
    assert_eq!(
        text_of(&doc, ".source")[0],
        "<b onmouseover=alert(2)>Evil</b>"
    );
    assert_eq!(text_of(&doc, ".greeting"), ["Hi <i>Mallory</i>,"]);
    assert_eq!(doc.select(&sel(".greeting i, .source b")).count(), 0);
    // Sanitized lead: relative and javascript links lose their href.
    let lead_links: Vec<_> = doc.select(&sel(".lead a[href]")).collect();
    assert!(
        lead_links.is_empty(),
        "{:?}",
        lead_links.iter().map(|a| a.html()).collect::<Vec<_>>()
    );
    // The plain text is plain: no escaping needed, no markup added.
    assert!(out.text.contains("Hi <i>Mallory</i>,"));
}

#[test]
fn confirmation_email() {
    let view = ConfirmView {
        newsletter: fixtures::newsletter(),
        digests: vec!["Tech Policy Weekly".into(), "Trade Daily".into()],
        confirm_url: "https://digest.example.org/confirm/tok_c0ffee".into(),
        email: "new@example.com".into(),
    };
    let (html, text) = Renderer::new(None).unwrap().render_confirm(&view).unwrap();
    let preview = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/preview");
    std::fs::create_dir_all(&preview).unwrap();
    std::fs::write(preview.join("confirm.html"), &html).unwrap();
    assert_email_safe(&html);
    let doc = Html::parse_document(&html);
    let button = doc.select(&sel("a.button")).next().unwrap();
    assert_eq!(
        button.value().attr("href"),
        Some("https://digest.example.org/confirm/tok_c0ffee")
    );
    assert!(html.contains("<strong>Tech Policy Weekly</strong> and <strong>Trade Daily</strong>"));
    assert!(text.contains("\nhttps://digest.example.org/confirm/tok_c0ffee\n"));
    assert!(text.lines().all(|l| l.chars().count() <= 72));
}
