//! Finds the line of a key path such as `feeds[2].url` or `newsletter.from` in TOML text, so
//! that problems found after parsing can still point at a line.

/// 1-based line of the key, or of its table when the key itself is absent.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let (table, index, key) = split_path(path);
    let mut current = String::new();
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    let mut current_index = 0usize;
    let mut table_line = None;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            current = name.trim().to_string();
            let c = counts.entry(current.clone()).or_default();
            current_index = *c;
            *c += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            current = name.trim().to_string();
            current_index = 0;
        } else {
            if current == table && current_index == index && !key.is_empty() {
                let k = t.split('=').next().unwrap_or("").trim().trim_matches('"');
                if t.contains('=') && k == key {
                    return Some(n + 1);
                }
            }
            continue;
        }
        if current == table && current_index == index && table_line.is_none() {
            table_line = Some(n + 1);
        }
    }
    table_line
}

/// `feeds[2].url` → ("feeds", 2, "url"); `topics.trade.keywords` → ("topics.trade", 0, "keywords").
fn split_path(path: &str) -> (String, usize, String) {
    let (head, key) = match path.rsplit_once('.') {
        Some((h, k)) => (h, k),
        None => (path, ""),
    };
    let key = key.split('[').next().unwrap_or("").to_string();
    if let Some((name, rest)) = head.split_once('[') {
        let idx = rest.trim_end_matches(']').parse().unwrap_or(0);
        (name.to_string(), idx, key)
    } else {
        (head.to_string(), 0, key)
    }
}

#[cfg(test)]
mod tests {
    use super::line_of;

    const TEXT: &str = "[newsletter]\nname = \"x\"\nfrom = \"bad\"\n\n[[feeds]]\nurl = \"a\"\n\n[[feeds]]\nurl = \"b\"\n[topics.trade]\nkeywords = []\n";

    #[test]
    fn finds_keys_in_tables_and_arrays() {
        assert_eq!(line_of(TEXT, "newsletter.from"), Some(3));
        assert_eq!(line_of(TEXT, "feeds[1].url"), Some(9));
        assert_eq!(line_of(TEXT, "feeds[0].url"), Some(6));
        assert_eq!(line_of(TEXT, "topics.trade.keywords"), Some(11));
        assert_eq!(line_of(TEXT, "feeds[1].weight"), Some(8));
    }
}
