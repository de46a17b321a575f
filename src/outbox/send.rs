//! The sender: delivers queued outbox rows exactly once towards people.
//!
//! # Exactly once
//!
//! A mail is at-least-once by construction (it is a committed row until it is marked `sent`);
//! what must not happen is a second copy when the process dies between "the server accepted the
//! mail" and "the row is marked sent". The design:
//!
//! 1. **Deterministic Message-ID.** Every row's Message-ID is derived from (organisation, effect
//!    key) ([`super::message_id_for`]), so a resend after a crash is the very same message and
//!    the question "was it delivered?" has a precise key.
//! 2. **Claim in its own commit.** Before the transport is called the row goes `queued` →
//!    `sending` (with `sending_since`) and that is committed. A row found in `sending` that is
//!    not in flight is *ambiguous*: delivered or not, we do not know from the database alone.
//! 3. **Proof of acceptance travels with the mail.** Every SMTP delivery adds the shared mailbox
//!    to the envelope (a Bcc: in no header, so recipients do not see it). The server accepts the
//!    message for all envelope recipients in one transaction, so the copy in the shared mailbox
//!    exists if and only if the mail was accepted. The file transport's proof is the file itself
//!    (written to a temp name and renamed, so it exists completely or not at all).
//! 4. **Ambiguous rows are resolved, not resent blindly.** At start-up every `sending` row, and
//!    later any row `sending` for longer than [`Policy::stale_after`], is looked up through a
//!    [`SentLedger`]: found → marked `sent` (no second copy); not found and older than
//!    [`Policy::ledger_grace`] (the time a copy needs to arrive) → queued again with the same
//!    Message-ID; not found yet → asked again on the next pass. With an IMAP shared mailbox the
//!    daemon's ledger searches the mailbox's folders themselves by Message-ID
//!    ([`MailboxCopies`], provided by intake), so a mail delivered just before a crash is marked
//!    sent at start-up, and one not delivered is sent again [`MAILBOX_COPY_GRACE`] after its
//!    claim, not only when intake has recorded its copy 15 minutes later.
//!
//! The remaining window is a copy the mailbox has not received within the grace period after a
//! crash; then the partner may get the same Message-ID twice, which mail clients show as one.
//! The copies of our own mails that arrive in the shared mailbox carry `Auto-Submitted` and our
//! own Message-ID ([`super::compose::is_own_message_id`]): intake files them, never answers them.
//!
//! # Order, retries and limits
//!
//! Urgent rows (an urgent concern: `003` §5 says *immediately*) are a lane of their own: they
//! leave first, are never held behind a routine row that waits, and are not held by the rate
//! limit below. Through an outage they back off [`URGENT_MAX_BACKOFF`] at most, and they are due
//! whenever any row is, so the first pass that reaches the server again sends them first. Routine rows leave oldest first, and a row waits while an
//! earlier row to one of its recipients waits (in order per recipient). Transient failures (connection refused, timeouts, 4xx, and 53x
//! authentication trouble, which an admin fixes) are retried with exponential backoff and jitter
//! until `smtp.retry_for` has passed since the row was queued; permanent failures (5xx) mark the
//! row `failed` and queue one `bounce_notice` to the coordinators in the same transaction. A
//! recipient gets at most `smtp.rate_per_recipient_per_hour` mails an hour; more are postponed,
//! not dropped.
//!
//! This module never composes or guards mails: it sends the bytes that were queued.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Notice, Outbox};
use crate::case::Role;
use crate::config::{Auth, Config, Smtp, SmtpServer, TlsMode};
use crate::store::outbox::{OutboxRow, QueueOutcome};
use crate::store::{Store, StoreError};

/// After a wake-up, wait this long for more work before a pass, so that a burst of queued mails
/// (a backfill) costs one pass rather than one per mail.
const WAKE_COALESCE: Duration = Duration::from_millis(100);

/// The longest an urgent row waits between attempts: an alert is retried every few minutes
/// through an outage (it costs one connection attempt), so that it leaves within minutes of the
/// server's return even when no routine mail is due then.
pub const URGENT_MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What a transport says about one delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth another try later: connection refused, timeout, 4xx, TLS or authentication trouble.
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying cannot help: the server refused this mail or a recipient (5xx).
    #[error("permanent: {0}")]
    Permanent(String),
}

/// A way to hand a message to the world.
pub trait Transport: Send + Sync {
    /// Deliver `bytes` to the envelope's recipients. `Ok` means the receiving side took
    /// responsibility for it (SMTP `250` after `DATA`, the file renamed into place).
    fn deliver(
        &self,
        envelope: &Envelope,
        message_id: &str,
        bytes: &[u8],
    ) -> impl std::future::Future<Output = Result<(), SendError>> + Send;

