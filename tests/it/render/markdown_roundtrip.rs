use gazette::render::{IssueView, Renderer};
use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use crate::render::fixtures;

/// A heading as pulldown-cmark sees it: level, plain text, link destination if any.
#[derive(Debug, PartialEq)]
struct Heading {
    level: HeadingLevel,
    text: String,
    link: Option<String>,
}

fn headings(md: &str) -> (Vec<Heading>, Vec<String>, bool) {
    let mut out = Vec::new();
    let mut paragraphs = Vec::new();
    let mut current: Option<Heading> = None;
    let mut para: Option<String> = None;
    let mut raw_html = false;
    for event in Parser::new(md) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                current = Some(Heading {
                    level,
                    text: String::new(),
                    link: None,
                })
            }
            Event::End(TagEnd::Heading(_)) => out.extend(current.take()),
            Event::Start(Tag::Paragraph) => para = Some(String::new()),
            Event::End(TagEnd::Paragraph) => paragraphs.extend(para.take()),
            Event::Start(Tag::Link { dest_url, .. }) => {
                if let Some(h) = current.as_mut() {
                    h.link = Some(dest_url.to_string());
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = current.as_mut() {
                    h.text.push_str(&t);
                }
                if let Some(p) = para.as_mut() {
                    p.push_str(&t);
                }
            }
            Event::SoftBreak => {
                if let Some(p) = para.as_mut() {
                    p.push(' ');
                }
            }
            Event::Html(_) | Event::InlineHtml(_) => raw_html = true,
            _ => {}
        }
    }
    (out, paragraphs, raw_html)
}

fn expected(issue: &IssueView) -> Vec<Heading> {
    let mut want = vec![Heading {
        level: HeadingLevel::H1,
        text: format!("{} No. {}", issue.digest.title, issue.number),
        link: None,
    }];
    for section in &issue.sections {
        want.push(Heading {
            level: HeadingLevel::H2,
            text: section.title.clone().unwrap(),
            link: None,
        });
        for story in &section.stories {
            let link = story.url.starts_with("https://").then(|| story.url.clone());
            want.push(Heading {
                level: HeadingLevel::H3,
                text: story.title.clone(),
                link,
            });
        }
    }
    want
}

#[test]
fn markdown_parses_back_to_the_issue_structure() {
    let issue = fixtures::issue();
    let out = Renderer::new(None)
        .unwrap()
        .render(&issue, Some(&fixtures::ada()))
        .unwrap();
    let (got, paragraphs, _) = headings(&out.markdown);
    assert_eq!(got, expected(&issue));
    for story in issue.sections.iter().flat_map(|s| &s.stories) {
        assert!(
            paragraphs.contains(
                &story
                    .lead_text
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            "lead paragraph of {:?}",
            story.title
        );
    }
}

#[test]
fn hostile_titles_stay_literal_in_markdown() {
    let (issue, person) = fixtures::hostile_issue();
    let out = Renderer::new(None)
        .unwrap()
        .render(&issue, Some(&person))
        .unwrap();
    let (got, paragraphs, raw_html) = headings(&out.markdown);
    assert_eq!(got, expected(&issue));
    assert!(!raw_html, "no raw HTML in the Markdown");
    assert!(paragraphs.contains(&"Hi <i>Mallory</i>,".to_string()));
    let links = Parser::new(&out.markdown).filter_map(|e| match e {
        Event::Start(Tag::Link { dest_url, .. }) => Some(dest_url.to_string()),
        _ => None,
    });
    for url in links {
        assert!(url.starts_with("https://"), "link to {url}");
    }
}
