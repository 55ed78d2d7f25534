//! The labelled set: clustering and topic precision/recall on real fixture feeds.
//!
//! `tests/data/select-labels.json` names items of the real feeds by (file, link or id) and
//! says which report the same event and which are on-topic for the starter topics
//! (the `[topics.*]` of `config/gazette.toml`). The whole set goes through `select` in one window, as one digest.
//!
//! Held-out check when tuning: `GAZETTE_SELECT_HALF=a` (or `b`) keeps only the even- (odd-)
//! numbered labelled files, so a change tuned on one half can be measured on the other.
//! `tests/data/select-labels-unseen.json` adds five feeds of the same days, labelled blind
//! after the method was chosen; `GAZETTE_SELECT_LABELS=select-labels-unseen.json` runs the
//! diagnostics on it. `tests/data/select-labels-blind.json` (issue 17) holds 26 other feeds,
//! scored once after the method was frozen; `print_every_set` prints every set on one line.

use crate::select_feeds as feeds;

use std::collections::{BTreeMap, HashMap, HashSet};

use gazette::select::{cluster, select, text, Candidate, Options, Selection};
use serde_json::Value;

type Key = (String, String);

fn key(v: &Value) -> Key {
    (
        v[0].as_str().unwrap().to_string(),
        v[1].as_str().unwrap().to_string(),
    )
}

struct Labels {
    files: Vec<String>,
    /// The name of each event, by index.
    names: Vec<String>,
    event_of: HashMap<Key, usize>,
    related_of: HashMap<Key, usize>,
    topics: BTreeMap<String, HashSet<Key>>,
}

/// The set the method was tuned on.
const TUNED: &str = "select-labels.json";
/// Five more feeds of the same days, labelled blind after the method was chosen.
const UNSEEN: &str = "select-labels-unseen.json";
/// 26 feeds neither set uses (other dates and languages, templated feeds, broad topics),
/// labelled blind for issue 17 and scored only after the method was frozen
/// (`select-labels-blind.README.md`).
const BLIND: &str = "select-labels-blind.json";

/// The labelled set the diagnostics measure: `$GAZETTE_SELECT_LABELS` (a file in
/// `tests/data`), or [`TUNED`].
fn set_from_env() -> String {
    std::env::var("GAZETTE_SELECT_LABELS").unwrap_or_else(|_| TUNED.into())
}

fn labels(name: &str) -> Labels {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    let files = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    let (mut event_of, mut related_of) = (HashMap::new(), HashMap::new());
    let names = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap_or("?").to_string())
        .collect();
    for (i, e) in v["events"].as_array().unwrap().iter().enumerate() {
        e["items"]
            .as_array()
            .unwrap()
            .iter()
            .for_each(|it| assert!(event_of.insert(key(it), i).is_none()));
        e["related"]
            .as_array()
            .unwrap()
            .iter()
            .for_each(|it| assert!(related_of.insert(key(it), i).is_none()));
    }
    let topics = v["topics"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(t, items)| {
            (
                t.clone(),
                items.as_array().unwrap().iter().map(key).collect(),
            )
        })
        .collect();
    Labels {
        files,
        names,
        event_of,
        related_of,
        topics,
    }
}

impl Labels {
    /// Whether two items report the same event; `None` when the labels leave it open (one of
    /// them is only related to the other's event).
    fn same_event(&self, a: &Key, b: &Key) -> Option<bool> {
        let (ea, eb) = (self.event_of.get(a), self.event_of.get(b));
        let (ra, rb) = (self.related_of.get(a), self.related_of.get(b));
        let ambiguous = [(ra, eb), (ra, rb), (ea, rb)]
            .iter()
            .any(|(x, y)| x.is_some() && x == y);
        (!ambiguous).then(|| ea.is_some() && ea == eb)
    }
}

