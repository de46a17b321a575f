//! A real mail stack per test: Dovecot (IMAP with IDLE, LMTP) behind Postfix (SMTP), on free
//! loopback ports, all state in a short temp dir, stopped by PID when the [`MailStack`] drops.
//!
//! Postfix accepts mail for every domain from loopback and hands each recipient separately
//! (`lmtp_destination_recipient_limit = 1`, which keeps `Delivered-To`) to Dovecot's LMTP socket.
//! Dovecot's static userdb with `allow_all_users` gives every address a mailbox, so a test reads
//! what a partner at `caw-antwerpen.example` received exactly as it reads the shared mailbox.
//! Every user signs in with [`PASSWORD`]. Nothing in `/etc` is read for configuration or changed;
//! Postfix must run as root, so the stack needs root (as CI and `scripts/test` have).
//!
//! Pitfalls this module handles (learned on the target Debian): the temp dir must be mode 0755
//! (Dovecot's login processes and Postfix's daemons run as other users) and short (unix socket
//! paths ≤ 108 bytes); Postfix stalls ~2.4 s when `main.cf` is younger than a second, so its mtime
//! is set back; Postfix logs only to `maillog_file`; readiness is the protocol greeting, not a TCP
//! connect; Dovecot gets a fresh `base_dir` on every start so stale sockets and auth penalties
//! never carry over.
//!
//! This file also holds the end-to-end tests that prove the harness and `intake::imap` together.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use doorstroom::config::TlsMode;
use doorstroom::intake::imap::{
    Credentials, IdleOutcome, ImapError, ImapServer, ImapSession, RawMail, FETCH_BATCH,
};

/// The landlord's shared mailbox that `doorstroom` watches.
pub const SHARED_MAILBOX: &str = "versneldedoorstroom@woonhaven.example";
/// The coordinator of accelerated allocation.
pub const COORDINATOR: &str = "an.peeters@woonhaven.example";
/// The social assistants (sociaal assistenten).
pub const SOCIAL_ASSISTANTS: [&str; 2] = [
    "bram.janssens@woonhaven.example",
    "sofie.maes@woonhaven.example",
];
/// The landlord's named users; any other address (a partner's) also has a mailbox (catch-all).
pub const USERS: [&str; 4] = [
    SHARED_MAILBOX,
    COORDINATOR,
    SOCIAL_ASSISTANTS[0],
    SOCIAL_ASSISTANTS[1],
];
/// The one password of every user, named and catch-all alike.
pub const PASSWORD: &str = "doorstroom-test";

/// How long a daemon may take to greet after start before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a stopped daemon may take to release its port before it is killed outright.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How many free ports a daemon may try at first start.
const START_ATTEMPTS: u32 = 3;

const POSTFIX_MASTER: &str = "/usr/lib/postfix/sbin/master";

/// `/usr/sbin/NAME` where Debian puts it (a CI shell's PATH may lack `/usr/sbin`), else `NAME`.
fn sbin(name: &str) -> PathBuf {
    let path = PathBuf::from("/usr/sbin").join(name);
    if path.exists() {
        path
    } else {
        PathBuf::from(name)
    }
}

/// Choices a test can make about the stack; [`MailStack::start`] uses the defaults.
#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    /// Replace the IMAP capabilities Dovecot announces after sign-in (`imap_capability`), e.g.
    /// to hide `MOVE` and exercise the COPY + EXPUNGE fallback.
    pub imap_capability: Option<String>,
}

/// Dovecot and Postfix running for one test. Dropping it stops both (also when the test panics,
/// in which case the temp dir is kept and the log paths and tails are printed; set
/// `MAILSTACK_KEEP=1` to keep it always).
pub struct MailStack {
    dir: PathBuf,
    imap_port: u16,
    smtp_port: u16,
    options: StackOptions,
    dovecot: Option<Child>,
    postfix: Option<Child>,
    /// Counts Dovecot starts, so each start gets a fresh `base_dir`.
    dovecot_runs: u32,
    started_in: Duration,
}

impl MailStack {
    /// Start a stack with the default options. Panics with the log paths if it cannot start.
    pub fn start() -> MailStack {
        Self::start_with(StackOptions::default())
    }

