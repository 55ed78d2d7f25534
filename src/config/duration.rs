//! Durations written as `"90s"`, `"30m"`, `"36h"`, `"7d"`, `"2w"` (units may be combined: `"1d12h"`).

/// The longest duration accepted: 100 years. Longer ones would overflow the date arithmetic
/// (a window reaching before year 1).
const MAX_DAYS: i64 = 36_525;

/// Parses a duration string; the error says what was expected.
pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("bad duration {s:?}: expected e.g. \"30m\", \"36h\", \"7d\"");
    let too_long = || format!("duration {s:?} is longer than 100 years");
    let mut total = chrono::Duration::zero();
    let mut digits = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.is_empty() {
            return Err(bad());
        }
        let n: i64 = digits.parse().map_err(|_| too_long())?;
        digits.clear();
        let part = match c {
            's' => chrono::Duration::try_seconds(n),
            'm' => chrono::Duration::try_minutes(n),
            'h' => chrono::Duration::try_hours(n),
            'd' => chrono::Duration::try_days(n),
            'w' => chrono::Duration::try_weeks(n),
            _ => return Err(bad()),
        };
        total = part
            .and_then(|p| total.checked_add(&p))
            .ok_or_else(too_long)?;
        any = true;
    }
    if !digits.is_empty() || !any || total <= chrono::Duration::zero() {
        return Err(bad());
    }
    if total > chrono::Duration::days(MAX_DAYS) {
        return Err(too_long());
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
        assert_eq!(
            parse_duration("3650d").unwrap(),
            chrono::Duration::days(3650)
        );
    }

    #[test]
    fn says_why() {
        assert!(parse_duration("1d 12h")
            .unwrap_err()
            .contains("expected e.g."));
        assert!(parse_duration("-1d").unwrap_err().contains("expected e.g."));
        assert!(parse_duration("36526d")
            .unwrap_err()
            .contains("longer than 100 years"));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "7",
            "d",
            "7x",
            "-1d",
            "0h",
            "36526d",
            "100000000d",
            "106751991167301d",
            "9223372036854775807s",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(s).is_err(), "{s:?} should be rejected");
        }
    }
}
