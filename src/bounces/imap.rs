//! An IMAP mailbox as a bounce source (`[bounces] imap = "imaps://user@host/INBOX"`), polled:
//! every message in the mailbox is fetched without marking it seen, classified and recorded,
//! then moved to the processed folder (`imap_processed`, created when missing) with MOVE, or
//! COPY + \Deleted + UID EXPUNGE of exactly those messages where the server lacks MOVE.
//! Nothing is deleted unread: a message that cannot be recorded stays where it is.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_imap::{Client, Session};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};

use super::record::{Origin, Recorder};
use crate::config::bounces::Imap;

/// How long one network step may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Messages recorded (or found recorded already) and moved.
    pub processed: usize,
    /// Messages left in the mailbox (could not be fetched or recorded).
    pub left: usize,
}

/// Connects, logs in, processes the mailbox and logs out.
pub async fn poll(cfg: &Imap, recorder: &Recorder<'_>, now: DateTime<Utc>) -> Result<Pass> {
    let what = format!("IMAP {}:{}", cfg.host, cfg.port);
    let tcp = tokio::time::timeout(
        TIMEOUT,
        tokio::net::TcpStream::connect((cfg.host.as_str(), cfg.port)),
    )
    .await
    .with_context(|| format!("{what}: connect timed out"))?
    .with_context(|| format!("{what}: connect"))?;
    if !cfg.tls {
        return session(Client::new(tcp), cfg, recorder, now)
            .await
            .with_context(|| what);
    }
    let tls = tls_connector()
        .connect(
            tokio_rustls::rustls::pki_types::ServerName::try_from(cfg.host.clone())
                .with_context(|| format!("{what}: bad host name"))?,
            tcp,
        )
        .await
        .with_context(|| format!("{what}: TLS"))?;
    session(Client::new(tls), cfg, recorder, now)
        .await
        .with_context(|| what)
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    use tokio_rustls::rustls;
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc-rs supports the default TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn step<T>(f: impl std::future::Future<Output = T>, what: &str) -> Result<T> {
    tokio::time::timeout(TIMEOUT, f)
        .await
        .map_err(|_| anyhow::anyhow!("{what}: timed out"))
}

async fn session<T>(
    mut client: Client<T>,
    cfg: &Imap,
    recorder: &Recorder<'_>,
    now: DateTime<Utc>,
) -> Result<Pass>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    step(client.read_response(), "greeting")
        .await?
        .context("greeting")?
        .context("the server closed the connection before its greeting")?;
    let mut s = step(client.login(&cfg.user, cfg.password.expose()), "login")
        .await?
        .map_err(|(e, _)| anyhow::anyhow!("login as {}: {e}", cfg.user))?;
    let pass = process(&mut s, cfg, recorder, now).await;
    let _ = step(s.logout(), "logout").await;
    pass
}

async fn process<T>(
    s: &mut Session<T>,
    cfg: &Imap,
    recorder: &Recorder<'_>,
    now: DateTime<Utc>,
) -> Result<Pass>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let can_move = step(s.capabilities(), "CAPABILITY").await??.has_str("MOVE");
    step(s.select(&cfg.mailbox), "SELECT")
        .await?
        .with_context(|| format!("select {}", cfg.mailbox))?;
    let mut uids: Vec<u32> = step(s.uid_search("ALL"), "SEARCH")
        .await??
        .into_iter()
        .collect();
    uids.sort_unstable();
    let mut pass = Pass::default();
    if uids.is_empty() {
        return Ok(pass);
    }
    // A NO here means the folder exists already.
    let _ = step(s.create(&cfg.processed), "CREATE").await;
    for uid in uids {
        let bytes = match fetch(s, uid).await {
            Ok(Some(b)) => b,
            Ok(None) => {
                pass.left += 1;
                continue;
            }
            Err(e) => {
                tracing::warn!(uid, "cannot fetch bounce message: {e:#}");
                pass.left += 1;
                continue;
            }
        };
        let origin = Origin {
            source: "imap",
            raw_ref: Some(format!("imap:{}/{} uid {uid}", cfg.mailbox, cfg.processed)),
            occurred: now,
        };
        if let Err(e) = recorder.message(&bytes, &origin, now) {
            tracing::error!(uid, "bounce not recorded, left in {}: {e:#}", cfg.mailbox);
            pass.left += 1;
            continue;
        }
        let set = uid.to_string();
        if can_move {
            step(s.uid_mv(&set, &cfg.processed), "MOVE").await??;
        } else {
            step(s.uid_copy(&set, &cfg.processed), "COPY").await??;
            {
                let updates = step(
                    s.uid_store(&set, "+FLAGS.SILENT (\\Seen \\Deleted)"),
                    "STORE",
                )
                .await??;
                let _: Vec<_> = updates.collect().await;
            }
            let expunged = step(s.uid_expunge(&set), "EXPUNGE").await??;
            let _: Vec<_> = expunged.collect().await;
        }
        pass.processed += 1;
    }
    Ok(pass)
}

/// The whole message of one UID, without setting \Seen.
async fn fetch<T>(s: &mut Session<T>, uid: u32) -> Result<Option<Vec<u8>>>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let stream = step(s.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])"), "FETCH").await??;
    let fetches: Vec<_> = step(stream.collect::<Vec<_>>(), "FETCH").await?;
    for f in fetches {
        let f = f?;
        if f.uid == Some(uid) {
            if let Some(body) = f.body() {
                return Ok(Some(body.to_vec()));
            }
        }
    }
    Ok(None)
}