    pub fn start_with(options: StackOptions) -> MailStack {
        let began = Instant::now();
        assert!(
            is_root(),
            "the mail stack needs root: Postfix's master must run as root (run the tests as \
             root, as scripts/test and CI do)"
        );
        let dir = short_temp_dir();
        let mail = dir.join("mail");
        std::fs::create_dir_all(&mail).expect("create mail dir");
        let (uid, gid) = mail_user();
        std::os::unix::fs::chown(&mail, Some(uid), Some(gid)).expect("chown mail dir");
        let mut stack = MailStack {
            dir,
            imap_port: free_port(),
            smtp_port: free_port(),
            options,
            dovecot: None,
            postfix: None,
            dovecot_runs: 0,
            started_in: Duration::ZERO,
        };
        stack.write_oauth2_config();
        stack.write_postfix_config();
        // `postfix check` is the slow part of starting (a shell script): run it while Dovecot
        // starts.
        let check = stack.spawn_postfix_check();
        // A port picked by `free_port` can be taken by another test before the daemon binds it;
        // the daemon then exits, and the stack tries again on a fresh port.
        for attempt in 1..=START_ATTEMPTS {
            match stack.launch_imap() {
                Ok(()) => break,
                Err(Launch::Exited(_)) if attempt < START_ATTEMPTS => {
                    stack.imap_port = free_port();
                }
                Err(e) => panic!("Dovecot: {e}\n{}", stack.diagnostics()),
            }
        }
        stack.finish_postfix_check(check);
        for attempt in 1..=START_ATTEMPTS {
            match stack.launch_smtp() {
                Ok(()) => break,
                Err(Launch::Exited(_)) if attempt < START_ATTEMPTS => {
                    stack.smtp_port = free_port();
                    stack.write_postfix_config();
                }
                Err(e) => panic!("Postfix: {e}\n{}", stack.diagnostics()),
            }
        }
        stack.started_in = began.elapsed();
        stack
    }

    pub fn imap_port(&self) -> u16 {
        self.imap_port
    }

    pub fn smtp_port(&self) -> u16 {
        self.smtp_port
    }

