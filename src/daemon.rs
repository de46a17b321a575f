//! The long-running service: start-up, the tasks, shutdown.
//!
//! [`run`] reads like a start-up script: open and migrate the database → start intake, outbox
//! sender and scheduler → tell systemd we are ready → wait for the shutdown signal → stop taking
//! new work, give work in flight a grace period, then abandon what is left (every effect is
//! transactional, so abandoning loses nothing). The binary ([`run_until_signal`]) and the tests
//! call the same [`run`], with their own shutdown token.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
pub use crate::context::open_store;
use crate::context::{Context, Loaded};

/// The hardened systemd unit, shipped inside the binary (`doorstroom print-service`).
pub const SYSTEMD_UNIT: &str = include_str!("../systemd/doorstroom.service");

/// The config path [`SYSTEMD_UNIT`] names.
pub const DEFAULT_CONFIG: &str = "/etc/doorstroom/doorstroom.toml";

/// The line of [`SYSTEMD_UNIT`] after which the `LoadCredential=` lines go.
const CREDENTIALS_AFTER: &str = "# service in $CREDENTIALS_DIRECTORY.\n";

/// [`SYSTEMD_UNIT`] for the config at `config` (made absolute: the unit runs elsewhere), with a
/// `LoadCredential=NAME` line for each credential it names (systemd then reads
/// `/etc/credstore/NAME`, see systemd.exec(5)). With no credentials it is the shipped unit
/// byte for byte (the Debian package installs that one).
pub fn systemd_unit(config: &std::path::Path, credentials: &[String]) -> String {
    let config = std::path::absolute(config).unwrap_or_else(|_| config.to_path_buf());
    let lines: String = credentials
        .iter()
        .map(|name| format!("LoadCredential={name}\n"))
        .collect();
    SYSTEMD_UNIT
        .replace(DEFAULT_CONFIG, &config.display().to_string())
        .replacen(CREDENTIALS_AFTER, &format!("{CREDENTIALS_AFTER}{lines}"), 1)
}

/// The heartbeat the daemon writes and `status` reads lives with the context.
pub use crate::context::{lease, STARTED, STOPPED};

/// How long work in flight may take to finish after shutdown was asked.
pub const GRACE: Duration = Duration::from_secs(20);

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Plain,
    Json,
}

/// Logs go to stderr, journald-friendly: plain lines without colours by default, or JSON.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DOORSTROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Run the daemon until SIGINT or SIGTERM; SIGHUP reloads the config file. `probe_binary`: the
/// running `doorstroom` binary, in which a suspect mail is decided in a child process first
/// (see `intake::probe`).
pub async fn run_until_signal(
    config: Config,
    probe_binary: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let loaded = Loaded::new(config).context("the mail templates")?;
    let (config_tx, config_rx) = watch::channel(Arc::new(loaded));
    let signals = tokio::spawn(watch_signals(shutdown.clone(), config_tx));
    let result = run_with(config_rx, shutdown.clone(), probe_binary.as_deref()).await;
    signals.abort();
    result
}

/// SIGINT/SIGTERM → shutdown; SIGHUP → validate the config file again and publish it, or keep
/// the old one and say why.
async fn watch_signals(shutdown: CancellationToken, config_tx: watch::Sender<Arc<Loaded>>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the daemon with SIGKILL");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); shutdown.cancel(); return; }
            _ = int.recv() => { tracing::info!("interrupted: shutting down"); shutdown.cancel(); return; }
            _ = hup.recv() => {
                let path = config_tx.borrow().config.source.clone();
                reload(&path, &config_tx);
            }
        }
    }
}

fn reload(path: &std::path::Path, config_tx: &watch::Sender<Arc<Loaded>>) {
    match Config::load(path) {
        Ok(config) => match Loaded::new(config) {
            Ok(loaded) => {
                tracing::info!(file = %path.display(), "SIGHUP: configuration and templates reloaded");
                config_tx.send_replace(Arc::new(loaded));
            }
            Err(e) => tracing::error!(
                file = %path.display(),
                "SIGHUP: a mail template is broken, keeping the old configuration: {e}"
            ),
        },
        Err(errors) => {
            tracing::error!(
                file = %path.display(),
                "SIGHUP: the new configuration is invalid, keeping the old one:\n{}",
                errors.to_string().trim_end()
            );
        }
    }
}

/// Start every task and run until `shutdown` is cancelled.
pub async fn run(
    loaded: watch::Receiver<Arc<Loaded>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_with(loaded, shutdown, None).await
}

