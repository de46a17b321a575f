//! What the mail-stack benchmarks share: sizes from the environment, percentiles, the daemon run
//! in-process (as `tests/integration/intake.rs` does), and a tracing layer that timestamps the
//! daemon's own log events, so latencies are read from the daemon rather than guessed by polling.
//!
//! Included by each bench with `#[path = "support/mod.rs"] mod support;`; never a bench itself.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::Layer;

/// `name` from the environment as a number, else `default`.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p`-th percentile (0–100) of `values` by nearest rank; sorts `values`.
pub fn percentile(values: &mut [Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// "p50 12.3 ms  p99 45.6 ms  max 78.9 ms (n = 500)".
pub fn summary(values: &mut [Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p50 = percentile(values, 50.0);
    let p99 = percentile(values, 99.0);
    let max = values.iter().max().copied().unwrap_or_default();
    format!(
        "p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms (n = {})",
        ms(p50),
        ms(p99),
        ms(max),
        values.len()
    )
}

/// One daemon event the benches wait for, with the instant the daemon emitted it.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub at: Instant,
    pub what: Event,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `IDLE: the server reported a change …` (src/intake/watch.rs).
    Announced,
    /// `mail decided: …`, logged right after the mail's transaction committed.
    Decided { mail: i64 },
    /// `ready` (src/daemon.rs).
    Ready,
    /// `intake phase: …` (src/intake/watch.rs).
    Phase(Phase),
}

/// Sends a [`Stamp`] for every event of interest; the timestamp is taken inside the event call.
struct StampLayer {
    tx: mpsc::UnboundedSender<Stamp>,
    trigger: Trigger,
}

#[derive(Default)]
struct Fields {
    message: String,
    mail: Option<i64>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "mail" {
            self.mail = Some(value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for StampLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: LayerContext<'_, S>) {
        let at = Instant::now();
        if !event.metadata().target().starts_with("doorstroom") {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let what = if let Some(phase) = Phase::from_message(&fields.message) {
            let mut armed = self.trigger.lock().expect("trigger");
            if armed.as_ref().is_some_and(|a| a.phase == phase) {
                let mut a = armed.take().expect("armed");
                let delivered = match a.smtp_port {
                    // Over Postfix, as a partner's server delivers: the delivery is the `250`;
                    // the daemon's task then waits until Dovecot filed it, so that it lands in
                    // this phase.
                    Some(port) => {
                        let accepted = smtp_submit(port, &a.raw);
                        a.imap.wait_for_message_id(&a.message_id);
                        accepted
                    }
                    None => {
                        a.imap.append(&a.raw);
                        Instant::now()
                    }
                };
                let _ = a.done.send(delivered);
            }
            Event::Phase(phase)
        } else if fields
            .message
            .starts_with("IDLE: the server reported a change")
        {
            Event::Announced
        } else if fields.message.starts_with("mail decided") {
            Event::Decided {
                mail: fields.mail.unwrap_or(-1),
            }
        } else if fields.message == "ready" {
            Event::Ready
        } else {
            return;
        };
        let _ = self.tx.send(Stamp { at, what });
    }
}

/// Install the stamping layer (debug level for `doorstroom`, nothing else) as the global
/// subscriber; returns the receiving end.
pub fn stamp_daemon_events() -> mpsc::UnboundedReceiver<Stamp> {
    stamp_daemon_events_with(Trigger::default())
}

/// [`stamp_daemon_events`] with a [`Trigger`] the bench arms to deliver a mail in a phase.
pub fn stamp_daemon_events_with(trigger: Trigger) -> mpsc::UnboundedReceiver<Stamp> {
    let (dispatch, rx) = stamping_dispatch(trigger);
    tracing::dispatcher::set_global_default(dispatch).expect("one subscriber per bench");
    rx
}

/// The stamping layer as a [`tracing::Dispatch`], for a test that installs it only on its own
/// runtime's threads (other tests' daemons run in the same process).
pub fn stamping_dispatch(trigger: Trigger) -> (tracing::Dispatch, mpsc::UnboundedReceiver<Stamp>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let filter = tracing_subscriber::EnvFilter::new("warn,doorstroom=debug");
    let subscriber = tracing_subscriber::registry()
        .with(StampLayer { tx, trigger }.with_filter(filter))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(tracing_subscriber::EnvFilter::new("warn")),
        );
    (tracing::Dispatch::new(subscriber), rx)
}

/// The daemon on its own task, as the binary runs it minus the signal handling.
pub struct Daemon {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Daemon {
    pub fn start(config: doorstroom::config::Config) -> Daemon {
        let shutdown = CancellationToken::new();
        let loaded = doorstroom::context::Loaded::new(config).expect("templates");
        let (tx, rx) = watch::channel(Arc::new(loaded));
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            let _keep = tx;
            doorstroom::daemon::run(rx, token).await
        });
        Daemon { shutdown, task }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("the daemon ended with an error: {e:#}"),
            Err(e) => eprintln!("the daemon task failed: {e}"),
        }
    }
}

/// Wait for the next stamp matching `want`, at most `timeout`.
pub async fn next_stamp(
    rx: &mut mpsc::UnboundedReceiver<Stamp>,
    want: impl Fn(&Event) -> bool,
    timeout: Duration,
) -> Option<Stamp> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(stamp)) if want(&stamp.what) => return Some(stamp),
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return None,
        }
    }
}