    /// The landlord's named users (shared mailbox, coordinator, social assistants).
    pub fn users(&self) -> &'static [&'static str] {
        &USERS
    }

    pub fn password(&self) -> &'static str {
        PASSWORD
    }

    /// How long [`MailStack::start`] took, up to both greetings.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The IMAP server as `doorstroom` would be configured for it (plain, loopback).
    pub fn imap_server(&self) -> ImapServer {
        let mut server = ImapServer::new("127.0.0.1", self.imap_port, TlsMode::Plain);
        server.timeout = Duration::from_secs(10);
        server
    }

    pub fn dovecot_log(&self) -> PathBuf {
        self.dir.join("dovecot.log")
    }

    pub fn postfix_log(&self) -> PathBuf {
        self.dir.join("postfix.log")
    }

    /// Both logs' paths and their last lines, for failure messages.
    pub fn diagnostics(&self) -> String {
        let mut out = String::new();
        for path in [
            self.dovecot_log(),
            self.dir.join("dovecot.out"),
            self.postfix_log(),
            self.dir.join("postfix.out"),
        ] {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            out.push_str(&format!("--- {} ---\n{tail}\n", path.display()));
        }
        out
    }

    /// Sign in as `user` with the project's own IMAP client.
    pub async fn session(&self, user: &str) -> ImapSession {
        ImapSession::connect(
            &self.imap_server(),
            Credentials::Login {
                user,
                password: PASSWORD,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("IMAP sign-in as {user}: {e}\n{}", self.diagnostics()))
    }

    /// Submit `raw` over SMTP (port [`Self::smtp_port`]) from `from` to `to`, as a partner's mail
    /// server would.
    pub async fn submit(&self, from: &str, to: &[&str], raw: &[u8]) {
        use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
        let envelope = lettre::address::Envelope::new(
            Some(from.parse().expect("from address")),
            to.iter().map(|t| t.parse().expect("to address")).collect(),
        )
        .expect("envelope");
        let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.smtp_port)
            .timeout(Some(Duration::from_secs(10)))
            .build();
        smtp.send_raw(&envelope, raw)
            .await
            .unwrap_or_else(|e| panic!("SMTP submission: {e}\n{}", self.diagnostics()));
    }

    /// Every mail in `user`'s `folder`, in UID order, read with the project's IMAP client. A
    /// folder that does not exist yet reads as empty.
    pub async fn read_all(&self, user: &str, folder: &str) -> Vec<RawMail> {
        let mut session = self.session(user).await;
        let result = read_folder(&mut session, folder).await;
        session.logout().await;
        match result {
            Ok(mails) => mails,
            Err(ImapError::FolderMissing { .. }) => Vec::new(),
            Err(e) => panic!("reading {user}/{folder}: {e}\n{}", self.diagnostics()),
        }
    }

    /// Poll `user`'s `folder` until a mail matches `predicate`; panics with the logs after
    /// `timeout`.
    pub async fn wait_for_mail(
        &self,
        user: &str,
        folder: &str,
        predicate: impl Fn(&RawMail) -> bool,
        timeout: Duration,
    ) -> RawMail {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self
                .read_all(user, folder)
                .await
                .into_iter()
                .find(|m| predicate(m))
            {
                return found;
            }
            if Instant::now() >= deadline {
                panic!(
                    "no matching mail in {user}/{folder} within {timeout:?}\n{}",
                    self.diagnostics()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Start (or restart) Dovecot with a fresh `base_dir`; returns once it greets on IMAP.
    pub fn start_imap(&mut self) {
        if let Err(e) = self.launch_imap() {
            panic!("Dovecot: {e}\n{}", self.diagnostics());
        }
    }

    fn launch_imap(&mut self) -> Result<(), Launch> {
        assert!(self.dovecot.is_none(), "Dovecot is already running");
        self.dovecot_runs += 1;
        let conf = self.dir.join("dovecot.conf");
        std::fs::write(&conf, self.dovecot_config()).expect("write dovecot.conf");
        let out = std::fs::File::create(self.dir.join("dovecot.out")).expect("dovecot.out");
        let child = Command::new(sbin("dovecot"))
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            // Its own process group, so a signal to the test's group never reaches it.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run dovecot (apt-get install dovecot-imapd dovecot-lmtpd): {e}")
            });
        self.dovecot = Some(child);
        self.await_greeting(Daemon::Dovecot, "* OK ")
    }

    /// Stop Dovecot by PID; returns once its IMAP port refuses connections.
    pub fn stop_imap(&mut self) {
        if let Some(child) = self.dovecot.take() {
            stop(child, "Dovecot");
            wait_port_closed(self.imap_port);
        }
    }

    /// Start (or restart) Postfix's master in the foreground; returns once it greets on SMTP.
    pub fn start_smtp(&mut self) {
        if let Err(e) = self.launch_smtp() {
            panic!("Postfix: {e}\n{}", self.diagnostics());
        }
    }

    fn launch_smtp(&mut self) -> Result<(), Launch> {
        assert!(self.postfix.is_none(), "Postfix is already running");
        let out = std::fs::File::create(self.dir.join("postfix.out")).expect("postfix.out");
        let child = Command::new(POSTFIX_MASTER)
            .arg("-c")
            .arg(self.dir.join("postfix"))
            .arg("-d")
            // Postfix's master stops its children by signalling its own process group.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run Postfix's master (apt-get install postfix): {e}")
            });
        self.postfix = Some(child);
        self.await_greeting(Daemon::Postfix, "220 mailstack.test ESMTP ")
    }

    /// The temp dir's name: unique per stack, and put in both greetings so that a stack never
    /// mistakes another stack's daemon on a recycled port for its own.
    fn instance(&self) -> &str {
        self.dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("mailstack")
    }

    /// Stop Postfix by PID; returns once its SMTP port refuses connections.
    pub fn stop_smtp(&mut self) {
        if let Some(child) = self.postfix.take() {
            stop(child, "Postfix");
            wait_port_closed(self.smtp_port);
        }
    }

    /// Restart Dovecot (stop by PID, start with a fresh `base_dir`), as an admin's
    /// `systemctl restart dovecot` would: every IMAP session is cut.
    pub fn restart_imap(&mut self) {
        self.stop_imap();
        self.start_imap();
    }

    /// Restart Postfix, then flush its queue: mail it deferred while Dovecot was away is handed
    /// on now rather than at its next queue run.
    pub fn restart_smtp(&mut self) {
        self.stop_smtp();
        self.start_smtp();
        self.flush_queue();
    }

    /// `postqueue -f`: try every deferred mail now.
    pub fn flush_queue(&self) {
        let _ = Command::new(sbin("postqueue"))
            .arg("-c")
            .arg(self.dir.join("postfix"))
            .arg("-f")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Whether Postfix's queue holds no mail (`postqueue -p`): everything accepted was handed
    /// to Dovecot.
    pub fn queue_is_empty(&self) -> bool {
        let out = Command::new(sbin("postqueue"))
            .arg("-c")
            .arg(self.dir.join("postfix"))
            .arg("-p")
            .output()
            .expect("postqueue -p");
        String::from_utf8_lossy(&out.stdout).contains("Mail queue is empty")
    }

    /// Every mail Dovecot holds, for every user and folder, read from the Maildirs on disk:
    /// (user, folder, the mail's bytes). `INBOX` is the Maildir's root. How a test counts what
    /// each recipient received without signing in as every one of them.
    pub fn every_stored_mail(&self) -> Vec<(String, String, Vec<u8>)> {
        let mut out = Vec::new();
        let Ok(users) = std::fs::read_dir(self.dir.join("mail")) else {
            return out;
        };
        for user in users.flatten() {
            let name = user.file_name().to_string_lossy().into_owned();
            let mut folders = vec![("INBOX".to_string(), user.path())];
            for sub in std::fs::read_dir(user.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let file = sub.file_name().to_string_lossy().into_owned();
                if let Some(folder) = file.strip_prefix('.') {
                    if sub.path().is_dir() {
                        folders.push((folder.to_string(), sub.path()));
                    }
                }
            }
            for (folder, path) in folders {
                for part in ["cur", "new"] {
                    for mail in std::fs::read_dir(path.join(part))
                        .into_iter()
                        .flatten()
                        .flatten()
                    {
                        if let Ok(bytes) = std::fs::read(mail.path()) {
                            out.push((name.clone(), folder.clone(), bytes));
                        }
                    }
                }
            }
        }
        out
    }

    fn dovecot_config(&self) -> String {
        let dir = self.dir.display();
        let run = self.dovecot_runs;
        let (uid, gid) = mail_user();
        let instance = self.instance();
        let capability = self
            .options
            .imap_capability
            .as_deref()
            .map(|c| format!("imap_capability = {c}\n"))
            .unwrap_or_default();
        format!(
            r#"# Written by tests/integration/mailstack.rs for one test run.
base_dir = {dir}/dovecot-{run}
state_dir = {dir}/dovecot-state
instance_name = {instance}
login_greeting = mailstack {instance} ready.
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
auth_verbose = yes
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{dir}/mail/%Lu
mail_fsync = never
postmaster_address = postmaster@mailstack.test
{capability}
passdb {{
  driver = static
  mechanisms = plain login
  args = password={PASSWORD}
}}
# XOAUTH2: HS256 JWTs signed with the stack's key, validated offline (introspection_mode local).
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {dir}/dovecot-oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/mail/%Lu allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
# No auth penalty: without anvil's penalty socket the auth process skips it, so a test of a
# wrong password does not delay every later sign-in from 127.0.0.1 by seconds.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service lmtp {{
  unix_listener {dir}/lmtp {{
    mode = 0666
  }}
}}
"#,
            imap = self.imap_port,
        )
    }

    /// A bearer token for `user` that Dovecot accepts for XOAUTH2 until `expires_in` from now
    /// (a negative value gives a token that expired that long ago): an HS256 JWT signed with
    /// the stack's key, as an identity provider such as Microsoft Entra would hand out.
    pub fn oauth2_token(&self, user: &str, expires_in: chrono::Duration) -> String {
        let now = chrono::Utc::now();
        let issued = (now - chrono::Duration::minutes(5)).min(now + expires_in);
        jwt_hs256(
            OAUTH2_KEY,
            &serde_json::json!({
                "sub": user,
                "email": user,
                "iat": issued.timestamp(),
                "exp": (now + expires_in).timestamp(),
            }),
        )
    }

    fn write_oauth2_config(&self) {
        use base64::Engine;
        let dir = self.dir.display();
        let conf = format!(
            "introspection_mode = local\n\
             local_validation_key_dict = fs:posix:prefix={dir}/oauth2-keys/\n\
             username_attribute = email\n"
        );
        std::fs::write(self.dir.join("dovecot-oauth2.conf.ext"), conf).expect("oauth2 conf");
        // Looked up as shared/<azp>/<alg>/<kid>, "default" where the token names none.
        let keys = self.dir.join("oauth2-keys/default/HS256");
        std::fs::create_dir_all(&keys).expect("oauth2 key dir");
        let key = base64::engine::general_purpose::STANDARD.encode(OAUTH2_KEY);
        std::fs::write(keys.join("default"), key).expect("oauth2 key");
    }

    fn write_postfix_config(&self) {
        let dir = self.dir.display();
        let instance = self.instance();
        let etc = self.dir.join("postfix");
        std::fs::create_dir_all(&etc).expect("postfix config dir");
        std::fs::create_dir_all(self.dir.join("postfix-queue")).expect("postfix queue dir");
        let main = format!(
            r#"# Written by tests/integration/mailstack.rs for one test run.
compatibility_level = 3.6
queue_directory = {dir}/postfix-queue
data_directory = {dir}/postfix-data
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = mailstack.test
mydomain = mailstack.test
myorigin = mailstack.test
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = lmtp:unix:{dir}/lmtp
relay_transport = lmtp:unix:{dir}/lmtp
lmtp_destination_recipient_limit = 1
maillog_file = {dir}/postfix.log
maillog_file_prefixes = {dir}
smtputf8_enable = no
biff = no
append_dot_mydomain = no
smtpd_banner = $myhostname ESMTP {instance}
"#
        );
        let master = format!(
            "127.0.0.1:{port} inet n - n - - smtpd\n{MASTER_CF_SERVICES}",
            port = self.smtp_port
        );
        for (name, text) in [("main.cf", main), ("master.cf", master)] {
            let path = etc.join(name);
            std::fs::write(&path, text).expect("write postfix config");
            // Postfix waits ~2.4 s for a main.cf younger than a second to settle: back-date it.
            let past = SystemTime::now() - Duration::from_secs(60);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(past))
                .expect("back-date postfix config");
        }
    }

    /// `postfix -c DIR check` validates the config and creates the queue directories.
    fn spawn_postfix_check(&self) -> Child {
        Command::new(sbin("postfix"))
            .arg("-c")
            .arg(self.dir.join("postfix"))
            .arg("check")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run postfix (apt-get install postfix): {e}"))
    }

    fn finish_postfix_check(&self, check: Child) {
        let output = check.wait_with_output().expect("wait for postfix check");
        assert!(
            output.status.success(),
            "postfix check failed: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.diagnostics()
        );
    }

    /// Wait for `daemon`'s greeting on its port: a line starting with `prefix` and naming this
    /// stack's instance.
    fn await_greeting(&mut self, daemon: Daemon, prefix: &str) -> Result<(), Launch> {
        let deadline = Instant::now() + START_TIMEOUT;
        let instance = self.instance().to_string();
        let (port, child) = match daemon {
            Daemon::Dovecot => (self.imap_port, &mut self.dovecot),
            Daemon::Postfix => (self.smtp_port, &mut self.postfix),
        };
        loop {
            if let Some(line) = read_greeting(port) {
                if line.starts_with(prefix) && line.contains(&instance) {
                    return Ok(());
                }
            }
            if let Some(Ok(Some(status))) = child.as_mut().map(|c| c.try_wait()) {
                *child = None;
                return Err(Launch::Exited(format!(
                    "exited at start on port {port} ({status})"
                )));
            }
            if Instant::now() >= deadline {
                return Err(Launch::Silent(format!(
                    "no greeting naming {instance} on 127.0.0.1:{port} within {START_TIMEOUT:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Daemon {
    Dovecot,
    Postfix,
}

/// Why a daemon did not come up.
#[derive(Debug)]
enum Launch {
    /// It exited, most likely because its port was taken meanwhile: worth another port.
    Exited(String),
    /// It runs but does not greet: something is wrong that another port will not fix.
    Silent(String),
}

impl std::fmt::Display for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Launch::Exited(m) | Launch::Silent(m) => f.write_str(m),
        }
    }
}

impl Drop for MailStack {
    fn drop(&mut self) {
        // Postfix first, so it does not queue deliveries into a Dovecot that is going away.
        if let Some(child) = self.postfix.take() {
            stop(child, "Postfix");
        }
        if let Some(child) = self.dovecot.take() {
            stop(child, "Dovecot");
        }
        if std::thread::panicking() || std::env::var_os("MAILSTACK_KEEP").is_some() {
            eprintln!(
                "mail stack kept for inspection in {}\n{}",
                self.dir.display(),
                self.diagnostics()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The HS256 key Dovecot validates XOAUTH2 tokens with (see [`MailStack::oauth2_token`]).
const OAUTH2_KEY: &[u8] = b"doorstroom-test-oauth2-signing-key-0123456789";

/// A compact JWS (RFC 7515) over `claims` with HMAC-SHA256.
fn jwt_hs256(key: &[u8], claims: &serde_json::Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use hmac::{Mac, SimpleHmac};
    let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = B64.encode(claims.to_string());
    let signing_input = format!("{header}.{body}");
    let mut mac = SimpleHmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(signing_input.as_bytes());
    let signature = B64.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// The services Postfix needs, all unchrooted (the queue lives in the temp dir).
const MASTER_CF_SERVICES: &str = "\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";

async fn read_folder(session: &mut ImapSession, folder: &str) -> Result<Vec<RawMail>, ImapError> {
    session.select(folder).await?;
    let uids = session.uid_search_all().await?;
    let mut mails = Vec::with_capacity(uids.len());
    for chunk in uids.chunks(FETCH_BATCH) {
        mails.extend(session.fetch_raw(chunk).await?);
    }
    Ok(mails)
}

/// SIGTERM to the daemon's process group (its PID: it was started as a group leader), so its
/// workers let go of the listening sockets at once; SIGKILL if it has not exited in
/// [`STOP_TIMEOUT`].
fn stop(mut child: Child, name: &str) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) only sends a signal; the negative PID names the group the daemon leads.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("{name} (pid {}) ignored SIGTERM; killing it", child.id());
    let _ = child.kill();
    let _ = child.wait();
}

fn wait_port_closed(port: u16) {
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("port {port} still accepts connections after the daemon stopped");
}

/// The first line the server sends on a fresh connection, if it sends one.
fn read_greeting(port: u16) -> Option<String> {
    let stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).ok()?;
    let bye = if line.starts_with("220") {
        "QUIT\r\n"
    } else {
        "a LOGOUT\r\n"
    };
    let _ = (&stream).write_all(bye.as_bytes());
    Some(line)
}

/// A port the kernel just handed out and released; good enough for a test daemon to bind.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `/tmp/ms-XXXXXX`, mode 0755: short for unix sockets, traversable by the daemons' users.
fn short_temp_dir() -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("ms-")
        .tempdir_in("/tmp")
        .expect("temp dir")
        .keep();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod 0755");
    dir
}

fn is_root() -> bool {
    // The owner of a file we just created is our effective uid.
    let probe = tempfile::NamedTempFile::new().expect("probe file");
    std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().expect("metadata")) == 0
}

/// The uid/gid mail is stored under: Debian's `mail` user (Dovecot refuses root for mail).
fn mail_user() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"mail") && f.len() > 3)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
        .unwrap_or((8, 8))
}

