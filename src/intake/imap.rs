//! The project's own IMAP client: one authenticated session on one mailbox, with exactly the
//! commands intake needs (select, search, peek-fetch, move, create, IDLE, append), and the search
//! the outbox needs for the proof copy of a mail it sent (examine, search by Message-ID).
//!
//! It owns the connection (implicit TLS, STARTTLS, or plain towards loopback only), sign-in
//! (LOGIN, AUTHENTICATE PLAIN, XOAUTH2 with a token handed in), and the sorting of every failure
//! into *transient* (network, server going away, timeouts: retry later) or *permanent* (sign-in
//! refused, folder missing: an admin must act). It never sets a flag on its own: mail is read with
//! `BODY.PEEK[]` so `\Seen` stays as the coordinator left it (RFC 3501 §6.4.5), and the only
//! messages it ever expunges are the ones it has just copied elsewhere (UID EXPUNGE, RFC 4315).
//! It never decides what a mail means, never fetches OAuth2 tokens, and never loops or reconnects:
//! that is the caller's job ([`crate::intake`]).

use std::collections::BTreeSet;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::imap_proto::{MailboxDatum, Response, Status};
use async_imap::types::UnsolicitedResponse;
use async_imap::{Authenticator, Client, Session};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::config::{is_loopback, TlsMode};

/// How many messages one `UID FETCH` asks for at most (and one intake batch of any source
/// holds, see [`super::batches`]), so that a backfill of thousands of mails keeps memory
/// bounded. A batch is also one transaction of intake: 200 rather than 50 made the backfill benchmark's
/// 10,000 mails 15 % faster (fewer commits and round trips).
pub const FETCH_BATCH: usize = 200;

/// How many bytes of mail one `UID FETCH` asks for at most (by `RFC822.SIZE`; a Maildir or
/// `ingest` batch by file size); a larger mail is fetched alone.
pub const FETCH_BYTES: u64 = 16 << 20;

/// RFC 2177 §3: clients should re-issue IDLE at least every 29 minutes; callers pass at most this.
pub const MAX_IDLE: Duration = Duration::from_secs(29 * 60);

/// Without IDLE on the server, [`ImapSession::idle`] polls with NOOP this often instead.
const NOOP_POLL: Duration = Duration::from_secs(30);

/// Where the IMAP server is and how to talk to it.
#[derive(Debug, Clone)]
pub struct ImapServer {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Bound on connecting and on every single command; a server that stops answering is a
    /// transient error, never a hang.
    pub timeout: Duration,
}

impl ImapServer {
    pub fn new(host: impl Into<String>, port: u16, tls: TlsMode) -> Self {
        ImapServer {
            host: host.into(),
            port,
            tls,
            timeout: Duration::from_secs(60),
        }
    }
}

/// How to sign in. The password or token is borrowed: this module never stores secrets.
#[derive(Clone, Copy)]
pub enum Credentials<'a> {
    /// `LOGIN user password` (RFC 3501 §6.2.3).
    Login { user: &'a str, password: &'a str },
    /// `AUTHENTICATE PLAIN` (RFC 4616), for servers that disable LOGIN.
    Plain { user: &'a str, password: &'a str },
    /// `AUTHENTICATE XOAUTH2` with an access token fetched elsewhere (Microsoft 365, Google).
    XOauth2 {
        user: &'a str,
        access_token: &'a str,
    },
}

impl Credentials<'_> {
    fn user(&self) -> &str {
        match self {
            Credentials::Login { user, .. }
            | Credentials::Plain { user, .. }
            | Credentials::XOauth2 { user, .. } => user,
        }
    }
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Credentials::Login { .. } => "Login",
            Credentials::Plain { .. } => "Plain",
            Credentials::XOauth2 { .. } => "XOauth2",
        };
        write!(f, "{kind} {{ user: {:?}, .. }}", self.user())
    }
}