/// One state of intake's watch loop, as its debug events name them (src/intake/watch.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// About to wait in IDLE.
    Idling,
    /// About to fetch a batch.
    Fetching,
    /// About to decide a batch.
    Deciding,
    /// About to move decided mails out of the inbox.
    Moving,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::Idling,
        Phase::Fetching,
        Phase::Deciding,
        Phase::Moving,
    ];

    fn from_message(message: &str) -> Option<Phase> {
        match message.strip_prefix("intake phase: ")? {
            "idling" => Some(Phase::Idling),
            "fetching" => Some(Phase::Fetching),
            "deciding" => Some(Phase::Deciding),
            "moving" => Some(Phase::Moving),
            _ => None,
        }
    }
}

/// A mail to deliver the moment intake enters a phase: the stamping layer appends it to the
/// inbox *inside* the daemon's event call, over a plain blocking IMAP connection, so the daemon's
/// task waits until the server has it and the delivery lands in that phase every time.
pub struct Armed {
    pub phase: Phase,
    pub imap: SyncImap,
    pub raw: Vec<u8>,
    /// With angle brackets; found in the inbox before the phase may go on (SMTP delivery).
    pub message_id: String,
    /// Deliver through Postfix on this port; `None`: APPEND straight into Dovecot.
    pub smtp_port: Option<u16>,
    /// Gets the instant the server confirmed the APPEND.
    pub done: std::sync::mpsc::Sender<Instant>,
}

/// Where the armed delivery waits; shared between the bench and its layer.
pub type Trigger = Arc<std::sync::Mutex<Option<Armed>>>;

/// A minimal blocking IMAP client: LOGIN and APPEND, nothing else.
pub struct SyncImap {
    stream: std::io::BufReader<std::net::TcpStream>,
    tag: u32,
    /// Whether INBOX is selected (for [`SyncImap::wait_for_message_id`]).
    selected: bool,
}

impl SyncImap {
    pub fn connect(port: u16, user: &str, password: &str) -> SyncImap {
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("IMAP connect");
        stream.set_nodelay(true).ok();
        let mut this = SyncImap {
            stream: std::io::BufReader::new(stream),
            tag: 0,
            selected: false,
        };
        this.line(); // greeting
        this.command(&format!("LOGIN \"{user}\" \"{password}\""));
        this
    }

    fn line(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        self.stream.read_line(&mut line).expect("IMAP read");
        assert!(!line.is_empty(), "IMAP connection closed");
        line
    }

    fn write(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.stream.get_mut().write_all(bytes).expect("IMAP write");
    }