fn mail_from(from: &str, to: &str, subject: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Tue, 24 Nov 2026 09:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Beste,\r\n\r\nIn bijlage de aanmelding voor versnelde doorstroom.\r\n\r\nMet vriendelijke groet,\r\nAnna\r\n"
    )
    .into_bytes()
}

fn has_message_id(mail: &RawMail, id: &str) -> bool {
    let needle = format!("<{id}>");
    mail.bytes
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

const PARTNER: &str = "anna.claes@caw-antwerpen.example";

#[tokio::test]
async fn a_mail_submitted_over_smtp_is_read_back_over_imap_with_its_bytes_intact() {
    let stack = MailStack::start();
    eprintln!("mail stack started in {:?}", stack.started_in());
    let raw = mail_from(
        PARTNER,
        SHARED_MAILBOX,
        "Aanmelding Jan Peeters",
        "e2e-1@caw",
    );
    stack
        .submit(
            PARTNER,
            &[SHARED_MAILBOX, "ilse.wouters@caw-antwerpen.example"],
            &raw,
        )
        .await;

    let got = stack
        .wait_for_mail(
            SHARED_MAILBOX,
            "INBOX",
            |m| has_message_id(m, "e2e-1@caw"),
            Duration::from_secs(10),
        )
        .await;
    let text = String::from_utf8_lossy(&got.bytes);
    assert!(
        text.contains(&format!("Delivered-To: {SHARED_MAILBOX}")),
        "one recipient per LMTP transaction keeps Delivered-To:\n{text}"
    );
    assert!(
        got.bytes.windows(raw.len()).any(|w| w == raw.as_slice()),
        "the submitted bytes arrive verbatim after the trace headers:\n{text}"
    );
    // The catch-all: the partner's colleague got the same mail in a mailbox of her own.
    stack
        .wait_for_mail(
            "ilse.wouters@caw-antwerpen.example",
            "INBOX",
            |m| has_message_id(m, "e2e-1@caw"),
            Duration::from_secs(10),
        )
        .await;
}

#[tokio::test]
async fn an_idling_client_is_woken_by_a_new_delivery() {
    let stack = MailStack::start();
    let mut session = stack.session(SHARED_MAILBOX).await;
    let before = session.select("INBOX").await.expect("select");
    assert_eq!(before.exists, 0);

    let idle = tokio::spawn(async move {
        let began = Instant::now();
        let outcome = session.idle(Duration::from_secs(20)).await;
        (outcome, began.elapsed(), session)
    });
    // Let IDLE start before the mail arrives, so the wake-up comes from the server's push.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let raw = mail_from(PARTNER, SHARED_MAILBOX, "Wekker", "idle-1@caw");
    stack.submit(PARTNER, &[SHARED_MAILBOX], &raw).await;

    let (outcome, waited, mut session) = idle.await.expect("idle task");
    assert_eq!(outcome.expect("idle"), IdleOutcome::Changed);
    assert!(
        waited < Duration::from_secs(10),
        "woken by the push, not the timeout: {waited:?}"
    );
    let uids = session
        .uids_from(before.uid_next.unwrap_or(1))
        .await
        .expect("search");
    let mails = session.fetch_raw(&uids).await.expect("fetch");
    assert!(mails.iter().any(|m| has_message_id(m, "idle-1@caw")));

    // With nothing new, IDLE returns at its timeout.
    let outcome = session
        .idle(Duration::from_millis(300))
        .await
        .expect("idle");
    assert_eq!(outcome, IdleOutcome::TimedOut);
}

/// Issue 28's first defect: a mail delivered while intake moved the previous one came back in the
/// `UID MOVE` reply as `* 1 EXPUNGE` then `* 1 EXISTS`; the count looked unchanged, IDLE waited,
/// and the mail sat in the inbox until the 5-minute resync. The delivery is made by a second
/// session just before the move, so Dovecot reports it inside the move's reply every time.
async fn a_mail_delivered_during_a_move_is_looked_at_at_once(stack: &MailStack, waiting: u32) {
    let mut intake = stack.session(SHARED_MAILBOX).await;
    let mut other = stack.session(SHARED_MAILBOX).await;
    intake.ensure_folder("Verwerkt").await.expect("create");
    for n in 0..waiting {
        let raw = mail_from(PARTNER, SHARED_MAILBOX, "Eerst", &format!("first-{n}@caw"));
        other.append("INBOX", &[], &raw).await.expect("append");
    }
    intake.select("INBOX").await.expect("select");
    let uids = intake.uid_search_all().await.expect("search");
    assert_eq!(uids.len(), waiting as usize);
    intake.fetch_raw(&uids).await.expect("fetch");

    let raw = mail_from(PARTNER, SHARED_MAILBOX, "Tijdens", "during-move@caw");
    other.append("INBOX", &[], &raw).await.expect("deliver");
    intake.move_uids(&uids, "Verwerkt").await.expect("move");

    let began = Instant::now();
    let outcome = intake.idle(Duration::from_secs(5)).await.expect("idle");
    assert_eq!(
        (outcome, began.elapsed() < Duration::from_secs(1)),
        (IdleOutcome::Changed, true),
        "the EXISTS inside the move's reply means look again, whatever the count"
    );
    let fresh = intake.uid_search_all().await.expect("search");
    let mails = intake.fetch_raw(&fresh).await.expect("fetch");
    assert!(mails.iter().any(|m| has_message_id(m, "during-move@caw")));
    // Once looked at, nothing is pending: IDLE waits for the server again.
    let outcome = intake.idle(Duration::from_millis(300)).await.expect("idle");
    assert_eq!(outcome, IdleOutcome::TimedOut);
}

#[tokio::test]
async fn a_mail_delivered_during_a_move_is_not_left_for_the_resync() {
    let stack = MailStack::start();
    a_mail_delivered_during_a_move_is_looked_at_at_once(&stack, 1).await;
}

/// The same with a move of more mails than async-imap keeps unsolicited responses (100): the
/// `EXISTS` after 150 `EXPUNGE`s is dropped by the library, and must still not be missed.
#[tokio::test]
async fn a_mail_delivered_during_a_move_of_many_is_not_left_for_the_resync() {
    let stack = MailStack::start();
    a_mail_delivered_during_a_move_is_looked_at_at_once(&stack, 150).await;
}

/// Shared by the MOVE test and its COPY + EXPUNGE fallback.
async fn move_leaves_inbox_without_it_and_never_sets_seen(stack: &MailStack) {
    let mut session = stack.session(SHARED_MAILBOX).await;
    for id in ["move-1@caw", "move-2@caw"] {
        session
            .append(
                "INBOX",
                &[],
                &mail_from(PARTNER, SHARED_MAILBOX, "Verplaats", id),
            )
            .await
            .expect("append");
    }
    // Someone else marked this one deleted without expunging: the daemon must never remove it.
    session
        .append(
            "INBOX",
            &["\\Deleted"],
            &mail_from(PARTNER, SHARED_MAILBOX, "Weg", "deleted-by-other@caw"),
        )
        .await
        .expect("append");
    assert!(session.ensure_folder("Verwerkt").await.expect("create"));
    assert!(!session.ensure_folder("Verwerkt").await.expect("exists"));

    session.select("INBOX").await.expect("select");
    let uids = session.uid_search_all().await.expect("search");
    assert_eq!(uids.len(), 3);
    let mails = session.fetch_raw(&uids).await.expect("fetch");
    let first = mails
        .iter()
        .find(|m| has_message_id(m, "move-1@caw"))
        .expect("first mail");
    let flags = session.flags(first.uid).await.expect("flags").expect("uid");
    assert!(
        !flags.iter().any(|f| f == "\\Seen"),
        "BODY.PEEK[] must not set \\Seen: {flags:?}"
    );

    let other = mails
        .iter()
        .find(|m| has_message_id(m, "deleted-by-other@caw"))
        .expect("deleted mail");
    let flags = session.flags(other.uid).await.expect("flags").expect("uid");
    assert!(
        flags.iter().any(|f| f == "\\Deleted"),
        "flags are read: {flags:?}"
    );

    session.move_uid(first.uid, "Verwerkt").await.expect("move");
    let left = stack.read_all(SHARED_MAILBOX, "INBOX").await;
    assert_eq!(left.len(), 2, "only the moved mail left the inbox");
    assert!(left.iter().any(|m| has_message_id(m, "move-2@caw")));
    assert!(
        left.iter()
            .any(|m| has_message_id(m, "deleted-by-other@caw")),
        "a mail someone else flagged \\Deleted is not expunged by the move"
    );
    let untouched = left
        .iter()
        .find(|m| has_message_id(m, "move-2@caw"))
        .expect("second mail");

    let mut check = stack.session(SHARED_MAILBOX).await;
    check.select("Verwerkt").await.expect("select Verwerkt");
    let moved = check.uid_search_all().await.expect("search");
    assert_eq!(moved.len(), 1);
    let flags = check.flags(moved[0]).await.expect("flags").expect("uid");
    assert!(
        !flags.iter().any(|f| f == "\\Seen" || f == "\\Deleted"),
        "the moved mail is unread and not deleted: {flags:?}"
    );
    let body = check.fetch_raw(&moved).await.expect("fetch");
    assert!(has_message_id(&body[0], "move-1@caw"));

    // A move to a folder that does not exist is a permanent error, and the mail stays put.
    let err = session
        .move_uid(untouched.uid, "Bestaat-niet")
        .await
        .expect_err("missing folder");
    assert!(err.is_permanent(), "{err}");
    assert_eq!(stack.read_all(SHARED_MAILBOX, "INBOX").await.len(), 2);
}

#[tokio::test]
async fn move_to_another_folder_leaves_the_inbox_without_it_and_no_seen_flag() {
    let stack = MailStack::start();
    let session = stack.session(SHARED_MAILBOX).await;
    assert!(session.has_capability("MOVE"));
    move_leaves_inbox_without_it_and_never_sets_seen(&stack).await;
}

#[tokio::test]
async fn without_move_the_fallback_copies_flags_deleted_and_expunges_only_that_uid() {
    let stack = MailStack::start_with(StackOptions {
        imap_capability: Some("IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE UIDPLUS NAMESPACE".into()),
    });
    let session = stack.session(SHARED_MAILBOX).await;
    assert!(!session.has_capability("MOVE") && session.has_capability("UIDPLUS"));
    move_leaves_inbox_without_it_and_never_sets_seen(&stack).await;
}

#[tokio::test]
async fn a_wrong_password_is_permanent_and_a_stopped_server_is_transient() {
    let mut stack = MailStack::start();
    let err = ImapSession::connect(
        &stack.imap_server(),
        Credentials::Login {
            user: SHARED_MAILBOX,
            password: "fout",
        },
    )
    .await
    .expect_err("wrong password");
    assert!(matches!(err, ImapError::AuthFailed { .. }), "{err}");
    assert!(err.is_permanent());

    // AUTHENTICATE PLAIN signs in like LOGIN.
    let plain = ImapSession::connect(
        &stack.imap_server(),
        Credentials::Plain {
            user: COORDINATOR,
            password: PASSWORD,
        },
    )
    .await
    .expect("AUTHENTICATE PLAIN");
    plain.logout().await;

    stack.stop_imap();
    let err = ImapSession::connect(
        &stack.imap_server(),
        Credentials::Login {
            user: SHARED_MAILBOX,
            password: PASSWORD,
        },
    )
    .await
    .expect_err("server down");
    assert!(err.is_transient(), "{err}");

    // Mail submitted while Dovecot is down waits in Postfix's queue and arrives after restart.
    let raw = mail_from(PARTNER, SHARED_MAILBOX, "Tijdens onderhoud", "outage-1@caw");
    stack.submit(PARTNER, &[SHARED_MAILBOX], &raw).await;
    stack.start_imap();
    stack.stop_smtp();
    stack.start_smtp();
    // Postfix retries deferred mail after its queue run; flush it now instead of waiting.
    let _ = Command::new(sbin("postqueue"))
        .arg("-c")
        .arg(stack.dir.join("postfix"))
        .arg("-f")
        .status();
    stack
        .wait_for_mail(
            SHARED_MAILBOX,
            "INBOX",
            |m| has_message_id(m, "outage-1@caw"),
            Duration::from_secs(30),
        )
        .await;
}

#[tokio::test]
async fn two_stacks_run_side_by_side() {
    let a = MailStack::start();
    let b = MailStack::start();
    assert_ne!(a.imap_port(), b.imap_port());
    assert_ne!(a.smtp_port(), b.smtp_port());
    for user in b.users() {
        let session = ImapSession::connect(
            &b.imap_server(),
            Credentials::Login {
                user,
                password: b.password(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{user}: {e}"));
        session.logout().await;
    }
    let raw = mail_from(PARTNER, COORDINATOR, "Alleen in A", "side-1@caw");
    a.submit(PARTNER, &[COORDINATOR], &raw).await;
    a.wait_for_mail(
        COORDINATOR,
        "INBOX",
        |m| has_message_id(m, "side-1@caw"),
        Duration::from_secs(10),
    )
    .await;
    assert!(b.read_all(COORDINATOR, "INBOX").await.is_empty());
}

#[tokio::test]
async fn xoauth2_signs_in_with_a_valid_token_and_an_expired_token_is_refused() {
    let stack = MailStack::start();
    let token = stack.oauth2_token(SHARED_MAILBOX, chrono::Duration::minutes(30));
    let mut session = ImapSession::connect(
        &stack.imap_server(),
        Credentials::XOauth2 {
            user: SHARED_MAILBOX,
            access_token: &token,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("XOAUTH2 with a valid token: {e}\n{}", stack.diagnostics()));
    session.select("INBOX").await.expect("select after XOAUTH2");
    session.logout().await;

    let expired = stack.oauth2_token(SHARED_MAILBOX, chrono::Duration::minutes(-1));
    let err = ImapSession::connect(
        &stack.imap_server(),
        Credentials::XOauth2 {
            user: SHARED_MAILBOX,
            access_token: &expired,
        },
    )
    .await
    .expect_err("an expired token");
    assert!(matches!(err, ImapError::AuthFailed { .. }), "{err}");
    assert!(err.is_permanent());

    // A token for someone else does not open the shared mailbox.
    let other = stack.oauth2_token(COORDINATOR, chrono::Duration::minutes(30));
    let err = ImapSession::connect(
        &stack.imap_server(),
        Credentials::XOauth2 {
            user: SHARED_MAILBOX,
            access_token: &other,
        },
    )
    .await
    .expect_err("someone else's token");
    assert!(matches!(err, ImapError::AuthFailed { .. }), "{err}");
}