/// [`run`], with suspect mails decided first in a child process of `probe_binary`.
async fn run_with(
    loaded: watch::Receiver<Arc<Loaded>>,
    shutdown: CancellationToken,
    probe_binary: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let snapshot = loaded.borrow().config.clone();
    tracing::info!(
        organisation = %snapshot.organisation.id,
        config = %snapshot.source.display(),
        "doorstroom {} starting",
        env!("CARGO_PKG_VERSION")
    );
    let store = open_store(&snapshot).await?;
    let ctx = Context::following(store.clone(), loaded).with_probe_binary(probe_binary);

    // Work stops being taken when `stop_taking` is cancelled; tasks still running after the grace
    // period are aborted.
    let stop_taking = shutdown.child_token();
    let mut tasks = JoinSet::new();
    let mailbox = format!("mailbox:{}", crate::intake::source_name(&snapshot.mailbox));
    let intake_ctx = ctx.clone();
    spawn(
        &mut tasks,
        "intake",
        lease::run_leased(store.clone(), mailbox, stop_taking.clone(), move |token| {
            crate::intake::run(intake_ctx.clone(), token)
        }),
    );
    let jobs_ctx = ctx.clone();
    spawn(
        &mut tasks,
        "scheduler",
        lease::run_leased(
            store.clone(),
            "jobs".into(),
            stop_taking.clone(),
            move |token| crate::jobs::run(jobs_ctx.clone(), token),
        ),
    );
    let outbox_ctx = ctx.clone();
    spawn(
        &mut tasks,
        "outbox",
        lease::run_leased(
            store.clone(),
            "outbox".into(),
            stop_taking.clone(),
            move |token| {
                let ctx = outbox_ctx.clone();
                async move {
                    let (store, wake) = (ctx.store.clone(), ctx.outbox_wake.clone());
                    let copies = Arc::new(crate::intake::watch::SharedMailboxCopies);
                    let config = move || ctx.config();
                    Ok(crate::outbox::send::run(store, config, token, wake, Some(copies)).await?)
                }
            },
        ),
    );
    spawn(
        &mut tasks,
        "watchdog",
        systemd::watchdog(stop_taking.clone()),
    );
    if let Some(addr) = snapshot.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for metrics on {addr} ([metrics] listen)"))?;
        tracing::info!(%addr, "metrics endpoint listening");
        let (store, stop) = (store.clone(), stop_taking.clone());
        spawn(&mut tasks, "metrics", async move {
            crate::metrics::serve(listener, store, stop).await;
            Ok(())
        });
    }
    let checkpoints = (store.clone(), stop_taking.clone());
    spawn(&mut tasks, "checkpoint", async move {
        let (store, stop) = checkpoints;
        store.run_checkpointer(stop).await;
        Ok(())
    });

    // Start-up parsed the config and rendered every template with sample data; none of that is
    // needed until the next reload.
    crate::memory::release_freed();
    systemd::notify("READY=1\nSTATUS=watching the shared mailbox");
    // `doorstroom status` reads the leases as the heartbeat; these say when it started/stopped.
    if let Err(e) = store
        .set_health(STARTED, env!("CARGO_PKG_VERSION"), chrono::Utc::now())
        .await
    {
        tracing::warn!("cannot record the start for `doorstroom status`: {e}");
    }
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "ready");

    tokio::select! {
        _ = shutdown.cancelled() => {}
        Some(done) = tasks.join_next() => {
            // A task ending on its own is a fault: stop the others and report it.
            shutdown.cancel();
            if let Ok(Err(e)) = done {
                systemd::notify("STOPPING=1");
                drain(&mut tasks).await;
                store.close().await;
                return Err(e);
            }
        }
    }
    systemd::notify("STOPPING=1\nSTATUS=finishing work in flight");
    tracing::info!(
        grace_s = GRACE.as_secs(),
        "no new work is taken; finishing work in flight"
    );
    drain(&mut tasks).await;
    if let Err(e) = store.set_health(STOPPED, "", chrono::Utc::now()).await {
        tracing::warn!("cannot record the stop for `doorstroom status`: {e}");
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

fn spawn<F>(tasks: &mut JoinSet<anyhow::Result<()>>, name: &'static str, task: F)
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    tasks.spawn(async move { task.await.with_context(|| format!("{name} task")) });
}

async fn drain(tasks: &mut JoinSet<anyhow::Result<()>>) {
    let waited = tokio::time::timeout(GRACE, async {
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Err(e)) => tracing::error!("{e:#}"),
                Err(e) if e.is_panic() => tracing::error!("a task panicked: {e}"),
                _ => {}
            }
        }
    })
    .await;
    if waited.is_err() {
        tracing::warn!(
            "work still in flight after {} s is abandoned; it is redone on the next start",
            GRACE.as_secs()
        );
        tasks.abort_all();
    }
}

