//! Events, not topics: hand-made windows where stories share a feed's template, a place, a show
//! or a subject but report different happenings, and must stay apart (issue 17).

use chrono::{DateTime, Duration, TimeZone, Utc};
use gazette::select::{select, Candidate, Options, Selection};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 8, 12, 0, 0).unwrap()
}

fn story(feed: &str, n: usize, title: &str, lead: &str, hours_ago: i64) -> Candidate {
    Candidate {
        id: format!("{feed}-{n}"),
        url: Some(format!("https://{feed}.example/{n}")),
        title: title.into(),
        lead: lead.into(),
        categories: Vec::new(),
        source: feed.into(),
        source_weight: 1.0,
        feed: format!("https://{feed}.example/feed.xml"),
        published: now() - Duration::hours(hours_ago),
        dated: true,
    }
}

fn run(c: &[Candidate]) -> Selection {
    let opts = Options {
        topics: Vec::new(),
        max_stories: usize::MAX,
        max_per_section: None,
        now: now(),
    };
    select(c, &[], &opts)
}

fn clusters(sel: &Selection, range: std::ops::Range<usize>) -> usize {
    let mut ids: Vec<usize> = range.map(|i| sel.explain[i].cluster).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// The usual background of a window: other news from other feeds.
fn background() -> Vec<Candidate> {
    [
        (
            "Storm closes roads across the north as snow piles up",
            "Heavy snow closed dozens of roads and cut power to thousands of homes overnight.",
        ),
        (
            "Central bank holds interest rates, signals patience",
            "The central bank left its benchmark rate unchanged and said inflation was easing.",
        ),
        (
            "City council approves budget for new schools",
            "The council voted 7-2 to fund three new primary schools in the eastern districts.",
        ),
        (
            "Oil prices fall as stockpiles grow",
            "Crude fell for a third day after a report showed inventories rising more than expected.",
        ),
        (
            "Museum returns looted statues to Cambodia",
            "The museum handed back two sandstone statues taken from a temple during the civil war.",
        ),
        (
            "Apple shares rise ahead of earnings",
            "Apple stock gained 2 percent as investors bet on strong iPhone sales over the holidays.",
        ),
    ]
    .iter()
    .enumerate()
    .map(|(i, (t, l))| story(&format!("bg{i}"), i, t, l, 3 + i as i64))
    .collect()
}

/// Ten analyst notes from one feed that gives no dates: one sentence with another company,
/// ticker, broker, rating and price in each. Some share a broker, some a rating, two the
/// company (two brokers' notes on Apple are two events).
fn rating_notes() -> Vec<Candidate> {
    let notes = [
        (
            "Apple Inc.",
            "AAPL",
            "Raymond James",
            "Outperform",
            "150.00",
        ),
        ("Apple Inc.", "AAPL", "Goldman Sachs", "Buy", "160.00"),
        (
            "Alcoa Corp.",
            "AA",
            "Raymond James",
            "Market Perform",
            "35.00",
        ),
        ("Tesla Motors", "TSLA", "Goldman Sachs", "Neutral", "250.00"),
        ("Netflix Inc.", "NFLX", "Goldman Sachs", "Buy", "155.00"),
        (
            "Intel Corporation",
            "INTC",
            "BMO Capital",
            "Market Perform",
            "38.00",
        ),
        (
            "Ford Motor Company",
            "F",
            "Barclays",
            "Equal Weight",
            "13.00",
        ),
        ("Boeing Co.", "BA", "Cowen", "Outperform", "180.00"),
        ("Pfizer Inc.", "PFE", "BMO Capital", "Outperform", "36.00"),
        (
            "Starbucks Corporation",
            "SBUX",
            "Barclays",
            "Overweight",
            "66.00",
        ),
    ];
    notes
        .iter()
        .enumerate()
        .map(|(i, (company, ticker, broker, rating, price))| {
            let mut c = story(
                "ratings",
                i,
                &format!("{company} ({ticker}) Given {rating} Rating at {broker}"),
                &format!(
                    "{broker} reiterated its {rating} rating on shares of {company} \
                     (NASDAQ:{ticker}) in a research note issued to investors on Friday. \
                     The firm currently has a ${price} price target on the stock."
                ),
                0,
            );
            // Undated: every note gets the time the feed was fetched.
            c.dated = false;
            c
        })
        .collect()
}

#[test]
fn a_templated_feed_of_ten_rating_notes_gives_ten_clusters() {
    let mut c = rating_notes();
    c.extend(background());
    let sel = run(&c);
    assert_eq!(clusters(&sel, 0..10), 10, "{:#?}", &sel.explain[..10]);
    assert!(
        (10..c.len()).all(|i| (0..10).all(|k| sel.explain[i].cluster != sel.explain[k].cluster))
    );
}

/// Five stories from the same trade show, each about another product or remark, told as
/// feeds tell them: the show and the city up front, a line of lead.
fn ces() -> Vec<Candidate> {
    [
        (
            "CES 2017 in Las Vegas: a selfie drone that fits in your pocket",
            "The show in Las Vegas opened with a drone.",
        ),
        (
            "CES 2017: Toyota shows a futuristic car in Las Vegas",
            "Toyota at the Las Vegas show.",
        ),
        (
            "Samsung QLED televisions shine at CES 2017 in Las Vegas",
            "New screens at the Las Vegas show.",
        ),
        (
            "At CES in Las Vegas, Nevada governor promises more tech conventions",
            "The governor spoke at the Las Vegas show.",
        ),
        (
            "CES 2017 Las Vegas: Under Armour smart running shoes",
            "Shoes that count steps at the show in Las Vegas.",
        ),
    ]
    .iter()
    .enumerate()
    .map(|(i, (t, l))| story(&format!("tech{i}"), i, t, l, 2 + i as i64))
    .collect()
}

#[test]
fn five_ces_stories_about_different_products_give_five_clusters() {
    let mut c = ces();
    c.extend(background());
    let sel = run(&c);
    assert_eq!(clusters(&sel, 0..5), 5, "{:#?}", &sel.explain[..5]);
}

/// One subject on two days: the intelligence chief's testimony on Thursday, and on Friday the
/// report it announced, told by three outlets, with their usual words for it.
fn russia_subject() -> Vec<Candidate> {
    vec![
        story(
            "wire",
            0,
            "US intelligence chief: Russia hacked the election, Putin behind it",
            "US intelligence director James Clapper told senators that Russia's hacking of the \
             presidential election was approved at the highest level.",
            44,
        ),
        story(
            "paper",
            1,
            "Putin ordered campaign to sway US election, declassified report says",
            "Russian President Vladimir Putin ordered an influence campaign aimed at the US \
             presidential election, a declassified intelligence report concluded.",
            20,
        ),
        story(
            "daily",
            2,
            "Declassified report: Putin directed hacking campaign to help Trump",
            "The declassified report by US intelligence agencies says Putin directed a hacking \
             campaign to help Donald Trump win the election.",
            19,
        ),
        story(
            "tabloid",
            3,
            "Putin ordered election hacking to help Trump, declassified report finds",
            "A declassified report by US intelligence agencies finds that Vladimir Putin \
             ordered the hacking of the election.",
            18,
        ),
    ]
}

#[test]
fn a_same_subject_story_a_day_before_stays_apart_and_the_same_happening_joins() {
    let mut c = russia_subject();
    c.extend(background());
    let sel = run(&c);
    let cl = |i: usize| sel.explain[i].cluster;
    assert_eq!(cl(1), cl(2), "reports of the declassified report");
    assert_eq!(cl(1), cl(3), "reports of the declassified report");
    assert_ne!(
        cl(0),
        cl(1),
        "the testimony a day earlier is another happening: {:#?}",
        sel.explain[0]
    );

    // The report's story told the day after still reports the same happening.
    c.push(story(
        "weekly",
        4,
        "What the declassified report on Putin's election campaign says",
        "The declassified intelligence report says Putin ordered the campaign and that Russia \
         will do the same in other elections.",
        -4,
    ));
    let sel = run(&c);
    let cl = |i: usize| sel.explain[i].cluster;
    let last = c.len() - 1;
    assert_eq!(cl(last), cl(1), "{:#?}", sel.explain[last]);
    assert_ne!(cl(0), cl(1));
}

#[test]
fn explain_says_which_terms_and_score_merged_a_pair() {
    let mut c = russia_subject();
    c.extend(background());
    let sel = run(&c);
    let joined: Vec<_> = [1, 2, 3]
        .iter()
        .flat_map(|&i| sel.explain[i].merged.iter().map(move |j| (i, j)))
        .collect();
    assert_eq!(joined.len(), 2, "{joined:#?}");
    for (i, j) in joined {
        assert!(j.with.is_some_and(|w| (1..=3).contains(&w) && w != i));
        assert!(j.score > 0.0 && !j.terms.is_empty());
        assert!(j.terms.iter().any(|t| t == "declassified"), "{:?}", j.terms);
    }
}
