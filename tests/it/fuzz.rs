//! Issue 15: a structure-aware fuzzer on the stable toolchain. Seeds are every fixture feed and
//! article page; each case mutates one of them the way broken and hostile feeds do (elements
//! duplicated, dropped, swapped, nested into themselves thousands deep, truncated, entities and
//! control characters, CDATA, other encodings declared, text from another seed spliced in), then
//! runs it through what gazette does with such bytes:
//! - feed bytes → parse (decode, dialects, repairs, limits) → each story's lead;
//! - page bytes → flatten → page extraction → lead.
//!
//! A case fails when it panics, or takes longer than [`budget`] for its size (time must grow
//! with the input, not faster). Failing inputs are written to `target/fuzz-findings/`; once
//! understood they go to `tests/data/fuzz/` and are replayed by
//! `fuzz_findings_stay_fixed` on every run.
//!
//! `GAZETTE_FUZZ_CASES` (default 400; `.ci/run` sets 1500) cases per run,
//! `GAZETTE_FUZZ_SEED` to replay a run (printed at its start; random when unset, fixed in
//! `.ci/run`). A stack overflow aborts the process before any report, so the case in flight is
//! always on disk: `target/fuzz-findings/in-flight-SEED.bin`, with its seed and case number in
//! the `.txt` beside it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::{Rng, RngCore, SeedableRng};

use crate::support::{fixtures, root};

/// What one case may cost: generous for the unoptimized test build, but linear in its size.
fn budget(bytes: usize) -> Duration {
    Duration::from_millis(1000) + Duration::from_micros(5 * bytes as u64)
}

fn seeds(fx: &Path) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let read_dir = |d: PathBuf| -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .is_some_and(|x| x != "json" || d.ends_with("real"))
            })
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    };
    let mut feeds = read_dir(fx.join("feeds/real"));
    feeds.extend(read_dir(fx.join("feeds/malformed")));
    feeds.extend(read_dir(root().join("tests/data/feeds")));
    feeds.extend(read_dir(root().join("tests/data/feeds/dialects")));
    let mut pages = read_dir(fx.join("articles/html"));
    pages.extend(
        read_dir(fx.join("articles-readability"))
            .into_iter()
            .filter(|b| b.starts_with(b"<") || b.windows(5).any(|w| w == b"<html")),
    );
    (feeds, pages)
}

/// Byte ranges of elements `<name …>…</name>` (a cheap scan, good enough to mutate by).
fn elements(doc: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'<', &doc[i..]) {
        let start = i + p;
        let name_len = doc[start + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b':')
            .count();
        i = start + 1;
        if name_len == 0 || out.len() > 4000 {
            continue;
        }
        let close = [b"</", &doc[start + 1..start + 1 + name_len], b">"].concat();
        if let Some(q) = memchr::memmem::find(&doc[start..], &close) {
            out.push((start, start + q + close.len()));
        }
    }
    out
}

fn pick<'a, T>(rng: &mut impl Rng, v: &'a [T]) -> Option<&'a T> {
    (!v.is_empty()).then(|| &v[rng.random_range(0..v.len())])
}

/// Mutants are cut to this size (real documents are capped by `max_bytes` before parsing).
const MAX_CASE: usize = 2 << 20;

