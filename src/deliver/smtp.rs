//! A pool of SMTP connections (lettre's `AsyncSmtpConnection`) that knows *where* a transaction
//! failed. lettre's own pool cannot: every error looks alike, whether it came before `MAIL FROM`
//! (safe to retry) or after the final "." of DATA (the server may have the message: RFC 1047).
//! It also pings each reused connection with NOOP and drops the connection after any negative
//! reply; here a connection stays open across a 4xx/5xx to one recipient (RSET) and a connection
//! the server closed while idle is replaced once without spending an attempt.
//!
//! Where the server offers PIPELINING (RFC 2920; Postfix, Exim and the big providers do), MAIL,
//! RCPT and DATA go out in one write and their replies are read together: two round trips per
//! message instead of four.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::Error;

use super::transport::SendError;

/// How to reach the server.
#[derive(Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<Credentials>,
    /// Timeout of the connection and of each command.
    pub timeout: Duration,
    /// How long to wait for the reply to the final "." (RFC 5321 §4.5.3.2.6 allows 10 minutes).
    pub data_timeout: Duration,
}

/// Transport security of the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain text (only for loopback relays and tests).
    None,
    /// TLS from the first byte (port 465).
    Implicit,
    /// STARTTLS, required: no mail is sent if the upgrade fails.
    StartTls,
}

/// What a test session found.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The session ran over TLS (implicit, or upgraded with STARTTLS).
    pub encrypted: bool,
    /// The server offered STARTTLS (in the last EHLO: after an upgrade it no longer does).
    pub starttls_offered: bool,
    /// The AUTH mechanisms offered.
    pub auth_offered: Vec<&'static str>,
    /// We logged in with the configured credentials.
    pub logged_in: bool,
    pub pipelining: bool,
}

/// Up to `max` open connections, shared by the senders.
pub struct Pool {
    target: Target,
    idle: std::sync::Mutex<Vec<Conn>>,
    permits: tokio::sync::Semaphore,
}

/// An open session and what its server offers beyond what lettre records.
struct Conn {
    smtp: AsyncSmtpConnection,
    pipelining: bool,
}

/// Where a transaction stopped.
enum Stage {
    /// MAIL FROM: a 5xx here refuses the sender, not the recipient.
    Mail,
    /// Nothing was accepted: retry, or report a rejection.
    Before,
    /// The final "." went out and no reply came back: the outcome is unknown.
    AfterDot,
}

impl Pool {
    pub fn new(target: Target, max: usize) -> Pool {
        Pool {
            target,
            idle: std::sync::Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(max.max(1)),
        }
    }

    /// Sends one message to its envelope recipients; returns the server's reply.
    pub async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<String, SendError> {
        let _permit = self.permits.acquire().await.expect("pool semaphore closed");
        let reused = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let fresh = reused.is_none();
        let mut conn = match reused {
            Some(c) => c,
            None => self.connect().await?,
        };
        let mut result = self.transaction(&mut conn, envelope, bytes).await;
        // A pooled connection the server closed while idle fails at MAIL FROM: replace it once.
        if !fresh && matches!(&result, Err((Stage::Before | Stage::Mail, e)) if !e.is_reply()) {
            conn.smtp.abort().await;
            conn = self.connect().await?;
            result = self.transaction(&mut conn, envelope, bytes).await;
        }
        match result {
            Ok(reply) => {
                self.recycle(conn);
                Ok(reply)
            }
            Err((stage, e)) => {
                if e.is_reply() && self.reset(&mut conn.smtp).await {
                    self.recycle(conn);
                } else {
                    conn.smtp.abort().await;
                }
                Err(classify(stage, e))
            }
        }
    }

    /// Opens a session, checks it works and says what it offered (for `gazette check --smtp`).
    pub async fn test(&self) -> Result<SessionInfo, SendError> {
        let mut conn = self.connect().await?;
        let info = conn.smtp.server_info();
        let auth_offered = [
            (Mechanism::Plain, "PLAIN"),
            (Mechanism::Login, "LOGIN"),
            (Mechanism::Xoauth2, "XOAUTH2"),
        ]
        .into_iter()
        .filter(|(m, _)| info.supports_auth_mechanism(*m))
        .map(|(_, name)| name)
        .collect();
        let session = SessionInfo {
            encrypted: conn.smtp.is_encrypted(),
            starttls_offered: info.supports_feature(Extension::StartTls),
            auth_offered,
            logged_in: self.target.credentials.is_some(),
            pipelining: conn.pipelining,
        };
        let _ = conn.smtp.quit().await;
        Ok(session)
    }

    /// Politely closes the idle connections.
    pub async fn close(&self) {
        let idle: Vec<_> =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for mut c in idle {
            let _ = tokio::time::timeout(self.target.timeout, c.smtp.quit()).await;
        }
    }

