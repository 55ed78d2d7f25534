//! Checks a DKIM signing key before anything is signed with it: RSA in PKCS#1 PEM (what lettre's
//! `DkimSigningKey` reads), at least 2048 bits (RFC 8301 §3.2; receivers discount shorter keys).

use base64::Engine;

/// The smallest RSA modulus accepted, in bits.
pub const MIN_DKIM_BITS: usize = 2048;

/// The modulus size in bits of a PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`) PEM key.
pub fn rsa_key_bits(pem: &str) -> Result<usize, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN RSA PRIVATE KEY-----")
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    if body.is_empty() {
        return Err(
            "not a PKCS#1 PEM RSA key (expected -----BEGIN RSA PRIVATE KEY-----; convert with `openssl rsa -traditional`)"
                .into(),
        );
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("bad base64 in the key: {e}"))?;
    let bad = || "malformed PKCS#1 key".to_string();
    // RSAPrivateKey ::= SEQUENCE { version INTEGER, modulus INTEGER, ... }
    let (tag, seq, _) = der_item(&der).ok_or_else(bad)?;
    if tag != 0x30 {
        return Err(bad());
    }
    let (tag, _, rest) = der_item(seq).ok_or_else(bad)?;
    if tag != 0x02 {
        return Err(bad());
    }
    let (tag, modulus, _) = der_item(rest).ok_or_else(bad)?;
    if tag != 0x02 {
        return Err(bad());
    }
    let modulus: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => &modulus[i..],
        None => return Err(bad()),
    };
    Ok(modulus.len() * 8 - modulus[0].leading_zeros() as usize)
}

/// One DER item: (tag, contents, what follows).
fn der_item(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, start) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let len = b
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |a, x| a << 8 | *x as usize);
        (len, 2 + n)
    };
    let end = start.checked_add(len)?;
    Some((tag, b.get(start..end)?, b.get(end..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_pkcs1() {
        assert!(
            rsa_key_bits("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err()
        );
    }

    #[test]
    fn reads_the_modulus_size() {
        // SEQUENCE { INTEGER 0, INTEGER 0x00C3 (8 bits... padded), ... }
        let der = [0x30, 0x07, 0x02, 0x01, 0x00, 0x02, 0x02, 0x00, 0xC3];
        let pem = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        );
        assert_eq!(rsa_key_bits(&pem), Ok(8));
    }
}