/// Precision and recall from true positives, false positives and false negatives.
fn pr(tp: usize, fp: usize, fneg: usize) -> (f64, f64) {
    let p = if tp + fp == 0 {
        1.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let r = if tp + fneg == 0 {
        1.0
    } else {
        tp as f64 / (tp + fneg) as f64
    };
    (p, r)
}

/// The half of the set chosen by `GAZETTE_SELECT_HALF` (`a` or `b`), or all of it.
fn half_from_env() -> Option<String> {
    std::env::var("GAZETTE_SELECT_HALF").ok()
}

fn run() -> Option<(Vec<Key>, Selection, Labels)> {
    run_half(half_from_env().as_deref())
}

fn run_half(half: Option<&str>) -> Option<(Vec<Key>, Selection, Labels)> {
    run_with_candidates(&set_from_env(), half).map(|(k, s, l, _)| (k, s, l))
}

fn run_with_candidates(
    set: &str,
    half: Option<&str>,
) -> Option<(Vec<Key>, Selection, Labels, Vec<Candidate>)> {
    let dir = feeds::fixtures_dir()?;
    let labels = labels(set);
    let mut seen = HashSet::new();
    let items: Vec<feeds::FixtureItem> = labels
        .files
        .iter()
        .enumerate()
        .filter(|(k, _)| in_half(*k, half))
        .map(|(_, f)| f)
        .flat_map(|f| feeds::load_file(&dir.join("feeds/real").join(f)))
        .filter_map(|mut it| {
            // Items that share a link are one page, kept once, unless the labels name
            // them by their ids.
            let by_id = (it.file.clone(), it.id.clone());
            if labels.event_of.contains_key(&by_id) || labels.related_of.contains_key(&by_id) {
                it.key = it.id.clone();
            }
            seen.insert((it.file.clone(), it.key.clone())).then_some(it)
        })
        .collect();
    assert!(
        half.is_some() || items.len() > 500,
        "labelled files should give 500+ items, got {}",
        items.len()
    );
    for k in labels.event_of.keys().chain(labels.related_of.keys()) {
        assert!(
            half.is_some() || seen.contains(k),
            "labelled item not found in fixtures: {k:?}"
        );
    }
    let candidates: Vec<_> = items.iter().map(|it| it.candidate.clone()).collect();
    let selection = one_window(&candidates);
    Some((
        items.into_iter().map(|it| (it.file, it.key)).collect(),
        selection,
        labels,
        candidates,
    ))
}

/// Whether the `k`-th file belongs to `half` (`a`: even, `b`: odd; none: every file).
fn in_half(k: usize, half: Option<&str>) -> bool {
    match half {
        Some("a") => k.is_multiple_of(2),
        Some("b") => !k.is_multiple_of(2),
        _ => true,
    }
}

/// All candidates selected as one digest's window, with the starter topics and no limits.
fn one_window(candidates: &[Candidate]) -> Selection {
    let opts = Options {
        topics: feeds::starter_topics(),
        max_stories: usize::MAX,
        max_per_section: None,
        now: candidates.iter().map(|c| c.published).max().unwrap(),
    };
    select(candidates, &[], &opts)
}

/// Feeds of the set written in another language (same-event pairs across languages share
/// almost no words, so a lexical method cannot find them).
fn is_english(file: &str) -> bool {
    language(file) == "en"
}

/// The language each labelled feed is written in.
fn language(file: &str) -> &'static str {
    [
        ("Spiegel", "de"),
        ("heise", "de"),
        ("LeMonde", "fr"),
        ("LeFigaro", "fr"),
        ("Yandex", "ru"),
        ("OrfAt", "de"),
        ("MassaNews", "pt"),
        ("Minutos20", "es"),
        ("RomaNews", "it"),
        ("miniflux__encoding_ISO", "de"),
        ("miniflux__rdf_UTF8", "de"),
        ("rss-parser__encoding", "pt"),
        ("urdu", "ur"),
        ("RomaToday", "it"),
        ("LeFil", "fr"),
        ("DerBrutkasten", "de"),
        ("TrendingTopics", "de"),
        ("CityDog", "ru"),
        ("aktuality", "sk"),
        ("Stadtfeuerwehr", "de"),
        ("laut.de", "de"),
        ("itunes-keywords", "de"),
        ("InvestmentPunk", "de"),
        ("square-brackets", "fr"),
    ]
    .iter()
    .find(|(f, _)| file.contains(f))
    .map_or("en", |&(_, l)| l)
}

/// Pairwise clustering precision and recall over the labelled set, and topic precision/recall.
fn measure(half: Option<&str>) -> Option<(f64, f64)> {
    measure_set(&set_from_env(), half)
}

