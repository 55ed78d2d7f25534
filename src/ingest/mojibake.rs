//! Mojibake: UTF-8 text that was decoded as Windows-1252 or Latin-1 somewhere upstream and
//! re-encoded (`Ã©` for `é`, `Ð¡` for `С`, `â€™` for `’`), as some feeds publish it. Feed
//! text goes through [`fix`] as it is parsed, so titles, leads and clustering all read `é`.

use std::borrow::Cow;

/// Decodes again every run of characters that forms valid UTF-8 when read back as the
/// Windows-1252 bytes it was misread from. Correct text (`café`, `für`, `Zoë`) has no such
/// runs and comes back unchanged. A lead byte left before a space (`Ã ` for `à `, whose
/// second byte, a no-break space, was collapsed into the space) is restored when the text
/// shows other mojibake; a lone `Â` before a space or at the end (a mangled no-break space)
/// becomes a space. `source_mangled` says the text comes from a source that shows mojibake
/// elsewhere, so a lone lead byte is restored even in a text with no other mojibake. ASCII is
/// never touched, so markup and entities in HTML pass through.
pub fn fix(text: &str, source_mangled: bool) -> Cow<'_, str> {
    if text.is_ascii() || !(source_mangled || looks_mangled(text)) {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Piece> = Vec::with_capacity(chars.len());
    let mut found = source_mangled;
    let mut i = 0;
    while i < chars.len() {
        let lead = cp1252_byte(chars[i]).filter(|&b| b >= 0xC2);
        let need = match lead {
            Some(0xC2..=0xDF) => 1,
            Some(0xE0..=0xEF) => 2,
            Some(0xF0..=0xF4) => 3,
            _ => 0,
        };
        if need > 0 {
            let mut bytes = vec![lead.unwrap_or(0)];
            let mut j = i + 1;
            while j < chars.len() && bytes.len() <= need {
                match cp1252_byte(chars[j]) {
                    Some(b @ 0x80..=0xBF) => bytes.push(b),
                    _ => break,
                }
                j += 1;
            }
            if bytes.len() == need + 1 {
                if let Ok(s) = std::str::from_utf8(&bytes) {
                    out.extend(s.chars().map(Piece::Fixed));
                    found = true;
                    i = j;
                    continue;
                }
            }
            let before_space = chars.get(i + 1).is_none_or(|c| c.is_whitespace());
            if need == 1 && before_space {
                let restored = std::str::from_utf8(&[bytes[0], 0xA0])
                    .ok()
                    .and_then(|s| s.chars().next())
                    .unwrap_or(' ');
                out.push(Piece::Dangling(chars[i], restored));
                i += 1;
                continue;
            }
        }
        out.push(Piece::Fixed(chars[i]));
        i += 1;
    }
    out.into_iter()
        .map(|p| match p {
            Piece::Fixed(c) => c,
            Piece::Dangling('\u{c2}', _) => ' ',
            Piece::Dangling(_, r) if found => r,
            Piece::Dangling(c, _) => c,
        })
        .map(|c| if c == '\u{a0}' { ' ' } else { c })
        .collect::<String>()
        .into()
}

/// True when the text shows certain mojibake: a character that stands for a UTF-8 lead byte
/// followed by one that stands for a continuation byte (`Ã©`, `â€`). A lone lead byte before a
/// space (`Ã `) does not count here.
pub fn shows_mojibake(text: &str) -> bool {
    let mut prev = None;
    has_latin1_lead(text)
        && text.chars().map(cp1252_byte).any(|b| {
            let pair = matches!((prev, b), (Some(0xC2..=0xF4), Some(0x80..=0xBF)));
            prev = b;
            pair
        })
}

/// True when some character could start a misread UTF-8 sequence: a lead byte followed by a
/// continuation byte, or `Â`/`Ã` before a space or at the end.
fn looks_mangled(text: &str) -> bool {
    if !has_latin1_lead(text) {
        return false;
    }
    let mut prev: Option<u8> = None;
    for c in text.chars() {
        let b = cp1252_byte(c);
        if let (Some(0xC2..=0xF4), Some(0x80..=0xBF)) = (prev, b) {
            return true;
        }
        if matches!(prev, Some(0xC2 | 0xC3)) && c.is_whitespace() {
            return true;
        }
        prev = b;
    }
    matches!(prev, Some(0xC2 | 0xC3))
}

/// Whether the text holds any of U+00C0..U+00FF, encoded in UTF-8 as 0xC3 and a second byte: every
/// lead byte of mojibake (0xC2..0xF4 read as Windows-1252) is among them, so text without a 0xC3
/// byte (ASCII, Cyrillic, CJK…) is skipped with one memchr.
fn has_latin1_lead(text: &str) -> bool {
    memchr::memchr(0xC3, text.as_bytes()).is_some()
}

enum Piece {
    Fixed(char),
    /// A lead byte before a space: (as found, as restored).
    Dangling(char, char),
}

/// The byte a character stands for when UTF-8 was misread as Windows-1252 (or Latin-1 for the
/// bytes 1252 leaves undefined); `None` for characters no single byte decodes to, and ASCII.
fn cp1252_byte(c: char) -> Option<u8> {
    const HIGH: [char; 32] = [
        '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2c6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}',
        '\u{8f}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}', '\u{17e}',
        '\u{178}',
    ];
    let o = c as u32;
    if (0x80..=0xFF).contains(&o) {
        return Some(o as u8);
    }
    // ASCII and everything past the last of them (U+2122) at once: most text is such.
    if !(0x152..=0x2122).contains(&o) {
        return None;
    }
    HIGH.iter().position(|&h| h == c).map(|p| 0x80 + p as u8)
}