    fn recycle(&self, conn: Conn) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
    }

    async fn reset(&self, conn: &mut AsyncSmtpConnection) -> bool {
        matches!(
            tokio::time::timeout(self.target.timeout, conn.command(Rset)).await,
            Ok(Ok(_))
        )
    }

    async fn connect(&self) -> Result<Conn, SendError> {
        let t = &self.target;
        let unavailable = |e: StepError| {
            let text = match e {
                StepError::Transient(s) | StepError::Permanent(s) | StepError::Broken(s) => s,
            };
            SendError::Unavailable(format!("connect {}:{}: {text}", t.host, t.port))
        };
        let hello = ClientId::default();
        let tls = || TlsParameters::new(t.host.clone()).map_err(|e| unavailable(e.into()));
        let mut conn = if t.security == Security::Implicit {
            let connect = AsyncSmtpConnection::connect_tokio1(
                (t.host.as_str(), t.port),
                Some(t.timeout),
                &hello,
                Some(tls()?),
                None,
            );
            within(t.timeout, connect).await.map_err(unavailable)?
        } else {
            // Our own socket, to turn Nagle off: lettre writes the message and the final "."
            // separately, and on loopback Nagle plus delayed ACKs cost 40 ms per message.
            let tcp = tokio::time::timeout(
                t.timeout,
                tokio::net::TcpStream::connect((t.host.as_str(), t.port)),
            )
            .await
            .map_err(|_| StepError::Broken("timed out".into()))
            .and_then(|r| r.map_err(|e| StepError::Broken(e.to_string())))
            .map_err(unavailable)?;
            let _ = tcp.set_nodelay(true);
            let connect = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello);
            within(t.timeout, connect).await.map_err(unavailable)?
        };
        if t.security == Security::StartTls {
            within(t.timeout, conn.starttls(tls()?, &hello))
                .await
                .map_err(unavailable)?;
        }
        if let Some(creds) = &t.credentials {
            let auth = conn.auth(&[Mechanism::Plain, Mechanism::Login], creds);
            within(t.timeout, auth).await.map_err(|e| {
                if let StepError::Permanent(text) = e {
                    SendError::Unavailable(format!("SMTP login: {text}"))
                } else {
                    unavailable(e)
                }
            })?;
        }
        // lettre keeps only the EHLO keywords it uses; ask again to learn about PIPELINING (a
        // second EHLO is allowed at any time between transactions, RFC 5321 §4.1.4).
        let pipelining = match within(t.timeout, conn.command(Ehlo::new(hello))).await {
            Ok(reply) => reply.message().any(|line| {
                line.split_whitespace()
                    .next()
                    .is_some_and(|k| k.eq_ignore_ascii_case("PIPELINING"))
            }),
            Err(e) => return Err(unavailable(e)),
        };
        Ok(Conn {
            smtp: conn,
            pipelining,
        })
    }

    async fn transaction(
        &self,
        conn: &mut Conn,
        envelope: &Envelope,
        bytes: &[u8],
    ) -> Result<String, (Stage, StepError)> {
        let t = self.target.timeout;
        let mut options = Vec::new();
        if !bytes.is_ascii() {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mail = Mail::new(envelope.from().cloned(), options);
        let rcpts = envelope.to().iter().map(|to| Rcpt::new(to.clone(), vec![]));
        let before = |e| (Stage::Before, e);
        if conn.pipelining {
            // One write, then every reply in order, whatever came before (the server answers
            // each command of the group: RFC 2920 §3.1).
            let group: String = std::iter::once(mail.to_string())
                .chain(rcpts.map(|r| r.to_string()))
                .chain(std::iter::once(Data.to_string()))
                .collect();
            let smtp = &mut conn.smtp;
            let mut refused = Refused::default();
            refused.note(Stage::Mail, within(t, smtp.command(group)).await)?;
            for _ in envelope.to() {
                refused.note(Stage::Before, within(t, smtp.read_response()).await)?;
            }
            let data = within(t, smtp.read_response()).await;
            match (refused.0, data) {
                (_, Err(e)) if !e.is_reply() => return Err(before(e)),
                // DATA accepted although an earlier command was refused: the server waits for
                // content we will not send; the caller drops the connection.
                (Some(_), Ok(_)) => {
                    return Err(before(StepError::Broken(
                        "the server took DATA after refusing the envelope".into(),
                    )))
                }
                (Some(first), Err(_)) => return Err(first),
                (None, Err(e)) => return Err(before(e)),
                (None, Ok(_)) => {}
            }
        } else {
            within(t, conn.smtp.command(mail))
                .await
                .map_err(|e| (Stage::Mail, e))?;
            for rcpt in rcpts {
                within(t, conn.smtp.command(rcpt)).await.map_err(before)?;
            }
            within(t, conn.smtp.command(Data)).await.map_err(before)?;
        }
        let conn = &mut conn.smtp;
        // From here on a reply is definitive, but its absence is not.
        let sent = match data_block(bytes) {
            // The content, dot-stuffed and ended with "." in one write.
            Some(block) => within(self.target.data_timeout, conn.command(block.as_str())).await,
            None => within(self.target.data_timeout, conn.message(bytes)).await,
        };
        let reply = sent.map_err(|e| match e {
            StepError::Broken(_) => (Stage::AfterDot, e),
            reply => (Stage::Before, reply),
        })?;
        Ok(format!(
            "{} {}",
            reply.code(),
            reply.message().collect::<Vec<_>>().join(" ")
        ))
    }
}