/// One structure-aware mutation of `doc` (sometimes several).
fn mutate(rng: &mut impl Rng, doc: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut doc = doc.to_vec();
    for _ in 0..rng.random_range(1..=3) {
        doc.truncate(MAX_CASE);
        let els = elements(&doc);
        let len = doc.len().max(1);
        doc = match rng.random_range(0..12) {
            // Duplicate an element many times.
            0 => match pick(rng, &els) {
                Some(&(a, b)) => {
                    let times = rng.random_range(2..200);
                    [&doc[..b], &doc[a..b].repeat(times), &doc[b..]].concat()
                }
                None => doc,
            },
            // Drop an element, or only its end tag.
            1 => match pick(rng, &els) {
                Some(&(a, b)) if rng.random_bool(0.5) => [&doc[..a], &doc[b..]].concat(),
                Some(&(_, b)) => {
                    let end = doc[..b].iter().rposition(|c| *c == b'<').unwrap_or(b);
                    [&doc[..end], &doc[b..]].concat()
                }
                None => doc,
            },
            // Nest an element into itself, thousands deep.
            2 => match pick(rng, &els) {
                Some(&(a, b)) => {
                    let open_end = a + memchr::memchr(b'>', &doc[a..b]).map_or(0, |p| p + 1);
                    let close_start = doc[..b].iter().rposition(|c| *c == b'<').unwrap_or(b);
                    // Just under the parsers' depth caps (64 for feed XML, 96 for HTML), where
                    // a recursive parser still walks the whole tree, or far past them.
                    let n = if rng.random_bool(0.5) {
                        rng.random_range(20..100)
                    } else {
                        rng.random_range(100..20_000)
                    };
                    [
                        &doc[..open_end],
                        &doc[a..open_end].repeat(n),
                        &doc[open_end..close_start],
                        &doc[close_start..b].repeat(n),
                        &doc[b..],
                    ]
                    .concat()
                }
                None => doc,
            },
            // Truncate anywhere.
            3 => doc[..rng.random_range(0..len).min(doc.len())].to_vec(),
            // Entities: unknown, numeric out of range, NUL, double-escaped.
            4 => {
                let ents: &[&[u8]] = &[
                    b"&nbsp;",
                    b"&#0;",
                    b"&#x110000;",
                    b"&amp;amp;lt;",
                    b"&unknown;",
                    b"&#55296;",
                    b"&",
                    b"&#9999999999;",
                ];
                let what = *pick(rng, ents).unwrap();
                insert(rng, &doc, what)
            }
            // Control characters and invalid UTF-8.
            5 => {
                let what = *pick(
                    rng,
                    &[
                        &b"\x00"[..],
                        b"\x1b[31m",
                        b"\xff\xfe",
                        b"\xc3",
                        b"\xed\xa0\x80",
                        b"\x0c\x0b",
                    ],
                )
                .unwrap();
                insert(rng, &doc, what)
            }
            // CDATA and comments in odd places.
            6 => {
                let what = *pick(
                    rng,
                    &[
                        &b"<![CDATA[<p>x</p>]]>"[..],
                        b"<![CDATA[",
                        b"]]>",
                        b"<!--",
                        b"-->",
                        b"<?xml version=\"1.0\"?>",
                    ],
                )
                .unwrap();
                insert(rng, &doc, what)
            }
            // Another encoding declared, or a BOM.
            7 => {
                let enc = pick(
                    rng,
                    &[
                        "windows-1251",
                        "shift_jis",
                        "utf-16",
                        "koi8-r",
                        "gb18030",
                        "nonsense",
                        "ISO-8859-1",
                    ],
                )
                .unwrap();
                let text = String::from_utf8_lossy(&doc)
                    .replacen("UTF-8", enc, 1)
                    .replacen("utf-8", enc, 1);
                if rng.random_bool(0.2) {
                    [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat()
                } else {
                    text.into_bytes()
                }
            }
            // Text from another seed spliced in.
            8 => match (pick(rng, others), pick(rng, &els)) {
                (Some(o), Some(&(a, _))) if !o.is_empty() => {
                    let s = rng.random_range(0..o.len());
                    let e = (s + rng.random_range(1..4096)).min(o.len());
                    [&doc[..a], &o[s..e], &doc[a..]].concat()
                }
                _ => doc,
            },
            // Swap two elements.
            9 => match (pick(rng, &els), pick(rng, &els)) {
                (Some(&(a, b)), Some(&(c, d))) if b <= c => {
                    [&doc[..a], &doc[c..d], &doc[b..c], &doc[a..b], &doc[d..]].concat()
                }
                _ => doc,
            },
            // A very long text or attribute.
            10 => {
                let filler = pick(rng, &["é", "ж", "字", "a", " ", "<b>", "\"", "'"])
                    .unwrap()
                    .repeat(rng.random_range(1000..100_000));
                insert(rng, &doc, filler.as_bytes())
            }
            // Random bytes over a short span.
            _ => {
                let mut d = doc;
                if !d.is_empty() {
                    let at = rng.random_range(0..d.len());
                    for b in d.iter_mut().skip(at).take(rng.random_range(1..16)) {
                        *b = rng.random();
                    }
                }
                d
            }
        };
    }
    doc.truncate(MAX_CASE);
    doc
}

fn insert(rng: &mut impl Rng, doc: &[u8], what: &[u8]) -> Vec<u8> {
    let at = rng.random_range(0..=doc.len());
    [&doc[..at], what, &doc[at..]].concat()
}

/// Feed bytes → parse → every story's lead.
fn feed_case(bytes: &[u8]) {
    if let Ok(feed) = gazette::ingest::parse::parse_feed(bytes, None, "fuzz", chrono::Utc::now()) {
        for s in feed.stories.iter().take(50) {
            let base = s.url.as_deref().and_then(|u| url::Url::parse(u).ok());
            let _ = gazette::extract::choose(
                s.content_html.as_deref(),
                s.summary_html.as_deref(),
                None,
                base.as_ref(),
            );
        }
    }
}

/// Page bytes → the lead, as the pipeline reads an article page.
fn page_case(bytes: &[u8]) {
    let html = String::from_utf8_lossy(bytes);
    let (html, _) = gazette::html::flatten_deep(&html);
    let _ = gazette::extract::extract_page(&html, None);
}

/// Runs one case; Err with why it failed (a panic, or too slow for its size).
fn check(kind: &str, bytes: &[u8]) -> Result<Duration, String> {
    let started = Instant::now();
    let run = std::panic::catch_unwind(|| match kind {
        "feed" => feed_case(bytes),
        _ => page_case(bytes),
    });
    let took = started.elapsed();
    if let Err(p) = run {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        return Err(format!("panic: {msg}"));
    }
    if took > budget(bytes.len()) {
        return Err(format!("took {took:?} for {} bytes", bytes.len()));
    }
    Ok(took)
}

fn keep_finding(kind: &str, bytes: &[u8]) -> PathBuf {
    let dir = root().join("target/fuzz-findings");
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("{kind}-{:016x}.bin", {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        h.finish()
    });
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn structure_aware_fuzzing_finds_no_panic_and_no_slow_case() {
    let Some(fx) = fixtures() else { return };
    let (feeds, pages) = seeds(&fx);
    assert!(
        feeds.len() > 200 && pages.len() > 100,
        "{} feeds, {} pages",
        feeds.len(),
        pages.len()
    );
    let cases: usize = std::env::var("GAZETTE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let seed: u64 = std::env::var("GAZETTE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::rng().next_u64());
    eprintln!("fuzz: {cases} cases, GAZETTE_FUZZ_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut findings = Vec::new();
    let in_flight = root().join(format!("target/fuzz-findings/in-flight-{seed}.bin"));
    std::fs::create_dir_all(in_flight.parent().unwrap()).unwrap();
    let (mut total, mut slowest) = (Duration::ZERO, (Duration::ZERO, 0));
    // The seeds themselves first (a share of them each run), then mutants.
    for i in 0..cases {
        let (kind, pool) = if i % 3 == 2 {
            ("page", &pages)
        } else {
            ("feed", &feeds)
        };
        let seed_doc = pick(&mut rng, pool).unwrap();
        let bytes = if i < 20 {
            seed_doc.clone()
        } else {
            mutate(&mut rng, seed_doc, pool)
        };
        // A stack overflow aborts the process before any report: the case in flight is on disk.
        std::fs::write(&in_flight, &bytes).unwrap();
        std::fs::write(
            in_flight.with_extension("txt"),
            format!("GAZETTE_FUZZ_SEED={seed} case {i} kind {kind}\n"),
        )
        .unwrap();
        match check(kind, &bytes) {
            Ok(t) => {
                total += t;
                if t > slowest.0 {
                    slowest = (t, bytes.len());
                }
            }
            Err(why) => {
                let path = keep_finding(kind, &bytes);
                findings.push(format!(
                    "{kind} case {i}: {why}; input kept at {}",
                    path.display()
                ));
            }
        }
    }
    let _ = std::fs::remove_file(&in_flight);
    let _ = std::fs::remove_file(in_flight.with_extension("txt"));
    eprintln!(
        "fuzz: {cases} cases in {total:?}, slowest {:?} for {} bytes",
        slowest.0, slowest.1
    );
    assert!(
        findings.is_empty(),
        "{} findings (seed {seed}):\n{}",
        findings.len(),
        findings.join("\n")
    );
}

/// Every input the fuzzer (or a person) found is replayed: no panic, no slow case.
#[test]
fn fuzz_findings_stay_fixed() {
    let dir = root().join("tests/data/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let kind = if name.starts_with("page") {
            "page"
        } else {
            "feed"
        };
        let bytes = std::fs::read(&path).unwrap();
        if let Err(why) = check(kind, &bytes) {
            panic!("{name}: {why}");
        }
        n += 1;
    }
    assert!(n >= 3, "{n} findings kept");
}