/// Everything that can go wrong talking IMAP, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImapError {
    #[error("cannot connect to IMAP server {host}:{port}: {source}")]
    Connect {
        host: String,
        port: u16,
        source: io::Error,
    },
    #[error(
        "plain IMAP to `{host}` would send the password in clear; use implicit TLS or STARTTLS"
    )]
    PlainRefused { host: String },
    #[error("TLS with IMAP server {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("IMAP server {host} refused STARTTLS: {reason}")]
    StartTlsRefused { host: String, reason: String },
    #[error("IMAP sign-in as `{user}` refused: {reason}")]
    AuthFailed { user: String, reason: String },
    #[error("IMAP folder `{folder}` does not exist: {reason}")]
    FolderMissing { folder: String, reason: String },
    #[error("IMAP folder name `{folder}` is not supported: {reason}")]
    InvalidFolderName {
        folder: String,
        reason: &'static str,
    },
    #[error("IMAP server lacks {what}: {why}")]
    Unsupported {
        what: &'static str,
        why: &'static str,
    },
    #[error("IMAP {what} timed out after {after:?}")]
    Timeout { what: &'static str, after: Duration },
    #[error("IMAP connection lost{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    ConnectionLost { detail: Option<String> },
    #[error("IMAP I/O error: {0}")]
    Io(#[source] io::Error),
    #[error("IMAP server refused {command}: {text}")]
    Refused {
        command: &'static str,
        text: String,
        /// The server said try again later (RFC 5530 `UNAVAILABLE`, `INUSE`, `SERVERBUG`,
        /// `LIMIT`).
        transient: bool,
    },
    #[error("IMAP protocol error during {command}: {text}")]
    Protocol { command: &'static str, text: String },
}

impl ImapError {
    /// Transient errors (network, server restart, timeouts) are routine: reconnect with backoff.
    /// Everything else needs an admin (wrong password, missing folder) and retrying will not help.
    pub fn is_transient(&self) -> bool {
        match self {
            ImapError::Connect { .. }
            | ImapError::Timeout { .. }
            | ImapError::ConnectionLost { .. }
            | ImapError::Io(_) => true,
            ImapError::Refused { transient, .. } => *transient,
            ImapError::PlainRefused { .. }
            | ImapError::Tls { .. }
            | ImapError::StartTlsRefused { .. }
            | ImapError::AuthFailed { .. }
            | ImapError::FolderMissing { .. }
            | ImapError::InvalidFolderName { .. }
            | ImapError::Unsupported { .. }
            | ImapError::Protocol { .. } => false,
        }
    }

    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }

    /// Sort an async-imap error from `command`.
    fn from_imap(command: &'static str, e: async_imap::error::Error) -> Self {
        use async_imap::error::Error as E;
        match e {
            E::Io(io) => ImapError::Io(io),
            E::ConnectionLost => ImapError::ConnectionLost { detail: None },
            E::No(text) => ImapError::Refused {
                command,
                transient: says_try_later(&text),
                text,
            },
            E::Bad(text) => ImapError::Protocol { command, text },
            other => ImapError::Protocol {
                command,
                text: other.to_string(),
            },
        }
    }
}

/// RFC 5530 response codes that mean "not now" rather than "never".
fn says_try_later(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    [
        "UNAVAILABLE",
        "INUSE",
        "SERVERBUG",
        "LIMIT",
        "EXPUNGEISSUED",
    ]
    .iter()
    .any(|code| upper.contains(code))
}

pub type Result<T, E = ImapError> = std::result::Result<T, E>;

/// What `SELECT` tells about a folder; UIDVALIDITY plus UID identify a mail for good (RFC 3501
/// §2.3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderState {
    pub uid_validity: u32,
    /// The UID the next arriving mail will get; `None` only from servers that break RFC 3501.
    pub uid_next: Option<u32>,
    pub exists: u32,
}

/// One mail as the server stores it, untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMail {
    pub uid: u32,
    pub bytes: Vec<u8>,
    /// When the server received it (INTERNALDATE), if it said.
    pub received_at: Option<DateTime<Utc>>,
}

/// Why [`ImapSession::idle`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleOutcome {
    /// The server reported a change of the folder's contents (`EXISTS`, `EXPUNGE` or `VANISHED`,
    /// during IDLE or in the reply to an earlier command): look at the folder again now.
    Changed,
    /// Nothing arrived in the given time; the caller re-issues IDLE (and resyncs now and then).
    TimedOut,
}

/// The byte stream under the session: TCP, or TCP wrapped in TLS.
#[derive(Debug)]
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The server's identity (CAPABILITY, ID) is logged at info level once per process; reconnects
/// log it at debug level only, so a flaky network does not flood the log.
static IDENTITY_LOGGED: AtomicBool = AtomicBool::new(false);

/// One signed-in IMAP session.
#[derive(Debug)]
pub struct ImapSession {
    /// `None` only after a failed IDLE left the connection unusable.
    session: Option<Session<Transport>>,
    /// Upper-cased capability atoms, read after sign-in (they may differ from the greeting's).
    capabilities: BTreeSet<String>,
    host: String,
    timeout: Duration,
    /// The selected folder.
    selected: Option<String>,
    /// The server reported a change of the selected folder's contents since the caller last
    /// looked at it (a search): any `EXISTS`, `EXPUNGE` or `VANISHED`, also inside the reply to
    /// another command (RFC 3501 §7.3–7.4). Never a comparison of counts: a `UID MOVE` reply of
    /// `* 1 EXPUNGE` then `* 1 EXISTS` leaves the count as it was, with a new mail in the folder.
    changed: bool,
}

impl ImapSession {
    /// Connect, secure the connection as configured, sign in, and read the capabilities.
    pub async fn connect(server: &ImapServer, credentials: Credentials<'_>) -> Result<Self> {
        let transport = open_transport(server).await?;
        let mut client = Client::new(transport);
        // The stream starts with the server greeting (RFC 3501 §7.1): read it before anything.
        let greeting = within(server.timeout, "greeting", client.read_response()).await?;
        match greeting {
            None => return Err(ImapError::ConnectionLost { detail: None }),
            Some(Err(e)) => return Err(ImapError::Io(e)),
            Some(Ok(response)) => check_greeting(response.parsed())?,
        }
        if server.tls == TlsMode::StartTls {
            client = start_tls(client, server).await?;
        }
        let session = within(server.timeout, "sign-in", sign_in(client, credentials)).await??;
        let mut this = ImapSession {
            session: Some(session),
            capabilities: BTreeSet::new(),
            host: server.host.clone(),
            timeout: server.timeout,
            selected: None,
            changed: false,
        };
        this.read_capabilities().await?;
        this.log_identity(credentials.user()).await;
        Ok(this)
    }

