//! TLS to PostgreSQL, over the rustls and aws-lc-rs already linked for SMTP and HTTPS, with
//! libpq's meanings of the URL's `sslmode` and `sslrootcert`, which operators already know:
//!
//! | `sslmode` | TLS | the server's certificate |
//! | --- | --- | --- |
//! | `disable` | never | - |
//! | `prefer` (the default) | when the server offers it | not checked, unless `sslrootcert` names a file |
//! | `require` | always | not checked, unless `sslrootcert` names a file |
//! | `verify-ca` | always | signed by a trusted root |
//! | `verify-full` | always | signed by a trusted root, and names the host |
//!
//! The trusted roots are the certificates in the PEM file `sslrootcert` names, or the public
//! web's roots (webpki-roots) without it or with `sslrootcert=system` (which, as in libpq 16,
//! means `verify-full`). As in libpq, naming a root file with `prefer` or `require` checks the
//! chain as `verify-ca` does whenever TLS is used.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use anyhow::{Context as _, Result};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};
use tokio_postgres::Socket;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// How much of the server's certificate is checked (in increasing order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// Encryption only: any certificate (libpq's `prefer` and `require`).
    Nothing,
    /// The chain up to a trusted root (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    Full,
}

/// Where the trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// The public web's roots (webpki-roots).
    System,
    /// The certificates of a PEM file.
    File(std::path::PathBuf),
}

/// What the URL asks of TLS beyond `sslmode` (which stays in tokio-postgres' config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub check: Check,
    pub roots: Roots,
}

/// Splits a `postgres://` URL into what tokio-postgres reads (its `sslmode` limited to the
/// modes it knows, `sslrootcert` taken out) and the TLS policy.
pub fn parse(url: &str) -> Result<(tokio_postgres::Config, Policy)> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut sslmode = None;
    let mut rootcert = None;
    for (raw, key, value) in pairs(query) {
        match key.as_str() {
            "sslmode" => sslmode = Some(value),
            "sslrootcert" => rootcert = Some(value),
            // Passed on as written: tokio-postgres decodes it.
            _ => kept.push(raw),
        }
    }
    let (mut mode, mut check) = match sslmode.as_deref().unwrap_or("prefer") {
        "disable" => (SslMode::Disable, Check::Nothing),
        "prefer" => (SslMode::Prefer, Check::Nothing),
        "require" => (SslMode::Require, Check::Nothing),
        "verify-ca" => (SslMode::Require, Check::Chain),
        "verify-full" => (SslMode::Require, Check::Full),
        other => {
            anyhow::bail!("sslmode={other}: use disable, prefer, require, verify-ca or verify-full")
        }
    };
    let roots = match rootcert.as_deref() {
        None => Roots::System,
        // libpq 16: the system's roots make `verify-full` the default, and weaker modes an error.
        Some("system") => {
            match sslmode {
                None => (mode, check) = (SslMode::Require, Check::Full),
                Some(_) if check != Check::Full => {
                    anyhow::bail!("sslrootcert=system needs sslmode=verify-full (or no sslmode)")
                }
                Some(_) => {}
            }
            Roots::System
        }
        Some(path) => {
            // libpq: a root file turns `prefer` and `require` into `verify-ca`.
            check = check.max(Check::Chain);
            Roots::File(path.into())
        }
    };
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    config.ssl_mode(mode);
    Ok((config, Policy { check, roots }))
}

/// The URL with a relative `sslrootcert` made absolute from `base` (a config file's folder:
/// relative paths in a config resolve from there); any other URL as it is.
pub fn root_from(url: &str, base: &std::path::Path) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let mut changed = false;
    let pairs: Vec<String> = pairs(query)
        .map(|(raw, key, value)| {
            let path = std::path::Path::new(&value);
            if key == "sslrootcert" && value != "system" && path.is_relative() {
                changed = true;
                format!(
                    "sslrootcert={}",
                    encode(&base.join(path).display().to_string())
                )
            } else {
                raw.to_string()
            }
        })
        .collect();
    match changed {
        true => format!("{head}?{}", pairs.join("&")),
        false => url.to_string(),
    }
}