fn measure_set(set: &str, half: Option<&str>) -> Option<(f64, f64)> {
    let (keys, sel, labels, _) = run_with_candidates(set, half)?;
    let (mut tp, mut fp, mut fneg) = (0, 0, 0);
    let mut english = (0, 0);
    let mut same_language = (0, 0);
    for i in 0..keys.len() {
        for j in i + 1..keys.len() {
            let Some(truth) = labels.same_event(&keys[i], &keys[j]) else {
                continue;
            };
            let predicted = sel.explain[i].cluster == sel.explain[j].cluster;
            if truth && is_english(&keys[i].0) && is_english(&keys[j].0) {
                english.0 += predicted as usize;
                english.1 += !predicted as usize;
            }
            if truth && language(&keys[i].0) == language(&keys[j].0) {
                same_language.0 += predicted as usize;
                same_language.1 += !predicted as usize;
            }
            match (truth, predicted) {
                (true, true) => tp += 1,
                (false, true) => {
                    fp += 1;
                    eprintln!("false merge: {:?} ~ {:?}", keys[i].1, keys[j].1);
                }
                (true, false) => fneg += 1,
                _ => {}
            }
        }
    }
    let (p, r) = pr(tp, fp, fneg);
    let (etp, efn) = english;
    eprintln!(
        "clustering, pairs of two English-language items only: recall={:.3} ({etp}/{})",
        pr(etp, 0, efn).1,
        etp + efn
    );
    let (stp, sfn) = same_language;
    eprintln!(
        "clustering, pairs of two items in the same language: recall={:.3} ({stp}/{}); \
         across languages: {}/{}",
        pr(stp, 0, sfn).1,
        stp + sfn,
        tp - stp,
        tp + fneg - stp - sfn
    );
    eprintln!(
        "clustering: {} items, pairs tp={tp} fp={fp} fn={fneg}, precision={p:.3} recall={r:.3}",
        keys.len()
    );
    let (mut ttp, mut tfp, mut tfn) = (0, 0, 0);
    for (topic, positives) in &labels.topics {
        let (mut a, mut b, mut c) = (0, 0, 0);
        for (i, k) in keys.iter().enumerate() {
            let predicted = sel.explain[i].topics.iter().any(|(t, _)| t == topic);
            match (positives.contains(k), predicted) {
                (true, true) => a += 1,
                (false, true) => b += 1,
                (true, false) => c += 1,
                _ => {}
            }
        }
        let (tp_, tr_) = pr(a, b, c);
        eprintln!("topic {topic:14} tp={a:3} fp={b:3} fn={c:3} precision={tp_:.3} recall={tr_:.3}");
        (ttp, tfp, tfn) = (ttp + a, tfp + b, tfn + c);
    }
    let (tp_, tr_) = pr(ttp, tfp, tfn);
    eprintln!("topics overall: precision={tp_:.3} recall={tr_:.3}");
    Some((p, r))
}

/// What holds today: the precision target, and recall kept from regressing (0.756 measured).
#[test]
fn clustering_precision_target_and_recall_floor() {
    let Some((p, r)) = measure_set(TUNED, None) else {
        return;
    };
    assert!(p >= 0.95, "pairwise clustering precision {p:.3} < 0.95");
    assert!(
        r >= 0.75,
        "pairwise clustering recall {r:.3} fell below the 0.75 floor"
    );
}

/// The issue's full target (recall >= 0.8) is NOT met; run with `--ignored` to see the gap
/// (`GAZETTE_SELECT_HALF` or `GAZETTE_SELECT_LABELS` measure another set).
#[test]
#[ignore = "recall target 0.8 not met (0.756 measured); see BENCHMARKS.md, Selection"]
fn clustering_meets_issue_targets() {
    let Some((p, r)) = measure(half_from_env().as_deref()) else {
        return;
    };
    assert!(
        p >= 0.95 && r >= 0.80,
        "pairwise clustering precision {p:.3} recall {r:.3}"
    );
}

