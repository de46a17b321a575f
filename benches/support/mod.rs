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
    /// `IDLE: the server announced new mail` (src/intake/watch.rs).
    Announced,
    /// `mail decided: …`, logged right after the mail's transaction committed.
    Decided { mail: i64 },
    /// `ready` (src/daemon.rs).
    Ready,
}

/// Sends a [`Stamp`] for every event of interest; the timestamp is taken inside the event call.
struct StampLayer {
    tx: mpsc::UnboundedSender<Stamp>,
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
        let what = if fields
            .message
            .starts_with("IDLE: the server announced new mail")
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
    let (tx, rx) = mpsc::unbounded_channel();
    let filter = tracing_subscriber::EnvFilter::new("warn,doorstroom=debug");
    let subscriber = tracing_subscriber::registry()
        .with(StampLayer { tx }.with_filter(filter))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(tracing_subscriber::EnvFilter::new("warn")),
        );
    tracing::subscriber::set_global_default(subscriber).expect("one subscriber per bench");
    rx
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
