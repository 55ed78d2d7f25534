//! Feed bytes → UTF-8, before any parser sees them. The encoding is, in order: a byte-order mark;
//! the HTTP `charset`; the XML declaration's `encoding`; UTF-8 when the bytes are valid UTF-8;
//! else Windows-1252 (what "ISO-8859-1" means on the web). A label that turns out wrong (UTF-8
//! claimed, invalid bytes) falls back to the next source. Any encoding the WHATWG Encoding
//! Standard knows is read (windows-125x, koi8-r/u, iso-8859-x, shift_jis, euc-jp, iso-2022-jp,
//! gb2312/gbk/gb18030, big5, euc-kr, UTF-16). The declaration is rewritten to say UTF-8.

use std::borrow::Cow;

use encoding_rs::Encoding;

/// The document as UTF-8, and the encoding it was read from when that was not UTF-8.
pub fn to_utf8<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
) -> (Cow<'a, [u8]>, Option<&'static Encoding>) {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        return decode(&bytes[bom..], enc);
    }
    let declared = declared_encoding(bytes);
    let from_http = content_type.and_then(http_charset);
    for enc in [from_http, declared].into_iter().flatten() {
        if enc == encoding_rs::UTF_8 && std::str::from_utf8(bytes).is_err() {
            continue;
        }
        return decode(bytes, enc);
    }
    if std::str::from_utf8(bytes).is_ok() {
        return decode(bytes, encoding_rs::UTF_8);
    }
    decode(bytes, encoding_rs::WINDOWS_1252)
}

fn decode<'a>(
    bytes: &'a [u8],
    enc: &'static Encoding,
) -> (Cow<'a, [u8]>, Option<&'static Encoding>) {
    // UTF-16 labels in an ASCII declaration of an 8-bit document are a common mistake.
    let enc =
        if (enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE) && !bytes.contains(&0) {
            encoding_rs::UTF_8
        } else {
            enc
        };
    if enc == encoding_rs::UTF_8 {
        return (Cow::Borrowed(bytes), None);
    }
    let (text, _) = enc.decode_without_bom_handling(bytes);
    let text = relabel_declaration(&text);
    (Cow::Owned(text.into_bytes()), Some(enc))
}

/// The `charset` parameter of a Content-Type header.
fn http_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| Encoding::for_label(v.trim().trim_matches(['"', '\'']).as_bytes()))?
    })
}

/// The `encoding` of the XML declaration, read as ASCII from the first bytes.
fn declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(512)];
    let start = head.windows(5).position(|w| w == b"<?xml")?;
    let end = start + head[start..].windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[start..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = rest[1..].split(quote).next()?;
    Encoding::for_label(value.trim().as_bytes())
}

/// The XML declaration with its encoding changed to UTF-8 (the text now is UTF-8).
fn relabel_declaration(text: &str) -> String {
    let Some(start) = text.find("<?xml").filter(|s| *s < 512) else {
        return text.to_string();
    };
    let Some(len) = text[start..].find("?>") else {
        return text.to_string();
    };
    let decl = &text[start..start + len];
    let Some(at) = decl.find("encoding") else {
        return text.to_string();
    };
    let after = &decl[at..];
    let Some(q1) = after.find(['"', '\'']) else {
        return text.to_string();
    };
    let quote = &after[q1..=q1];
    let Some(q2) = after[q1 + 1..].find(quote) else {
        return text.to_string();
    };
    let (from, to) = (start + at, start + at + q1 + 1 + q2 + 1);
    format!("{}encoding=\"UTF-8\"{}", &text[..from], &text[to..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_in(enc: &'static Encoding, label: &str, title: &str) -> Vec<u8> {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"{label}\"?><rss version=\"2.0\"><channel><title>t</title><item><title>{title}</title></item></channel></rss>"
        );
        enc.encode(&xml).0.into_owned()
    }

    #[test]
    fn declared_legacy_encodings_are_decoded() {
        for (enc, label, title) in [
            (encoding_rs::WINDOWS_1251, "windows-1251", "Цитата дня"),
            (encoding_rs::KOI8_R, "koi8-r", "Новости"),
            (encoding_rs::SHIFT_JIS, "Shift_JIS", "日本のニュース"),
            (encoding_rs::EUC_JP, "EUC-JP", "日本のニュース"),
            (encoding_rs::GBK, "gb2312", "中文新闻"),
            (encoding_rs::GB18030, "gb18030", "中文新闻"),
            (encoding_rs::BIG5, "big5", "中文新聞"),
            (encoding_rs::EUC_KR, "euc-kr", "한국 뉴스"),
            (encoding_rs::ISO_8859_2, "iso-8859-2", "Zprávy dne"),
            (encoding_rs::WINDOWS_1252, "ISO-8859-1", "Café résumé"),
        ] {
            let bytes = feed_in(enc, label, title);
            let (utf8, from) = to_utf8(&bytes, None);
            let text = std::str::from_utf8(&utf8).unwrap();
            assert!(text.contains(title), "{label}: {text}");
            assert!(
                text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
                "{text}"
            );
            assert_eq!(from, Some(enc), "{label}");
        }
    }

    #[test]
    fn bom_then_http_charset_then_declaration() {
        let cp1251 = feed_in(encoding_rs::WINDOWS_1251, "windows-1251", "Цитата");
        // The HTTP charset wins over the declaration…
        let (u, _) = to_utf8(&cp1251, Some("text/xml; charset=windows-1251"));
        assert!(std::str::from_utf8(&u).unwrap().contains("Цитата"));
        // …unless it claims UTF-8 for bytes that are not.
        let (u, _) = to_utf8(&cp1251, Some("application/rss+xml; charset=utf-8"));
        assert!(std::str::from_utf8(&u).unwrap().contains("Цитата"));
        // A UTF-16 document with a BOM.
        let mut utf16 = vec![0xFF, 0xFE];
        for c in "<rss><channel><title>Ωμέγα</title></channel></rss>".encode_utf16() {
            utf16.extend_from_slice(&c.to_le_bytes());
        }
        let (u, _) = to_utf8(&utf16, None);
        assert!(std::str::from_utf8(&u).unwrap().contains("Ωμέγα"));
        // Valid UTF-8 without a declaration stays as it is; invalid bytes are read as 1252.
        let (u, from) = to_utf8("<rss>é</rss>".as_bytes(), None);
        assert_eq!((u.as_ref(), from), ("<rss>é</rss>".as_bytes(), None));
        let (u, _) = to_utf8(b"<rss>caf\xe9</rss>", None);
        assert_eq!(std::str::from_utf8(&u).unwrap(), "<rss>café</rss>");
    }
}