    /// A pass of the sender is over: let go of what was kept for the next delivery (an open
    /// SMTP connection), so that a quiet outbox holds nothing open.
    fn pass_done(&self) -> impl std::future::Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// Where the proof of an earlier delivery can be found: the shared mailbox (intake implements it
/// over IMAP or Maildir; [`StoreLedger`] reads what intake already recorded) or the folder of
/// the file transport.
pub trait SentLedger: Send + Sync {
    /// Did a message with this Message-ID reach its destination?
    fn was_delivered(
        &self,
        message_id: &str,
    ) -> impl std::future::Future<Output = Result<bool, LedgerError>> + Send;
}

/// Looks for the proof copy of a mail we sent in the shared mailbox itself (by Message-ID, in
/// the inbox and intake's folders) instead of waiting until intake has recorded it. Intake, a
/// layer above the outbox, provides it over IMAP; the daemon hands it in.
pub trait MailboxCopies: Send + Sync {
    /// Whether the shared mailbox `config` names holds a message with `message_id`; `Ok(None)`
    /// when this kind of mailbox is not searched (then only what intake recorded counts).
    fn has_copy<'a>(
        &'a self,
        config: &'a Config,
        message_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<bool>, String>>;
}

/// How long after its claim a mail whose copy the shared mailbox does not hold is taken as not
/// delivered, when the mailbox itself is searched ([`MailboxCopies`]): the time the receiving
/// server may take to file an accepted mail (milliseconds on Postfix + Dovecot, seconds on
/// Microsoft 365); the default of `smtp.copy_grace`.
pub const MAILBOX_COPY_GRACE: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot check whether {message_id} was delivered: {message}")]
pub struct LedgerError {
    pub message_id: String,
    pub message: String,
}

/// Where XOAUTH2 access tokens come from (Microsoft 365). The real one is
/// [`crate::oauth::TokenProvider`] (client-credentials flow, cached until shortly before expiry),
/// shared with intake; a trait so that tests and other sign-ins can stand in.
pub trait TokenSource: Send + Sync {
    fn access_token(&self) -> BoxFuture<'_, Result<String, String>>;
    /// The server refused the token: fetch a new one next time.
    fn invalidate(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

impl TokenSource for crate::oauth::TokenProvider {
    fn access_token(&self) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move { self.token(Utc::now()).await.map_err(|e| e.to_string()) })
    }

    fn invalidate(&self) -> BoxFuture<'_, ()> {
        Box::pin(crate::oauth::TokenProvider::invalidate(self))
    }
}

/// A fixed token (tests, or a token minted outside).
#[derive(Debug, Clone)]
pub struct StaticToken(pub String);

impl TokenSource for StaticToken {
    fn access_token(&self) -> BoxFuture<'_, Result<String, String>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

// ---------------------------------------------------------------------------------------------
// The file transport
// ---------------------------------------------------------------------------------------------

/// Writes each message as `<message-id>.eml` into a folder, byte for byte what SMTP would send;
/// its own ledger (the file is the proof).
#[derive(Debug, Clone)]
pub struct FileTransport {
    dir: PathBuf,
}

impl FileTransport {
    pub fn new(dir: impl Into<PathBuf>) -> FileTransport {
        FileTransport { dir: dir.into() }
    }

    /// The file a Message-ID is written to: its text without `<>`, anything but
    /// `[A-Za-z0-9._@-]` replaced, so that no Message-ID can name another path.
    pub fn path_for(&self, message_id: &str) -> PathBuf {
        let name: String = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = name.trim_start_matches('.');
        self.dir.join(format!("{name}.eml"))
    }