/// Each half of the set on its own: precision holds, and recall does not fall below what was
/// measured (a 0.686, b 0.537; half a was 0.714 before the evidence rules and the time
/// discount on links of issue 17, which cost it one pair).
#[test]
fn clustering_holds_on_each_half() {
    for (half, floor) in [("a", 0.68), ("b", 0.53)] {
        let Some((p, r)) = measure_set(TUNED, Some(half)) else {
            return;
        };
        assert!(p >= 0.95, "half {half}: precision {p:.3} < 0.95");
        assert!(r >= floor, "half {half}: recall {r:.3} < {floor}");
    }
}

/// The set labelled blind after the method was chosen ([`UNSEEN`]), so a change tuned on the
/// first set is checked on one it was not tuned on: precision holds and recall does not fall
/// below what was measured (0.695; 0.698 before issue 17). It has since decided one choice (the centroid threshold
/// 0.25, not 0.20), so the next set the team labels is the truly unseen one.
#[test]
fn clustering_holds_on_the_unseen_set() {
    let Some((p, r)) = measure_set(UNSEEN, None) else {
        return;
    };
    assert!(p >= 0.95, "unseen set: precision {p:.3} < 0.95");
    assert!(r >= 0.69, "unseen set: recall {r:.3} < 0.69");
}

/// The blind set of issue 17 ([`BLIND`]), scored once after the method was frozen: 24 scored
/// pairs, templated feeds and broad topics. Its false merges (craigslist listings that share
/// an area and their features, status updates titled alike, one game's reviews and news) are
/// recorded in BENCHMARKS.md; the targets are not met there.
#[test]
#[ignore = "blind set: precision 0.417, recall 0.417 measured (targets 0.95 / 0.75); see BENCHMARKS.md"]
fn clustering_meets_targets_on_the_blind_set() {
    let Some((p, r)) = measure_set(BLIND, None) else {
        return;
    };
    assert!(
        p >= 0.95 && r >= 0.75,
        "blind set: precision {p:.3} recall {r:.3}"
    );
}

#[test]
fn no_story_twice_in_the_issue() {
    let Some((_, sel, _)) = run() else { return };
    let mut seen = HashSet::new();
    for pick in sel.sections.iter().flat_map(|s| &s.picks) {
        for i in std::iter::once(pick.index).chain(pick.also.iter().copied()) {
            assert!(seen.insert(i), "candidate {i} appears twice");
        }
    }
    let kept = sel.explain.iter().filter(|e| e.kept).count();
    assert_eq!(
        kept,
        sel.sections.iter().map(|s| s.picks.len()).sum::<usize>()
    );
}

/// Prints every topic false positive and false negative (`--ignored --nocapture`).
#[test]
#[ignore = "diagnostic"]
fn print_topic_errors() {
    let Some((keys, sel, labels)) = run() else {
        return;
    };
    for (topic, positives) in &labels.topics {
        for (i, k) in keys.iter().enumerate() {
            let predicted = sel.explain[i].topics.iter().any(|(t, _)| t == topic);
            if predicted != positives.contains(k) {
                eprintln!("{topic} {} {}", if predicted { "FP" } else { "FN" }, k.1);
            }
        }
    }
}

/// Each candidate's title and lead tokens, as clustering reads them.
fn tokens_of(candidates: &[Candidate]) -> Vec<(Vec<text::Token>, Vec<text::Token>)> {
    candidates
        .iter()
        .map(|c| {
            (
                text::tokenize(&text::repair(&c.title)),
                text::tokenize(&text::repair(&c.lead)),
            )
        })
        .collect()
}

/// The candidates as clustering's docs (for pairwise similarities in the diagnostics).
fn docs_of<'a>(
    candidates: &'a [Candidate],
    tokens: &'a [(Vec<text::Token>, Vec<text::Token>)],
) -> Vec<cluster::Doc<'a>> {
    candidates
        .iter()
        .zip(tokens)
        .map(|(c, (t, l))| cluster::Doc {
            url: c.url.as_deref(),
            title: t,
            lead: l,
            feed: Some(&c.feed),
            published: Some(c.published),
            dated: c.dated,
        })
        .collect()
}

