//! What every long-running task shares: the store, the current config and its checked mail
//! templates.
//!
//! Config and templates sit behind a watch channel as one [`Loaded`] snapshot, so that SIGHUP can
//! swap both (after validating both) while tasks run; a task reads them once per pass and keeps
//! that snapshot for the pass.
//!
//! Opening the store for a command or the daemon ([`open_store`]), the leases that keep two
//! instances off the same work ([`lease`]) and the daemon's start/stop health keys are here too,
//! so that a command (`status`) never depends on the daemon.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::{watch, Mutex, Notify};

use crate::config::Config;
use crate::outbox::{Outbox, TemplateError};
use crate::store::{CaseCache, Store};

/// A config with its templates, both checked.
pub struct Loaded {
    pub config: Arc<Config>,
    pub outbox: Arc<Outbox>,
}

impl Loaded {
    /// Load and check the templates the config names (every template rendered with sample
    /// data, so a typo fails here and not at the monthly run).
    pub fn new(config: Config) -> Result<Loaded, TemplateError> {
        let outbox = Outbox::load(&config)?;
        Ok(Loaded {
            config: Arc::new(config),
            outbox: Arc::new(outbox),
        })
    }
}

#[derive(Clone)]
pub struct Context {
    pub store: Store,
    loaded: watch::Receiver<Arc<Loaded>>,
    /// Rung after a commit that queued mail, so the sender delivers it now rather than at its
    /// next poll.
    pub outbox_wake: Arc<Notify>,
    /// The cases intake read in its last batch, for the next one (see [`CaseCache`]); intake
    /// decides one batch at a time.
    pub intake_cache: Arc<Mutex<CaseCache>>,
    /// The `doorstroom` binary, in which intake decides a suspect mail in a child process
    /// first (`intake::probe`); `None` where intake runs inside another program (a test, a
    /// command), which then counts attempts only.
    pub probe_binary: Option<Arc<Path>>,
}

impl Context {
    /// A context whose config never changes (commands, tests).
    pub fn fixed(store: Store, config: Config) -> Result<Self, TemplateError> {
        let (tx, rx) = watch::channel(Arc::new(Loaded::new(config)?));
        // The sender is dropped: receivers keep the last value, which is what a fixed config is.
        drop(tx);
        Ok(Context {
            store,
            loaded: rx,
            outbox_wake: Arc::new(Notify::new()),
            intake_cache: Arc::default(),
            probe_binary: None,
        })
    }

    /// A context following what is published on `rx` (the daemon, reloaded on SIGHUP).
    pub fn following(store: Store, rx: watch::Receiver<Arc<Loaded>>) -> Self {
        Context {
            store,
            loaded: rx,
            outbox_wake: Arc::new(Notify::new()),
            intake_cache: Arc::default(),
            probe_binary: None,
        }
    }

    /// The same context, deciding suspect mails first in a child process of `binary`.
    pub fn with_probe_binary(mut self, binary: Option<&Path>) -> Self {
        self.probe_binary = binary.map(Arc::from);
        self
    }

    /// The config as it is now; keep the snapshot for one pass of work.
    pub fn config(&self) -> Arc<Config> {
        self.loaded.borrow().config.clone()
    }

    /// The templates of the config as it is now.
    pub fn outbox(&self) -> Arc<Outbox> {
        self.loaded.borrow().outbox.clone()
    }

    /// Config and templates of one moment, together.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded.borrow().clone()
    }

    /// A receiver that sees every reload (for tasks that wake on one).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Loaded>> {
        self.loaded.clone()
    }
}

/// Open the configured database, migrated.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let db = &config.database;
    Store::open(&db.url, &config.organisation.id, db.max_connections)
        .await
        .with_context(|| {
            format!(
                "database {} (check [database].url in {})",
                crate::config::redact_url(&db.url),
                config.source.display()
            )
        })
}

/// Health keys: when the daemon last reached READY (value: its version), and when it last stopped
/// in order. A daemon that was killed leaves only its expired leases behind.
pub const STARTED: &str = "daemon.started";
pub const STOPPED: &str = "daemon.stopped";

/// Run a task only while this instance holds the lease on a resource (a mailbox, the jobs of an
/// organisation), so that two instances sharing a database never both work on it.
pub mod lease {
    use std::future::Future;
    use std::time::Duration;

    use chrono::Utc;
    use tokio_util::sync::CancellationToken;

    use crate::store::Store;

    /// A lease lasts this long unless renewed; renewal runs at a third of it, so a killed
    /// instance's work is taken over within a minute.
    pub const TTL: Duration = Duration::from_secs(30);

    /// This process's name as a lease holder.
    pub fn holder() -> String {
        format!(
            "{}:{}:{:08x}",
            hostname(),
            std::process::id(),
            rand::random::<u32>()
        )
    }