    /// Write one message atomically (temp file, fsync, rename, fsync of the folder): after a
    /// crash the file is complete or absent, which is what makes it a proof of delivery.
    /// Blocking; [`Transport::deliver`] runs it on the blocking pool.
    pub fn write_message(&self, message_id: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        use std::io::Write;
        let dir = &self.dir;
        let path = self.path_for(message_id);
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let result = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            // The rename is durable only once the folder is synced.
            std::fs::File::open(dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map(|()| path)
    }
}

impl Transport for FileTransport {
    async fn deliver(
        &self,
        _envelope: &Envelope,
        message_id: &str,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        let this = self.clone();
        let message_id = message_id.to_string();
        let bytes = bytes.to_vec();
        tokio::task::spawn_blocking(move || this.write_message(&message_id, &bytes))
            .await
            .map_err(|e| SendError::Transient(format!("file writer: {e}")))?
            .map(|_| ())
            .map_err(|e| SendError::Transient(format!("cannot write the .eml file: {e}")))
    }
}

impl SentLedger for FileTransport {
    async fn was_delivered(&self, message_id: &str) -> Result<bool, LedgerError> {
        let path = self.path_for(message_id);
        tokio::fs::try_exists(&path).await.map_err(|e| LedgerError {
            message_id: message_id.to_string(),
            message: e.to_string(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The SMTP transport
// ---------------------------------------------------------------------------------------------

/// SMTP submission with lettre: implicit TLS, STARTTLS, or plain (loopback only); AUTH PLAIN /
/// LOGIN with a password, or XOAUTH2 with a token from a [`TokenSource`].
#[derive(Clone)]
pub struct SmtpTransport {
    server: SmtpServer,
    tokens: Option<Arc<dyn TokenSource>>,
    timeout: Duration,
    /// The connection kept open from one delivery to the next (lettre's pool, one connection:
    /// the sender hands over one mail at a time, in queue order, so each recipient's mails
    /// arrive in order), with the credentials it signed in with. One connection per mail
    /// managed 21 mails/s through Postfix: the TCP, TLS, EHLO and AUTH of each cost more than
    /// the mail. Shared by clones.
    pooled: Arc<tokio::sync::Mutex<Option<Pooled>>>,
}

/// A transport whose connection is kept, and the credentials it was built with: when the
/// password file or the OAuth2 token changes, the next delivery builds a new one.
struct Pooled {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    credentials: Option<Credentials>,
}

/// How long an unused connection stays open: the sender wakes for new mail well within it in
/// a burst, and a quiet mailbox holds no connection.
const IDLE_CONNECTION: Duration = Duration::from_secs(30);

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("host", &self.server.host)
            .field("port", &self.server.port)
            .finish()
    }
}

impl SmtpTransport {
    /// `tokens` defaults, for XOAUTH2, to a [`crate::oauth::TokenProvider`] of the configured
    /// client; pass intake's to share one token cache.
    pub fn new(server: SmtpServer, tokens: Option<Arc<dyn TokenSource>>) -> SmtpTransport {
        let tokens = tokens.or_else(|| match &server.auth {
            Some(Auth::Oauth2 { oauth2, .. }) => {
                Some(Arc::new(crate::oauth::TokenProvider::new(oauth2.clone()))
                    as Arc<dyn TokenSource>)
            }
            _ => None,
        });
        SmtpTransport {
            server,
            tokens,
            timeout: Duration::from_secs(60),
            pooled: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// The password or token as it is now, read for every delivery (rotated secrets and
    /// expiring tokens just work), with the mechanisms to offer it with.
    async fn credentials(&self) -> Result<Option<(Credentials, Vec<Mechanism>)>, SendError> {
        match &self.server.auth {
            None => Ok(None),
            Some(Auth::Password { user, password }) => {
                let password = password.reveal().map_err(|e| {
                    SendError::Transient(format!("cannot read the SMTP password: {e}"))
                })?;
                Ok(Some((
                    Credentials::new(user.clone(), password),
                    vec![Mechanism::Plain, Mechanism::Login],
                )))
            }
            Some(Auth::Oauth2 { user, .. }) => {
                let Some(tokens) = &self.tokens else {
                    return Err(SendError::Transient(
                        "XOAUTH2 is configured but there is no token source".into(),
                    ));
                };
                let token = tokens.access_token().await.map_err(|e| {
                    SendError::Transient(format!("cannot get an OAuth2 token: {e}"))
                })?;
                Ok(Some((
                    Credentials::new(user.clone(), token),
                    vec![Mechanism::Xoauth2],
                )))
            }
        }
    }

    /// A transport of its own, for one use (`check --connect`).
    async fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let credentials = self.credentials().await?;
        self.build(credentials)
    }

    /// A transport signing in with `credentials`, keeping one connection open between uses.
    fn build(
        &self,
        credentials: Option<(Credentials, Vec<Mechanism>)>,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let s = &self.server;
        let builder = match s.tls {
            TlsMode::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                .map_err(|e| SendError::Transient(format!("TLS setup for {}: {e}", s.host)))?,
            TlsMode::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| SendError::Transient(format!("TLS setup for {}: {e}", s.host)))?,
            TlsMode::Plain => {
                if !is_loopback(&s.host) {
                    return Err(SendError::Transient(format!(
                        "plain SMTP to {} refused: only loopback may go without TLS",
                        s.host
                    )));
                }
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            }
        };
        let pool = lettre::transport::smtp::PoolConfig::new()
            .max_size(1)
            .idle_timeout(IDLE_CONNECTION);
        let mut builder = builder
            .port(s.port)
            .timeout(Some(self.timeout))
            .pool_config(pool);
        if let Some((credentials, mechanisms)) = credentials {
            builder = builder.credentials(credentials).authentication(mechanisms);
        }
        Ok(builder.build())
    }
}

impl SmtpTransport {
    /// `check --connect`: connect, EHLO, sign in as configured, and quit.
    pub async fn probe(&self) -> Result<String, String> {
        let transport = self.transport().await.map_err(|e| e.to_string())?;
        match transport.test_connection().await {
            Ok(true) => Ok(format!(
                "EHLO and sign-in accepted by {}:{}",
                self.server.host, self.server.port
            )),
            Ok(false) => Err(format!(
                "{}:{} did not accept the connection",
                self.server.host, self.server.port
            )),
            Err(e) => Err(format!(
                "{}:{}: {}",
                self.server.host,
                self.server.port,
                classify(&e)
            )),
        }
    }
}

/// The config validation allows plain SMTP only to these; checked again right before connecting.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Sort a lettre error: 5xx is permanent, except 53x (authentication), which is ours to fix and
/// retried; everything else (4xx, I/O, TLS, timeouts) is transient.
pub fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let code = e.status().map(u16::from);
    let text = e.to_string();
    match code {
        Some(c) if (530..540).contains(&c) => SendError::Transient(text),
        _ if e.is_permanent() => SendError::Permanent(text),
        _ => SendError::Transient(text),
    }
}

impl Transport for SmtpTransport {
    async fn deliver(
        &self,
        envelope: &Envelope,
        _message_id: &str,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        let credentials = self.credentials().await?;
        // Held for the delivery: one mail at a time goes through the kept connection.
        let mut pooled = self.pooled.lock().await;
        let current = credentials.as_ref().map(|(c, _)| c.clone());
        if pooled.as_ref().is_none_or(|p| p.credentials != current) {
            *pooled = Some(Pooled {
                transport: self.build(credentials)?,
                credentials: current,
            });
        }
        let Some(kept) = pooled.as_ref() else {
            return Err(SendError::Transient("no SMTP transport".into()));
        };
        let result = kept.transport.send_raw(envelope, bytes).await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                // A failed delivery may have left the connection in any state: the next one
                // starts afresh.
                *pooled = None;
                let refused_login = e
                    .status()
                    .map(u16::from)
                    .is_some_and(|c| (530..540).contains(&c));
                if refused_login {
                    if let (Some(Auth::Oauth2 { .. }), Some(tokens)) =
                        (&self.server.auth, &self.tokens)
                    {
                        tokens.invalidate().await;
                    }
                }
                Err(classify(&e))
            }
        }
    }

