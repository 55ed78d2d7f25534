//! Select: which stories go into an issue, in which sections, in what order.
//! (First version: keyword topics, newest first; see issue 8 for clustering and ranking.)

/// One stored story in the digest window.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    pub url: Option<String>,
    pub title: String,
    pub lead: String,
    pub categories: Vec<String>,
    pub source: String,
    pub source_weight: f64,
    pub published: chrono::DateTime<chrono::Utc>,
}

/// A topic: keywords that put a story in it, words that keep it out.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub name: String,
    pub keywords: Vec<String>,
    pub exclude: Vec<String>,
}

/// A story carried by an earlier issue of the same digest.
#[derive(Debug, Clone)]
pub struct SentStory {
    pub url: Option<String>,
    pub title: String,
    pub lead: String,
}

/// How to select.
#[derive(Debug, Clone)]
pub struct Options {
    pub topics: Vec<TopicSpec>,
    pub max_stories: usize,
    pub max_per_section: Option<usize>,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// A kept story.
#[derive(Debug, Clone)]
pub struct Pick {
    pub index: usize,
    pub also: Vec<usize>,
    pub score: f64,
    pub topics: Vec<(String, f64)>,
}

#[derive(Debug, Clone)]
pub struct Section {
    pub topic: Option<String>,
    pub picks: Vec<Pick>,
}

/// Why each candidate was kept or dropped.
#[derive(Debug, Clone)]
pub struct Explained {
    pub index: usize,
    pub topics: Vec<(String, f64)>,
    pub score: f64,
    pub cluster: usize,
    pub kept: bool,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Selection {
    pub sections: Vec<Section>,
    pub explain: Vec<Explained>,
}

/// Selects the stories of an issue.
pub fn select(candidates: &[Candidate], sent: &[SentStory], opts: &Options) -> Selection {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| {
        candidates[b]
            .published
            .cmp(&candidates[a].published)
            .then(a.cmp(&b))
    });
    let mut explain = Vec::new();
    let mut sections: Vec<Section> = if opts.topics.is_empty() {
        vec![Section {
            topic: None,
            picks: vec![],
        }]
    } else {
        opts.topics
            .iter()
            .map(|t| Section {
                topic: Some(t.name.clone()),
                picks: vec![],
            })
            .collect()
    };
    let mut kept = 0;
    for (cluster, &i) in order.iter().enumerate() {
        let c = &candidates[i];
        let text = format!("{} {} {}", c.title, c.lead, c.categories.join(" ")).to_lowercase();
        let topics: Vec<(String, f64)> = opts
            .topics
            .iter()
            .filter(|t| t.keywords.iter().any(|k| text.contains(&k.to_lowercase())))
            .filter(|t| !t.exclude.iter().any(|k| text.contains(&k.to_lowercase())))
            .map(|t| (t.name.clone(), 1.0))
            .collect();
        let already = sent.iter().any(|s| s.url.is_some() && s.url == c.url);
        let reason = if already {
            "sent in an earlier issue"
        } else if !opts.topics.is_empty() && topics.is_empty() {
            "off-topic"
        } else if kept >= opts.max_stories {
            "over max_stories"
        } else {
            "kept"
        };
        let is_kept = reason == "kept";
        if is_kept {
            kept += 1;
            let section = match topics.first() {
                Some((t, _)) => sections.iter_mut().find(|s| s.topic.as_deref() == Some(t)),
                None => sections.first_mut(),
            };
            if let Some(s) = section {
                s.picks.push(Pick {
                    index: i,
                    also: vec![],
                    score: 1.0,
                    topics: topics.clone(),
                });
            }
        }
        explain.push(Explained {
            index: i,
            topics,
            score: 1.0,
            cluster,
            kept: is_kept,
            reason: reason.into(),
        });
    }
    sections.retain(|s| !s.picks.is_empty());
    Selection { sections, explain }
}
