//! Checks the signatures of provider webhooks: Amazon SNS (RSA over its string to sign, with
//! the key of its signing certificate: SHA1 for SignatureVersion 1, SHA256 for 2), SendGrid
//! (ECDSA P-256 with SHA-256 over timestamp + body) and Mailgun (HMAC-SHA256 of timestamp +
//! token). Pure: the certificate is fetched or read by the caller.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    Sha256::digest(a) == Sha256::digest(b)
}

/// Mailgun: `signature` is the hex HMAC-SHA256 of `timestamp` + `token` with the signing key.
pub fn mailgun(key: &str, timestamp: &str, token: &str, signature: &str) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    same_secret(
        want.as_bytes(),
        signature.trim().to_ascii_lowercase().as_bytes(),
    )
}

/// SendGrid's signed event webhook: `signature` (base64 DER ECDSA) over `timestamp` + body
/// with the P-256 key (DER SubjectPublicKeyInfo).
pub fn sendgrid(public_key: &[u8], timestamp: &str, body: &[u8], signature: &str) -> bool {
    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
    let Ok(sig) = B64.decode(signature.trim()) else {
        return false;
    };
    let mut signed = Vec::with_capacity(timestamp.len() + body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(body);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key)
        .verify(&signed, &sig)
        .is_ok()
}

/// Whether an SNS SigningCertURL (or SubscribeURL) may be used: https on an amazonaws.com host
/// of SNS (`sns.REGION.amazonaws.com`, `.cn` too), default port.
pub fn sns_url_ok(url: &url::Url) -> bool {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    url.scheme() == "https"
        && url.port().is_none()
        && url.username().is_empty()
        && host.starts_with("sns.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

/// The string SNS signs for a message (its documented field order).
pub fn sns_string_to_sign(v: &Value) -> Option<String> {
    let kind = v.get("Type")?.as_str()?;
    let fields: &[&str] = match kind {
        "Notification" => &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ],
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ],
        _ => return None,
    };
    let mut out = String::new();
    for f in fields {
        match v.get(*f).and_then(Value::as_str) {
            Some(value) => {
                out.push_str(f);
                out.push('\n');
                out.push_str(value);
                out.push('\n');
            }
            // Only a notification's Subject is optional.
            None if *f == "Subject" => {}
            None => return None,
        }
    }
    Some(out)
}

/// Checks an SNS message's signature with the signing certificate (PEM).
pub fn sns(certificate_pem: &[u8], v: &Value) -> Result<(), String> {
    let text = sns_string_to_sign(v).ok_or("not an SNS message: fields missing")?;
    let sig = v
        .get("Signature")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .ok_or("no Signature")?;
    let der = CertificateDer::from_pem_slice(certificate_pem)
        .map_err(|e| format!("signing certificate: {e:?}"))?;
    let cert =
        webpki::EndEntityCert::try_from(&der).map_err(|e| format!("signing certificate: {e}"))?;
    let alg: &dyn SignatureVerificationAlgorithm =
        match v.get("SignatureVersion").and_then(Value::as_str) {
            Some("2") => webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
            Some("1") | None => &RsaSha1,
            Some(other) => return Err(format!("unknown SignatureVersion {other:?}")),
        };
    cert.verify_signature(alg, text.as_bytes(), &sig)
        .map_err(|_| "bad signature".to_string())
}

/// RSA PKCS#1 v1.5 with SHA-1, which SNS's SignatureVersion 1 uses (webpki leaves SHA-1 out).
#[derive(Debug)]
struct RsaSha1;

impl SignatureVerificationAlgorithm for RsaSha1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use aws_lc_rs::signature::{
            UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        };
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, public_key)
            .verify(message, signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        rustls_pki_types::alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        // sha1WithRSAEncryption (1.2.840.113549.1.1.5), NULL parameters.
        AlgorithmIdentifier::from_slice(&[
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailgun_signatures_are_checked() {
        // HMAC-SHA256("key-x", "1529006854" + "abc").
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key-x").unwrap();
        mac.update(b"1529006854abc");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(mailgun("key-x", "1529006854", "abc", &hex));
        assert!(!mailgun("key-y", "1529006854", "abc", &hex));
        assert!(!mailgun("key-x", "1529006855", "abc", &hex));
    }

    #[test]
    fn sns_urls_must_be_https_on_sns_hosts() {
        let ok = |u: &str| sns_url_ok(&url::Url::parse(u).unwrap());
        assert!(ok(
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"
        ));
        assert!(!ok("http://sns.us-east-1.amazonaws.com/x.pem"));
        assert!(!ok(
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem"
        ));
        assert!(!ok("https://evil.example/sns.amazonaws.com"));
        assert!(!ok("https://sns.us-east-1.amazonaws.com:8443/x.pem"));
    }

    #[test]
    fn the_string_to_sign_follows_the_documented_order() {
        let v = serde_json::json!({"Type": "Notification", "MessageId": "m", "TopicArn": "t",
            "Message": "hi", "Timestamp": "2026-01-01T00:00:00.000Z"});
        assert_eq!(
            sns_string_to_sign(&v).unwrap(),
            "Message\nhi\nMessageId\nm\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\nt\nType\nNotification\n"
        );
    }
}