    /// QUIT on the kept connection, if there is one.
    async fn pass_done(&self) {
        let kept = self.pooled.lock().await.take();
        if let Some(kept) = kept {
            kept.transport.shutdown().await;
        }
    }
}

/// The transport the config names.
#[derive(Debug, Clone)]
// One per sender, never in a collection: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum AnyTransport {
    Smtp(SmtpTransport),
    File(FileTransport),
}

impl AnyTransport {
    pub fn from_config(config: &Config, tokens: Option<Arc<dyn TokenSource>>) -> AnyTransport {
        match &config.smtp {
            Smtp::Server(server) => AnyTransport::Smtp(SmtpTransport::new(server.clone(), tokens)),
            Smtp::File { path, .. } => AnyTransport::File(FileTransport::new(path.clone())),
        }
    }
}

impl Transport for AnyTransport {
    async fn deliver(
        &self,
        envelope: &Envelope,
        message_id: &str,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        match self {
            AnyTransport::Smtp(t) => t.deliver(envelope, message_id, bytes).await,
            AnyTransport::File(t) => t.deliver(envelope, message_id, bytes).await,
        }
    }

    async fn pass_done(&self) {
        if let AnyTransport::Smtp(t) = self {
            t.pass_done().await;
        }
    }
}

/// The ledger over what intake recorded: the Bcc copy of a mail we sent, once intake stored it,
/// is a row in `mails` with our Message-ID.
#[derive(Debug, Clone)]
pub struct StoreLedger(pub Store);

impl SentLedger for StoreLedger {
    async fn was_delivered(&self, message_id: &str) -> Result<bool, LedgerError> {
        self.0
            .mailbox_has_message_id(message_id)
            .await
            .map_err(|e| LedgerError {
                message_id: message_id.to_string(),
                message: e.to_string(),
            })
    }
}

/// What intake recorded, and else the shared mailbox's folders themselves: a copy that arrived
/// while the daemon was down, or that intake has not handled yet, is found at once.
#[derive(Clone)]
pub struct MailboxLedger {
    pub store: StoreLedger,
    pub config: Arc<Config>,
    pub copies: Arc<dyn MailboxCopies>,
}

impl std::fmt::Debug for MailboxLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxLedger").finish_non_exhaustive()
    }
}

impl SentLedger for MailboxLedger {
    async fn was_delivered(&self, message_id: &str) -> Result<bool, LedgerError> {
        if self.store.was_delivered(message_id).await? {
            return Ok(true);
        }
        match self.copies.has_copy(&self.config, message_id).await {
            Ok(found) => Ok(found.unwrap_or(false)),
            Err(message) => Err(LedgerError {
                message_id: message_id.to_string(),
                message,
            }),
        }
    }
}

/// The ledger the config implies: the folder for the file transport, what intake recorded for
/// SMTP, and with [`Sender::searching_mailbox`] the shared mailbox's folders too.
#[derive(Debug, Clone)]
pub enum AnyLedger {
    Store(StoreLedger),
    File(FileTransport),
    Mailbox(MailboxLedger),
}

impl AnyLedger {
    pub fn from_config(config: &Config, store: &Store) -> AnyLedger {
        match &config.smtp {
            Smtp::Server(_) => AnyLedger::Store(StoreLedger(store.clone())),
            Smtp::File { path, .. } => AnyLedger::File(FileTransport::new(path.clone())),
        }
    }
}