/// Prints every missed and every false same-event pair with its similarity
/// (`--ignored --nocapture`).
#[test]
#[ignore = "diagnostic"]
fn print_cluster_errors() {
    let Some((keys, sel, labels, candidates)) =
        run_with_candidates(&set_from_env(), half_from_env().as_deref())
    else {
        return;
    };
    let tokens = tokens_of(&candidates);
    let sim = cluster::similarities(&docs_of(&candidates, &tokens));
    for i in 0..keys.len() {
        for j in i + 1..keys.len() {
            let Some(truth) = labels.same_event(&keys[i], &keys[j]) else {
                continue;
            };
            let predicted = sel.explain[i].cluster == sel.explain[j].cluster;
            if truth != predicted {
                let same_lang = language(&keys[i].0) == language(&keys[j].0);
                let same_feed = keys[i].0 == keys[j].0;
                let hours = (candidates[i].published - candidates[j].published)
                    .num_hours()
                    .abs();
                let event = [&keys[i], &keys[j]]
                    .iter()
                    .find_map(|k| labels.event_of.get(*k))
                    .map_or("-", |&e| labels.names[e].as_str());
                eprintln!(
                    "{} {:.3} {} {} {hours}h {event} | {} | {}",
                    if truth { "FN" } else { "FP" },
                    sim(i, j),
                    if same_lang { "same" } else { "cross" },
                    if same_feed { "feed" } else { "-" },
                    text::repair(&candidates[i].title),
                    text::repair(&candidates[j].title)
                );
            }
        }
    }
}

/// Prints every labelled event with its members' cluster, feed, date, title and the lead words
/// clustering reads (`--ignored --nocapture`).
#[test]
#[ignore = "diagnostic"]
fn print_events() {
    let Some((keys, sel, labels, candidates)) =
        run_with_candidates(&set_from_env(), half_from_env().as_deref())
    else {
        return;
    };
    for (e, name) in labels.names.iter().enumerate() {
        eprintln!("== {name}");
        for (i, k) in keys.iter().enumerate() {
            let tag = match (labels.event_of.get(k), labels.related_of.get(k)) {
                (Some(&x), _) if x == e => "member",
                (_, Some(&x)) if x == e => "related",
                _ => continue,
            };
            let c = &candidates[i];
            let repaired = text::repair(&c.lead).into_owned();
            let lead: Vec<&str> = text::words(&repaired).take(cluster::LEAD_WORDS).collect();
            eprintln!(
                "  {tag:7} #{i:<4} c{:<4} {} {} | {} | {}",
                sel.explain[i].cluster,
                &k.0[k.0.len().saturating_sub(14)..],
                c.published.format("%m-%d %H:%M"),
                text::repair(&c.title),
                lead.join(" ")
            );
        }
    }
}

/// One line per labelled set (and half): true and false pairs, precision and recall
/// (`--ignored --nocapture`; the `GAZETTE_TUNE_*` knobs of `select::cluster` apply).
#[test]
#[ignore = "diagnostic"]
fn print_every_set() {
    let sets = [
        (TUNED, None),
        (TUNED, Some("a")),
        (TUNED, Some("b")),
        (UNSEEN, None),
        (BLIND, None),
    ];
    let mut line = String::new();
    for (set, half) in sets {
        let Some((keys, sel, labels, _)) = run_with_candidates(set, half) else {
            return;
        };
        let (mut tp, mut fp, mut fneg, mut cross) = (0, 0, 0, (0, 0));
        for i in 0..keys.len() {
            for j in i + 1..keys.len() {
                let Some(truth) = labels.same_event(&keys[i], &keys[j]) else {
                    continue;
                };
                let predicted = sel.explain[i].cluster == sel.explain[j].cluster;
                if truth && language(&keys[i].0) != language(&keys[j].0) {
                    cross.0 += predicted as usize;
                    cross.1 += 1;
                }
                match (truth, predicted) {
                    (true, true) => tp += 1,
                    (false, true) => fp += 1,
                    (true, false) => fneg += 1,
                    _ => {}
                }
            }
        }
        let (p, r) = pr(tp, fp, fneg);
        line += &format!(
            "{}{}: {tp}/{fp} p={p:.3} r={r:.3} x={}/{} | ",
            set.trim_start_matches("select-labels")
                .trim_end_matches(".json"),
            half.map_or(String::new(), |h| format!("-{h}")),
            cross.0,
            cross.1
        );
    }
    eprintln!("SETS {line}");
}