/// The query's `key=value` pairs: each as written, with its key and value percent-decoded
/// (a `+` stays a `+`, as libpq and tokio-postgres read it).
fn pairs(query: &str) -> impl Iterator<Item = (&str, String, String)> {
    query.split('&').filter(|p| !p.is_empty()).map(|raw| {
        let (k, v) = raw.split_once('=').unwrap_or((raw, ""));
        (raw, decode(k), decode(v))
    })
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(
            |c| match c.is_ascii_alphanumeric() || b"-._~/".contains(&c) {
                true => char::from(c).to_string(),
                false => format!("%{c:02X}"),
            },
        )
        .collect()
}

/// The connector handed to tokio-postgres (used only when `sslmode` is not `disable`).
#[derive(Clone)]
pub struct MakeTls {
    config: Arc<rustls::ClientConfig>,
}

impl MakeTls {
    /// Reads the root file, if any: a missing or empty one is an error here, before any
    /// connection.
    pub fn new(policy: &Policy) -> Result<MakeTls> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let roots = match &policy.roots {
            Roots::System => rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
            Roots::File(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("sslrootcert {}", path.display()))?;
                let mut store = rustls::RootCertStore::empty();
                let mut read = 0;
                for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
                    let cert: CertificateDer<'static> = cert.with_context(|| {
                        format!("sslrootcert {}: not a PEM certificate", path.display())
                    })?;
                    store.add(cert).with_context(|| {
                        format!("sslrootcert {}: unusable certificate", path.display())
                    })?;
                    read += 1;
                }
                anyhow::ensure!(
                    read > 0,
                    "sslrootcert {}: no certificate in the file",
                    path.display()
                );
                store
            }
        };
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .context("TLS roots for PostgreSQL")?;
        let verifier = Arc::new(Verifier {
            check: policy.check,
            webpki,
            provider: provider.clone(),
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("aws-lc-rs supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeTls {
            config: Arc::new(config),
        })
    }
}

/// Checks as much of the certificate as the policy asks; the handshake's signatures are always
/// verified, so the session is with the holder of the certificate's key.
#[derive(Debug)]
struct Verifier {
    check: Check,
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.check == Check::Nothing {
            return Ok(ServerCertVerified::assertion());
        }
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            // The chain was checked before the name: `verify-ca` asks no more.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.check == Check::Chain => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl MakeTlsConnect<Socket> for MakeTls {
    type Stream = TlsStream;
    type TlsConnect = Connect;
    type Error = std::convert::Infallible;

    /// Never fails here: a Unix socket has no host name, and the server refuses TLS there
    /// anyway (`prefer` then goes on in plain; `require` fails with the server's answer).
    fn make_tls_connect(&mut self, host: &str) -> Result<Connect, Self::Error> {
        Ok(Connect {
            config: self.config.clone(),
            name: ServerName::try_from(host).ok().map(|n| n.to_owned()),
        })
    }
}

/// One connection's handshake.
pub struct Connect {
    config: Arc<rustls::ClientConfig>,
    name: Option<ServerName<'static>>,
}

impl TlsConnect<Socket> for Connect {
    type Stream = TlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TlsStream>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move {
            let name = self.name.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "TLS needs the server's host name",
                )
            })?;
            let stream = tokio_rustls::TlsConnector::from(self.config)
                .connect(name, socket)
                .await?;
            Ok(TlsStream(Box::new(stream)))
        })
    }
}

