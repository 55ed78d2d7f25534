//! Issue fixtures built in code, shared by the render tests.

#![allow(dead_code)]

use gazette::render::{
    markdown_to_safe_html, AlsoView, DigestView, IssueView, NewsletterView, Personal, SectionView,
    StoryView,
};

pub const INTRO_MD: &str = "This week the **export-control** fight moved from Washington to the \
courts, and Europe's privacy regulators set a deadline. Our [methodology note](https://digest.example.org/about) \
explains how stories are picked.\n\nAs always, reply to tell us what we missed.";

fn story(rank: usize, title: &str, url: &str, source: &str, day: u32, lead: &str) -> StoryView {
    StoryView {
        title: title.to_string(),
        url: url.to_string(),
        source: source.to_string(),
        date: format!("{day} November 2026"),
        published: format!("2026-11-{day:02}T14:30:00Z"),
        lead_text: lead.to_string(),
        lead_html: format!("<p>{}</p>", escape(lead)),
        also: Vec::new(),
        rank,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn newsletter() -> NewsletterView {
    NewsletterView {
        name: "Policy Wire".into(),
        base_url: "https://digest.example.org".into(),
        lang: "en".into(),
    }
}

fn issue_with(sections: Vec<SectionView>) -> IssueView {
    let first = sections
        .iter()
        .flat_map(|s| &s.stories)
        .next()
        .map(|s| s.title.clone())
        .unwrap_or_default();
    IssueView {
        newsletter: newsletter(),
        digest: DigestView {
            name: "weekly".into(),
            title: "Tech Policy Weekly".into(),
        },
        number: 3,
        date: "27 November 2026".into(),
        window_from: "20 November 2026".into(),
        window_to: "27 November 2026".into(),
        subject: format!("Tech Policy Weekly #3: {first}"),
        intro_html: Some(markdown_to_safe_html(INTRO_MD)),
        intro_markdown: Some(INTRO_MD.to_string()),
        sections,
        web_url: "https://digest.example.org/issues/weekly-3".into(),
        archive_url: "https://digest.example.org/archive".into(),
        subscribe_url: "https://digest.example.org/subscribe".into(),
    }
}

/// The snapshot fixture: two sections, an intro, one story covered by two other outlets.
pub fn issue() -> IssueView {
    let mut huawei = story(
        0,
        "Microsoft granted a license to keep selling software to Huawei",
        "https://www.geekwire.com/2026/microsoft-huawei-license/",
        "GeekWire",
        26,
        "Microsoft said it has been granted a license by the U.S. Commerce Department to keep \
         supplying mass-market software to Huawei, weeks after the Chinese company was added to the \
         entity list. The license covers Windows updates for laptops already sold, not new \
         products.",
    );
    huawei.also = vec![
        AlsoView {
            source: "Reuters".into(),
            url: "https://www.reuters.com/technology/microsoft-huawei-license-2026-11-26/".into(),
            title: "Microsoft wins U.S. license for Huawei software sales".into(),
        },
        AlsoView {
            source: "Lawfare".into(),
            url: "https://www.lawfaremedia.org/article/what-the-huawei-licenses-mean".into(),
            title: "What the Huawei licenses mean for the entity list".into(),
        },
    ];
    let tariffs = story(
        2,
        "Chip tariffs: what the new Section 232 rules cover, and what they don't",
        "https://arstechnica.com/tech-policy/2026/11/chip-tariffs-section-232/",
        "Ars Technica",
        24,
        "The Commerce Department's semiconductor tariffs exempt chips inside finished devices \
         imported from allied countries, but trade lawyers say the definition of \"finished\" will \
         be fought over for years.",
    );
    let gdpr = story(
        1,
        "EU regulators give Meta until January to fix \"pay or consent\"",
        "https://www.theverge.com/policy/2026/11/25/meta-pay-or-consent-deadline",
        "The Verge",
        25,
        "The European Data Protection Board said Meta's subscription-or-tracking choice still fails \
         the GDPR's test for freely given consent, and set a 15 January deadline for changes.",
    );
    let geofence = story(
        3,
        "Court limits geofence warrants in landmark ruling",
        "https://www.eff.org/deeplinks/2026/11/court-limits-geofence-warrants",
        "EFF Deeplinks",
        21,
        "A federal appeals court held that a warrant covering every phone near a crime scene is a \
         general search & violates the Fourth Amendment; details at \
         https://www.eff.org/files/2026/11/21/geofence-opinion-united-states-v-smith-ninth-circuit.pdf",
    );
    issue_with(vec![
        SectionView {
            title: Some("Trade".into()),
            topic: Some("trade".into()),
            stories: vec![huawei, tariffs],
        },
        SectionView {
            title: Some("Privacy".into()),
            topic: Some("privacy".into()),
            stories: vec![gdpr, geofence],
        },
    ])
}

/// A named subscriber.
pub fn ada() -> Personal {
    Personal {
        email: "ada@example.com".into(),
        name: Some("Ada".into()),
        unsubscribe_url: "https://digest.example.org/unsubscribe/tok_3f9a1c".into(),
        manage_url: "https://digest.example.org/manage/tok_m4n4g3".into(),
    }
}

/// `n` stories with ~2 KB leads, one section: forces the size budget.
pub fn long_issue(n: usize) -> IssueView {
    let sentence = "Regulators, lawmakers and companies spent the week arguing over what the \
                    rules should say, who should enforce them and how fast. ";
    let stories = (0..n)
        .map(|i| {
            let mut s = story(
                i,
                &format!("Story number {i}: a long headline about platform regulation and trade"),
                &format!("https://news.example.com/2026/11/story-{i}"),
                "Example News",
                20 + (i % 7) as u32,
                &sentence.repeat(15),
            );
            s.also = vec![AlsoView {
                source: "Other Outlet".into(),
                url: format!("https://other.example.net/story-{i}"),
                title: "Another take".into(),
            }];
            s
        })
        .collect();
    let mut issue = issue_with(vec![SectionView {
        title: None,
        topic: None,
        stories,
    }]);
    issue.intro_html = None;
    issue.intro_markdown = None;
    issue
}

/// Feed text and a subscriber name that try to inject HTML and Markdown.
pub fn hostile_issue() -> (IssueView, Personal) {
    let mut issue = issue();
    let s = &mut issue.sections[0].stories[0];
    s.title = "\"><script>alert(1)</script><img src=x onerror=alert(1)>".into();
    s.source = "<b onmouseover=alert(2)>Evil</b>".into();
    s.url = "javascript:alert(3)".into();
    s.lead_html = "<p onclick=\"alert(4)\">Lead <a href=\"/relative\">rel</a> \
                   <a href=\"javascript:alert(5)\">js</a><script>alert(6)</script></p>"
        .into();
    s.also[0].url = "data:text/html,<script>alert(7)</script>".into();
    issue.sections[1].stories[0].title = "[click](javascript:alert(8)) *bold* <b>".into();
    let mut person = ada();
    person.name = Some("<i>Mallory</i>".into());
    (issue, person)
}