    /// Send a command and read up to its tagged answer, which must be OK.
    fn command(&mut self, text: &str) {
        self.tag += 1;
        let tag = format!("s{}", self.tag);
        self.write(format!("{tag} {text}\r\n").as_bytes());
        self.finish(&tag);
    }

    fn finish(&mut self, tag: &str) {
        loop {
            let line = self.line();
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                assert!(rest.starts_with("OK"), "IMAP {tag}: {line}");
                return;
            }
        }
    }

    /// Wait until INBOX holds a mail with this Message-ID (Postfix hands mail to Dovecot a few
    /// milliseconds after its `250`).
    pub fn wait_for_message_id(&mut self, message_id: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        if !self.selected {
            self.command("SELECT INBOX");
            self.selected = true;
        }
        loop {
            self.tag += 1;
            let tag = format!("s{}", self.tag);
            self.write(
                format!("{tag} UID SEARCH HEADER Message-ID \"{message_id}\"\r\n").as_bytes(),
            );
            let mut found = false;
            loop {
                let line = self.line();
                if line.starts_with("* SEARCH ") && line.trim().len() > "* SEARCH".len() {
                    found = true;
                }
                if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                    assert!(rest.starts_with("OK"), "IMAP {tag}: {line}");
                    break;
                }
            }
            if found {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{message_id} never reached the inbox"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// APPEND `raw` to INBOX; returns once the server confirmed it.
    pub fn append(&mut self, raw: &[u8]) {
        self.tag += 1;
        let tag = format!("s{}", self.tag);
        self.write(format!("{tag} APPEND INBOX {{{}}}\r\n", raw.len()).as_bytes());
        let go = self.line();
        assert!(go.starts_with('+'), "IMAP APPEND: {go}");
        self.write(raw);
        self.write(b"\r\n");
        self.finish(&tag);
    }
}

/// Submit `raw` over SMTP on 127.0.0.1:`port`, blocking (the stamping layer runs inside the
/// daemon's event call, outside any runtime it may block on): envelope from the mail's own
/// `From:` to the shared mailbox. Returns the instant of the server's `250` to the data.
pub fn smtp_submit(port: u16, raw: &[u8]) -> Instant {
    use std::io::{BufRead, Write};
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("SMTP connect");
    stream.set_nodelay(true).ok();
    let mut reader = std::io::BufReader::new(stream.try_clone().expect("dup"));
    let mut writer = stream;
    let reply = |reader: &mut std::io::BufReader<std::net::TcpStream>, want: &str| loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("SMTP read");
        assert!(
            line.starts_with(want),
            "SMTP: expected {want}, got {line:?}"
        );
        if line.as_bytes().get(3) != Some(&b'-') {
            return;
        }
    };
    reply(&mut reader, "220");
    let text = String::from_utf8_lossy(raw);
    let from = text
        .lines()
        .find_map(|l| l.strip_prefix("From: "))
        .and_then(|f| f.rsplit('<').next())
        .map(|f| f.trim_end_matches('>').trim().to_string())
        .unwrap_or_default();
    let to = text
        .lines()
        .find_map(|l| l.strip_prefix("To: "))
        .map(|t| t.trim().to_string())
        .expect("To:");
    for (command, want) in [
        ("EHLO bench.example".to_string(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_string(), "354"),
    ] {
        writer
            .write_all(format!("{command}\r\n").as_bytes())
            .expect("SMTP write");
        reply(&mut reader, want);
    }
    // Dot-stuffing (RFC 5321 §4.5.2).
    let mut data = Vec::with_capacity(raw.len() + 16);
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b".") {
            data.push(b'.');
        }
        data.extend_from_slice(line);
    }
    if !data.ends_with(b"\r\n") {
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    writer.write_all(&data).expect("SMTP data");
    reply(&mut reader, "250");
    let accepted = Instant::now();
    let _ = writer.write_all(b"QUIT\r\n");
    accepted
}