/// The encrypted stream. No channel binding: the password exchange is plain SCRAM-SHA-256.
pub struct TlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl tokio_postgres::tls::TlsStream for TlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mode tokio-postgres is given, and the policy.
    fn policy(url: &str) -> (SslMode, Policy) {
        let (config, p) = parse(url).unwrap();
        (config.get_ssl_mode(), p)
    }

    #[test]
    fn sslmode_keeps_libpq_meanings() {
        let (mode, p) = policy("postgres://gz@db.example/news");
        assert_eq!((mode, p.check), (SslMode::Prefer, Check::Nothing));
        let (mode, p) = policy("postgres://gz@db.example/news?sslmode=disable");
        assert_eq!((mode, p.check), (SslMode::Disable, Check::Nothing));
        let (mode, p) = policy("postgres://gz@db.example/news?sslmode=require");
        assert_eq!((mode, p.check), (SslMode::Require, Check::Nothing));
        let (mode, p) = policy("postgres://gz@db.example/news?sslmode=verify-ca");
        assert_eq!((mode, p.check), (SslMode::Require, Check::Chain));
        let (mode, p) = policy("postgres://gz@db.example/news?sslmode=verify-full");
        assert_eq!(
            (mode, p.check, p.roots),
            (SslMode::Require, Check::Full, Roots::System)
        );
    }

    #[test]
    fn a_root_file_checks_the_chain_and_is_not_passed_on() {
        let (config, p) = parse(
            "postgres://gz@db.example:5433/news?sslmode=require&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(p.check, Check::Chain);
        assert_eq!(p.roots, Roots::File("/etc/ca.pem".into()));
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
        assert_eq!(config.get_application_name(), Some("x"));
        assert_eq!(config.get_ports(), &[5433]);
        let (mode, p) = policy("postgres://gz@db/news?sslrootcert=/etc/ca.pem&sslmode=verify-full");
        assert_eq!(
            (mode, p.check),
            (SslMode::Require, Check::Full),
            "a root file never lowers verify-full"
        );
        let (mode, p) = policy("postgres://gz@db/news?sslrootcert=system");
        assert_eq!(
            (mode, p.check, p.roots),
            (SslMode::Require, Check::Full, Roots::System)
        );
        let (mode, p) = policy("postgres://gz@db/news?sslrootcert=/etc/ca.pem");
        assert_eq!(
            (mode, p.check),
            (SslMode::Prefer, Check::Chain),
            "libpq: checked when TLS is used"
        );
        assert!(parse("postgres://gz@db/news?sslrootcert=system&sslmode=require").is_err());
    }

    #[test]
    fn a_relative_root_file_resolves_from_the_config_folder() {
        let base = std::path::Path::new("/etc/gazette");
        let url = "postgres://gz@db/news?sslmode=verify-full&sslrootcert=certs/ca.pem";
        let (_, p) = parse(&root_from(url, base)).unwrap();
        assert_eq!(p.roots, Roots::File("/etc/gazette/certs/ca.pem".into()));
        assert_eq!(p.check, Check::Full);
        let spaced = root_from(
            "postgres://gz@db/news?application_name=a%20b+c&sslrootcert=my%20ca.pem",
            base,
        );
        assert_eq!(
            spaced,
            "postgres://gz@db/news?application_name=a%20b+c&sslrootcert=/etc/gazette/my%20ca.pem",
            "only the root file's pair is rewritten"
        );
        let (config, p) = parse(&spaced).unwrap();
        assert_eq!(p.roots, Roots::File("/etc/gazette/my ca.pem".into()));
        assert_eq!(
            config.get_application_name(),
            Some("a b+c"),
            "passed on as written"
        );
        for same in [
            "postgres://gz@db/news?sslrootcert=/abs/ca.pem",
            "postgres://gz@db/news?sslrootcert=system",
            "postgres://gz:p%40ss@db/news",
        ] {
            assert_eq!(root_from(same, base), same);
        }
    }

    #[test]
    fn unknown_modes_and_missing_roots_are_errors() {
        let e = parse("postgres://gz@db/news?sslmode=verify").unwrap_err();
        assert!(e.to_string().contains("sslmode=verify"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("ca.pem");
        let e = MakeTls::new(
            &parse(&format!(
                "postgres://gz@db/news?sslrootcert={}",
                missing.display()
            ))
            .unwrap()
            .1,
        )
        .err()
        .unwrap();
        assert!(format!("{e:#}").contains("ca.pem"), "{e:#}");
        std::fs::write(&missing, "not a certificate\n").unwrap();
        let e = MakeTls::new(
            &parse(&format!(
                "postgres://gz@db/news?sslrootcert={}",
                missing.display()
            ))
            .unwrap()
            .1,
        )
        .err()
        .unwrap();
        assert!(format!("{e:#}").contains("no certificate"), "{e:#}");
    }

    /// The server `tests/run.sh` starts offers TLS with a certificate for the address 127.0.0.1
    /// only, signed by a throwaway root (`GAZETTE_TEST_POSTGRES_CA`).
    fn tls_server() -> Option<(String, String)> {
        let found = std::env::var("GAZETTE_TEST_POSTGRES_SERVER")
            .ok()
            .zip(std::env::var("GAZETTE_TEST_POSTGRES_CA").ok());
        if found.is_none() {
            assert_ne!(
                std::env::var("GAZETTE_REQUIRE_PEERS").as_deref(),
                Ok("1"),
                "no PostgreSQL server with TLS (run tests/run.sh)"
            );
            eprintln!("skipping: no PostgreSQL server with TLS (run `bash tests/run.sh`)");
        }
        found
    }

    /// Whether the session at `url` is encrypted, in the server's own view.
    fn encrypted(url: &str) -> Result<bool> {
        let pg = crate::store::postgres::Pg::connect(url)?;
        let mut ssl = 0;
        pg.lease()?.conn().for_each(
            "SELECT count(*) FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl",
            &[],
            &mut |r| {
                ssl = r.get::<_, i64>(0)?;
                Ok(())
            },
        )?;
        Ok(ssl == 1)
    }

    #[test]
    fn each_sslmode_against_a_real_server() {
        let Some((admin, ca)) = tls_server() else {
            return;
        };
        let with = |query: &str| format!("{admin}?{query}");
        assert!(encrypted(&admin).unwrap(), "prefer: TLS when offered");
        assert!(!encrypted(&with("sslmode=disable")).unwrap());
        assert!(
            encrypted(&with("sslmode=require")).unwrap(),
            "require: any certificate"
        );
        let full = with(&format!("sslmode=verify-full&sslrootcert={ca}"));
        assert!(encrypted(&full).unwrap());
        // The test root is not among the public web's.
        let e = encrypted(&with("sslmode=verify-ca")).unwrap_err();
        assert!(format!("{e:#}").contains("UnknownIssuer"), "{e:#}");
        // The certificate names 127.0.0.1, not localhost: the chain holds, the name does not.
        let by_name = admin.replace("127.0.0.1", "localhost");
        let by_name = |query: &str| format!("{by_name}?{query}&sslrootcert={ca}");
        assert!(encrypted(&by_name("sslmode=verify-ca")).unwrap());
        let e = encrypted(&by_name("sslmode=verify-full")).unwrap_err();
        assert!(
            format!("{e:#}").contains("not valid for name \"localhost\""),
            "{e:#}"
        );
        // Through the server's Unix socket (in the folder above the root's): no TLS there, and
        // `prefer` goes on in plain.
        let folder = std::path::Path::new(&ca)
            .parent()
            .unwrap()
            .parent()
            .unwrap();
        let port = admin.rsplit(':').next().unwrap().split('/').next().unwrap();
        let socket = format!(
            "postgres://gazette@{}:{port}/postgres",
            encode(&folder.display().to_string()).replace('/', "%2F")
        );
        assert!(
            !encrypted(&socket).unwrap(),
            "a Unix socket connects in plain"
        );
    }
}