/// Writes, for the fixture feeds that no labelled set uses (half `a` or `b` of them by file
/// order with `GAZETTE_SELECT_HALF`), every same-event pair the selection merged, mixed with as
/// many pairs it did not merge (the most similar ones within [`cluster::TIME_BOUND_HOURS`]),
/// shuffled, as JSON to `$GAZETTE_PAIRS_OUT`, for judging blind: precision on feeds nobody
/// labelled (`--ignored --nocapture`). The answer key (which pairs merged) goes to
/// `$GAZETTE_PAIRS_OUT.key`.
#[test]
#[ignore = "diagnostic"]
fn dump_pairs_of_unlabelled_feeds() {
    let Some(dir) = feeds::fixtures_dir() else {
        return;
    };
    let Ok(out) = std::env::var("GAZETTE_PAIRS_OUT") else {
        eprintln!("set GAZETTE_PAIRS_OUT");
        return;
    };
    let used: HashSet<String> = [TUNED, UNSEEN, BLIND]
        .iter()
        .flat_map(|s| labels(s).files)
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(dir.join("feeds/real"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|f| !used.contains(f))
        .collect();
    files.sort();
    let half = half_from_env();
    let mut seen = HashSet::new();
    let items: Vec<feeds::FixtureItem> = files
        .iter()
        .enumerate()
        .filter(|(k, _)| in_half(*k, half.as_deref()))
        .flat_map(|(_, f)| feeds::load_file(&dir.join("feeds/real").join(f)))
        .filter(|it| seen.insert((it.file.clone(), it.key.clone())))
        .collect();
    let candidates: Vec<Candidate> = items.iter().map(|it| it.candidate.clone()).collect();
    let sel = one_window(&candidates);
    let tokens = tokens_of(&candidates);
    let sim = cluster::similarities(&docs_of(&candidates, &tokens));
    let (mut merged, mut apart) = (Vec::new(), Vec::new());
    for i in 0..candidates.len() {
        for j in i + 1..candidates.len() {
            let (a, b) = (&candidates[i], &candidates[j]);
            let hours = (a.published - b.published).num_hours().abs();
            if sel.explain[i].cluster == sel.explain[j].cluster {
                merged.push((i, j));
            } else if hours <= cluster::TIME_BOUND_HOURS && a.dated && b.dated {
                let s = sim(i, j);
                if s >= 0.1 {
                    apart.push((s, i, j));
                }
            }
        }
    }
    apart.sort_by(|x, y| y.0.total_cmp(&x.0));
    let pairs: Vec<(bool, usize, usize)> = merged
        .iter()
        .map(|&(i, j)| (true, i, j))
        .chain(
            apart
                .iter()
                .take(merged.len())
                .map(|&(_, i, j)| (false, i, j)),
        )
        .collect();
    // A fixed shuffle, so that the order says nothing.
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for k in (1..order.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(k, (x % (k as u64 + 1)) as usize);
    }
    let story = |i: usize| {
        let c = &candidates[i];
        serde_json::json!({
            "feed": c.feed,
            "title": text::repair(&c.title),
            "lead": text::repair(&c.lead).chars().take(400).collect::<String>(),
            "date": if c.dated { c.published.to_rfc3339() } else { "undated".into() },
            "url": c.url,
        })
    };
    let mut judged = Vec::new();
    let mut key = Vec::new();
    for (n, &k) in order.iter().enumerate() {
        let (m, i, j) = pairs[k];
        judged.push(serde_json::json!({"pair": n, "a": story(i), "b": story(j)}));
        key.push(serde_json::json!({"pair": n, "merged": m, "a": candidates[i].id, "b": candidates[j].id}));
    }
    std::fs::write(&out, serde_json::to_string_pretty(&judged).unwrap()).unwrap();
    std::fs::write(
        format!("{out}.key"),
        serde_json::to_string_pretty(&key).unwrap(),
    )
    .unwrap();
    eprintln!(
        "{} feeds, {} stories, {} merged pairs, {} pairs written to {out}",
        files.len(),
        candidates.len(),
        merged.len(),
        pairs.len()
    );
}