    /// Wait for the lease, run `task` with a token that is cancelled when the lease is lost or
    /// `stop` is cancelled, and start waiting again if the lease was lost.
    pub async fn run_leased<F, Fut>(
        store: Store,
        resource: String,
        stop: CancellationToken,
        task: F,
    ) -> anyhow::Result<()>
    where
        F: Fn(CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let holder = holder();
        let ttl = chrono::Duration::from_std(TTL).unwrap_or(chrono::Duration::seconds(30));
        let mut waiting_logged = false;
        loop {
            let now = Utc::now();
            let held = match store
                .acquire_lease(&resource, &holder, now, now + ttl)
                .await
            {
                Ok(true) => true,
                Ok(false) => take_from_the_dead(&store, &resource, &holder, now + ttl).await,
                Err(e) => {
                    tracing::warn!(resource = %resource, "cannot take the lease: {e}");
                    false
                }
            };
            if !held {
                if !waiting_logged {
                    tracing::info!(resource = %resource, "another instance holds the lease; standing by");
                    waiting_logged = true;
                }
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(TTL / 3) => continue,
                }
            }
            waiting_logged = false;
            tracing::info!(resource = %resource, "lease taken");
            let work = stop.child_token();
            let renew = renew(
                store.clone(),
                resource.clone(),
                holder.clone(),
                work.clone(),
            );
            let (result, lost) = tokio::join!(
                async {
                    let r = task(work.clone()).await;
                    work.cancel();
                    r
                },
                renew
            );
            if !lost || stop.is_cancelled() {
                let _ = store.release_lease(&resource, &holder).await;
                return result;
            }
            tracing::warn!(resource = %resource, "lease lost; work stopped, standing by");
            result?;
        }
    }

    /// Whether lease holder `other` is a process on the host of holder `me` that no longer exists
    /// (killed, crashed). A holder on another host is never known to be gone.
    pub fn is_gone(me: &str, other: &str) -> bool {
        let mine = me.split(':').next();
        let mut parts = other.split(':');
        let (host, pid) = (parts.next(), parts.next());
        let gone = |pid: &str| pid.parse::<libc::pid_t>().is_ok_and(process_is_gone);
        host == mine && pid.is_some_and(gone)
    }

    /// The host's name from the kernel (uname), not from `/proc/sys`, which the unit's
    /// `ProcSubset=pid` hides (every instance would then be on host "host").
    fn hostname() -> String {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most `buf.len()` bytes into the buffer it is given.
        let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        match std::str::from_utf8(&buf[..end]) {
            Ok(name) if ok && !name.is_empty() => name.to_string(),
            _ => "host".into(),
        }
    }

    /// No process `pid` exists. Asked with the null signal, not by looking in `/proc`: the unit's
    /// `ProtectProc=invisible` hides other users' processes there (an admin's command running
    /// as root would look gone to the daemon); `kill(pid, 0)` answers EPERM for those.
    fn process_is_gone(pid: libc::pid_t) -> bool {
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 sends nothing; it only checks that the process exists.
        let r = unsafe { libc::kill(pid, 0) };
        r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }

    /// A holder on this host whose process is gone (killed, crashed) does not keep the work
    /// waiting for its lease to expire.
    async fn take_from_the_dead(
        store: &Store,
        resource: &str,
        holder: &str,
        until: chrono::DateTime<Utc>,
    ) -> bool {
        let Ok(Some(current)) = store.lease_holder(resource).await else {
            return false;
        };
        if !is_gone(holder, &current) {
            return false;
        }
        match store
            .take_over_lease(resource, &current, holder, until)
            .await
        {
            Ok(true) => {
                tracing::info!(resource = %resource, previous = %current, "took over the lease of a process that is gone");
                true
            }
            _ => false,
        }
    }

    /// Renew until `work` is cancelled; cancel `work` and return true if the lease is lost.
    async fn renew(
        store: Store,
        resource: String,
        holder: String,
        work: CancellationToken,
    ) -> bool {
        let ttl = chrono::Duration::from_std(TTL).unwrap_or(chrono::Duration::seconds(30));
        loop {
            tokio::select! {
                _ = work.cancelled() => return false,
                _ = tokio::time::sleep(TTL / 3) => {}
            }
            let now = Utc::now();
            match store
                .acquire_lease(&resource, &holder, now, now + ttl)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    work.cancel();
                    return true;
                }
                // A database hiccup is not a lost lease; the expiry gives us TTL to retry.
                Err(e) => tracing::warn!(resource = %resource, "cannot renew the lease: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lease::is_gone;

    #[test]
    fn a_lease_holder_on_this_host_is_gone_only_when_its_process_is() {
        let me = super::lease::holder();
        let host = me.split(':').next().unwrap();
        assert_ne!(host, "host", "the host name comes from the kernel");
        let alive = format!("{host}:{}:0", std::process::id());
        assert!(!is_gone(&me, &alive));
        // PID 1 exists in every PID namespace, also where it belongs to another user.
        assert!(!is_gone(&me, &format!("{host}:1:0")));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(is_gone(&me, &format!("{host}:{pid}:0")));
        // Another host's holder is never known to be gone.
        assert!(!is_gone(&me, &format!("elsewhere:{pid}:0")));
    }
}
