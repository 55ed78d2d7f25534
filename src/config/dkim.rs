//! DKIM signing keys, read and checked before anything is signed with them: RSA in PKCS#8 PEM
//! (`-----BEGIN PRIVATE KEY-----`, what `openssl genrsa` and `openssl genpkey` write today) or
//! PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`, `openssl genrsa -traditional`), at least 2048 bits
//! (RFC 8301 §3.2: receivers discount shorter keys); or Ed25519 in PKCS#8 (RFC 8463,
//! `openssl genpkey -algorithm ed25519`). Keys are held as aws-lc-rs key pairs.

use std::sync::Arc;

use aws_lc_rs::signature::{Ed25519KeyPair, RsaKeyPair};
use base64::Engine;

/// The smallest RSA modulus accepted, in bits.
pub const MIN_DKIM_BITS: usize = 2048;

/// One signature to make: a key under a selector of a domain.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub domain: String,
    pub selector: String,
    pub key: DkimKey,
}

/// A loaded signing key.
#[derive(Clone)]
pub enum DkimKey {
    Rsa(Arc<RsaKeyPair>),
    Ed25519(Arc<Ed25519KeyPair>),
}

impl std::fmt::Debug for DkimKey {
    /// Never the key itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DkimKey::Rsa(k) => write!(f, "DkimKey::Rsa({} bits)", k.public_modulus_len() * 8),
            DkimKey::Ed25519(_) => f.write_str("DkimKey::Ed25519"),
        }
    }
}

impl DkimKey {
    /// Reads a PEM key; the error says what was wrong and how to fix it.
    pub fn from_pem(pem: &str) -> Result<DkimKey, String> {
        let (label, der) = pem_block(pem).ok_or_else(|| {
            "not a PEM key (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"
                .to_string()
        })?;
        let rsa = |r: Result<RsaKeyPair, aws_lc_rs::error::KeyRejected>, what: &str| {
            match r {
            Ok(k) => Ok(DkimKey::Rsa(Arc::new(k))),
            Err(e) if e.description_() == "TooSmall" => Err(format!(
                "RSA key of {} bits is too weak; DKIM needs at least {MIN_DKIM_BITS} (generate one with `openssl genrsa 2048`)",
                rsa_bits(&der, what == "PKCS#8").unwrap_or(0)
            )),
            Err(e) => Err(format!("malformed {what} RSA key: {e}")),
        }
        };
        let key = match label.as_str() {
            "RSA PRIVATE KEY" => rsa(RsaKeyPair::from_der(&der), "PKCS#1")?,
            "PRIVATE KEY" => match Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der) {
                Ok(k) => DkimKey::Ed25519(Arc::new(k)),
                Err(_) => rsa(RsaKeyPair::from_pkcs8(&der), "PKCS#8")?,
            },
            other => {
                return Err(format!(
                    "a PEM block of type {other:?}, not a private key (expected PRIVATE KEY or RSA PRIVATE KEY)"
                ))
            }
        };
        Ok(key)
    }

    /// The `a=` tag of signatures made with this key.
    pub fn algorithm(&self) -> &'static str {
        match self {
            DkimKey::Rsa(_) => "rsa-sha256",
            DkimKey::Ed25519(_) => "ed25519-sha256",
        }
    }
}

/// The modulus size of an RSA key that aws-lc-rs refused as too small, for the message: the
/// second INTEGER of RSAPrivateKey (inside PKCS#8's OCTET STRING when `pkcs8`).
fn rsa_bits(der: &[u8], pkcs8: bool) -> Option<usize> {
    let (_, mut seq, _) = der_item(der)?;
    if pkcs8 {
        // PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING { RSAPrivateKey } }
        let (_, _, rest) = der_item(seq)?;
        let (_, _, rest) = der_item(rest)?;
        let (_, octets, _) = der_item(rest)?;
        seq = der_item(octets)?.1;
    }
    let (_, _, rest) = der_item(seq)?;
    let (_, modulus, _) = der_item(rest)?;
    let modulus = &modulus[modulus.iter().position(|b| *b != 0)?..];
    Some(modulus.len() * 8 - modulus[0].leading_zeros() as usize)
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

/// The first PEM block: its label and DER contents.
fn pem_block(pem: &str) -> Option<(String, Vec<u8>)> {
    let mut lines = pem.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))?
        .to_string();
    let body: String = lines.take_while(|l| !l.starts_with("-----END")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some((label, der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_private_key() {
        assert!(DkimKey::from_pem("hello")
            .unwrap_err()
            .contains("not a PEM key"));
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(DkimKey::from_pem(cert).unwrap_err().contains("CERTIFICATE"));
        let junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(DkimKey::from_pem(junk).is_err());
    }

    #[test]
    fn reads_an_ed25519_pkcs8_key() {
        let doc = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(doc.as_ref())
        );
        let key = DkimKey::from_pem(&pem).unwrap();
        assert_eq!(key.algorithm(), "ed25519-sha256");
    }
}