/// The first refusal among the replies to a pipelined group (the rest of the group must still be
/// read); a broken connection ends the group at once.
#[derive(Default)]
struct Refused(Option<(Stage, StepError)>);

impl Refused {
    fn note<T>(
        &mut self,
        stage: Stage,
        reply: Result<T, StepError>,
    ) -> Result<(), (Stage, StepError)> {
        match reply {
            Ok(_) => Ok(()),
            Err(e) if !e.is_reply() => Err((stage, e)),
            Err(e) => {
                self.0.get_or_insert((stage, e));
                Ok(())
            }
        }
    }
}

/// The content of DATA as it goes on the wire: every line that starts with "." gets a second one
/// (RFC 5321 §4.5.2), then CRLF "." CRLF ends it.
///
/// lettre's `message` does the same one byte at a time (a third of our CPU per message, before
/// this); here the lines are found with memchr, into a string sized once. It is handed to
/// `command`, which writes text as it is and reads the reply, so it must be UTF-8: `None`
/// otherwise (the caller then uses `message`).
fn data_block(bytes: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(bytes).ok()?;
    let dots: Vec<usize> = memchr::memmem::find_iter(bytes, b"\n.").collect();
    let mut out = String::with_capacity(s.len() + dots.len() + 6);
    if s.starts_with('.') {
        out.push('.');
    }
    let mut start = 0;
    for nl in dots {
        out.push_str(&s[start..=nl]);
        out.push('.');
        start = nl + 1;
    }
    out.push_str(&s[start..]);
    out.push_str("\r\n.\r\n");
    Some(out)
}

/// A failed SMTP step: a negative reply, or no usable reply at all.
enum StepError {
    Transient(String),
    Permanent(String),
    /// Connection dropped, timed out, or the reply was garbled.
    Broken(String),
}

impl StepError {
    fn is_reply(&self) -> bool {
        !matches!(self, StepError::Broken(_))
    }
}

impl From<Error> for StepError {
    fn from(e: Error) -> StepError {
        let text = error_text(&e);
        if e.is_transient() {
            StepError::Transient(text)
        } else if e.is_permanent() {
            StepError::Permanent(text)
        } else {
            StepError::Broken(text)
        }
    }
}

/// Maps a failed transaction to what the ledger does with it.
fn classify(stage: Stage, e: StepError) -> SendError {
    match (stage, e) {
        (Stage::Mail, StepError::Permanent(text)) => {
            SendError::Unavailable(format!("the server refused our sender: {text}"))
        }
        (_, StepError::Permanent(text)) => SendError::Permanent(text),
        (_, StepError::Transient(text)) => SendError::Transient(text),
        (Stage::AfterDot, StepError::Broken(text)) => SendError::Ambiguous(format!(
            "no reply after the message was sent, the server may have it: {text}"
        )),
        // A dropped connection or a timeout before the final ".": nothing was accepted.
        (Stage::Before | Stage::Mail, StepError::Broken(text)) => SendError::Transient(text),
    }
}

/// Runs an SMTP step with a deadline.
async fn within<T>(
    limit: Duration,
    step: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, StepError> {
    match tokio::time::timeout(limit, step).await {
        Ok(r) => r.map_err(StepError::from),
        Err(_) => Err(StepError::Broken(format!(
            "timed out: no reply within {}s",
            limit.as_secs()
        ))),
    }
}

/// The error with its sources, e.g. `permanent error (550): 5.1.1 <b@x>: mailbox unavailable`.
pub fn error_text(e: &Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let s_text = s.to_string();
        if !msg.contains(&s_text) {
            msg = format!("{msg}: {s_text}");
        }
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::data_block;

    #[test]
    fn data_is_dot_stuffed_and_terminated() {
        let block = |s: &str| data_block(s.as_bytes()).unwrap();
        assert_eq!(block("a\r\nb\r\n"), "a\r\nb\r\n\r\n.\r\n");
        assert_eq!(
            block(".x\r\n..y\r\nz.\r\n.\r\n"),
            "..x\r\n...y\r\nz.\r\n..\r\n\r\n.\r\n"
        );
        assert!(data_block(b"\xff").is_none());
        let long = "x".repeat(70_000);
        assert_eq!(block(&long).len(), long.len() + 5);
    }
}