impl SentLedger for AnyLedger {
    async fn was_delivered(&self, message_id: &str) -> Result<bool, LedgerError> {
        match self {
            AnyLedger::Store(l) => l.was_delivered(message_id).await,
            AnyLedger::File(l) => l.was_delivered(message_id).await,
            AnyLedger::Mailbox(l) => l.was_delivered(message_id).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Policy and the pure parts
// ---------------------------------------------------------------------------------------------

/// The sender's knobs; [`Policy::from_config`] gives the production values.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Transient failures are retried this long after the row was queued (`smtp.retry_for`).
    pub retry_for: Duration,
    /// `smtp.rate_per_recipient_per_hour`; 0 = no limit.
    pub rate_per_recipient_per_hour: u32,
    /// First retry after this; doubled per attempt.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A row `sending` for longer than this is not in flight any more (the SMTP timeout is 60 s).
    pub stale_after: Duration,
    /// How long the proof of a delivery may take to show up in the ledger (the Bcc copy to
    /// arrive in the shared mailbox and be seen by intake).
    pub ledger_grace: Duration,
    /// Rows looked at per pass.
    pub batch: i64,
    /// Time between passes when nothing wakes the sender.
    pub poll: Duration,
    /// Whether to Bcc the shared mailbox (the proof of acceptance for SMTP).
    pub bcc_shared_mailbox: bool,
}

impl Policy {
    pub fn from_config(config: &Config) -> Policy {
        let (retry_for, rate, file) = match &config.smtp {
            Smtp::Server(s) => (s.retry_for, s.rate_per_recipient_per_hour, false),
            Smtp::File { retry_for, .. } => (*retry_for, 0, true),
        };
        Policy {
            retry_for,
            rate_per_recipient_per_hour: rate,
            base_backoff: Duration::from_secs(60),
            max_backoff: Duration::from_secs(3600),
            stale_after: Duration::from_secs(300),
            // The file is its own proof: no waiting.
            ledger_grace: if file {
                Duration::ZERO
            } else {
                Duration::from_secs(900)
            },
            batch: 500,
            poll: Duration::from_secs(10),
            bcc_shared_mailbox: !file,
        }
    }
}

/// The wait before attempt `attempts + 1`: `base · 2^(attempts-1)`, capped, spread by ±20 %
/// (`jitter` in [0, 1)) so that many mails failing together do not retry together.
pub fn backoff(policy: &Policy, attempts: i64, jitter: f64) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let raw = policy
        .base_backoff
        .saturating_mul(2u32.saturating_pow(exp))
        .min(policy.max_backoff);
    raw.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The envelope of a row: its recipients, plus the shared mailbox as the proof copy.
fn envelope(config: &Config, row: &OutboxRow, bcc: bool) -> Result<Envelope, String> {
    let from: Address = config
        .organisation
        .shared_mailbox
        .parse()
        .map_err(|e| format!("shared mailbox: {e}"))?;
    let mut to: Vec<Address> = row
        .recipients
        .iter()
        .map(|r| r.parse().map_err(|e| format!("recipient: {e}")))
        .collect::<Result<_, String>>()?;
    if bcc && !to.contains(&from) {
        to.push(from.clone());
    }
    Envelope::new(Some(from), to).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// The sender
// ---------------------------------------------------------------------------------------------

/// What one pass did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub postponed: usize,
    /// Ambiguous rows found delivered (marked sent without a second copy).
    pub resolved_delivered: usize,
    /// Ambiguous rows found not delivered (queued again).
    pub resolved_resend: usize,
}

/// The sender task's state: its dependencies, passed in (the daemon and the tests build it the
/// same way).
pub struct Sender<T, L> {
    pub store: Store,
    pub config: Arc<Config>,
    /// For the coordinator's `bounce_notice` on a permanent failure.
    pub outbox: Arc<Outbox>,
    pub transport: T,
    pub ledger: L,
    pub policy: Policy,
    /// Wakes the sender at once (after a commit that queued mail).
    pub wake: Arc<Notify>,
}

impl Sender<AnyTransport, AnyLedger> {
    /// The sender the config describes.
    pub fn from_config(
        store: Store,
        config: Arc<Config>,
        outbox: Arc<Outbox>,
        tokens: Option<Arc<dyn TokenSource>>,
    ) -> Self {
        Sender {
            transport: AnyTransport::from_config(&config, tokens),
            ledger: AnyLedger::from_config(&config, &store),
            policy: Policy::from_config(&config),
            store,
            config,
            outbox,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Resolve interrupted rows by searching the shared mailbox's folders for their copies too
    /// (SMTP only: the file transport's folder is its own proof). A copy found there means
    /// sent at once; none there [`MAILBOX_COPY_GRACE`] after the claim means not delivered.
    pub fn searching_mailbox(mut self, copies: Arc<dyn MailboxCopies>) -> Self {
        if let AnyLedger::Store(store) = &self.ledger {
            self.ledger = AnyLedger::Mailbox(MailboxLedger {
                store: store.clone(),
                config: self.config.clone(),
                copies,
            });
            let grace = match &self.config.smtp {
                Smtp::Server(s) => s.copy_grace,
                Smtp::File { .. } => MAILBOX_COPY_GRACE,
            };
            self.policy.ledger_grace = self.policy.ledger_grace.min(grace);
        }
        self
    }
}

impl<T: Transport, L: SentLedger> Sender<T, L> {
    /// Run until `shutdown`: first resolve every row a previous process left in `sending`, then
    /// a pass whenever woken or every [`Policy::poll`]. A mail in flight is finished before
    /// returning; no new one is started after `shutdown`.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), StoreError> {
        let mut orphans = Orphans::default();
        self.recover_orphans(Utc::now(), &mut orphans).await?;
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            self.pass(&shutdown, &mut orphans).await?;
            if !self.sleep(&shutdown).await {
                return Ok(());
            }
        }
    }

    /// At start-up: whatever is `sending` was left by a process that is gone.
    pub async fn recover(&self, now: DateTime<Utc>) -> Result<PassReport, StoreError> {
        self.recover_orphans(now, &mut Orphans::default()).await
    }

    /// [`Sender::recover`], remembering in `orphans` the rows it could not resolve yet (no copy
    /// in the mailbox, claimed less than [`Policy::ledger_grace`] ago): no process has them in
    /// flight, so [`Sender::run_once_after_recovery`] looks at them again on every pass, and
    /// sends them again once the grace is over rather than after [`Policy::stale_after`].
    pub async fn recover_orphans(
        &self,
        now: DateTime<Utc>,
        orphans: &mut Orphans,
    ) -> Result<PassReport, StoreError> {
        self.resolve_ambiguous(now, Duration::ZERO, orphans).await
    }

    /// One logged pass; database trouble is logged and retried on the next pass.
    async fn pass(
        &self,
        shutdown: &CancellationToken,
        orphans: &mut Orphans,
    ) -> Result<(), StoreError> {
        match self.run_once_until(Utc::now(), shutdown, orphans).await {
            Ok(report) if report != PassReport::default() => {
                tracing::info!(?report, "outbox pass");
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) if e.is_transient() => {
                tracing::warn!("outbox pass stopped, retrying: {e}");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Wait for a wake-up or the poll interval; false on shutdown.
    async fn sleep(&self, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = self.wake.notified() => {
                // Coalesce: intake rings after every mail it commits; during a backfill that is
                // many times a second, and one pass per ring would rescan the queue each time.
                tokio::select! {
                    _ = shutdown.cancelled() => false,
                    _ = tokio::time::sleep(WAKE_COALESCE) => true,
                }
            }
            _ = tokio::time::sleep(self.policy.poll) => true,
        }
    }

    /// One pass at `now`: resolve stale `sending` rows, then deliver what is due.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<PassReport, StoreError> {
        self.run_once_until(now, &CancellationToken::new(), &mut Orphans::default())
            .await
    }

    /// One pass at `now` as the daemon's loop makes it after [`Sender::recover_orphans`]: the
    /// rows a dead process left in `sending` are resolved as soon as their grace is over.
    pub async fn run_once_after_recovery(
        &self,
        now: DateTime<Utc>,
        orphans: &mut Orphans,
    ) -> Result<PassReport, StoreError> {
        self.run_once_until(now, &CancellationToken::new(), orphans)
            .await
    }

    async fn run_once_until(
        &self,
        now: DateTime<Utc>,
        shutdown: &CancellationToken,
        orphans: &mut Orphans,
    ) -> Result<PassReport, StoreError> {
        let mut report = self
            .resolve_ambiguous(now, self.policy.stale_after, orphans)
            .await?;
        let mut sent_last_hour: HashMap<String, u32> = HashMap::new();
        if self.policy.rate_per_recipient_per_hour > 0 {
            for recipients in self
                .store
                .outbox_sent_since(now - chrono::Duration::hours(1))
                .await?
            {
                for r in recipients {
                    *sent_last_hour.entry(r).or_default() += 1;
                }
            }
        }
        // Recipients with an earlier mail still waiting: later mails to them wait too.
        let mut blocked: HashSet<String> = HashSet::new();
        let queued = self.store.outbox_queued(self.policy.batch).await?;
        // When any row is due, every urgent row is too: after an outage the first pass that
        // reaches the server sends the alerts before routine mail, however far their own
        // backoff had grown.
        let any_due = queued.iter().any(|row| row.next_attempt_at <= now);
        for row in queued {
            if shutdown.is_cancelled() {
                break;
            }
            // The priority lane: urgent rows are never held behind routine ones.
            let due = row.next_attempt_at <= now || row.urgent && any_due;
            let waits = !due || !row.urgent && row.recipients.iter().any(|r| blocked.contains(r));
            if waits {
                blocked.extend(row.recipients.iter().cloned());
                continue;
            }
            let limit = self.policy.rate_per_recipient_per_hour;
            if limit > 0
                && !row.urgent
                && row
                    .recipients
                    .iter()
                    .any(|r| sent_last_hour.get(r).copied().unwrap_or(0) >= limit)
            {
                let later = now + chrono::Duration::minutes(5);
                if self.store.postpone_outbox(row.id, later).await? {
                    tracing::warn!(
                        id = row.id,
                        "outbox: per-recipient rate limit reached, postponed"
                    );
                    report.postponed += 1;
                }
                blocked.extend(row.recipients.iter().cloned());
                continue;
            }
            match self.deliver(&row, now, shutdown).await? {
                Delivery::Sent => {
                    report.sent += 1;
                    for r in &row.recipients {
                        *sent_last_hour.entry(r.clone()).or_default() += 1;
                    }
                }
                Delivery::Retry => {
                    report.retried += 1;
                    blocked.extend(row.recipients.iter().cloned());
                }
                Delivery::Failed => report.failed += 1,
                Delivery::Taken => {}
            }
        }
        self.transport.pass_done().await;
        Ok(report)
    }

    /// Claim, hand to the transport, record the outcome.
    async fn deliver(
        &self,
        row: &OutboxRow,
        now: DateTime<Utc>,
        shutdown: &CancellationToken,
    ) -> Result<Delivery, StoreError> {
        let claimed = self.store.claim_outbox(row.id, now).await;
        let bytes = match claimed {
            Ok(false) => return Ok(Delivery::Taken),
            Ok(true) => self.store.outbox_message(row.id).await,
            Err(e) => Err(e),
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(e) if e.is_transient() => {
                // The store went away around the claim (its commit may have landed with the
                // answer lost). Nothing was handed to the server, so the row is put back at once
                // when the store returns, not left `sending` for the stale resolution.
                self.record(shutdown, || {
                    self.store.mark_outbox_retry(
                        row.id,
                        now,
                        "the database was unavailable while claiming: not sent, trying again",
                    )
                })
                .await?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let attempts = row.attempts + 1;
        let result = match envelope(&self.config, row, self.policy.bcc_shared_mailbox) {
            Ok(env) => self.transport.deliver(&env, &row.message_id, &bytes).await,
            Err(e) => Err(SendError::Permanent(format!("bad envelope: {e}"))),
        };
        match result {
            Ok(()) => {
                self.record(shutdown, || self.store.mark_outbox_sent(row.id, now))
                    .await?;
                tracing::info!(id = row.id, kind = %row.kind, case = row.case_ref.as_deref().unwrap_or("-"), "mail sent");
                Ok(Delivery::Sent)
            }
            Err(SendError::Transient(e)) => {
                let deadline = row.retry_from + chrono(self.policy.retry_for);
                if now >= deadline {
                    self.fail(
                        row,
                        &format!("gave up after {:?}: {e}", self.policy.retry_for),
                        now,
                    )
                    .await?;
                    return Ok(Delivery::Failed);
                }
                let mut wait = backoff(&self.policy, attempts, rand::random::<f64>());
                if row.urgent {
                    wait = wait.min(URGENT_MAX_BACKOFF);
                }
                let next = (now + chrono(wait)).min(deadline);
                self.record(shutdown, || self.store.mark_outbox_retry(row.id, next, &e))
                    .await?;
                tracing::warn!(id = row.id, attempts, %next, "mail not sent, will retry: {e}");
                Ok(Delivery::Retry)
            }
            Err(SendError::Permanent(e)) => {
                self.fail(row, &e, now).await?;
                Ok(Delivery::Failed)
            }
        }
    }

    /// Write the outcome of a delivery the server has answered. Only this pass knows it, and the
    /// store may be away right then (PostgreSQL restarting, the SQLite file locked by another
    /// process past the busy timeout): the write is tried again until the store takes it, rather
    /// than leaving the row `sending` for [`Policy::stale_after`] until the ambiguous-row
    /// resolution finds it. Gives up on shutdown or after `stale_after` (that resolution then
    /// takes over, as after a crash).
    async fn record<R, F, Fut>(
        &self,
        shutdown: &CancellationToken,
        mut write: F,
    ) -> Result<R, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<R, StoreError>>,
    {
        let began = std::time::Instant::now();
        let mut wait = Duration::from_millis(200);
        loop {
            match write().await {
                Err(e)
                    if e.is_transient()
                        && !shutdown.is_cancelled()
                        && began.elapsed() < self.policy.stale_after =>
                {
                    tracing::warn!("cannot record a delivery's outcome yet, trying again: {e}");
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                done => return done,
            }
        }
    }

    /// Mark a row failed and tell the coordinators once, in one transaction.
    async fn fail(
        &self,
        row: &OutboxRow,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        tracing::error!(id = row.id, kind = %row.kind, case = row.case_ref.as_deref().unwrap_or("-"), "mail failed permanently: {error}");
        let mut tx = self.store.begin().await?;
        tx.mark_outbox_failed(row.id, error, now).await?;
        tell_coordinators(&mut tx, &self.config, &self.outbox, row, error, now).await?;
        tx.commit().await
    }

    /// Rows `sending` for longer than `older_than`, and every row in `orphans` (left by a dead
    /// process): look for the proof of delivery. With `older_than` zero (start-up) every row
    /// not resolved yet becomes an orphan.
    async fn resolve_ambiguous(
        &self,
        now: DateTime<Utc>,
        older_than: Duration,
        orphans: &mut Orphans,
    ) -> Result<PassReport, StoreError> {
        let mut report = PassReport::default();
        let sending = self.store.outbox_sending().await?;
        orphans
            .0
            .retain(|id| sending.iter().any(|row| row.id == *id));
        for row in sending {
            let since = row.sending_since.unwrap_or(row.created_at);
            if older_than.is_zero() {
                orphans.0.insert(row.id);
            }
            if now - since < chrono(older_than) && !orphans.0.contains(&row.id) {
                continue;
            }
            match self.ledger.was_delivered(&row.message_id).await {
                Ok(true) => {
                    orphans.0.remove(&row.id);
                    if self.store.mark_outbox_sent(row.id, now).await? {
                        tracing::info!(id = row.id, "mail found delivered after an interruption: marked sent, not sent again");
                        report.resolved_delivered += 1;
                    }
                }
                Ok(false) if now - since >= chrono(self.policy.ledger_grace) => {
                    orphans.0.remove(&row.id);
                    if self
                        .store
                        .mark_outbox_retry(
                            row.id,
                            now,
                            "interrupted while sending and no delivered copy found: sending again",
                        )
                        .await?
                    {
                        tracing::warn!(
                            id = row.id,
                            "mail interrupted while sending and not delivered: queued again"
                        );
                        report.resolved_resend += 1;
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(id = row.id, "{e}"),
            }
        }
        Ok(report)
    }
}

/// Rows a process that is gone left in `sending`, not resolved yet at start-up: no process
/// has them in flight, so they are looked up on every pass, not only once they are
/// [`Policy::stale_after`] old (see [`Sender::recover_orphans`]).
#[derive(Debug, Default, Clone)]
pub struct Orphans(HashSet<i64>);

impl Orphans {
    /// How many rows are still waiting for their proof of delivery or their grace to end.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Queue the one `bounce_notice` about a failed row (dedupe `outbox:<id>`), unless the failed
/// mail is itself such a notice (that would loop).
async fn tell_coordinators(
    tx: &mut crate::store::Tx,
    config: &Config,
    outbox: &Outbox,
    row: &OutboxRow,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if row.kind == "bounce_notice" {
        return Ok(());
    }
    let notice = Notice {
        template: "bounce_notice".into(),
        case_ref: None,
        to: vec![Role::Coordinator],
        to_sender: false,
        urgent: false,
        data: serde_json::json!({
            "recipient": row.recipients.join(", "),
            "subject": row.subject,
            "error": crate::understand::reasons::smtp_error_dutch(error),
            "case_ref": row.case_ref,
        }),
        dedupe: format!("outbox:{}", row.id),
    };
    match outbox.prepare(config, &notice, None, None, None, now) {
        Ok(mail) => {
            if let QueueOutcome::Queued(id) = tx.queue(&mail, now).await? {
                tracing::info!(id, failed = row.id, "coordinators told about a failed mail");
            }
        }
        Err(e) => {
            tracing::error!(
                failed = row.id,
                "cannot tell the coordinators about a failed mail: {e}"
            )
        }
    }
    Ok(())
}

/// A bounce (DSN) came back into the shared mailbox for one of our mails: intake calls this with
/// the Message-ID the bounce names. The row becomes `failed` and the coordinators are told once,
/// in one transaction. Returns false when the Message-ID is not one of our sent mails.
pub async fn record_bounce(
    store: &Store,
    config: &Config,
    outbox: &Outbox,
    message_id: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(row) = store.outbox_by_message_id(message_id).await? else {
        return Ok(false);
    };
    let mut tx = store.begin().await?;
    if !record_bounce_in(&mut tx, config, outbox, &row, error, now).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// [`record_bounce`] inside the caller's transaction (intake: with the bounce mail's own
/// outcome), for a row the caller looked up. False when the row is not `sent`.
pub async fn record_bounce_in(
    tx: &mut crate::store::Tx,
    config: &Config,
    outbox: &Outbox,
    row: &OutboxRow,
    error: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if !tx.mark_outbox_bounced(row.id, error).await? {
        return Ok(false);
    }
    tracing::warn!(id = row.id, kind = %row.kind, case = row.case_ref.as_deref().unwrap_or("-"), "mail bounced: {error}");
    tell_coordinators(tx, config, outbox, row, error, now).await?;
    Ok(true)
}

/// Why the daemon's sender task stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Templates(#[from] super::TemplateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The daemon's sender task: the sender the config describes, rebuilt when the config is
/// reloaded (SIGHUP; a reload whose templates fail keeps the previous sender). `current_config`
/// reads the config as it is now (the daemon's [`crate::context::Context::config`]); `wake` lets
/// the code that queues mail start a pass at once; `copies` searches the shared mailbox for the
/// proof of mails a crash left in `sending` ([`Sender::searching_mailbox`]).
pub async fn run(
    store: Store,
    current_config: impl Fn() -> Arc<Config>,
    shutdown: CancellationToken,
    wake: Arc<Notify>,
    copies: Option<Arc<dyn MailboxCopies>>,
) -> Result<(), RunError> {
    let build = |config: Arc<Config>| -> Result<Sender<AnyTransport, AnyLedger>, RunError> {
        let outbox = Arc::new(Outbox::load(&config)?);
        let mut sender = Sender::from_config(store.clone(), config, outbox, None);
        if let Some(copies) = &copies {
            sender = sender.searching_mailbox(copies.clone());
        }
        sender.wake = wake.clone();
        Ok(sender)
    };
    let mut config = current_config();
    let mut sender = build(config.clone())?;
    let mut orphans = Orphans::default();
    sender.recover_orphans(Utc::now(), &mut orphans).await?;
    loop {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let latest = current_config();
        if !Arc::ptr_eq(&latest, &config) {
            match build(latest.clone()) {
                Ok(fresh) => sender = fresh,
                Err(e) => tracing::error!("reloaded config not used by the outbox: {e}"),
            }
            config = latest;
        }
        sender.pass(&shutdown, &mut orphans).await?;
        if !sender.sleep(&shutdown).await {
            return Ok(());
        }
    }
}

enum Delivery {
    Sent,
    Retry,
    Failed,
    /// Another sender claimed it first.
    Taken,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::from_config(&crate::outbox::testing::config())
    }

    #[test]
    fn backoff_doubles_from_a_minute_up_to_an_hour() {
        let p = policy();
        let table = [
            (1, 60),
            (2, 120),
            (3, 240),
            (6, 1920),
            (7, 3600),
            (40, 3600),
        ];
        for (attempts, secs) in table {
            assert_eq!(
                backoff(&p, attempts, 0.5),
                Duration::from_secs(secs),
                "{attempts}"
            );
        }
    }

    #[test]
    fn jitter_spreads_a_retry_by_twenty_percent() {
        let p = policy();
        assert_eq!(backoff(&p, 1, 0.0), Duration::from_secs(48));
        assert_eq!(backoff(&p, 1, 1.0), Duration::from_secs(72));
    }

    #[test]
    fn a_message_id_cannot_name_another_path() {
        let t = FileTransport::new("/tmp/sent");
        assert_eq!(
            t.path_for("<abc.doorstroom@woonhaven.example>"),
            PathBuf::from("/tmp/sent/abc.doorstroom@woonhaven.example.eml")
        );
        assert_eq!(
            t.path_for("<../../etc/passwd>"),
            PathBuf::from("/tmp/sent/_.._etc_passwd.eml")
        );
    }
}