    pub fn capabilities(&self) -> &BTreeSet<String> {
        &self.capabilities
    }

    /// Whether the server announced `capability` (case-insensitive), e.g. `"MOVE"`, `"IDLE"`.
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.contains(&capability.to_ascii_uppercase())
    }

    /// Select `folder` read-write; a missing folder is a permanent error.
    pub async fn select(&mut self, folder: &str) -> Result<FolderState> {
        check_folder_name(folder)?;
        // A SELECT, even a failing one, deselects the current folder (RFC 3501 §6.3.1).
        self.selected = None;
        let timeout = self.timeout;
        let session = self.session()?;
        let mailbox = match within(timeout, "SELECT", session.select(folder)).await? {
            Ok(m) => m,
            Err(async_imap::error::Error::No(text)) if !says_try_later(&text) => {
                return Err(ImapError::FolderMissing {
                    folder: folder.to_string(),
                    reason: text,
                });
            }
            Err(e) => return Err(ImapError::from_imap("SELECT", e)),
        };
        // SELECT reports the whole folder: whatever changed before it is in its answer.
        self.drain_unsolicited();
        self.changed = false;
        let uid_validity = mailbox.uid_validity.ok_or_else(|| ImapError::Protocol {
            command: "SELECT",
            text: format!("no UIDVALIDITY for `{folder}`"),
        })?;
        self.selected = Some(folder.to_string());
        Ok(FolderState {
            uid_validity,
            uid_next: mailbox.uid_next,
            exists: mailbox.exists,
        })
    }

    /// Open `folder` read-only (`EXAMINE`, RFC 3501 §6.3.2): nothing read there changes a flag.
    /// For `check --connect`, which must leave the mailbox exactly as it found it.
    pub async fn examine(&mut self, folder: &str) -> Result<FolderState> {
        check_folder_name(folder)?;
        self.selected = None;
        let timeout = self.timeout;
        let session = self.session()?;
        let mailbox = match within(timeout, "EXAMINE", session.examine(folder)).await? {
            Ok(m) => m,
            Err(async_imap::error::Error::No(text)) if !says_try_later(&text) => {
                return Err(ImapError::FolderMissing {
                    folder: folder.to_string(),
                    reason: text,
                });
            }
            Err(e) => return Err(ImapError::from_imap("EXAMINE", e)),
        };
        self.drain_unsolicited();
        Ok(FolderState {
            uid_validity: mailbox.uid_validity.unwrap_or_default(),
            uid_next: mailbox.uid_next,
            exists: mailbox.exists,
        })
    }

    /// The header blocks of the given UIDs (`BODY.PEEK[HEADER]`: no `\Seen`), ascending.
    pub async fn fetch_headers(&mut self, uids: &[u32]) -> Result<Vec<RawMail>> {
        self.fetch_mails(
            uids,
            "UID FETCH HEADER",
            "(UID INTERNALDATE BODY.PEEK[HEADER])",
            |f| f.header(),
        )
        .await
    }

    /// Every UID in the selected folder, ascending.
    pub async fn uid_search_all(&mut self) -> Result<Vec<u32>> {
        self.uid_search("ALL").await
    }

    /// The UIDs at or above `first_uid` (the ones not handled yet when `first_uid` is one past the
    /// last handled UID), ascending.
    pub async fn uids_from(&mut self, first_uid: u32) -> Result<Vec<u32>> {
        let first = first_uid.max(1);
        let mut uids = self.uid_search(&format!("UID {first}:*")).await?;
        // `N:*` always includes the highest UID even when it is below N (RFC 3501 §6.4.8).
        uids.retain(|&u| u >= first);
        Ok(uids)
    }

    /// A search is the caller looking at the folder again: changes reported before it are
    /// answered by it, those reported in its reply or later are kept for [`ImapSession::idle`].
    async fn uid_search(&mut self, query: &str) -> Result<Vec<u32>> {
        self.drain_unsolicited();
        self.changed = false;
        let timeout = self.timeout;
        let session = self.session()?;
        let found = within(timeout, "UID SEARCH", session.uid_search(query))
            .await?
            .map_err(|e| ImapError::from_imap("UID SEARCH", e))?;
        self.drain_unsolicited();
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Whether one of `folders` holds a message whose `Message-ID` header contains `message_id`
    /// (`UID SEARCH HEADER`, RFC 3501 §6.4.4), each folder opened read-only (EXAMINE) so that
    /// nothing, `\Recent` included, changes. A folder that does not exist holds nothing. Leaves no
    /// folder selected.
    pub async fn holds_message_id(&mut self, folders: &[&str], message_id: &str) -> Result<bool> {
        if message_id.is_empty()
            || !message_id.is_ascii()
            || message_id
                .chars()
                .any(|c| c.is_ascii_control() || c == '"' || c == '\\')
        {
            return Err(ImapError::Protocol {
                command: "UID SEARCH HEADER",
                text: format!("Message-ID {message_id:?} cannot be searched as a quoted string"),
            });
        }
        self.selected = None;
        let timeout = self.timeout;
        for folder in folders {
            check_folder_name(folder)?;
            let session = self.session()?;
            match within(timeout, "EXAMINE", session.examine(folder)).await? {
                Ok(_) => {}
                Err(async_imap::error::Error::No(text)) if !says_try_later(&text) => continue,
                Err(e) => return Err(ImapError::from_imap("EXAMINE", e)),
            }
            let query = format!("HEADER Message-ID \"{message_id}\"");
            let found = within(timeout, "UID SEARCH HEADER", session.uid_search(&query))
                .await?
                .map_err(|e| ImapError::from_imap("UID SEARCH HEADER", e))?;
            self.drain_unsolicited();
            if !found.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The raw bytes of the given UIDs (ascending; UIDs that vanished meanwhile are simply
    /// absent). Uses `BODY.PEEK[]`, so no flag changes. Pass at most [`FETCH_BATCH`] UIDs (and
    /// [`FETCH_BYTES`]) per call to keep memory bounded.
    pub async fn fetch_raw(&mut self, uids: &[u32]) -> Result<Vec<RawMail>> {
        self.fetch_mails(uids, "UID FETCH", "(UID INTERNALDATE BODY.PEEK[])", |f| {
            f.body()
        })
        .await
    }

    /// `items` of the given UIDs, each mail's bytes taken by `part`, ascending and once per UID.
    /// Unsolicited FETCH responses (flag changes by others) carry no such part, and UIDs not
    /// asked for are not ours: both are skipped.
    async fn fetch_mails(
        &mut self,
        uids: &[u32],
        command: &'static str,
        items: &str,
        part: fn(&async_imap::types::Fetch) -> Option<&[u8]>,
    ) -> Result<Vec<RawMail>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let fetches = self.uid_fetch(command, &uid_set(uids), items).await?;
        let wanted: std::collections::HashSet<u32> = uids.iter().copied().collect();
        let mut mails: Vec<RawMail> = fetches
            .iter()
            .filter_map(|f| {
                Some(RawMail {
                    uid: f.uid.filter(|u| wanted.contains(u))?,
                    bytes: part(f)?.to_vec(),
                    received_at: f.internal_date().map(|t| t.with_timezone(&Utc)),
                })
            })
            .collect();
        mails.sort_by_key(|m| m.uid);
        mails.dedup_by_key(|m| m.uid);
        Ok(mails)
    }

    /// The size (`RFC822.SIZE`) of each of the given UIDs that is still there.
    pub async fn sizes(&mut self, uids: &[u32]) -> Result<std::collections::HashMap<u32, u64>> {
        if uids.is_empty() {
            return Ok(Default::default());
        }
        let fetches = self
            .uid_fetch("UID FETCH RFC822.SIZE", &uid_set(uids), "(UID RFC822.SIZE)")
            .await?;
        let wanted: std::collections::HashSet<u32> = uids.iter().copied().collect();
        Ok(fetches
            .iter()
            .filter_map(|f| Some((f.uid.filter(|u| wanted.contains(u))?, u64::from(f.size?))))
            .collect())
    }

    /// The flags of one message as IMAP writes them (`\Seen`, `\Deleted`, `$Forwarded`),
    /// `None` if the UID is gone. For tests and for the admin's view; intake never needs them.
    pub async fn flags(&mut self, uid: u32) -> Result<Option<Vec<String>>> {
        let fetches = self
            .uid_fetch("UID FETCH FLAGS", &uid.to_string(), "(UID FLAGS)")
            .await?;
        Ok(fetches
            .iter()
            .find(|f| f.uid == Some(uid))
            .map(|f| f.flags().map(|fl| flag_name(&fl)).collect()))
    }

    /// One `UID FETCH` of `items` for the UIDs of `set` (`command` names it in errors), every
    /// response collected, within the session's timeout; unsolicited responses that came along
    /// are handled after it. The responses may include unsolicited ones for other UIDs: callers
    /// keep those they asked for.
    async fn uid_fetch(
        &mut self,
        command: &'static str,
        set: &str,
        items: &str,
    ) -> Result<Vec<async_imap::types::Fetch>> {
        let timeout = self.timeout;
        let session = self.session()?;
        let fetches = within(timeout, command, async {
            session
                .uid_fetch(set, items)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?
        .map_err(|e| ImapError::from_imap(command, e))?;
        self.drain_unsolicited();
        Ok(fetches)
    }

    /// Move one message from the selected folder to `to`: `UID MOVE` (RFC 6851), or where the
    /// server lacks it `UID COPY` + `\Deleted` + `UID EXPUNGE` of that one UID (RFC 4315). A server
    /// with neither is refused: a plain EXPUNGE could remove mail someone else marked deleted.
    ///
    /// If the fallback fails half-way the mail may exist in both folders; intake recognises it by
    /// Message-ID and hash, so this is safe to retry.
    pub async fn move_uid(&mut self, uid: u32, to: &str) -> Result<()> {
        self.move_uids(&[uid], to).await
    }

    /// [`ImapSession::move_uid`] for several messages in one command (a backfill moves a fetch
    /// batch at once instead of paying a round trip per mail). Nothing to move is no command.
    pub async fn move_uids(&mut self, uids: &[u32], to: &str) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        check_folder_name(to)?;
        let timeout = self.timeout;
        let has_move = self.has_capability("MOVE");
        let has_uidplus = self.has_capability("UIDPLUS");
        if !has_move && !has_uidplus {
            return Err(ImapError::Unsupported {
                what: "MOVE and UIDPLUS",
                why: "moving would need a plain EXPUNGE, which could delete other people's mail",
            });
        }
        let session = self.session()?;
        let set = uid_set(uids);
        let folder_missing = |e: async_imap::error::Error, command| match e {
            async_imap::error::Error::No(text)
                if text.to_ascii_uppercase().contains("TRYCREATE") =>
            {
                ImapError::FolderMissing {
                    folder: to.to_string(),
                    reason: text,
                }
            }
            e => ImapError::from_imap(command, e),
        };
        if has_move {
            within(timeout, "UID MOVE", session.uid_mv(&set, to))
                .await?
                .map_err(|e| folder_missing(e, "UID MOVE"))?;
        } else {
            within(timeout, "UID COPY", session.uid_copy(&set, quoted(to)))
                .await?
                .map_err(|e| folder_missing(e, "UID COPY"))?;
            within(timeout, "UID STORE", async {
                session
                    .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?
            .map_err(|e| ImapError::from_imap("UID STORE", e))?;
            within(timeout, "UID EXPUNGE", async {
                session
                    .uid_expunge(&set)
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?
            .map_err(|e| ImapError::from_imap("UID EXPUNGE", e))?;
        }
        self.drain_unsolicited();
        Ok(())
    }

    /// Create `folder` (and subscribe to it, so it shows in the coordinator's mail client) unless
    /// it exists. Returns whether it was created.
    pub async fn ensure_folder(&mut self, folder: &str) -> Result<bool> {
        check_folder_name(folder)?;
        let timeout = self.timeout;
        let session = self.session()?;
        let pattern = quoted(folder);
        let names = within(timeout, "LIST", async {
            session
                .list(Some(""), Some(&pattern))
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?
        .map_err(|e| ImapError::from_imap("LIST", e))?;
        if names.iter().any(|n| n.name() == folder) {
            return Ok(false);
        }
        within(timeout, "CREATE", session.create(folder))
            .await?
            .map_err(|e| ImapError::from_imap("CREATE", e))?;
        // Not being able to subscribe only hides the folder in some clients: not worth failing.
        if let Err(e) = within(timeout, "SUBSCRIBE", session.subscribe(folder)).await? {
            tracing::warn!(folder, error = %e, "IMAP folder created but not subscribed");
        }
        self.drain_unsolicited();
        tracing::info!(folder, "created IMAP folder");
        Ok(true)
    }

    /// Store `bytes` as a new message in `folder` with the given flags (e.g. `["\\Seen"]` for a
    /// Sent copy). Used for the Sent copy of outgoing mail and by tests.
    pub async fn append(&mut self, folder: &str, flags: &[&str], bytes: &[u8]) -> Result<()> {
        self.append_received(folder, flags, None, bytes).await
    }

    /// [`ImapSession::append`] with the time the server is to record as the message's arrival
    /// (its INTERNALDATE; the server's clock when `None`), as a mailbox migration keeps it.
    pub async fn append_received(
        &mut self,
        folder: &str,
        flags: &[&str],
        received_at: Option<DateTime<Utc>>,
        bytes: &[u8],
    ) -> Result<()> {
        check_folder_name(folder)?;
        let flags = (!flags.is_empty()).then(|| format!("({})", flags.join(" ")));
        let date = received_at.map(|t| format!("\"{}\"", t.format("%d-%b-%Y %H:%M:%S +0000")));
        let timeout = self.timeout;
        let session = self.session()?;
        within(
            timeout,
            "APPEND",
            session.append(folder, flags.as_deref(), date.as_deref(), bytes),
        )
        .await?
        .map_err(|e| match e {
            async_imap::error::Error::No(text)
                if text.to_ascii_uppercase().contains("TRYCREATE") =>
            {
                ImapError::FolderMissing {
                    folder: folder.to_string(),
                    reason: text,
                }
            }
            e => ImapError::from_imap("APPEND", e),
        })?;
        self.drain_unsolicited();
        Ok(())
    }

    /// Wait until the server reports a change of the selected folder (new mail, or mail gone) or
    /// `timeout` passes (RFC 2177). Returns at once if a change was already reported, in the
    /// reply to any command, since the caller last searched the folder.
    /// Callers re-issue IDLE in a loop with `timeout` ≤ [`MAX_IDLE`]; without IDLE on the server
    /// this polls with NOOP instead.
    pub async fn idle(&mut self, timeout: Duration) -> Result<IdleOutcome> {
        if self.selected.is_none() {
            return Err(ImapError::Protocol {
                command: "IDLE",
                text: "no folder selected".into(),
            });
        }
        self.drain_unsolicited();
        if self.changed {
            return Ok(IdleOutcome::Changed);
        }
        if !self.has_capability("IDLE") {
            return self.poll_noop(timeout).await;
        }
        let session = self.session.take().ok_or(ImapError::ConnectionLost {
            detail: Some("session lost by an earlier failure".into()),
        })?;
        let mut handle = session.idle();
        within(self.timeout, "IDLE", handle.init())
            .await?
            .map_err(|e| ImapError::from_imap("IDLE", e))?;
        let deadline = tokio::time::Instant::now() + timeout;
        let outcome = loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break IdleOutcome::TimedOut;
            }
            let (wait, _stop) = handle.wait_with_timeout(left);
            let response = match tokio::time::timeout(left, wait).await {
                Err(_) => break IdleOutcome::TimedOut,
                Ok(r) => r.map_err(|e| ImapError::from_imap("IDLE", e))?,
            };
            match response {
                IdleResponse::Timeout => break IdleOutcome::TimedOut,
                // We never interrupt: async-imap reports the stream ending this way.
                IdleResponse::ManualInterrupt => {
                    return Err(ImapError::ConnectionLost {
                        detail: Some("server closed the connection during IDLE".into()),
                    });
                }
                IdleResponse::NewData(data) => match data.parsed() {
                    Response::MailboxData(MailboxDatum::Exists(_))
                    | Response::Expunge(_)
                    | Response::Vanished { .. } => {
                        self.changed = true;
                        break IdleOutcome::Changed;
                    }
                    Response::Data {
                        status: Status::Bye,
                        information,
                        ..
                    } => {
                        return Err(ImapError::ConnectionLost {
                            detail: Some(format!(
                                "server said BYE: {}",
                                information.as_deref().unwrap_or("")
                            )),
                        });
                    }
                    // RECENT, flag changes by others: keep waiting.
                    _ => continue,
                },
            }
        };
        let session = within(self.timeout, "IDLE DONE", handle.done())
            .await?
            .map_err(|e| ImapError::from_imap("IDLE DONE", e))?;
        self.session = Some(session);
        self.drain_unsolicited();
        Ok(outcome)
    }

    async fn poll_noop(&mut self, timeout: Duration) -> Result<IdleOutcome> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(IdleOutcome::TimedOut);
            }
            tokio::time::sleep(left.min(NOOP_POLL)).await;
            let limit = self.timeout;
            let session = self.session()?;
            within(limit, "NOOP", session.noop())
                .await?
                .map_err(|e| ImapError::from_imap("NOOP", e))?;
            self.drain_unsolicited();
            if self.changed {
                return Ok(IdleOutcome::Changed);
            }
        }
    }

    /// Say goodbye politely; errors are ignored because the connection is going away anyway.
    pub async fn logout(mut self) {
        let timeout = self.timeout;
        if let Some(session) = self.session.as_mut() {
            let _ = tokio::time::timeout(timeout, session.logout()).await;
        }
    }

    fn session(&mut self) -> Result<&mut Session<Transport>> {
        self.session.as_mut().ok_or(ImapError::ConnectionLost {
            detail: Some("session lost by an earlier failure".into()),
        })
    }

    /// Empty the channel of unsolicited responses and note whether the selected folder's
    /// contents changed. async-imap drops responses once the channel holds 100 (a `UID MOVE` of
    /// 200 mails answers with 200 `EXPUNGE`s): a full channel may have lost an `EXISTS`, so it
    /// counts as a change too.
    fn drain_unsolicited(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let mut changed = session.unsolicited_responses.is_full();
        while let Ok(response) = session.unsolicited_responses.try_recv() {
            changed |= changes_contents(&response);
        }
        if self.selected.is_some() {
            self.changed |= changed;
        }
    }

    async fn read_capabilities(&mut self) -> Result<()> {
        let timeout = self.timeout;
        let session = self.session()?;
        let caps = within(timeout, "CAPABILITY", session.capabilities())
            .await?
            .map_err(|e| ImapError::from_imap("CAPABILITY", e))?;
        self.capabilities = caps
            .iter()
            .map(|c| match c {
                async_imap::types::Capability::Imap4rev1 => "IMAP4REV1".to_string(),
                async_imap::types::Capability::Auth(a) => {
                    format!("AUTH={}", a.to_ascii_uppercase())
                }
                async_imap::types::Capability::Atom(a) => a.to_ascii_uppercase(),
            })
            .collect();
        Ok(())
    }

    /// Log CAPABILITY and the server's ID (RFC 2971) once per process; send our own ID so the
    /// server's admin can tell this daemon's sessions apart.
    async fn log_identity(&mut self, user: &str) {
        let first = !IDENTITY_LOGGED.swap(true, Ordering::Relaxed);
        let server_id = if self.has_capability("ID") {
            let timeout = self.timeout;
            match self.session() {
                Ok(session) => {
                    let ours = [
                        ("name", Some("doorstroom")),
                        ("version", Some(env!("CARGO_PKG_VERSION"))),
                    ];
                    match tokio::time::timeout(timeout, session.id(ours)).await {
                        Ok(Ok(Some(id))) => {
                            let mut pairs: Vec<_> = id.into_iter().collect();
                            pairs.sort();
                            pairs
                                .into_iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(" ")
                        }
                        _ => String::new(),
                    }
                }
                Err(_) => String::new(),
            }
        } else {
            String::new()
        };
        self.drain_unsolicited();
        let caps = self
            .capabilities
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        if first {
            tracing::info!(host = %self.host, user, capabilities = %caps, server_id = %server_id, "IMAP signed in");
        } else {
            tracing::debug!(host = %self.host, user, capabilities = %caps, server_id = %server_id, "IMAP signed in");
        }
    }
}

async fn open_transport(server: &ImapServer) -> Result<Transport> {
    if server.tls == TlsMode::Plain && !is_loopback(&server.host) {
        return Err(ImapError::PlainRefused {
            host: server.host.clone(),
        });
    }
    let tcp = within(
        server.timeout,
        "connect",
        TcpStream::connect((server.host.as_str(), server.port)),
    )
    .await?
    .map_err(|source| ImapError::Connect {
        host: server.host.clone(),
        port: server.port,
        source,
    })?;
    // Commands are small and interactive; Nagle only adds latency.
    let _ = tcp.set_nodelay(true);
    match server.tls {
        TlsMode::Implicit => Ok(Transport::Tls(Box::new(tls_wrap(tcp, server).await?))),
        TlsMode::StartTls | TlsMode::Plain => Ok(Transport::Plain(tcp)),
    }
}

async fn tls_wrap(tcp: TcpStream, server: &ImapServer) -> Result<TlsStream<TcpStream>> {
    let tls_error = |reason: String| ImapError::Tls {
        host: server.host.clone(),
        reason,
    };
    let name = rustls::pki_types::ServerName::try_from(server.host.clone())
        .map_err(|e| tls_error(format!("not a valid TLS server name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(tls_config());
    within(
        server.timeout,
        "TLS handshake",
        connector.connect(name, tcp),
    )
    .await?
    .map_err(|e| {
        // A certificate problem is the admin's to fix; a dropped connection is not.
        if e.kind() == io::ErrorKind::InvalidData {
            tls_error(e.to_string())
        } else {
            ImapError::Io(e)
        }
    })
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth());
            match config {
                Ok(c) => Arc::new(c),
                // The ring provider supports the default versions; this cannot fail at runtime,
                // but an empty config that refuses every handshake is the honest fallback.
                Err(_) => Arc::new(
                    rustls::ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                ),
            }
        })
        .clone()
}

fn check_greeting(greeting: &Response<'_>) -> Result<()> {
    match greeting {
        Response::Data {
            status: Status::Ok | Status::PreAuth,
            ..
        } => Ok(()),
        Response::Data {
            status: Status::Bye,
            information,
            ..
        } => Err(ImapError::ConnectionLost {
            detail: Some(format!(
                "server said BYE at greeting: {}",
                information.as_deref().unwrap_or("")
            )),
        }),
        other => Err(ImapError::Protocol {
            command: "greeting",
            text: format!("{other:?}"),
        }),
    }
}

async fn start_tls(
    mut client: Client<Transport>,
    server: &ImapServer,
) -> Result<Client<Transport>> {
    within(
        server.timeout,
        "STARTTLS",
        client.run_command_and_check_ok("STARTTLS", None),
    )
    .await?
    .map_err(|e| match e {
        async_imap::error::Error::Io(io) => ImapError::Io(io),
        async_imap::error::Error::ConnectionLost => ImapError::ConnectionLost { detail: None },
        other => ImapError::StartTlsRefused {
            host: server.host.clone(),
            reason: other.to_string(),
        },
    })?;
    match client.into_inner() {
        Transport::Plain(tcp) => Ok(Client::new(Transport::Tls(Box::new(
            tls_wrap(tcp, server).await?,
        )))),
        Transport::Tls(_) => Err(ImapError::Protocol {
            command: "STARTTLS",
            text: "connection already uses TLS".into(),
        }),
    }
}

async fn sign_in(
    client: Client<Transport>,
    credentials: Credentials<'_>,
) -> Result<Session<Transport>> {
    let user = credentials.user().to_string();
    let result = match credentials {
        Credentials::Login { user, password } => client.login(user, password).await,
        Credentials::Plain { user, password } => {
            client
                .authenticate("PLAIN", SaslOnce::new(format!("\0{user}\0{password}")))
                .await
        }
        Credentials::XOauth2 { user, access_token } => {
            // https://developers.google.com/gmail/imap/xoauth2-protocol — same for Microsoft 365.
            client
                .authenticate(
                    "XOAUTH2",
                    SaslOnce::new(format!("user={user}\x01auth=Bearer {access_token}\x01\x01")),
                )
                .await
        }
    };
    result.map_err(|(e, _client)| match e {
        async_imap::error::Error::No(reason) if !says_try_later(&reason) => {
            ImapError::AuthFailed { user, reason }
        }
        async_imap::error::Error::Bad(reason) => ImapError::AuthFailed { user, reason },
        e => ImapError::from_imap("sign-in", e),
    })
}

/// A SASL exchange with one message from us: the first challenge gets the credentials, any later
/// one (XOAUTH2 sends its error as a challenge) an empty answer so the server can say NO.
struct SaslOnce {
    message: Option<String>,
}

impl SaslOnce {
    fn new(message: String) -> Self {
        SaslOnce {
            message: Some(message),
        }
    }
}

impl Authenticator for SaslOnce {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        self.message.take().unwrap_or_default()
    }
}

/// Whether an untagged response reports mail added to or removed from the selected folder: any
/// `EXISTS`, `EXPUNGE` or `VANISHED` (RFC 3501 §7.3.1, §7.4.1; RFC 7162 §3.2.10) means "look
/// again", whatever the count it carries.
fn changes_contents(response: &UnsolicitedResponse) -> bool {
    match response {
        UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Expunge(_) => true,
        UnsolicitedResponse::Other(data) => matches!(data.parsed(), Response::Vanished { .. }),
        _ => false,
    }
}

/// A flag as IMAP writes it (`\Seen`, `$Forwarded`).
fn flag_name(flag: &async_imap::types::Flag<'_>) -> String {
    use async_imap::types::Flag;
    match flag {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => "\\Recent".into(),
        Flag::MayCreate => "\\*".into(),
        Flag::Custom(name) => name.to_string(),
    }
}

/// Run one step with a deadline; a server that stops answering is a transient error.
async fn within<T>(
    limit: Duration,
    what: &'static str,
    step: impl std::future::Future<Output = T>,
) -> Result<T> {
    tokio::time::timeout(limit, step)
        .await
        .map_err(|_| ImapError::Timeout { what, after: limit })
}

/// Folder names this client can pass safely as quoted strings. Non-ASCII would need modified
/// UTF-7 (RFC 3501 §5.1.3), which is not implemented: refused with a clear error instead.
fn check_folder_name(folder: &str) -> Result<()> {
    let reason = if folder.is_empty() {
        Some("it is empty")
    } else if !folder.is_ascii() {
        Some("only ASCII folder names are supported (e.g. \"Verwerkt\")")
    } else if folder
        .chars()
        .any(|c| c.is_ascii_control() || c == '"' || c == '\\')
    {
        Some("it contains a control character, a quote or a backslash")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ImapError::InvalidFolderName {
            folder: folder.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// A checked folder name as an IMAP quoted string.
fn quoted(folder: &str) -> String {
    format!("\"{folder}\"")
}

/// A compact IMAP sequence set for `uids`: runs become ranges (`1:3,7,9:10`).
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut iter = sorted.into_iter().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end.wrapping_add(1))) && end != u32::MAX {
            end += 1;
            iter.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        let cases: &[(&[u32], &str)] = &[
            (&[7], "7"),
            (&[1, 2, 3], "1:3"),
            (&[1, 2, 3, 7, 9, 10], "1:3,7,9:10"),
            (&[10, 9, 1, 1, 2], "1:2,9:10"),
            (&[u32::MAX - 1, u32::MAX], "4294967294:4294967295"),
        ];
        for (uids, want) in cases {
            assert_eq!(uid_set(uids), *want, "{uids:?}");
        }
    }

    #[test]
    fn rfc5530_codes_that_mean_try_later_are_transient() {
        let cases = [
            (
                "code: None, info: Some(\"[UNAVAILABLE] Temporary failure\")",
                true,
            ),
            ("code: None, info: Some(\"[INUSE] Mailbox in use\")", true),
            (
                "code: None, info: Some(\"[SERVERBUG] Internal error\")",
                true,
            ),
            (
                "code: None, info: Some(\"[AUTHENTICATIONFAILED] Authentication failed.\")",
                false,
            ),
            (
                "code: None, info: Some(\"[NONEXISTENT] Mailbox doesn't exist: Verwerkt\")",
                false,
            ),
        ];
        for (text, transient) in cases {
            assert_eq!(says_try_later(text), transient, "{text}");
        }
    }

    #[test]
    fn folder_names_that_cannot_be_quoted_safely_are_refused() {
        for ok in [
            "INBOX",
            "Verwerkt",
            "INBOX.Quarantaine",
            "Doorstroom/Verwerkt 2026",
        ] {
            assert!(check_folder_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Verwérkt", "a\"b", "a\\b", "a\r\nb"] {
            assert!(check_folder_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn errors_sort_into_transient_and_permanent() {
        let transient = [
            ImapError::Timeout {
                what: "SELECT",
                after: Duration::from_secs(1),
            },
            ImapError::ConnectionLost { detail: None },
            ImapError::Io(io::Error::from(io::ErrorKind::ConnectionReset)),
        ];
        let permanent = [
            ImapError::AuthFailed {
                user: "u".into(),
                reason: "no".into(),
            },
            ImapError::FolderMissing {
                folder: "Verwerkt".into(),
                reason: "no".into(),
            },
            ImapError::PlainRefused {
                host: "imap.example".into(),
            },
        ];
        assert!(transient.iter().all(ImapError::is_transient));
        assert!(permanent.iter().all(ImapError::is_permanent));
    }

    #[tokio::test]
    async fn plain_imap_to_a_remote_host_is_refused_before_connecting() {
        let server = ImapServer::new("imap.woonhaven.example", 143, TlsMode::Plain);
        let err = ImapSession::connect(
            &server,
            Credentials::Login {
                user: "u",
                password: "p",
            },
        )
        .await
        .expect_err("plain to a remote host");
        assert!(matches!(err, ImapError::PlainRefused { .. }), "{err}");
    }
}
