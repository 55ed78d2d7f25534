//! Where messages go: an SMTP server (a pool of connections, see `smtp`) or a folder of `.eml`
//! files.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use lettre::transport::smtp::authentication::Credentials;

use super::message::Outgoing;
use super::smtp::{Pool, Security, Target};

/// The outcome of one failed send, as the ledger needs it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// 4xx, a dropped connection, a timeout: try again later.
    #[error("{0}")]
    Transient(String),
    /// 5xx: this recipient will not take it.
    #[error("{0}")]
    Permanent(String),
    /// The server could not be used at all: no connection, no greeting, STARTTLS or login
    /// failed, or it refused our MAIL FROM with a 5xx. Nothing was sent and it is not the
    /// recipient's doing: the send pauses (see `Sender::deliver_issue`).
    #[error("{0}")]
    Unavailable(String),
    /// The connection failed after the whole message went out and before the server answered:
    /// the server may have accepted it. Never retried automatically (RFC 1047).
    #[error("{0}")]
    Ambiguous(String),
}

/// A configured destination for messages.
pub enum Transport {
    Smtp(Pool),
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
        let (security, default_port) = match url.scheme() {
            "smtp" => (Security::None, 25),
            "smtps" => (Security::Implicit, 465),
            "smtp+starttls" => (Security::StartTls, 587),
            s => anyhow::bail!("delivery.url: unsupported scheme {s:?}"),
        };
        let password = url
            .password()
            .map(percent_decode)
            .or_else(|| std::env::var("GAZETTE_SMTP_PASSWORD").ok());
        if security == Security::None && !url.username().is_empty() && !is_loopback(&host) {
            anyhow::bail!(
                "delivery.url: smtp:// would send the password in clear text to {host}; use smtp+starttls://{}@{host}:587 (or smtps:// on port 465)",
                url.username()
            );
        }
        let credentials = (!url.username().is_empty()).then(|| {
            Credentials::new(percent_decode(url.username()), password.unwrap_or_default())
        });
        let target = Target {
            host,
            port: url.port().unwrap_or(default_port),
            security,
            credentials,
            timeout: Duration::from_secs(60),
            data_timeout: Duration::from_secs(600),
        };
        Ok(Transport::Smtp(Pool::new(target, connections)))
    }

    /// Sends one message; returns the server's reply (or where the file went).
    pub async fn send(&self, message: &Outgoing, file_name: &str) -> Result<String, SendError> {
        match self {
            Transport::Outbox(dir) => {
                let path = dir.join(file_name);
                std::fs::create_dir_all(dir)
                    .and_then(|_| std::fs::write(&path, &message.bytes))
                    .map_err(|e| SendError::Permanent(format!("write {}: {e}", path.display())))?;
                Ok(format!("written to {}", path.display()))
            }
            Transport::Smtp(pool) => pool.send(&message.envelope, &message.bytes).await,
        }
    }

    /// Closes idle SMTP connections with QUIT.
    pub async fn close(&self) {
        if let Transport::Smtp(pool) = self {
            pool.close().await;
        }
    }

    /// Opens and closes one SMTP session (for `gazette check --smtp`); says what it found.
    pub async fn test(&self) -> Result<String> {
        match self {
            Transport::Outbox(dir) => std::fs::create_dir_all(dir)
                .with_context(|| format!("create outbox {}", dir.display()))
                .map(|_| format!("outbox {} is writable", dir.display())),
            Transport::Smtp(pool) => {
                let s = pool.test().await.context("SMTP connection")?;
                Ok(format!(
                    "SMTP session opened; TLS: {}{}; AUTH: {}{}",
                    if s.encrypted { "yes" } else { "no" },
                    if !s.encrypted && s.starttls_offered {
                        " (the server offers STARTTLS: use smtp+starttls://)"
                    } else {
                        ""
                    },
                    if s.auth_offered.is_empty() {
                        "none offered".to_string()
                    } else {
                        format!("offered {}", s.auth_offered.join(", "))
                    },
                    if s.logged_in {
                        ", logged in"
                    } else {
                        ", not used"
                    }
                ))
            }
        }
    }
}

/// `localhost` or a loopback address: the only hosts a password may go to without TLS.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
