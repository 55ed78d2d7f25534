//! Where messages go: an SMTP server (pooled connections) or a folder of `.eml` files.

use std::path::PathBuf;

use anyhow::{Context, Result};
use lettre::transport::smtp::{authentication::Credentials, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// The outcome of one failed send, as the ledger needs it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// 4xx, a dropped connection, a timeout: try again later.
    #[error("{0}")]
    Transient(String),
    /// 5xx: this recipient will not take it.
    #[error("{0}")]
    Permanent(String),
}

/// A configured destination for messages.
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

impl Transport {
    /// From `delivery.url`: `smtp://`, `smtps://`, `smtp+starttls://` (user and password in the
    /// URL, or the password from `GAZETTE_SMTP_PASSWORD`) or `file://DIR`.
    pub fn from_url(raw: &str, connections: usize) -> Result<Transport> {
        if let Some(dir) = raw.strip_prefix("file://") {
            return Ok(Transport::Outbox(PathBuf::from(dir)));
        }
        let url = url::Url::parse(raw).with_context(|| format!("delivery.url {raw:?}"))?;
        let host = url
            .host_str()
            .context("delivery.url has no host")?
            .trim_matches(['[', ']'])
            .to_string();
        let builder = match url.scheme() {
            "smtp" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                .port(url.port().unwrap_or(25)),
            "smtps" => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&host)?.port(url.port().unwrap_or(465))
            }
            "smtp+starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)?
                .port(url.port().unwrap_or(587)),
            s => anyhow::bail!("delivery.url: unsupported scheme {s:?}"),
        };
        let password = url
            .password()
            .map(percent_decode)
            .or_else(|| std::env::var("GAZETTE_SMTP_PASSWORD").ok());
        let mut builder = builder
            .timeout(Some(std::time::Duration::from_secs(60)))
            .pool_config(PoolConfig::new().max_size(connections as u32));
        if !url.username().is_empty() {
            builder = builder.credentials(Credentials::new(
                percent_decode(url.username()),
                password.unwrap_or_default(),
            ));
        }
        Ok(Transport::Smtp(builder.build()))
    }

    /// Sends one message; returns the server's reply (or where the file went).
    pub async fn send(&self, message: &Message, file_name: &str) -> Result<String, SendError> {
        match self {
            Transport::Outbox(dir) => {
                let path = dir.join(file_name);
                std::fs::create_dir_all(dir)
                    .and_then(|_| std::fs::write(&path, message.formatted()))
                    .map_err(|e| SendError::Permanent(format!("write {}: {e}", path.display())))?;
                Ok(format!("written to {}", path.display()))
            }
            Transport::Smtp(smtp) => match smtp.send(message.clone()).await {
                Ok(resp) => Ok(format!(
                    "{} {}",
                    resp.code(),
                    resp.message().collect::<Vec<_>>().join(" ")
                )),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(error_text(&e))),
                Err(e) => Err(SendError::Transient(error_text(&e))),
            },
        }
    }

    /// Opens and closes one SMTP session (for `gazette check --smtp`).
    pub async fn test(&self) -> Result<()> {
        match self {
            Transport::Outbox(dir) => std::fs::create_dir_all(dir)
                .with_context(|| format!("create outbox {}", dir.display())),
            Transport::Smtp(smtp) => {
                smtp.test_connection().await.context("SMTP connection")?;
                Ok(())
            }
        }
    }
}

fn error_text(e: &lettre::transport::smtp::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
