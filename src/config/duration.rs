//! Durations written as `"90s"`, `"30m"`, `"36h"`, `"7d"`, `"2w"` (units may be combined: `"1d12h"`).

/// Parses a duration string; the error says what was expected.
pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("bad duration {s:?}: expected e.g. \"30m\", \"36h\", \"7d\"");
    let mut total = chrono::Duration::zero();
    let mut digits = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total += match c {
            's' => chrono::Duration::seconds(n),
            'm' => chrono::Duration::minutes(n),
            'h' => chrono::Duration::hours(n),
            'd' => chrono::Duration::days(n),
            'w' => chrono::Duration::weeks(n),
            _ => return Err(bad()),
        };
        any = true;
    }
    if !digits.is_empty() || !any || total <= chrono::Duration::zero() {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse_duration("7d").unwrap(), chrono::Duration::days(7));
        assert_eq!(parse_duration("36h").unwrap(), chrono::Duration::hours(36));
        assert_eq!(
            parse_duration("1d12h").unwrap(),
            chrono::Duration::hours(36)
        );
        assert_eq!(
            parse_duration("90s").unwrap(),
            chrono::Duration::seconds(90)
        );
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "7", "d", "7x", "-1d", "0h"] {
            assert!(parse_duration(s).is_err(), "{s:?} should be rejected");
        }
    }
}