/// `check --connect`: try each server the config names; print one line each. True when all work.
pub async fn probe(config: &Config) -> bool {
    let mut ok = true;
    // Read-only: a check changes nothing; it says what the daemon's start would do.
    use crate::store::inspect::DatabaseState;
    let db = crate::config::redact_url(&config.database.url);
    match crate::store::inspect::inspect(&config.database.url).await {
        Ok(DatabaseState::Current { applied }) => crate::outln!(
            "  database       ok: {db}, up to date ({applied} migrations; nothing was changed)"
        ),
        Ok(DatabaseState::Missing { path }) => crate::outln!(
            "  database       ok: {path} does not exist yet; the daemon creates it at its first start"
        ),
        Ok(DatabaseState::NeedsMigrating { pending }) => crate::outln!(
            "  database       ok: {db} needs migrating; the daemon applies {} migration(s) at its next start: {} (nothing was changed)",
            pending.len(),
            pending.join(", ")
        ),
        Ok(DatabaseState::Newer { unknown }) => {
            ok = false;
            crate::outln!(
                "  database       FAILED: {db} was migrated by a newer doorstroom (migrations {unknown:?} are unknown to this build); install that version"
            );
        }
        Err(e) => {
            ok = false;
            crate::outln!("  database       FAILED: {e:#}");
        }
    }
    let smtp = match &config.smtp {
        crate::config::Smtp::Server(server) => {
            crate::outbox::send::SmtpTransport::new(server.clone(), None)
                .probe()
                .await
        }
        crate::config::Smtp::File { path, .. } => match std::fs::create_dir_all(path) {
            Ok(()) => Ok(format!(".eml files go to {}", path.display())),
            Err(e) => Err(format!("cannot create {}: {e}", path.display())),
        },
    };
    let mut probes = crate::intake::probe(config).await;
    probes.push(("outgoing mail", smtp));
    let mailbox_ok = probes
        .iter()
        .any(|(what, result)| *what == "mailbox" && result.is_ok());
    for (what, result) in probes {
        ok &= result.is_ok();
        match result {
            Ok(detail) => crate::outln!("  {what:<14} ok: {detail}"),
            Err(e) => crate::outln!("  {what:<14} FAILED: {e}"),
        }
    }
    if mailbox_ok {
        match crate::intake::preview_trust(config).await {
            Ok(lines) if lines.is_empty() => {}
            Ok(lines) => {
                println!(
                    "  sender trust   the newest {} inbox mail(s), as {} would judge them (read-only):",
                    lines.len(),
                    config.organisation.trust.key()
                );
                for line in lines {
                    println!("    {line}");
                }
            }
            Err(e) => {
                ok = false;
                println!("  sender trust   FAILED reading the inbox headers: {e}");
            }
        }
    }
    ok
}

/// systemd's notify protocol (sd_notify), without a library: one datagram to `$NOTIFY_SOCKET`.
pub mod systemd {
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

    /// Send a state line ("READY=1", "STATUS=…"); a no-op when not started by systemd.
    pub fn notify(state: &str) {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return;
        };
        let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else {
            return;
        };
        let bytes = path.as_encoded_bytes();
        let result = if let Some(name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name)
                .and_then(|addr| socket.send_to_addr(state.as_bytes(), &addr))
        } else {
            socket.send_to(state.as_bytes(), &path)
        };
        if let Err(e) = result {
            tracing::warn!("cannot notify systemd: {e}");
        }
    }

    /// Ping systemd's watchdog at half its interval while the daemon runs (`WatchdogSec=`).
    pub async fn watchdog(stop: CancellationToken) -> anyhow::Result<()> {
        let usec = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.parse::<u64>().ok());
        let Some(usec) = usec else {
            stop.cancelled().await;
            return Ok(());
        };
        let period = Duration::from_micros(usec / 2);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = tokio::time::sleep(period) => notify("WATCHDOG=1"),
            }
        }
    }
}
